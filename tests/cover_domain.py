"""The domain's coverage gate: each `moderation/` module fully covered by its own tests alone.

Like python-websockets' `tests/maxi_cov.py`: for every `moderation/<name>.py`, pytest runs only
`tests/moderation/test_<name>.py` (or the files `EXCEPTIONS` names) and measures only that
module, with branches; any module under 100% fails the run, with its missing lines and
branches. `make test` runs this after the suite; `python tests/cover_domain.py board lifecycle`
checks just those modules. Not collected by pytest (its name does not start with `test_`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ROOT / "moderation"
TESTS = ROOT / "tests" / "moderation"

# Modules whose tests are not named after them: their test files, relative to TESTS.
EXCEPTIONS: dict[str, tuple[str, ...]] = {
    # The first filter's word lists are data; the filter's tests are where they are checked.
    "wordlists": ("test_filters.py",),
    # The question index and its two parts (the candidates' tables, the ranking's bounds) are
    # tested through the index: every answer compared with the brute force.
    "duplicates": ("test_duplicates_index.py",),
    "candidates": ("test_duplicates_index.py",),
    "ranking": ("test_duplicates_index.py",),
}


@dataclass(frozen=True, slots=True)
class Result:
    """One module measured by its own tests: what ran, and what they left uncovered."""

    module: str
    tests: tuple[str, ...]
    percent: float = 0.0
    missing: tuple[str, ...] = ()
    problem: str = ""  # the tests are missing, failed or measured nothing
    seconds: float = 0.0

    @property
    def is_complete(self) -> bool:
        return not self.problem and not self.missing


def tests_of(module: str) -> tuple[str, ...]:
    """The test files of `moderation/<module>.py`, by name unless `EXCEPTIONS` says otherwise."""
    return EXCEPTIONS.get(module, (f"test_{module}.py",))


def measure(group: tuple[str, ...], scratch: Path) -> list[Result]:
    """Run the tests shared by `group`'s modules once, with coverage of those modules alone
    (the question index's three modules share one slow file: one run, not three)."""
    started = time.monotonic()
    results = _measure(group, scratch)
    seconds = time.monotonic() - started
    return [dataclasses.replace(result, seconds=seconds) for result in results]


def _measure(group: tuple[str, ...], scratch: Path) -> list[Result]:
    tests = tests_of(group[0])
    absent = [name for name in tests if not (TESTS / name).is_file()]
    if absent:
        problem = f"no {', '.join(absent)} in tests/moderation"
        return [Result(module, tests, problem=problem) for module in group]
    # A data file per run: pytest-cov erases and combines every `.coverage.*` beside it.
    folder = scratch / group[0]
    folder.mkdir()
    report = folder / "coverage.json"
    command = [
        sys.executable, "-m", "pytest", "-q", "--no-header", "-p", "no:cacheprovider",
        *(f"--cov=moderation.{module}" for module in group), "--cov-branch",
        "--cov-fail-under=0", f"--cov-report=json:{report}", *(str(TESTS / name) for name in tests),
    ]  # fmt: skip
    env = os.environ | {"COVERAGE_FILE": str(folder / ".coverage")}
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        tail = "\n".join((run.stdout + run.stderr).strip().splitlines()[-15:])
        return [Result(m, tests, problem=f"pytest exited {run.returncode}:\n{tail}") for m in group]
    files = json.loads(report.read_text())["files"] if report.is_file() else {}
    return [_result(module, tests, files.get(f"moderation/{module}.py")) for module in group]


def _result(module: str, tests: tuple[str, ...], found: dict[str, Any] | None) -> Result:
    if found is None:
        return Result(module, tests, problem="its tests never import it")
    return Result(
        module,
        tests,
        percent=found["summary"]["percent_covered"],
        missing=missing(
            found["executed_lines"], found["missing_lines"], found.get("missing_branches", [])
        ),
    )


def groups(names: list[str]) -> list[tuple[str, ...]]:
    """The modules to measure, gathered by the test files they share, slowest first."""
    by_tests: dict[tuple[str, ...], list[str]] = {}
    for name in names:
        by_tests.setdefault(tests_of(name), []).append(name)
    return sorted((tuple(g) for g in by_tests.values()), key=len, reverse=True)


def missing(ran: list[int], lines: list[int], branches: list[list[int]]) -> tuple[str, ...]:
    """As coverage's report shows them: runs of lines never run (`12-15`, across blank and
    comment lines), and branches never taken between lines that ran (`17->19`, `21->exit`)."""
    gone = sorted(lines)
    shown: list[tuple[int, str]] = []
    for line in gone:
        if shown and not any(shown[-1][0] < other < line for other in ran):
            start = shown[-1][1].split("-")[0]
            shown[-1] = (line, f"{start}-{line}")
        else:
            shown.append((line, str(line)))
    arcs = [(a, b) for a, b in branches if a not in gone and b not in gone]
    found = [(int(text.split("-")[0]), text) for _, text in shown]
    found += [(a, f"{a}->{b if b > 0 else 'exit'}") for a, b in arcs]
    return tuple(text for _, text in sorted(found))


def modules(names: list[str]) -> list[str]:
    every = sorted(path.stem for path in DOMAIN.glob("*.py") if path.stem != "__init__")
    unknown = sorted(set(names) - set(every))
    if unknown:
        raise SystemExit(f"not modules of moderation/: {', '.join(unknown)}")
    return names or every


def table(results: list[Result]) -> str:
    width = max(len(r.module) for r in results) + len("moderation/.py")
    rows = [f"{'module':<{width}}  {'cover':>6}  {'time':>5}  tests", "-" * (width + 45)]
    for r in results:
        # Rounded down, as coverage does: 99.96% is not shown as 100.0%.
        cover = "-" if r.problem else f"{math.floor(r.percent * 10) / 10:.1f}%"
        path = f"moderation/{r.module}.py"
        rows.append(f"{path:<{width}}  {cover:>6}  {r.seconds:4.0f}s  {', '.join(r.tests)}")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    started = time.monotonic()
    names = modules(argv)
    with tempfile.TemporaryDirectory(prefix="cover-domain-") as scratch:
        runs = groups(names)
        workers = min(len(runs), os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            measured = pool.map(lambda group: measure(group, Path(scratch)), runs)
            results = sorted((r for rs in measured for r in rs), key=lambda r: r.module)
    out = sys.stdout
    out.write(table(results) + "\n")
    failed = [r for r in results if not r.is_complete]
    for r in failed:
        why = r.problem or "missing " + ", ".join(r.missing)
        out.write(f"\nmoderation/{r.module}.py by {', '.join(r.tests)}: {why}\n")
    elapsed = time.monotonic() - started
    if failed:
        out.write(f"\n{len(failed)} of {len(results)} domain modules are not 100% covered by ")
        out.write(f"their own tests ({elapsed:.0f}s)\n")
        return 1
    out.write(f"\nevery domain module is 100% covered by its own tests ({elapsed:.0f}s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
