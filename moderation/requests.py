"""Requests before a meeting (R5): what residents send for an announced meeting, what the
commission makes of them, and the collection the meeting's pages show.

A request is a question asked while its meeting was scheduled: from the meeting page's form
(channel `request`) or routed from a phone, WhatsApp, SMS, Telegram or e-mail channel (issue
10). It is kept in the meeting's record like any other question (`question.asked`), so the
commission's work on it (group = merge, tag, agenda = approve) is the moderators' own events,
with who and when, and the console, the queue's API and the transparency report count it as
they count every question. Nothing here names a sender.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from moderation.commands import AskQuestion, Moderate
from moderation.errors import InvalidInput
from moderation.filters import mask_contacts
from moderation.model import Action, Channel, Item, ItemKind, Meeting
from moderation.tagging import Topic

FIELDS = ("name", "text", "district", "topic")
TOPICS = frozenset(t.value for t in Topic)
NO_DISTRICT = ""  # the key of the requests that name no district
# The commission's actions on requests (R5) and the moderation action each one is.
ACTIONS = {"group": Action.MERGE, "tag": Action.TAG, "agenda": Action.APPROVE}


def request_of(body: Mapping[str, object], *, client_msg_id: str) -> AskQuestion:
    """A resident's request from the meeting page's form or JSON, as a question for the meeting
    (R5); a field that is not text, an empty text or an unknown topic is `InvalidInput` naming
    the field. Limits, the first filter and the district's check are the question's own."""
    values: dict[str, str] = {}
    for name in FIELDS:
        value = body.get(name, "")
        if not isinstance(value, str):
            raise InvalidInput(f"{name} must be text")
        values[name] = value.strip()
    if not values["text"]:
        raise InvalidInput("text is required")
    if values["topic"] and values["topic"] not in TOPICS:
        raise InvalidInput(f"topic must be one of {', '.join(sorted(TOPICS))}")
    return AskQuestion(
        client_msg_id=client_msg_id,
        name=values["name"],
        text=values["text"],
        district=values["district"],
        topic=values["topic"],
        channel=Channel.REQUEST,
    )


def is_request(item: Item, meeting: Meeting) -> bool:
    """A question that arrived before its meeting started (R5)."""
    started = meeting.started_at
    return item.kind is ItemKind.QUESTION and (not started or item.at < started)


def topic_of(item: Item) -> str:
    return item.topic or item.suggested_topic or Topic.OTHER.value


def district_of(item: Item) -> str:
    return item.district or item.suggested_district or NO_DISTRICT


@dataclass(frozen=True, slots=True)
class Collection:
    """What was collected for a meeting (R5), as anyone may see it: counts, never senders."""

    total: int
    by_topic: dict[str, int]
    by_district: dict[str, int]
    accepted: list[dict[str, object]]  # requests the commission put on the agenda, masked
    agenda: list[dict[str, object]]  # the meeting's approved questions, requests or not

    def public(self) -> dict[str, object]:
        return {
            "total": self.total,
            "by_topic": self.by_topic,
            "by_district": self.by_district,
            "accepted": self.accepted,
            "agenda": self.agenda,
        }


def _public(item: Item) -> dict[str, object]:
    return {
        "id": item.id,
        "text": mask_contacts(item.text),
        "topic": topic_of(item),
        "district": district_of(item),
        "votes": item.votes,
    }


def collection(meeting: Meeting, items: Iterable[Item]) -> Collection:
    """The meeting's requests counted by topic and by district (most first), the public texts
    of those the commission accepted, and the agenda (in the order they arrived)."""
    ordered = sorted(items, key=lambda i: i.at)
    requests = [i for i in ordered if is_request(i, meeting)]
    topics = Counter(topic_of(i) for i in requests)
    districts = Counter(district_of(i) for i in requests)
    agenda = [i for i in ordered if i.public]
    return Collection(
        total=len(requests),
        by_topic=dict(topics.most_common()),
        by_district=dict(districts.most_common()),
        accepted=[_public(i) for i in agenda if is_request(i, meeting)],
        agenda=[_public(i) for i in agenda],
    )


def _number(body: Mapping[str, object], name: str) -> int:
    value = body.get(name)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidInput(f"{name} must be a positive integer")
    return value


def _text(body: Mapping[str, object], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text")
    return value.strip()


def commission_command(action: str, body: Mapping[str, object]) -> Moderate:
    """The commission's `group` (the request joins `into`), `tag` (`topic`, `district`) or
    `agenda` (a question on the meeting's agenda) as the moderation command it is, formed
    against the `version` the member saw."""
    if action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(sorted(ACTIONS))}")
    item = _text(body, "item")
    if not item:
        raise InvalidInput("item is required")
    version = _number(body, "version")
    into = _text(body, "into") if action == "group" else ""
    if action == "group" and not into:
        raise InvalidInput("into is required to group a request")
    topic, district = (
        (_text(body, "topic"), _text(body, "district")) if action == "tag" else ("", "")
    )
    if action == "tag" and topic not in TOPICS:
        raise InvalidInput(f"topic must be one of {', '.join(sorted(TOPICS))}")
    return Moderate(
        action=ACTIONS[action],
        item=item,
        version=version,
        into=into,
        topic=topic,
        district=district,
    )
