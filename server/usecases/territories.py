"""Territories end to end (issue 13.1): the CSV read and written (UTF-8, with or without a BOM,
a header naming `COLUMNS`), and the units' record: load it, let the domain decide, append
behind the count of events the decision saw (another writer first: decide again).

A file is imported whole or not at all: `import_csv` raises `ImportRefused` naming every bad
row by its line (1-based, as an editor shows it; the header is line 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from moderation import Conflict
from moderation.territories import (
    COLUMNS,
    ImportRefused,
    Problem,
    TerritoryEvent,
    Unit,
    UnitFields,
    add_unit,
    change_unit,
    import_rows,
    ordered,
)
from server.store import Refused, Write
from server.store.territories import Territory, fold
from server.usecases.context import UseCases

TRIES = 5  # decisions made again when another write to the territories' record came first
BOM = "\ufeff"
REQUIRED = ("id", "kind", "name_kk", "name_ru")  # the other columns may be left out
Row = tuple[int, dict[str, str]]


def read_csv(data: bytes | str) -> list[Row]:
    """The rows of a territory CSV, each with its first line; `ImportRefused` for text that is
    not UTF-8, a missing or unknown header, or a row with more or fewer fields than it."""
    text = data if isinstance(data, str) else _decoded(data)
    reader = csv.reader(io.StringIO(text.removeprefix(BOM), newline=""))
    header = [name.strip() for name in next(reader, [])]
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        raise ImportRefused([Problem(1, _header_problem(missing, unknown))])
    rows: list[Row] = []
    problems: list[Problem] = []
    line = reader.line_num + 1
    for values in reader:
        if values and any(v.strip() for v in values):
            if len(values) != len(header):
                problems.append(
                    Problem(line, f"{len(values)} fields, where the header has {len(header)}")
                )
            else:
                rows.append((line, dict(zip(header, values, strict=True))))
        line = reader.line_num + 1
    if problems:
        raise ImportRefused(problems)
    return rows


def _decoded(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportRefused([Problem(line, "not UTF-8 text: save the file as UTF-8")]) from None


def _header_problem(missing: list[str], unknown: list[str]) -> str:
    if missing:
        return f"header: no column {', '.join(missing)} (the columns: {','.join(COLUMNS)})"
    if unknown:
        return f"header: unknown column {', '.join(unknown)} (the columns: {','.join(COLUMNS)})"
    return "header: a column is named twice"


def write_csv(units: dict[str, Unit]) -> str:
    """Every unit as a territory CSV (a BOM, the header, parents before their units), which
    `read_csv` and `import_csv` take back as it is."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for unit in ordered(units):
        row = unit.row()
        writer.writerow([row[name] for name in COLUMNS])
    return BOM + out.getvalue()


async def territory(cases: UseCases) -> Territory:
    return await cases.store.territories.territory()


async def units(cases: UseCases) -> dict[str, Unit]:
    """Every unit by id."""
    return (await territory(cases)).units


async def _decide(cases: UseCases, decide: Callable[[Territory], TerritoryEvent]) -> Territory:
    """Decide on the latest units and append, again while another write came first."""
    for _ in range(TRIES):
        before = await territory(cases)
        event = decide(before)
        write = Write()
        cases.store.territories.append(write, before, [event])
        if not isinstance(await cases.store.record.run(write), Refused):
            return fold(before, event)
    raise Conflict("the territories kept changing meanwhile; try again")


async def add(cases: UseCases, unit_id: str, fields: UnitFields, *, by: str) -> Unit:
    """Add a unit (the admin's page)."""
    now = cases.clock()
    after = await _decide(cases, lambda t: add_unit(t.units, unit_id, fields, by=by, now=now))
    return after.units[unit_id.strip()]


async def change(cases: UseCases, unit_id: str, fields: UnitFields, *, by: str) -> Unit:
    """Rename a unit, give it its KATO code or move it (the admin's page)."""
    now = cases.clock()
    after = await _decide(cases, lambda t: change_unit(t.units, unit_id, fields, by=by, now=now))
    return after.units[unit_id]


async def import_csv(cases: UseCases, data: bytes | str, *, by: str) -> list[Unit]:
    """Import a territory CSV whole (`halyq territory import`, the admin's upload): its units,
    in the file's order; `ImportRefused` with every bad row, and nothing imported, if any."""
    rows = read_csv(data)
    now = cases.clock()
    after = await _decide(cases, lambda t: import_rows(t.units, rows, by=by, now=now))
    return [after.units[row["id"].strip()] for _, row in rows]
