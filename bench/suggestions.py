"""Duplicate suggestions against N earlier questions: `QuestionIndex` timed beside the brute
force of `similarity.duplicates`, on generated questions (`bench/questions.py`).

    python -m bench.suggestions --sizes 1000 10000 50000 [--record]

For each size: an index of the first N questions of the stream, built one `add` at a time;
`duplicates(text)` (limit 3) for the questions that follow them (about 15% repeat an earlier
one), and for long ones that run several of those together up to the 500 characters a question
may have; the brute force over the same entries for some of the first, its answers compared
with the index's at limits 3 and 10; then `remove` for 1,000 of the N. Times are the process's
CPU time (`time.process_time_ns`), so other work on the machine weighs on them less than on
wall time; they include the garbage collector's, whose full collections are shown apart.
`--record` adds a row per size to the "Duplicate suggestions" table of results.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from bench.questions import questions
from bench.report import ROOT, commit, insert_row, machine
from moderation.duplicates import QuestionIndex
from moderation.similarity import duplicates
from moderation.text import MAX_COMMENT_CHARS

TARGET_P99_MS = {10_000: 5.0, 50_000: 10.0}  # one suggestion, by earlier questions
LOOP_BUDGET_MS = 20.0  # the event loop is never held longer; add and remove stay well under
WARM_UP = 5  # questions asked before the timed ones, not timed
REMOVED = 1_000


@dataclass(frozen=True, slots=True)
class Timings:
    """CPU milliseconds of some calls, sorted."""

    values: tuple[float, ...]

    def at(self, share: float) -> float:
        """The nearest-rank percentile (0.99 is the value 99% of calls do not exceed)."""
        return self.values[max(0, math.ceil(share * len(self.values)) - 1)]

    def summary(self) -> str:
        return f"{self.at(0.5):.2f}/{self.at(0.99):.2f}/{self.values[-1]:.2f}"


class Stopwatch:
    """CPU time of calls, and of the garbage collector's full collections meanwhile."""

    def __init__(self) -> None:
        self.full_collections: list[float] = []
        self._collecting = 0

    def __enter__(self) -> Stopwatch:
        gc.callbacks.append(self._collector)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._collector)

    def _collector(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._collecting = time.process_time_ns()
        elif info["generation"] == 2:
            self.full_collections.append((time.process_time_ns() - self._collecting) / 1e6)

    @staticmethod
    def cpu_ms(call: Callable[..., object], *args: object) -> float:
        """The CPU milliseconds of one call."""
        start = time.process_time_ns()
        call(*args)
        return (time.process_time_ns() - start) / 1e6


@dataclass(frozen=True, slots=True)
class SizeResult:
    """One size's figures."""

    size: int
    asked: int
    build_s: float
    adds: Timings
    removes: Timings
    suggestions: Timings
    long: Timings  # questions of MAX_COMMENT_CHARS that run several together
    brute: Timings | None  # the brute force on the compared questions, if any
    same: int  # answers equal to the brute force's, at limit 3 and at limit 10
    compared: int  # answers compared (two per question given to the brute force)
    rss_mib: float  # what the process's resident memory grew by while the index was built
    full_collections: tuple[float, ...]  # CPU ms of each full garbage collection in the run


def long_questions(texts: Sequence[str], count: int) -> list[str]:
    """`count` questions of MAX_COMMENT_CHARS, each running several of `texts` together."""
    found: list[str] = []
    start = 0
    while texts and len(found) < count:
        end = start + 1
        while len(" ".join(texts[start:end])) < MAX_COMMENT_CHARS and end < len(texts):
            end += 1
        found.append(" ".join(texts[start:end])[:MAX_COMMENT_CHARS])
        start = end % len(texts)
    return found


def run_size(size: int, *, asked: int, long: int, brute: int, seed: int) -> SizeResult:
    """Build an index of `size` questions, time suggestions, compare `brute` of them."""
    stream = questions(seed)
    earlier = [question.text for question in islice(stream, size)]
    new = [question.text for question in islice(stream, WARM_UP + asked)]
    index = QuestionIndex()
    gc.collect()
    rss_before = _rss_mib()
    with Stopwatch() as watch:
        adds = [watch.cpu_ms(index.add, f"q{i}", text) for i, text in enumerate(earlier)]
        rss_mib = _rss_mib() - rss_before
        for text in new[:WARM_UP]:
            index.duplicates(text)
        spent = [watch.cpu_ms(index.duplicates, text) for text in new[WARM_UP:]]
        long_spent = [
            watch.cpu_ms(index.duplicates, text) for text in long_questions(new[WARM_UP:], long)
        ]
    brute_spent, same = compare(index, new[WARM_UP : WARM_UP + brute])
    with watch:
        removed = random.Random(seed).sample(range(size), min(REMOVED, size))
        removes = [watch.cpu_ms(index.remove, f"q{i}") for i in removed]
    return SizeResult(
        size=size,
        asked=asked,
        build_s=sum(adds) / 1000,
        adds=Timings(tuple(sorted(adds))),
        removes=Timings(tuple(sorted(removes))),
        suggestions=Timings(tuple(sorted(spent))),
        long=Timings(tuple(sorted(long_spent))),
        brute=Timings(tuple(sorted(brute_spent))) if brute_spent else None,
        same=same,
        compared=2 * len(brute_spent),
        rss_mib=rss_mib,
        full_collections=tuple(watch.full_collections),
    )


def compare(index: QuestionIndex, asked: Sequence[str]) -> tuple[list[float], int]:
    """The brute force's CPU ms for each question, and how many of the index's answers (at
    limits 3 and 10) are exactly its own."""
    entries = index.entries()
    if asked:
        duplicates(asked[0], entries)  # its profiles cached, as far as its cache holds them
    spent, same = [], 0
    for text in asked:
        start = time.process_time_ns()
        expected = duplicates(text, entries, limit=10)
        spent.append((time.process_time_ns() - start) / 1e6)
        same += index.duplicates(text) == expected[:3]
        same += index.duplicates(text, limit=10) == expected
    return spent, same


def _rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


# --- what it prints and keeps ---------------------------------------------------------------


def _brute(result: SizeResult) -> str:
    if result.brute is None:
        return "-"
    brute = result.brute
    return f"{brute.at(0.5):.1f}/{brute.at(0.99):.1f} ({len(brute.values)})"


def _collections(result: SizeResult) -> str:
    if not result.full_collections:
        return "0"
    return f"{len(result.full_collections)}, longest {max(result.full_collections):.0f} ms"


def _verdict(result: SizeResult) -> str:
    verdicts = []
    target = TARGET_P99_MS.get(result.size)
    if target is not None:
        passed = result.suggestions.at(0.99) <= target
        verdicts.append(f"p99 <= {target:g} ms {'PASS' if passed else 'MISS'}")
    p99 = max(result.adds.at(0.99), result.removes.at(0.99))
    verdicts.append(f"add/remove p99 < {LOOP_BUDGET_MS:g} ms {'PASS' if p99 < 20 else 'MISS'}")
    return ", ".join(verdicts)


def table(results: Sequence[SizeResult]) -> str:
    head = (
        "| earlier | suggestion p50/p99/max ms | 500 chars p50/p99/max ms | add p50/p99/max ms "
        "| remove p99 ms | build s | RSS +MiB | full GCs | brute force p50/p99 ms (n) "
        "| same as brute force | targets |"
    )
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in results:
        lines.append(
            f"| {r.size:,} | {r.suggestions.summary()} | {r.long.summary()} | {r.adds.summary()} "
            f"| {r.removes.at(0.99):.2f} | {r.build_s:.1f} | {r.rss_mib:.0f} | {_collections(r)} "
            f"| {_brute(r)} | {r.same}/{r.compared} | {_verdict(r)} |"
        )
    return "\n".join(lines)


SECTION = """## Duplicate suggestions

One row per size of `python -m bench.suggestions --sizes 1000 10000 50000 --record` (see
bench/README.md): an index (`moderation.duplicates.QuestionIndex`) of N generated questions
(`bench/questions.py`, seed 0: Russian, Kazakh and Latin Kazakh, about 15% asking an earlier
one again), built one `add` at a time, then `duplicates(text)` (limit 3) for the 300 questions
that follow them in the stream, and for 50 long ones that run several of those together up to
the 500 characters a question may have. Times are the process's CPU time in milliseconds,
the garbage collector's included.

Targets: one suggestion at most 5 ms p99 against 10,000 earlier questions and 10 ms against
50,000; `add` and `remove` well under 20 ms, the event loop's budget. Before the index,
`similarity.duplicates` ran on the event loop over every earlier question: 2 ms at 1,000,
287 ms at 8,300, 368 ms at 10,000 (its profile cache holds 8,192 texts).

Columns: *suggestion* is one `QuestionIndex.duplicates`; *500 chars* the same for the long
questions; *add* one `add` while building (its max is a full garbage collection, which scans
every object of the process: the server's collector thresholds make those rare); *build* all
N adds; *brute force* is `similarity.duplicates` over the same entries, for the first n
questions asked; *same* counts its answers (ids, scores and order, at limits 3 and 10) that the
index gave exactly.

| date (UTC) | commit | machine | earlier | asked | suggestion p50/p99/max ms | 500 chars p50/p99/max ms | add p99/max ms | build s | brute force p50/p99 ms (n) | same as brute force |
|---|---|---|---|---|---|---|---|---|---|---|
"""  # noqa: E501


def markdown_row(result: SizeResult, when: dt.datetime) -> str:
    cells = [
        when.strftime("%Y-%m-%d %H:%M"),
        commit(),
        machine(),
        f"{result.size:,}",
        f"{result.asked} + {len(result.long.values)}",
        result.suggestions.summary(),
        result.long.summary(),
        f"{result.adds.at(0.99):.2f}/{result.adds.values[-1]:.0f}",
        f"{result.build_s:.1f}",
        _brute(result),
        f"{result.same}/{result.compared}",
    ]
    return "| " + " | ".join(cells) + " |\n"


def record(path: Path, results: Sequence[SizeResult]) -> None:
    when = dt.datetime.now(dt.UTC)
    table_header = SECTION.splitlines()[-2]
    for result in results:
        insert_row(path, table_header, markdown_row(result, when), SECTION)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.suggestions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    parser.add_argument("--asked", type=int, default=300, help="questions timed per size")
    parser.add_argument("--long", type=int, default=50, help="long questions timed per size")
    parser.add_argument("--brute", type=int, default=50, help="of them given to the brute force")
    parser.add_argument(
        "--brute-up-to",
        type=int,
        default=10_000,
        help="larger sizes give the brute force --check questions only (it is slow there)",
    )
    parser.add_argument("--check", type=int, default=10, help="see --brute-up-to")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", action="store_true", help="add rows to --results")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results.md")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    results = []
    for size in args.sizes:
        brute = min(args.asked, args.brute if size <= args.brute_up_to else args.check)
        print(f"bench: {size:,} earlier questions, {args.asked} asked, {brute} by brute force too")
        result = run_size(size, asked=args.asked, long=args.long, brute=brute, seed=args.seed)
        results.append(result)
        print(table([result]).splitlines()[-1])
    print(table(results))
    if args.record:
        record(args.results, results)
        print(f"bench: {len(results)} row(s) added to {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
