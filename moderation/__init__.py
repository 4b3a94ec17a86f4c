"""The domain of Halyq: meetings, comments, questions, filters and decisions, with no I/O."""

from moderation.commands import (
    AskQuestion,
    CreateMeeting,
    EndMeeting,
    Moderate,
    PostComment,
    StartMeeting,
    Submission,
    Vote,
)
from moderation.errors import (
    CommentRejected,
    Conflict,
    InvalidInput,
    InvalidTransition,
    ModerationError,
    NotFound,
)
from moderation.events import (
    KINDS,
    Comment,
    CommentHeld,
    CommentPosted,
    Event,
    MeetingCreated,
    MeetingEnded,
    MeetingStarted,
)
from moderation.meetings import apply, change_meeting, create_meeting
from moderation.model import (
    AkimLevel,
    Channel,
    HoldReason,
    Meeting,
    MeetingStatus,
    RejectReason,
    SlowMode,
)
from moderation.submissions import post_comment

__all__ = [
    "KINDS",
    "AkimLevel",
    "AskQuestion",
    "Channel",
    "Comment",
    "CommentHeld",
    "CommentPosted",
    "CommentRejected",
    "Conflict",
    "CreateMeeting",
    "EndMeeting",
    "Event",
    "HoldReason",
    "InvalidInput",
    "InvalidTransition",
    "Meeting",
    "MeetingCreated",
    "MeetingEnded",
    "MeetingStarted",
    "MeetingStatus",
    "Moderate",
    "ModerationError",
    "NotFound",
    "PostComment",
    "RejectReason",
    "SlowMode",
    "StartMeeting",
    "Submission",
    "Vote",
    "apply",
    "change_meeting",
    "create_meeting",
    "post_comment",
]
