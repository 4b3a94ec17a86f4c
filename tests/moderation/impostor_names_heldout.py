"""The held-out impostor table (issue 8, INP-4): written with `impostor_names.py`, before the
matcher existed, and not looked at while it was tuned; its score was measured once at the end.

Same contract: each `HOSTILE` name is refused `reserved_name`, each `REAL` name passes as typed.
"""

from __future__ import annotations

HOSTILE: list[tuple[str, str]] = [
    ("ӘКІМДІК", "case"),
    ("Akimdik", "exact"),
    ("Aкимат✔", "mixed"),
    ("Мoдератор", "latin"),  # Latin o
    ("Администрaтор", "latin"),  # Latin a
    ("Аdministrator", "cyrillic"),  # Cyrillic А
    ("𝓐𝓴𝓲𝓶", "styled"),  # bold script
    ("ａｄｍｉｎ", "fullwidth"),
    ("Акiмдiк", "kazakh"),  # Latin i
    ("Ә к і м", "spaced"),
    ("A d m i n", "spaced"),
    ("Модер4тор", "digits"),
    ("adm1n1strator", "digits"),
    ("\u200fАким\u200e", "bidi"),
    ("Аким\u2063", "invisible"),  # invisible separator
    ("Ак\u3164им", "invisible"),  # Hangul filler inside the word
    ("☑️ Akim", "decoration"),
    ("Akim ✔️", "decoration"),
    ("Аким Медеуского района", "phrase"),
    ("Moderator 2", "digits"),
    ("Admin_01", "decoration"),
    ("Аkimат", "mixed"),
    ("ΜΟDΕRΑΤΟR", "greek"),
    ("Әкім!", "decoration"),
    ("Модератор\u00a0чата", "phrase"),
    ("Ⓜⓞⓓⓔⓡⓐⓣⓞⓡ", "styled"),
    ("ᴬᴷᴵᴹ", "styled"),  # modifier capitals
]

REAL: list[str] = [
    "Акимжанова Дана",
    "Әкімбекова",
    "Akimzhanov",
    "Хакимов Руслан",
    "Мирас",
    "Әміре",
    "Ақмарал",
    "Нұрлан",
    "Айдана",
    "Mira",
    "Timur Akimov",
    "Алмас 2000",
    "Жанар 🌸",
    "Ким Сергей",
    "Ермек",
    "Әсем",
    "Адильбек",
    "Dinara K.",
    "Ақерке",
    "Madina",
    "Ramil",
    "Модест",
]
