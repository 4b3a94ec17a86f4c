"""`halyq territory import|export|list`: an akimat's territory units from the shell (issue 13.1).

`import FILE.csv` takes the whole file or nothing: any bad row and it prints every bad row as
`line N: reason` and exits with 1. `export [FILE]` writes the same CSV (to stdout without a
file), which imports back as it is. The demo's units (Almaty and its eight districts) are the
file `almaty.csv` beside this module.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from moderation.territories import ImportRefused, Unit, ordered, tree
from server.cli.shell import say, with_usecases
from server.settings import Settings
from server.usecases import UseCases, territories

BY_SHELL = "shell"  # `by` of what `halyq territory` did
BY_DEMO = "demo"
ALMATY_CSV = Path(__file__).with_name("almaty.csv")


def add_parser(commands: Any) -> None:
    territory = commands.add_parser("territory", help="the akimat's territory units (issue 13)")
    actions = territory.add_subparsers(title="actions", required=True)
    load = actions.add_parser("import", help="import a CSV of units: all its rows or none")
    load.add_argument("file", metavar="FILE.csv", type=Path)
    load.set_defaults(run=_import)
    export = actions.add_parser("export", help="write the units as CSV (stdout without FILE)")
    export.add_argument("file", metavar="FILE", type=Path, nargs="?")
    export.set_defaults(run=_export)
    listing = actions.add_parser("list", help="list the units, parents first")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=_list)
    for sub in actions.choices.values():
        sub.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)


def _line(unit: Unit) -> str:
    parent = f"  in {unit.parent}" if unit.parent else ""
    kato = f"  KATO {unit.kato}" if unit.kato else ""
    return f"{unit.id}  {unit.unit_kind.value}  {unit.name_kk} / {unit.name_ru}{kato}{parent}"


def _import(args: argparse.Namespace, settings: Settings) -> int:
    data = Path(args.file).read_bytes()
    try:
        done = with_usecases(
            settings, lambda cases: territories.import_csv(cases, data, by=BY_SHELL)
        )
    except ImportRefused as refused:
        for problem in refused.problems:
            sys.stderr.write(f"{problem}\n")
        sys.stderr.write(f"halyq: nothing imported: {len(refused.problems)} bad row(s)\n")
        return 1
    say(f"imported {len(done)} unit(s)")
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    text = territories.write_csv(with_usecases(settings, territories.units))
    if args.file is None:
        sys.stdout.write(text)
        return 0
    Path(args.file).write_text(text, encoding="utf-8", newline="")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    units = with_usecases(settings, territories.units)
    if args.json:
        say(json.dumps(tree(units), ensure_ascii=False))
        return 0
    if not units:
        say("no units yet: halyq territory import FILE.csv")
    for unit in ordered(units):
        say(_line(unit))
    return 0


async def ensure_almaty_units(cases: UseCases) -> None:
    """The demo's territory (`make demo`): Almaty (`almaty`, a city) and its eight districts
    (`almaty-alatau`... city districts), from `almaty.csv`, imported when any of them is
    missing (then the file's rows replace those units), left as they are after."""
    found = await territories.units(cases)
    rows = territories.read_csv(ALMATY_CSV.read_bytes())
    if all(row["id"] in found for _, row in rows):
        return
    await territories.import_csv(cases, ALMATY_CSV.read_bytes(), by=BY_DEMO)
