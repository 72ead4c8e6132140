"""The business, one package per domain."""
