"""The store's error type, importable without loading SQLite (the CLI catches it everywhere)."""


class StoreError(RuntimeError):
    """The log cannot be used (locked, corrupt, unwritable); the message says which and where."""
