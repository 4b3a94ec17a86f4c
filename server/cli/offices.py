"""`halyq office add|list|holder`: akims' offices and their holders from the shell (issue 12).

Meetings and promises belong to an office (`halyq meeting create --office ID`); its holders
change over time, each from a date (`holder ... --since`), and its promises stay with it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from moderation.model import LANGUAGES, AkimLevel
from moderation.offices import Office, OfficeFields
from server.cli.shell import say, with_usecases
from server.cli.territories import ensure_almaty_units
from server.settings import Settings
from server.usecases import UseCases, offices

BY_SHELL = "shell"  # `by` of what `halyq office` did
BY_DEMO = "demo"


def add_parser(commands: Any) -> None:
    office = commands.add_parser("office", help="akims' offices and their holders (issue 12)")
    actions = office.add_subparsers(title="actions", required=True)
    add = actions.add_parser("add", help="add an office")
    add.add_argument("office_id", metavar="ID", help="its id: a-z, 0-9 and '-', e.g. almaty")
    add.add_argument("--level", required=True, choices=[level.value for level in AkimLevel])
    add.add_argument("--territory", required=True, help="the city, district or village")
    for lang in LANGUAGES:
        add.add_argument(f"--territory-{lang}", default="", help=f"its name in {lang}")
    add.add_argument("--parent", default="", help="the id of the office above it")
    add.add_argument("--kato", default="", help="the territory's 9-digit KATO code")
    add.add_argument("--unit", default="", help="the id of its territory unit (issue 13)")
    add.set_defaults(run=_add)
    listing = actions.add_parser("list", help="list the offices and their holders")
    listing.set_defaults(run=_list)
    holder = actions.add_parser("holder", help="record who holds an office from a date")
    holder.add_argument("office_id", metavar="ID")
    holder.add_argument("name", metavar="NAME", help="the new holder's name")
    holder.add_argument("--since", required=True, help="the first day, YYYY-MM-DD")
    holder.set_defaults(run=_holder)
    for sub in actions.choices.values():
        sub.add_argument("--json", action="store_true", help="print JSON")
        sub.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)


def _print(office: Office, as_json: bool) -> None:
    if as_json:
        say(json.dumps(office.public(), ensure_ascii=False))
        return
    holder = f"{office.holder.name} (since {office.holder.since})" if office.holder else "-"
    parent = f"  in {office.parent}" if office.parent else ""
    say(f"{office.id}  {office.level.value}  {office.territory}{parent}  holder: {holder}")


def _add(args: argparse.Namespace, settings: Settings) -> int:
    names = {lang: text for lang in LANGUAGES if (text := getattr(args, f"territory_{lang}"))}
    fields = OfficeFields(level=AkimLevel(args.level), territory=args.territory,
                          territories=names, parent=args.parent, kato=args.kato,
                          unit=args.unit)  # fmt: skip
    office = with_usecases(
        settings, lambda cases: offices.add(cases, args.office_id, fields, by=BY_SHELL)
    )
    _print(office, args.json)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    ledger = with_usecases(settings, offices.ledger)
    found = sorted(ledger.offices.values(), key=lambda o: (o.parent != "", o.parent, o.id))
    if args.json:
        say(json.dumps([o.public() for o in found], ensure_ascii=False))
        return 0
    if not found:
        say("no offices yet: halyq office add ID --level LEVEL --territory NAME")
    for office in found:
        _print(office, False)
    return 0


def _holder(args: argparse.Namespace, settings: Settings) -> int:
    office = with_usecases(
        settings,
        lambda cases: offices.set_holder(cases, args.office_id, args.name, args.since, by=BY_SHELL),
    )
    _print(office, args.json)
    return 0


# The demo (`make demo`): Almaty's city office and its eight districts (`../shared/domain.md`),
# with KATO codes, and holders whose names are made up (a demo names no real akim).
ALMATY = "almaty"
DEMO_SINCE = "2024-01-01"
DISTRICTS = (
    ("alatau", "Алатау ауданы", "Алатауский район", "Alatau district", "751210000", "Даурен Әлиев"),
    ("almaly", "Алмалы ауданы", "Алмалинский район", "Almaly district", "751110000",
     "Ерлан Сапаров"),
    ("auezov", "Әуезов ауданы", "Ауэзовский район", "Auezov district", "751310000", "Айдос Бекұлы"),
    ("bostandyk", "Бостандық ауданы", "Бостандыкский район", "Bostandyk district", "751410000",
     "Мұрат Оспанов"),
    ("zhetysu", "Жетісу ауданы", "Жетысуский район", "Zhetysu district", "751510000",
     "Асқар Нұрланов"),
    ("medeu", "Медеу ауданы", "Медеуский район", "Medeu district", "751710000", "Сәуле Қасымова"),
    ("nauryzbay", "Наурызбай ауданы", "Наурызбайский район", "Nauryzbay district", "751810000",
     "Бауыржан Ахметов"),
    ("turksib", "Түрксіб ауданы", "Турксибский район", "Turksib district", "751910000",
     "Ғалым Серікбаев"),
)  # fmt: skip


async def ensure_almaty(cases: UseCases) -> None:
    """Almaty's city office (`almaty`) and its districts (`almaty-almaly`...), each with a
    holder: added the first time, left as they are after (the demo's meeting belongs to
    `almaty-almaly`). Each is attached to its territory unit of the same id (issue 13),
    which comes first."""
    await ensure_almaty_units(cases)
    found = (await offices.ledger(cases)).offices
    city = OfficeFields(level=AkimLevel.CITY_REPUBLICAN, territory="Алматы",
                        territories={"kk": "Алматы", "ru": "Алматы", "en": "Almaty"},
                        kato="750000000", unit=ALMATY)  # fmt: skip
    wanted = [(ALMATY, city, "Нұржан Төлегенов")]
    for slug, kk, ru, en, kato, holder in DISTRICTS:
        fields = OfficeFields(level=AkimLevel.LOCAL, territory=kk, parent=ALMATY, kato=kato,
                              territories={"kk": kk, "ru": ru, "en": en},
                              unit=f"{ALMATY}-{slug}")  # fmt: skip
        wanted.append((f"{ALMATY}-{slug}", fields, holder))
    for office_id, fields, holder in wanted:
        if office_id not in found:
            await offices.add(cases, office_id, fields, by=BY_DEMO)
            await offices.set_holder(cases, office_id, holder, DEMO_SINCE, by=BY_DEMO)
