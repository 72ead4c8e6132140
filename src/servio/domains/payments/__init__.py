"""Deposits and payments: checkout with the provider, its webhooks, the payment ledger."""
