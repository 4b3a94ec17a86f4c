"""The domain's exception tree; each error has a stable `code` that transports show as is."""

from __future__ import annotations

from moderation.model import RejectReason


class ModerationError(Exception):
    """Root of every error the domain raises on purpose."""

    code = "error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.code)
        self.detail = detail


class NotFound(ModerationError):
    code = "not_found"


class Conflict(ModerationError):
    """The state changed since the command was formed; nothing was applied."""

    code = "conflict"


class InvalidTransition(ModerationError):
    """The lifecycle table does not allow this command in the item's current state."""

    code = "invalid_transition"


class InvalidInput(ModerationError):
    """A command's values break the domain's rules (a title too long, a bad URL, ...)."""

    code = "invalid"


class CommentRejected(ModerationError):
    """A comment is refused before it reaches the record; `reason` goes back to its sender."""

    code = "rejected"

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason
