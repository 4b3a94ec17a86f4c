"""Key names: one prefix, one function per key shape. A meeting's keys share a hash tag, so a
write of one meeting touches one Redis Cluster slot; so do the global keys that one write or
transaction touches together (`{staff}`, `{pool}`, `{calendar}`, `{archive}`, `{offices}`...).
Every other global key is only ever read or written alone (issue 15)."""

from __future__ import annotations


class Keys:
    """Every key Halyq uses under one prefix (several installations may share a Redis)."""

    __slots__ = ("prefix",)

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def _m(self, meeting_id: str, suffix: str = "") -> str:
        return f"{self.prefix}m:{{{meeting_id}}}{suffix}"

    # The record

    def stream(self, meeting_id: str) -> str:
        """The meeting's events, oldest first: the record."""
        return self._m(meeting_id, ":log")

    def seen(self, meeting_id: str) -> str:
        """client_msg_id -> what it was recorded as (retries make no second event)."""
        return self._m(meeting_id, ":seen")

    def bucket(self, meeting_id: str, sender: str) -> str:
        """One sender's slow-mode bucket."""
        return self._m(meeting_id, f":slow:{sender}")

    def epoch(self, meeting_id: str) -> str:
        """The record's epoch: a random token that changes when history was lost (FLT-6)."""
        return self._m(meeting_id, ":epoch")

    # The clock and the studio (issue 9)

    def phase(self, meeting_id: str) -> str:
        """The meeting's latest `meeting.phase_changed` event, as the record has it (R4)."""
        return self._m(meeting_id, ":phase")

    def tokens(self, meeting_id: str) -> str:
        """Kind (`producer`, `overlay`) -> the meeting's access key of that kind."""
        return self._m(meeting_id, ":tokens")

    # Every channel into one queue (issue 10)

    def mine(self, meeting_id: str, sender: str) -> str:
        """The ids of what one sender (a pseudonym) sent to the meeting: "my questions"."""
        return self._m(meeting_id, f":by:{sender}")

    def contacts(self, meeting_id: str) -> str:
        """Sender pseudonym -> their raw contact as JSON: personal data, kept apart and deleted
        at the end of the retention period (`halyq retention run`)."""
        return self._m(meeting_id, ":contacts")

    def originals(self, meeting_id: str) -> str:
        """Item id -> the text as its sender wrote it, when the record holds it masked."""
        return self._m(meeting_id, ":originals")

    def outbox(self, meeting_id: str) -> str:
        """Answers to senders, waiting for delivery (a stream read by a consumer group)."""
        return self._m(meeting_id, ":outbox")

    def outboxes(self) -> str:
        """The ids of the meetings that have an outbox."""
        return f"{self.prefix}outboxes"

    def inbound(self, key: str) -> str:
        """A provider's message key -> the meeting it was routed to (its retries go there)."""
        return f"{self.prefix}inbound:{key}"

    def routes(self) -> str:
        """ "<channel>:<address>" -> the meeting that channel address is routed to."""
        return f"{self.prefix}routes"

    def refusals(self) -> str:
        """Messages the intake refused (rate limit, no meeting...), without contacts."""
        return f"{self.prefix}intake:refused"

    def dead_letters(self) -> str:
        """Answers that could not be delivered after every retry."""
        return f"{self.prefix}outbox:dead"

    # The archive of recordings (issue 11): jobs, not a meeting's; one hash tag for the three,
    # which a job's transactions write together

    def archive_queue(self) -> str:
        """Archive jobs to run: a stream read by the workers' consumer group."""
        return f"{self.prefix}{{archive}}:queue"

    def archive_job(self, job_id: str) -> str:
        """One archive job's state: meeting, URL, state, progress, reason, files."""
        return f"{self.prefix}{{archive}}:job:{job_id}"

    def archive_jobs(self) -> str:
        """Every archive job's id, scored by when it was queued."""
        return f"{self.prefix}{{archive}}:jobs"

    # YouTube's chat (issue 11)

    def feeds(self, meeting_id: str) -> str:
        """Source (a chat file or a stream URL) -> the feed's state as JSON (its health)."""
        return self._m(meeting_id, ":feeds")

    def positions(self, meeting_id: str) -> str:
        """Source -> the byte offset of the chat file read so far (a restart resumes there)."""
        return self._m(meeting_id, ":feeds:at")

    def removed(self, meeting_id: str) -> str:
        """YouTube ids deleted on YouTube before we took them: hidden as soon as they come."""
        return self._m(meeting_id, ":yt:removed")

    def banned(self, meeting_id: str) -> str:
        """YouTube channel ids of authors banned on YouTube: all they wrote is hidden."""
        return self._m(meeting_id, ":yt:banned")

    # The broadcast itself (issue 16)

    def outputs(self, meeting_id: str) -> str:
        """Name -> the RTMP(S) URL of a restream destination, with its stream key: secrets."""
        return self._m(meeting_id, ":outputs")

    def broadcast(self, meeting_id: str) -> str:
        """The status of the meeting's ingest as JSON, written every second by the node that
        runs it, with a short time to live (every node answers `/broadcast` from it)."""
        return self._m(meeting_id, ":broadcast")

    # Offices and their promises (issue 12): one stream for all, not a meeting's; its two keys
    # share a hash tag of their own, so a write of them touches one Redis Cluster slot

    def offices(self) -> str:
        """Every office's and promise's event, oldest first: their record."""
        return f"{self.prefix}{{offices}}:log"

    def offices_count(self) -> str:
        """Field `events`: how many events the offices' record holds (the writers' guard)."""
        return f"{self.prefix}{{offices}}:count"

    # Territories (issue 13): one stream for every unit's event, and its count (one hash tag)

    def territories(self) -> str:
        """Every territory unit's event, oldest first: the territories' record."""
        return f"{self.prefix}{{territories}}:log"

    def territories_count(self) -> str:
        """Field `events`: how many events the territories' record holds (the writers' guard)."""
        return f"{self.prefix}{{territories}}:count"

    # Meetings on demand (R2, issue 13): one stream for every demand's event, and its count

    def demands(self) -> str:
        """Every demand's event, oldest first: their record."""
        return f"{self.prefix}{{demands}}:log"

    def demands_count(self) -> str:
        """Field `events`: how many events the demands' record holds (the writers' guard)."""
        return f"{self.prefix}{{demands}}:count"

    # The annual calendar (R1, issue 13): one stream for every office's calendar, and its count
    # (one hash tag: the planned meetings it creates or moves are written after it, issue 15)

    def calendar(self) -> str:
        """Every calendar's event (planned, moved, cancelled, approved...): their record."""
        return f"{self.prefix}{{calendar}}:log"

    def calendar_count(self) -> str:
        """Field `events`: how many events the calendar's record holds (the writers' guard)."""
        return f"{self.prefix}{{calendar}}:count"

    # The issue pool (issue 12): one stream for every meeting's issues, and its versions (one
    # hash tag)

    def pool(self) -> str:
        """Every issue's event, oldest first: the pool's record."""
        return f"{self.prefix}{{pool}}:log"

    def pool_versions(self) -> str:
        """Issue id -> its version, and field `issues`: how many were opened (writers' guards)."""
        return f"{self.prefix}{{pool}}:versions"

    # Meetings

    def meeting(self, meeting_id: str) -> str:
        return self._m(meeting_id)

    def meeting_pattern(self) -> str:
        """A SCAN pattern of every meeting's own hash (`meeting`), and of none of its other keys:
        what rebuilds the index (`Meetings.repair`)."""
        return self._m("*")

    def meeting_of(self, key: str) -> str:
        """The meeting id in a key `meeting` made."""
        return key.removeprefix(self._m("")[:-1]).removesuffix("}")

    def meetings(self) -> str:
        """Every meeting's id, scored by when it was created: written after the meeting's own
        write, alone (a meeting's keys and the index are in different cluster slots)."""
        return f"{self.prefix}meetings"

    # The board

    def items(self, meeting_id: str) -> str:
        """Item id -> the item as moderators see it (without its id, version and votes)."""
        return self._m(meeting_id, ":items")

    def versions(self, meeting_id: str) -> str:
        """Item id -> its version (absent: never moderated, version 1)."""
        return self._m(meeting_id, ":versions")

    def held(self, meeting_id: str) -> str:
        """Hold reason -> comments the first filter held for it (the public count)."""
        return self._m(meeting_id, ":held")

    def public(self, meeting_id: str) -> str:
        """Question id -> the question as the public list shows it."""
        return self._m(meeting_id, ":public")

    def hidden(self, meeting_id: str) -> str:
        """Ids of the comments moderators hide now."""
        return self._m(meeting_id, ":hidden")

    # Votes

    def votes(self, meeting_id: str) -> str:
        """Question id -> its count of distinct voters."""
        return self._m(meeting_id, ":votes")

    def voters(self, meeting_id: str, question: str) -> str:
        return self._m(meeting_id, f":voters:{question}")

    # Rate limits that are not a meeting's (no hash tag)

    def limit(self, name: str) -> str:
        """A rate limit's bucket, shared by every process (new viewer cookies per address)."""
        return f"{self.prefix}limit:{name}"

    # Staff (not a meeting's): one hash tag, `{staff}`, as users, sessions and throttles are
    # written together (a user and the set of users, a session and its user's sessions...)

    def secret(self) -> str:
        return f"{self.prefix}secret"

    def _staff(self, suffix: str) -> str:
        return f"{self.prefix}{{staff}}:{suffix}"

    def user(self, name: str) -> str:
        return self._staff(f"user:{name}")

    def users(self) -> str:
        return self._staff("users")

    def user_sessions(self, name: str) -> str:
        return self._staff(f"user:{name}:sessions")

    def session(self, session_digest: str) -> str:
        return self._staff(f"session:{session_digest}")

    def failures(self, scope: str, subject: str) -> str:
        return self._staff(f"fail:{scope}:{subject}")

    def audit(self) -> str:
        return self._staff("audit")
