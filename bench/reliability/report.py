"""What a reliability scenario reports: its pass criteria with what was measured, and the command
line every scenario module shares (`--quick`, `--only`, the JSON summary in bench/out/).

The modules print their summaries in shapes of their own (bench/results.md quotes them), so a
module may shape its JSON itself; the criteria and the pass or fail verdict are kept here only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "out"


@dataclass(frozen=True, slots=True)
class Criterion:
    """One pass criterion: whether it held, what was measured, and what was wanted."""

    name: str
    passed: bool
    measured: Any
    target: Any = None


@dataclass
class Result:
    """A scenario's criteria, the figures behind them, notes, and its nodes' last log lines."""

    scenario: str
    scale: dict[str, Any] = field(default_factory=dict)
    criteria: list[Criterion] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    logs: dict[str, list[str]] = field(default_factory=dict)

    def check(self, name: str, passed: bool, measured: Any, target: Any = None) -> None:
        self.criteria.append(Criterion(name, bool(passed), measured, target))

    @property
    def failures(self) -> list[Criterion]:
        return [c for c in self.criteria if not c.passed]

    @property
    def passed(self) -> bool:
        return not self.failures

    def explain(self) -> str:
        """The failed criteria, then the figures and the nodes' last log lines."""
        lines = [f"{self.scenario}: {c.name}: measured {c.measured!r}, wanted {c.target}"
                 for c in self.failures]  # fmt: skip
        lines.append(json.dumps(self.figures, default=str)[:3000])
        for name, tail in self.logs.items():
            lines += [f"--- node {name} log:", *tail]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "passed": self.passed,
            "scale": self.scale,
            "criteria": [asdict(c) for c in self.criteria],
            "figures": self.figures,
            "notes": self.notes,
        }


# The command line

Run = Callable[[list[str], bool], list[Result]]  # the chosen scenarios, quick or not
Summary = Callable[[bool, list[Result], float], dict[str, Any]]  # quick, results, seconds
Options = Callable[[argparse.ArgumentParser, Sequence[str]], None]


def summarize(quick: bool, results: list[Result], _seconds: float) -> dict[str, Any]:
    """The usual summary: whether every scenario passed, and each one's `as_dict`."""
    return {"quick": quick, "passed": all(r.passed for r in results),
            "scenarios": [r.as_dict() for r in results]}  # fmt: skip


def listed(parser: argparse.ArgumentParser, scenarios: Sequence[str]) -> None:
    """`--only a,b`: the scenarios to run, all by default (`main` rejects an unknown one)."""
    named = ", ".join(scenarios)
    parser.add_argument("--only", default=",".join(scenarios),
                        help=f"comma-separated scenarios: {named} (all)")  # fmt: skip


def repeated(help: str | None = None) -> Options:
    """`--only a --only b`: the scenarios to run, each checked by argparse, all by default."""

    def add(parser: argparse.ArgumentParser, scenarios: Sequence[str]) -> None:
        parser.add_argument("--only", action="append", choices=scenarios, help=help)

    return add


def headline(doc: str | None) -> str | None:
    """A module docstring's first paragraph: the command's description in `--help`."""
    return doc.split("\n\n")[0] if doc else None


def utc_stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def main(
    argv: list[str] | None,
    *,
    prog: str | None,
    description: str | None,
    out: str,
    run: Run,
    scenarios: Sequence[str] = (),
    options: Options = listed,
    summary: Summary = summarize,
    stamp: Callable[[], str] = utc_stamp,
) -> int:
    """A scenario module's command: `--quick` and the module's `options` (`--only` where there
    are `scenarios`), then `run`; prints the summary as JSON and writes it to
    bench/out/<stamp>-<out>.json. Returns the exit status: 1 if a criterion failed."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    if scenarios:
        options(parser, scenarios)
    args = parser.parse_args(argv)
    names = _chosen(parser, getattr(args, "only", None), scenarios)
    began = time.monotonic()
    results = run(names, args.quick)
    document = summary(args.quick, results, time.monotonic() - began)
    text = json.dumps(document, indent=2, ensure_ascii=False, default=str)
    OUT.mkdir(exist_ok=True)
    (OUT / f"{stamp()}-{out}.json").write_text(text)
    sys.stdout.write(text + "\n")
    return 0 if document["passed"] else 1


def _chosen(
    parser: argparse.ArgumentParser, only: str | list[str] | None, scenarios: Sequence[str]
) -> list[str]:
    """`--only`'s scenarios: `a,b` (checked here), repeated (argparse checked its choices), or
    none given: all."""
    if only is None:
        return list(scenarios)
    if isinstance(only, list):
        return only
    names = [n.strip() for n in only.split(",") if n.strip()]
    if unknown := [n for n in names if n not in scenarios]:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(scenarios)}")
    return names
