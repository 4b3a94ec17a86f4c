"""Earlier items for a scenario: `python -m bench.seed --data-dir D --meeting ID --questions N
[--comments M]`.

Asks N questions of the realistic generator (`bench.questions`) in a running server's meeting,
through the `submit` use case as every channel does (so each gets its duplicate suggestions
against the ones before it), then posts M comments the same way (issue 14: a board of 20,000
items, 5,000 of them questions), joining the server's embedded Redis as a guest. It prints JSON:
how many were asked and posted, in how many seconds, and how many were suggested a duplicate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from bench.questions import questions
from moderation import AskQuestion, PostComment, Submission
from server.store import Store
from server.store.embedded import EmbeddedRedis
from server.usecases import Asked, Held, Posted, UseCases, submit

CONCURRENCY = 16  # asks in flight: Redis fsyncs them together


async def seed(
    url: str, meeting_id: str, count: int, *, comments: int = 0, prefix: str = "halyq:"
) -> dict[str, float]:
    store = Store(url, prefix)
    try:
        await store.check_durability()
        cases = UseCases(store=store)
        meeting = await store.meetings.get(meeting_id)
        assert meeting is not None, f"no meeting {meeting_id}"
        stream = questions(seed=1)
        similar = 0
        lock = asyncio.Lock()
        began = time.perf_counter()

        async def ask(number: int) -> None:
            nonlocal similar
            async with lock:  # texts in the stream's order, so repeats follow what they repeat
                text = next(stream).text
            what = AskQuestion(client_msg_id=f"seed-{number}", name="Тұрғын", text=text)
            outcome = await submit(cases, meeting, Submission(what=what, sender=f"s{number}"))
            assert isinstance(outcome, Asked), outcome
            items = await store.board.items(meeting_id, [outcome.id])
            similar += bool(items[outcome.id].similar)

        async def post(number: int) -> None:
            what = PostComment(client_msg_id=f"seed-c{number}", name="Тұрғын",
                               text=f"Пікір {number}: рақмет, жақсы кездесу")  # fmt: skip
            outcome = await submit(cases, meeting, Submission(what=what, sender=f"c{number}"))
            assert isinstance(outcome, Posted | Held), outcome

        for start in range(0, count, CONCURRENCY):
            await asyncio.gather(*(ask(n) for n in range(start, min(count, start + CONCURRENCY))))
        for start in range(0, comments, CONCURRENCY):
            await asyncio.gather(
                *(post(n) for n in range(start, min(comments, start + CONCURRENCY)))
            )
        seconds = time.perf_counter() - began
        return {"asked": count, "posted": comments, "seconds": seconds, "with_similar": similar}
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True, help="the server's data folder")
    parser.add_argument("--meeting", required=True)
    parser.add_argument("--questions", type=int, required=True)
    parser.add_argument("--comments", type=int, default=0, help="comments after them (0)")
    args = parser.parse_args(argv)
    with EmbeddedRedis(args.data_dir) as redis:
        result = asyncio.run(seed(redis.url, args.meeting, args.questions, comments=args.comments))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
