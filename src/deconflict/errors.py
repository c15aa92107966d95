"""The package's one exception root and its small family.

Every error the package raises on purpose derives from :class:`DeconflictError`
and carries enough context (a field path, an object id, an event sequence
number) for a person to find what is wrong without a traceback. The service
layer maps these to RFC 9457 problem responses in one place; the CLI maps them
to exit codes in one place.
"""

from __future__ import annotations


class DeconflictError(Exception):
    """Root of every error the package raises on purpose."""


class InvalidInput(DeconflictError):
    """An input value is wrong. ``field`` is a dotted/indexed path to it."""

    def __init__(self, field: str, reason: str, *, object_id: str | None = None) -> None:
        self.field = field
        self.reason = reason
        self.object_id = object_id
        where = f"{object_id}: " if object_id else ""
        super().__init__(f"{where}{field}: {reason}")

    def within(self, prefix: str, *, object_id: str | None = None) -> InvalidInput:
        """The same error seen from an enclosing document (``prefix`` is its path)."""
        field = f"{prefix}.{self.field}" if self.field and not self.field.startswith("[") else (
            f"{prefix}{self.field}"
        )
        err = type(self).__new__(type(self))
        InvalidInput.__init__(err, field, self.reason, object_id=object_id or self.object_id)
        return err


class UnsupportedGeometry(InvalidInput):
    """A geometry the engine cannot decide exactly, refused rather than approximated."""


class UnknownReference(InvalidInput):
    """An input names a party, declaration or measure that does not exist."""


class NotFound(DeconflictError):
    """A looked-up object does not exist."""

    def __init__(self, what: str, ident: str) -> None:
        self.what = what
        self.ident = ident
        super().__init__(f"{what} {ident!r} not found")


class AlreadyExists(DeconflictError):
    """An object with that id exists already."""

    def __init__(self, what: str, ident: str) -> None:
        self.what = what
        self.ident = ident
        super().__init__(f"{what} {ident!r} already exists")


class AlreadyDecided(AlreadyExists):
    """Accepting what is already accepted (HTTP 409)."""

    def __init__(self, detail: str) -> None:
        self.what, self.ident = "decision", ""
        DeconflictError.__init__(self, detail)


class Unavailable(DeconflictError):
    """The service cannot take the request now (shutting down); nothing was done."""


class StoreError(DeconflictError):
    """The store cannot be opened or written."""


class TamperedLog(StoreError):
    """The event log's hash chain does not verify; ``seq`` is the first bad event."""

    def __init__(self, seq: int, reason: str) -> None:
        self.seq = seq
        self.reason = reason
        super().__init__(f"event {seq}: {reason}")
