"""The impostor table (issue 8, INP-4): display names that read as an official role, and real
names made of the same letters.

Frozen: written before the matcher in `moderation/names.py` existed and never edited to make it
pass. `tests/moderation/test_names.py` runs every row through `decide`: each `HOSTILE` name is
refused `reserved_name`, each `REAL` name passes and is shown exactly as it was typed. The
held-out table (`impostor_names_heldout.py`) was written at the same time and not looked at
while the matcher was tuned.

Tricks, as the issue lists them: exact words and their case; Latin, Greek and Cyrillic
look-alikes mixed into a word; Kazakh letters; fullwidth and styled (mathematical, circled,
small capital) letters; digits and symbols for letters; decorations such as ✔; bidi and
zero-width pieces; letters spaced out one by one; a role word inside a phrase.
"""

from __future__ import annotations

# (name, trick)
HOSTILE: list[tuple[str, str]] = [
    # the reserved words as they are
    ("Аким", "exact"),
    ("Әкім", "exact"),
    ("Әкімдік", "exact"),
    ("Акимат", "exact"),
    ("Модератор", "exact"),
    ("Администратор", "exact"),
    ("Akim", "exact"),
    ("Moderator", "exact"),
    ("Admin", "exact"),
    ("Администрация", "exact"),
    ("Әкімшілік", "exact"),
    ("Administrator", "exact"),
    ("Akimat", "exact"),
    ("Админ", "exact"),
    # case
    ("АКИМ", "case"),
    ("aKiM", "case"),
    ("ӘКІМ", "case"),
    ("MODERATOR", "case"),
    # Latin look-alikes in a Cyrillic word
    ("Aким", "latin"),  # Latin A
    ("Модеpатоp", "latin"),  # Latin p
    ("Mодератор", "latin"),  # Latin M
    ("Aдминистрaтор", "latin"),  # Latin A and a
    ("Акиm", "latin"),  # Latin m, read as м
    # Cyrillic look-alikes in a Latin word
    ("Аkim", "cyrillic"),  # Cyrillic А
    ("Modеrator", "cyrillic"),  # Cyrillic е
    ("Аdmin", "cyrillic"),  # Cyrillic А
    ("Моderator", "cyrillic"),  # Cyrillic М and о
    # Greek look-alikes
    ("Αkim", "greek"),  # Greek capital alpha
    ("ΑΚΙΜ", "greek"),  # all Greek capitals
    ("Μoderator", "greek"),  # Greek capital mu
    ("Mοderatοr", "greek"),  # Greek omicron
    # Kazakh letters in a Russian word, and Latin letters in a Kazakh one
    ("Акім", "kazakh"),
    ("Әким", "kazakh"),
    ("Әкiм", "kazakh"),  # Latin i
    ("Ақим", "kazakh"),
    # fullwidth and styled letters
    ("Ａｋｉｍ", "fullwidth"),
    ("ＡＤＭＩＮ", "fullwidth"),
    ("Ｍｏｄｅｒａｔｏｒ", "fullwidth"),
    ("𝐀𝐤𝐢𝐦", "styled"),  # mathematical bold
    ("𝔄𝔡𝔪𝔦𝔫", "styled"),  # fraktur
    ("Ⓐⓚⓘⓜ", "styled"),  # circled
    ("ᴀᴋɪᴍ", "styled"),  # small capitals
    ("𝙰𝚔𝚒𝚖", "styled"),  # monospace
    # digits and symbols for letters
    ("4ким", "digits"),
    ("Ак1м", "digits"),
    ("Adm1n", "digits"),
    ("M0derator", "digits"),
    ("Модерат0р", "digits"),
    ("4dm1n", "digits"),
    ("AK1M", "digits"),
    ("Mod3rator", "digits"),
    ("Akim2024", "digits"),
    ("Әкім1", "digits"),
    ("Adm!n", "symbols"),
    ("@kim", "symbols"),
    ("Adm|n", "symbols"),
    # decorations
    ("✔ Аким", "decoration"),
    ("Аким ✔", "decoration"),
    ("✓Akim", "decoration"),
    ("☑ Модератор", "decoration"),
    ("Admin ✅", "decoration"),
    ("★Әкім★", "decoration"),
    ("«Аким»", "decoration"),
    ("[Admin]", "decoration"),
    ("(Модератор)", "decoration"),
    ("Аким!!!", "decoration"),
    ("~Akim~", "decoration"),
    ("🔵 Аким", "decoration"),
    ("Аким🇰🇿", "decoration"),
    ("Аким_района", "decoration"),
    ("#Akim", "decoration"),
    # bidi and zero-width pieces, and invisible fillers, that leave a role name once cleaned
    ("А\u200bким", "invisible"),  # zero width space
    ("Ак\u200cим", "invisible"),  # zero width non-joiner
    ("\u202eАким\u202c", "bidi"),  # right-to-left override
    ("\u2066Аким\u2069", "bidi"),  # left-to-right isolate
    ("А\u00adким", "invisible"),  # soft hyphen
    ("Аки\u2060м", "invisible"),  # word joiner
    ("Ад\u200dмин", "invisible"),  # zero width joiner
    ("А\u034fким", "invisible"),  # combining grapheme joiner
    ("Аким\u3164", "invisible"),  # Hangul filler
    ("\u115fАким", "invisible"),  # Hangul choseong filler
    ("М\u2800одератор", "invisible"),  # Braille blank
    ("Ак\u17b4им", "invisible"),  # Khmer inherent vowel
    ("Ак\ufe0fим", "invisible"),  # VS16 after a letter
    ("Ad\ufe00min", "invisible"),  # VS1
    # letters spaced out one by one
    ("А к и м", "spaced"),
    ("A.K.I.M", "spaced"),
    ("A-d-m-i-n", "spaced"),
    ("М о д е р а т о р", "spaced"),
    ("А_к_и_м", "spaced"),
    # a role word inside a phrase
    ("Аким района", "phrase"),
    ("Аким г. Алматы", "phrase"),
    ("Akim official", "phrase"),
    ("Модератор чата", "phrase"),
    ("Администратор сайта", "phrase"),
    ("Алматы қаласының әкімі", "phrase"),
    ("Аппарат акима", "phrase"),
    ("Official Akim", "phrase"),
    ("Пресс-служба акимата", "phrase"),
    ("Админ канала", "phrase"),
    # several tricks at once
    ("✔ 4ким р-на", "mixed"),
    ("Ａкім ✔", "mixed"),
    ("𝐀𝐤𝐢𝐦 района", "mixed"),
    ("Мод\u200bератор ✓", "mixed"),
    ("Αdm1n ✅", "mixed"),
]

