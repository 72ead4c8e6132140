"""Vertical data files (one TOML per vertical), read by the catalog domain."""
