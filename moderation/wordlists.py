"""The word lists of the first filter: profanity patterns by script, and link top-level domains.
Precision matters as much as recall: a resident whose ordinary words are held is silenced.
"""

from __future__ import annotations

# Prefixes that make a mat verb from еб-/ёб-: заебал, выебон, разъебать, съебаться, долбоёб.
# "с", "в", "об" and "под" need the hard or soft sign, or себе, веб, обед, подебоширить match.
_EB_PREFIXES = (
    "за|вы|на|у|до|по|про|пере|недо|при|раз[ъь]?|от[ъь]?|об[ъь]|с[ъь]|в[ъь]|вз[ъь]?|из[ъь]?"
    "|под[ъь]|над[ъь]|долб[оа]|мозго"
)

# Searched in the Russian form: casefolded, ё as е, look-alike Latin letters and digits
# mapped to Cyrillic, Kazakh letters kept (so Kazakh ебі "knack" is not Russian еби).
RUSSIAN = (
    # хуй, хуёвый, нахуя, хуила; the look-behinds spare the verbs in -ховать (страхуй,
    # психует, штрихуя, шахует, сплохуй). хую is only whole: сухую, тихую, плохую are common.
    r"(?<!стра)(?<!пси)(?<!три)(?<!ша)(?<!ло)ху[йеяиі]",
    r"^(?:на|по|ни|за)?хую",
    r"п[иіе]зд",
    # еб- at the start of the word or after a prefix, followed by what only mat follows it
    # with: ебать, ебло, ебнуть, заебись, уёбок, but not хлеб, небо, требую, себе, учеба.
    # After еб, е and и only as in ебет, ебешь, ебеня, еби, ебись, уебище: Kazakh ебелек,
    # ебетейсіз, and ебін (a knack) typed as ебин on a Russian keyboard, stay.
    rf"^(?:{_EB_PREFIXES})?(?:еб|йоб)(?:[аоуыяюлншк]|и(?:[стщч]|$)|е(?:т(?!ей)|шь|м$|н[яю])|$)",
    r"^[её]пт(?:а|ыть)?$",
    # бля, блять, but not бляха, бляшка (a badge, a plaque), блямба.
    r"^бля(?![хшмн])",
    r"бляд",
    r"^бл(?:эа?|еа)[тд]ь?$",
    # сука in its forms, not сук (a bough), сукно, сукровица, суккулент, сучья (boughs).
    r"^сук(?:а|и|е|у|ой|ою|ам|ами|ах|ин|ина|ины|ину|ином|иной)$",
    # Not сучка, сучку: also the genitive and dative of сучок (без сучка и задоринки).
    r"^суч(?:кой|ар\w*|[её]нок|онка|ата)$",
    r"муд(?:ак|ил|озвон|ох)",
    # пидор, пидарас, пидр; the look-behinds spare спидран, спидер, эпидермис.
    r"(?<![сэ])п[иі]д(?:[оа]р|ер|р)",
    r"^педик(?:и|а|у|ом|ов|ам|ами)?$",
    r"^пед[еи]раст",
    r"г[ао]ндон",
    r"залуп",
    r"шлюх",
    r"(?<!ги)дроч",
    # Not bare манда: Kazakh маңда ("осы маңда", around here) is typed so on a Russian
    # keyboard. Nor мандат, мандарин, команда, маңдай (a forehead).
    r"^манд(?:ой|ою|ища|авошк\w*)$",
)

# Searched in the Kazakh form: the Russian form with і, қ, ғ, ң, ө, ұ, ү, һ, ә folded to
# и, к, г, н, о, у, у, х, а, so сігейін, сiгейiн and сигейин are one word. Whole words only:
# short stems such as сік- and ам- begin ordinary words (сигнал, аман).
KAZAKH = (
    r"^с[иы]?ге[йи][иы]?н(?:дер)?$",
    r"^сиг(?:ем|емин|ер|ип)$",
    r"^сик(?:|ем|емин|ип|кен|пе|пей|ти|тим|тин|тир\w*)$",
    r"^кота(?:к|г[ыи])",
    r"^амын(?:ды|а)?$",
    r"^шешен(?:ди|ды)$",
    # жалап alone is also the converb of жалау (to lick), so only its noun forms.
    r"^жалап(?:тар\w*|тын|ка)$",
    r"^каншык",
)

# Searched in words written wholly in Latin letters: transliterated mat and Latin Kazakh.
LATIN = (
    r"^(?:na|po|ni)h[uy][iyj]\w*$",
    r"^(?:huy|huj|huin[yj]a|xuy|xuj|xyu|xyi|xui)(?:[aeiouyn]\w*)?$",
    r"^p[ie]zd\w*$",
    r"^bl[yj]a(?:[dt]\w*)?$",
    r"^(?:suka|cyka)$",
    r"^(?:za|vy|na|u|do|po|pro|raz|ot)?y?eb(?:a[tlnv]|l[oa]|nu|u[tc]h?|is)\w*$",
    r"^(?:mudak|mudil|pid[oa]r|g[ao]ndon|zalup|shl[yj]?uh|droch|siktir)\w*$",
    r"^s[iı]?ge[yiı][iı]?n$",
    r"^qotaq\w*$",
)

# Top-level domains that make a bare "name.tld" a link. Short ones that are also words after
# a missing space ("жоқ.Су" is not .su) are only taken in lower or upper case, never Title.
TOP_LEVEL_DOMAINS = (
    "kz", "ru", "com", "org", "net", "info", "io", "me", "ly", "su", "рф", "қаз", "kg", "uz",
    "by", "ua", "tj", "az", "tv", "cc", "co", "biz", "xyz", "site", "online", "top", "pro",
    "app", "dev", "gl", "gg", "to", "be", "link", "club", "shop", "store", "live", "edu", "gov",
    "us", "uk", "de", "cn", "tk", "ws",
)  # fmt: skip