# Real Kazakh, Russian and Latin names with the same letters, shown exactly as typed.
REAL: list[str] = [
    # Kazakh
    "Әкімжан",
    "Әкімбек",
    "Ақжол",
    "Айгүл",
    "Әлия",
    "Нұрсұлтан",
    "Өмірзақ",
    "Қуаныш",
    "Ғалым",
    "Мәди",
    "Дәурен",
    "Іңкәр",
    "Асқар Әкімұлы",
    "Әміржан",
    # Russian, and Russian forms of Kazakh names
    "Акимжан",
    "Акимова",
    "Акимов Дмитрий",
    "Акимбаев",
    "Акимжанов Ержан",
    "Ким Анна",
    "А. Ким",
    "Хаким",
    "Сергей Акимович",
    "Мира",
    "Марат",
    "Амир",
    "Дамир",
    "Мадина",
    "Адиль",
    "Камила",
    # Latin
    "Akimov",
    "Akimzhan",
    "Hakim",
    "Aigul",
    "Nursultan",
    "Dmitry",
    "Adilet",
    "Amina",
    "Kim Min",
    "Ákimjan",
    "Aqjol",
    "Dáýren",
    "Admira Moretti",
    # with digits, emoji and decorations
    "Айгүл 1990",
    "Marat77",
    "Дана 🌷",
    "Ерлан ✔",
    "Ержан (Алматы)",
]
