"""The store's error type, importable without loading SQLite (the CLI catches it everywhere)."""


class StoreError(RuntimeError):
    """The log cannot be used (locked, corrupt, unwritable); the message says which and where."""


class LogNotWritten(StoreError):
    """A send reached its pane (and maybe a verdict) but the log refused the outcome.

    The message says what the send reached; the record waits in a spill file that the next
    command opening the log writes. Never reported as "nothing was sent".
    """

    def __init__(self, message: str, record: object) -> None:
        super().__init__(message)
        self.record = record
