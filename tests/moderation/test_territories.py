"""Territories (issue 13.1): units, their tree and the kinds it allows, a file's rows checked
whole (every bad row named by its line), the fold, and which units an office must visit (R1)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest

from moderation import InvalidInput, NotFound
from moderation.model import AkimLevel
from moderation.territories import (
    COLUMNS,
    PARENTS,
    ImportRefused,
    Problem,
    TerritoryImported,
    Unit,
    UnitAdded,
    UnitChanged,
    UnitFields,
    UnitKind,
    add_unit,
    apply,
    change_unit,
    children,
    find,
    import_rows,
    ordered,
    to_visit,
    tree,
    with_changes,
)

K = UnitKind
BY, NOW = "admin", 1_700_000_000_000


def fields(kind: UnitKind, name: str = "Алматы", parent: str = "", kato: str = "") -> UnitFields:
    return UnitFields(unit_kind=kind, name_kk=name, name_ru=name, parent=parent, kato=kato)


def build(*specs: tuple[str, UnitKind, str]) -> dict[str, Unit]:
    """Units added one by one through `add_unit` (id, kind, parent)."""
    units: dict[str, Unit] = {}
    for unit_id, kind, parent in specs:
        units = apply(units, add_unit(units, unit_id, fields(kind, parent=parent), by=BY, now=NOW))
    return units


ALMATY = build(
    ("almaty", K.CITY, ""),
    ("almaty-medeu", K.CITY_DISTRICT, "almaty"),
    ("almaty-almaly", K.CITY_DISTRICT, "almaty"),
    ("almaty-samal", K.MICRODISTRICT, "almaty-medeu"),
)
OBLAST = build(
    ("almaty-oblast", K.OBLAST, ""),
    ("talgar", K.DISTRICT, "almaty-oblast"),
    ("konaev", K.CITY, "almaty-oblast"),
    ("talgar-city", K.CITY, "talgar"),
    ("belbulak", K.RURAL_DISTRICT, "talgar"),
    ("belbulak-village", K.VILLAGE, "belbulak"),
    ("kendala", K.VILLAGE, "talgar"),
    ("konaev-zhanatalap", K.VILLAGE, "konaev"),
    ("konaev-1", K.MICRODISTRICT, "konaev"),
    ("konaev-rural", K.RURAL_DISTRICT, "konaev"),
)

WITH_KATO = {**ALMATY, "almaty": replace(ALMATY["almaty"], kato="750000000")}


def row(
    unit_id: str, kind: str = "city_district", parent: str = "almaty", **more: str
) -> dict[str, str]:
    return {"id": unit_id, "kind": kind, "name_kk": "Медеу ауданы", "name_ru": "Медеуский район",
            "parent": parent, **more}  # fmt: skip


def test_add_unit_keeps_kazakh_and_russian_names_and_kato() -> None:
    given = UnitFields(unit_kind=K.CITY, name_kk="  Алматы ", name_ru="Алматы",
                       name_en="Almaty", kato=" 750000000 ")  # fmt: skip
    event = add_unit({}, "almaty", given, by=BY, now=NOW)
    assert event == UnitAdded(at=NOW, by=BY, unit="almaty", unit_kind=K.CITY, name_kk="Алматы",
                              name_ru="Алматы", name_en="Almaty", kato="750000000")  # fmt: skip
    unit = apply({}, event)["almaty"]
    assert (unit.name("kk"), unit.name("ru"), unit.name("en")) == ("Алматы", "Алматы", "Almaty")
    assert unit.public(["almaty-medeu"]) == {
        "id": "almaty", "kind": "city", "names": {"kk": "Алматы", "ru": "Алматы", "en": "Almaty"},
        "kato": "750000000", "parent": None, "children": ["almaty-medeu"],
    }  # fmt: skip
    assert list(unit.row()) == list(COLUMNS)


def test_a_name_without_english_falls_back_to_russian() -> None:
    unit = ALMATY["almaty-medeu"]
    assert unit.name("en") == unit.name_ru
    assert unit.public()["names"] == {"kk": "Алматы", "ru": "Алматы", "en": None}


@pytest.mark.parametrize(
    ("unit_id", "given", "error"),
    [
        ("almaty", fields(K.CITY), "id: unit almaty already exists"),
        ("A", fields(K.CITY), "id: 'A' is not 2-64"),
        ("x", fields(K.CITY), "id: 'x' is not 2-64"),
        ("-x", fields(K.CITY), "is not 2-64"),
        ("new", fields(K.CITY, kato="75"), "kato: '75' is not 9 digits"),
        ("new", fields(K.CITY, kato="75000000a"), "kato: '75000000a' is not 9 digits"),
        ("new", fields(K.CITY, kato="750000000"), "kato: 750000000 is also unit almaty's"),
        ("new", fields(K.CITY, name=" "), "name_kk is required"),
        ("new", UnitFields(unit_kind=K.CITY, name_kk="Жаңа", name_ru=""), "name_ru is required"),
        ("new", fields(K.CITY, name="a" * 121), "name_kk is over 120 characters"),
        ("new", fields(K.CITY, name="=HYPERLINK(1)"), "name_kk must not start with ="),
        ("new", fields(K.CITY, name="-1"), "must not start with"),
        ("new", fields("town", parent="almaty"), "kind: 'town' is not one of"),  # type: ignore[arg-type]
        ("new", fields(K.VILLAGE, parent="nowhere"), "parent: no unit 'nowhere'"),
        ("new", fields(K.VILLAGE, parent="new"), "going up from new through new comes back to new"),
        ("new", fields(K.DISTRICT), "kind: a district cannot sit at the top (only under oblast)"),
        ("new", fields(K.OBLAST, parent="almaty"), "kind: a oblast cannot sit under a city"),
        ("new", fields(K.CITY_DISTRICT, parent="almaty-medeu"), "cannot sit under a city_district"),
    ],
)
def test_add_unit_refuses_with_the_field(unit_id: str, given: UnitFields, error: str) -> None:
    with pytest.raises(InvalidInput, match=error.replace("(", r"\(").replace(")", r"\)")):
        add_unit(WITH_KATO, unit_id, given, by=BY, now=NOW)


# A unit of every kind, each where the table allows it, to put a new unit under.
EVERY_KIND = build(
    ("oblast", K.OBLAST, ""), ("district", K.DISTRICT, "oblast"), ("city", K.CITY, ""),
    ("rural-district", K.RURAL_DISTRICT, "district"), ("village", K.VILLAGE, "district"),
    ("city-district", K.CITY_DISTRICT, "city"), ("microdistrict", K.MICRODISTRICT, "city"),
)  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "parent_kind"), [(kind, parent) for kind in K for parent in ("", *K)]
)
def test_each_kind_sits_only_under_the_kinds_the_table_allows(
    kind: UnitKind, parent_kind: str
) -> None:
    given = fields(kind, parent=parent_kind.replace("_", "-"))  # EVERY_KIND's ids: its kinds
    if parent_kind in PARENTS[kind]:
        assert add_unit(EVERY_KIND, "new", given, by=BY, now=NOW).unit_kind is kind
    else:
        with pytest.raises(InvalidInput, match=f"kind: a {kind} cannot sit"):
            add_unit(EVERY_KIND, "new", given, by=BY, now=NOW)


def test_change_unit_renames_and_records_who_and_when() -> None:
    renamed = with_changes(ALMATY["almaty-medeu"], name_kk="Медеу ауданы", name_en="Medeu",
                           ignored="x")  # fmt: skip
    event = change_unit(ALMATY, "almaty-medeu", renamed, by="akimat", now=NOW + 1)
    assert isinstance(event, UnitChanged)
    assert (event.by, event.at, event.name_kk, event.name_en) == (
        "akimat",
        NOW + 1,
        "Медеу ауданы",
        "Medeu",
    )
    after = apply(ALMATY, event)
    assert after["almaty-medeu"].name_kk == "Медеу ауданы"
    assert after["almaty-samal"].parent == "almaty-medeu"


def test_change_unit_refuses_nothing_new_unknown_units_and_cycles() -> None:
    same = with_changes(ALMATY["almaty-medeu"])
    with pytest.raises(InvalidInput, match="nothing to change"):
        change_unit(ALMATY, "almaty-medeu", same, by=BY, now=NOW)
    with pytest.raises(NotFound, match="no unit 'nowhere'"):
        change_unit(ALMATY, "nowhere", same, by=BY, now=NOW)
    with pytest.raises(InvalidInput, match="kind: 'town'"):
        with_changes(ALMATY["almaty"], unit_kind="town")
    cyclic = build(("a1", K.CITY, ""), ("a2", K.MICRODISTRICT, "a1"))
    with pytest.raises(InvalidInput, match="going up from a1 through a2 comes back to a1"):
        change_unit(cyclic, "a1", with_changes(cyclic["a1"], parent="a2"), by=BY, now=NOW)


def test_a_move_that_leaves_a_child_under_a_wrong_kind_is_refused() -> None:
    as_oblast = with_changes(ALMATY["almaty-medeu"], unit_kind="microdistrict")
    with pytest.raises(InvalidInput, match="almaty-samal: kind: a microdistrict cannot sit under"):
        change_unit(ALMATY, "almaty-medeu", as_oblast, by=BY, now=NOW)


def test_a_cycle_in_a_file_is_named_on_each_of_its_rows() -> None:
    loop = [(2, row("x1", "city", "x2")), (3, row("x2", "rural_district", "x1")),
            (4, row("x3", "village", "x1"))]  # fmt: skip
    with pytest.raises(ImportRefused) as refused:
        import_rows(ALMATY, loop, by=BY, now=NOW)
    assert [str(p) for p in refused.value.problems] == [
        "line 2: parent: going up from x1 through x2 comes back to x1",
        "line 3: parent: going up from x2 through x1 comes back to x2",
        "line 4: parent: going up from x3 through x1 comes back to x1",
    ]


def test_import_rows_adds_and_replaces_units_in_the_files_order() -> None:
    rows = [(2, row("almaty-medeu", name_en="Medeu")), (3, row("almaty-auezov", kato="751310000"))]
    event = import_rows(ALMATY, rows, by=BY, now=NOW)
    assert isinstance(event, TerritoryImported)
    assert [u.id for u in event.units] == ["almaty-medeu", "almaty-auezov"]
    after = apply(ALMATY, event)
    assert after["almaty-medeu"].name_en == "Medeu"
    assert after["almaty-auezov"].kato == "751310000"
    assert len(after) == len(ALMATY) + 1


def test_a_file_with_bad_rows_names_every_one_by_its_line() -> None:
    rows = [
        (2, row("almaty-ok")),
        (3, row("almaty-town", kind="town")),
        (4, row("almaty-empty", name_kk="")),
        (5, row("almaty-kato", kato="12345")),
        (6, row("almaty-ok")),
        (7, row("almaty-lost", parent="nowhere")),
        (9, row("almaty-wrong", kind="oblast")),
        (10, row("almaty-k2", kato="751710000")),
        (11, row("almaty-k3", kato="751710000")),
        (12, {"kind": "city"}),
    ]
    with pytest.raises(ImportRefused) as refused:
        import_rows(ALMATY, rows, by=BY, now=NOW)
    assert [str(p) for p in refused.value.problems] == [
        "line 3: kind: 'town' is not one of oblast, district, city, rural_district, village, "
        "city_district, microdistrict",
        "line 4: name_kk is required",
        "line 5: kato: '12345' is not 9 digits",
        "line 6: id: almaty-ok is also on line 2",
        "line 7: parent: no unit 'nowhere'",
        "line 9: kind: a oblast cannot sit under a city (only under the top)",
        "line 10: kato: 751710000 is also unit almaty-k3's",
        "line 11: kato: 751710000 is also unit almaty-k2's",
        "line 12: id: '' is not 2-64 of a-z, 0-9 and '-' (not starting with '-')",
    ]
    assert refused.value.code == "invalid"
    assert refused.value.detail.startswith("line 3: kind")


def test_a_file_of_no_rows_is_refused() -> None:
    with pytest.raises(ImportRefused) as refused:
        import_rows(ALMATY, [], by=BY, now=NOW)
    assert refused.value.problems == (Problem(1, "no rows: the file has only its header"),)


def test_children_ordered_and_tree() -> None:
    assert [u.id for u in children(ALMATY, "almaty")] == ["almaty-almaly", "almaty-medeu"]
    assert [u.id for u in ordered(ALMATY)] == [
        "almaty", "almaty-almaly", "almaty-medeu", "almaty-samal"]  # fmt: skip
    shown = tree(ALMATY)
    assert shown[0]["children"] == ["almaty-almaly", "almaty-medeu"]
    assert shown[-1]["parent"] == "almaty-medeu"
    assert find(ALMATY, "almaty").unit_kind is K.CITY
    with pytest.raises(NotFound):
        find(ALMATY, "nowhere")


@pytest.mark.parametrize(
    ("unit", "level", "visited"),
    [
        # R1: the oblast akim visits each district and city of oblast significance
        ("almaty-oblast", AkimLevel.OBLAST, ["konaev", "talgar"]),
        # R1: a city of republican significance: each of its districts
        ("almaty", AkimLevel.CITY_REPUBLICAN, ["almaty-almaly", "almaty-medeu"]),
        # R1: a district: each village, rural district and city of district significance
        ("talgar", AkimLevel.DISTRICT, ["belbulak", "kendala", "talgar-city"]),
        # R1: a city of oblast significance: its microdistricts and villages
        ("konaev", AkimLevel.CITY_LOCAL, ["konaev-1", "konaev-zhanatalap"]),
        # R1: a rural district's akim (city_local): the villages within it
        ("belbulak", AkimLevel.CITY_LOCAL, ["belbulak-village"]),
        # R1: a village, a settlement, a district in a city: its own territory
        ("almaty-medeu", AkimLevel.LOCAL, ["almaty-medeu"]),
        ("kendala", "local", ["kendala"]),
        # no unit: nothing to visit
        ("nowhere", AkimLevel.OBLAST, []),
        ("", AkimLevel.LOCAL, []),
    ],
)
def test_r1_units_an_office_must_visit(unit: str, level: AkimLevel, visited: list[str]) -> None:
    units: Mapping[str, Unit] = {**ALMATY, **OBLAST}
    assert [u.id for u in to_visit(units, unit, level)] == visited
