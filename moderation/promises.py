"""Promises made on air, and the tracker of each office (issue 12).

A promise belongs to the office, not only to the person: residents complain that akims change
and their promises vanish with them (`../shared/domain.md`). So a promise names the office, the
meeting (and the question it answered, if any), what was promised, by when and who promised it
(by default the office's holder on the day). After the holder changes, the promises stay listed
under the office with their status, marked `inherited` on the new holder's page. R6's "concrete
deadlines" make a promise past its date and not settled `overdue`; the tracker lists those
first. Sans-I/O: `now`, `today`, ids and `by` are passed in.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import ClassVar

from moderation.errors import InvalidInput, InvalidTransition, NotFound
from moderation.offices import Office, Offices, find, label, parse_day
from moderation.text import clean_text

PROMISE_ID = re.compile(r"[a-z0-9]{4,32}")
QUESTION_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")  # a question's id in its meeting's record
MAX_WHAT_CHARS = 500
MAX_NOTE_CHARS = 500


class PromiseStatus(enum.StrEnum):
    """Where a promise stands. `kept` and `broken` are verdicts: once given they stay on the
    record (a correction is a new note, never a silent change); the others may still move."""

    PENDING = "pending"  # promised, nothing reported yet
    IN_PROGRESS = "in_progress"  # work reported under way
    KEPT = "kept"
    BROKEN = "broken"


SETTLED = frozenset({PromiseStatus.KEPT, PromiseStatus.BROKEN})


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusUpdate:
    """A dated change of a promise's status, with who gave it and a note."""

    at: int
    by: str
    on: str  # the day (ISO), as the office's residents count days
    status: PromiseStatus
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Promise:
    """A promise as the record has it: what, by when (`due`, ISO), who, for which office."""

    id: str
    office: str
    meeting: str
    question: str = ""
    what: str
    due: str
    promised_by: str
    made_on: str  # the day it was made (ISO): whose holding it fell in
    made_at: int
    by: str  # the staff member who recorded it
    status: PromiseStatus = PromiseStatus.PENDING
    updates: tuple[StatusUpdate, ...] = ()

    def is_overdue(self, today: date) -> bool:
        """Past its date and not kept or broken (R6: concrete deadlines)."""
        return self.status not in SETTLED and date.fromisoformat(self.due) < today

    def is_inherited(self, office: Office) -> bool:
        """Made under an earlier holder than the office's current one."""
        holder = office.holder
        return holder is not None and self.made_on < holder.since

    def public(self, office: Office, today: date) -> dict[str, object]:
        """As the tracker shows it (`GET /api/offices/{id}/promises`); staff names stay out:
        who promised is public, who typed it in is the audit's."""
        return {
            "id": self.id,
            "what": self.what,
            "due": self.due,
            "status": self.status.value,
            "promised_by": self.promised_by,
            "office": self.office,
            "meeting": self.meeting,
            "question": self.question or None,
            "made_on": self.made_on,
            "inherited": self.is_inherited(office),
            "overdue": self.is_overdue(today),
            "updates": [
                {"on": u.on, "status": u.status.value, "note": u.note} for u in self.updates
            ],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PromiseMade:
    """Staff (`by`) recorded a promise made on air at meeting `meeting` (issue 12)."""

    kind: ClassVar[str] = "promise.made"
    at: int
    by: str
    promise: str
    office: str
    meeting: str
    question: str
    what: str
    due: str
    promised_by: str
    made_on: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PromiseUpdated:
    """Staff (`by`) gave a promise a status (`kept`, `broken`...) with a note, on `on`."""

    kind: ClassVar[str] = "promise.updated"
    at: int
    by: str
    promise: str
    status: PromiseStatus
    on: str
    note: str


PromiseEvent = PromiseMade | PromiseUpdated
PROMISE_KINDS: dict[str, type[PromiseEvent]] = {
    cls.kind: cls for cls in (PromiseMade, PromiseUpdated)
}
Promises = Mapping[str, Promise]


@dataclass(frozen=True, slots=True, kw_only=True)
class Pledge:
    """What staff type when recording a promise (`promised_by` "" for the office's holder)."""

    what: str
    due: str
    promised_by: str = ""
    question: str = ""


def make_promise(
    offices: Offices,
    pledge: Pledge,
    *,
    promise_id: str,
    office: str,
    meeting: str,
    today: date,
    by: str,
    now: int,
) -> PromiseMade:
    """Validate a promise made today at `meeting` for `office`; who promised is the office's
    holder today unless `pledge.promised_by` names someone."""
    assert PROMISE_ID.fullmatch(promise_id), promise_id  # the caller makes ids
    found = find(offices, office)
    what = clean_text(pledge.what).strip()
    if not what:
        raise InvalidInput("what is required")
    if len(what) > MAX_WHAT_CHARS:
        raise InvalidInput(f"what is over {MAX_WHAT_CHARS} characters")
    due = parse_day("due", pledge.due)
    question = pledge.question.strip()
    if question and not QUESTION_ID.fullmatch(question):
        raise InvalidInput("question must be a question's id, such as 1700000000000-0")
    who = label("promised_by", pledge.promised_by, required=False)
    if not who:
        holder = found.holder_on(today)
        if holder is None:
            raise InvalidInput(f"promised_by is required: office {office} has no holder today")
        who = holder.name
    return PromiseMade(at=now, by=by, promise=promise_id, office=office, meeting=meeting,
                       question=question, what=what, due=due.isoformat(), promised_by=who,
                       made_on=today.isoformat())  # fmt: skip


def update_promise(
    promises: Promises, promise_id: str, status: str, note: str, *, today: date, by: str, now: int
) -> PromiseUpdated:
    """A new status for a promise. A verdict (`kept`, `broken`) is final; the same status
    again is a progress note, so it needs a note."""
    promise = promises.get(promise_id)
    if promise is None:
        raise NotFound(f"no promise {promise_id!r}")
    try:
        new = PromiseStatus(status)
    except ValueError:
        raise InvalidInput(f"status is one of {', '.join(PromiseStatus)}") from None
    text = clean_text(note).strip()
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput(f"note is over {MAX_NOTE_CHARS} characters")
    if promise.status in SETTLED:
        raise InvalidTransition(f"promise {promise_id} is {promise.status}: a verdict is final")
    if new is promise.status and not text:
        raise InvalidInput(f"note is required: the promise is {new} already")
    return PromiseUpdated(
        at=now, by=by, promise=promise_id, status=new, on=today.isoformat(), note=text
    )


def apply(promises: Promises, event: PromiseEvent) -> dict[str, Promise]:
    """The promises after `event`; replaying the events from the start rebuilds them."""
    after = dict(promises)
    if isinstance(event, PromiseMade):
        after[event.promise] = Promise(id=event.promise, office=event.office,
                                       meeting=event.meeting, question=event.question,
                                       what=event.what, due=event.due,
                                       promised_by=event.promised_by, made_on=event.made_on,
                                       made_at=event.at, by=event.by)  # fmt: skip
        return after
    promise = after[event.promise]
    update = StatusUpdate(at=event.at, by=event.by, on=event.on, status=event.status,
                          note=event.note)  # fmt: skip
    after[event.promise] = replace(promise, status=event.status, updates=(*promise.updates, update))
    return after


def tracker(office: Office, promises: Iterable[Promise], today: date) -> list[Promise]:
    """The office's promises as its tracker lists them: overdue first (the most overdue
    first), then the others by due date, settled ones last; ties oldest first."""
    own = [p for p in promises if p.office == office.id]

    def order(promise: Promise) -> tuple[int, str, int]:
        rank = 0 if promise.is_overdue(today) else 2 if promise.status in SETTLED else 1
        return rank, promise.due, promise.made_at

    return sorted(own, key=order)
