"""The interface's words in Kazakh, Russian and English, and how a request picks its language."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from moderation.decide import LANGUAGES

LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
LANG_COOKIE = "halyq_lang"

# key: (Kazakh, Russian, English)
MESSAGES: dict[str, tuple[str, str, str]] = {
    "meetings": ("Кездесулер", "Встречи", "Meetings"),
    "no_meetings": ("Әзірге кездесу жоқ", "Встреч пока нет", "No meetings yet"),
    "tagline": (
        "Әкімдердің халықпен кездесулері тікелей эфирде",
        "Встречи акимов с населением в прямом эфире",
        "Akims' meetings with the population, live",
    ),
    "status_scheduled": ("Жақында басталады", "Скоро начнётся", "Starting soon"),
    "status_live": ("Тікелей эфир", "Прямой эфир", "Live"),
    "status_ended": ("Эфир аяқталды", "Эфир завершён", "Broadcast ended"),
    "planned": ("Жоспарланған уақыты: {n} мин", "Запланировано: {n} мин", "Planned: {n} min"),
    "level_oblast": ("Облыс әкімі", "Аким области", "Oblast akim"),
    "level_city_republican": (
        "Республикалық маңызы бар қала әкімі",
        "Аким города республиканского значения",
        "Akim of a city of republican significance",
    ),
    "level_district": ("Аудан әкімі", "Аким района", "District akim"),
    "level_city_local": ("Қала әкімі", "Аким города", "City akim"),
    "level_local": ("Әкім", "Аким", "Akim"),
    "player_placeholder": (
        "Трансляция осы жерде көрсетіледі",
        "Здесь появится трансляция",
        "The broadcast will appear here",
    ),
    "open_stream": ("Трансляцияны ашу", "Открыть трансляцию", "Open the broadcast"),
    "video_unsupported": (
        "Браузер бұл бейнені ойната алмайды",
        "Браузер не может воспроизвести это видео",
        "This browser cannot play this video",
    ),
    "chat": ("Пікірлер", "Комментарии", "Comments"),
    "name_label": ("Атыңыз", "Ваше имя", "Your name"),
    "name_placeholder": ("Атыңыз (міндетті емес)", "Имя (необязательно)", "Name (optional)"),
    "comment_label": ("Пікір", "Комментарий", "Comment"),
    "comment_placeholder": (
        "Пікіріңізді жазыңыз…",
        "Напишите комментарий…",
        "Write a comment…",
    ),
    "send": ("Жіберу", "Отправить", "Send"),
    "guest": ("Қонақ", "Гость", "Guest"),
    "you": ("сіз", "вы", "you"),
    "sending": ("Жіберілуде…", "Отправляется…", "Sending…"),
    "delivered": ("Жеткізілді", "Доставлено", "Delivered"),
    "held": ("Жасырылды: {reason}", "Скрыто: {reason}", "Held: {reason}"),
    "held_title": ("Сүзгі жасырған пікірлер", "Скрыто фильтром", "Held by the filter"),
    "held_none": ("Әзірге жоқ", "Пока нет", "None so far"),
    "held_note": (
        "Әр жасырылған пікірдің жария себебі бар.",
        "У каждого скрытого комментария есть публичная причина.",
        "Every held comment has a public reason.",
    ),
    "reason_profanity": ("балағат сөз", "нецензурная лексика", "profanity"),
    "reason_phone": ("телефон нөмірі", "номер телефона", "phone number"),
    "reason_email": ("электрондық пошта", "адрес e-mail", "e-mail address"),
    "reason_link": ("сілтеме", "ссылка", "link"),
    "rejected_rate_limited": (
        "Баяу режим: {n} с кейін қайта жіберіледі",
        "Медленный режим: отправим снова через {n} с",
        "Slow mode: sending again in {n} s",
    ),
    "rejected_too_long": (
        "Тым ұзын: ең көбі {n} таңба",
        "Слишком длинно: не более {n} символов",
        "Too long: {n} characters at most",
    ),
    "rejected_meeting_closed": (
        "Кездесу эфирде емес",
        "Встреча сейчас не в эфире",
        "The meeting is not live",
    ),
    "rejected_invalid": ("Пікір қабылданбады", "Комментарий не принят", "Comment not accepted"),
    "rejected_unavailable": (
        "Сервер уақытша қолжетімсіз, қайта жіберіледі",
        "Сервер временно недоступен, отправим повторно",
        "Server unavailable; will send again",
    ),
    "closed_scheduled": (
        "Пікір жазу эфир басталғанда ашылады",
        "Комментарии откроются с началом эфира",
        "Commenting opens when the broadcast starts",
    ),
    "closed_ended": (
        "Кездесу аяқталды, пікір қабылданбайды",
        "Встреча завершена, комментарии закрыты",
        "The meeting has ended; commenting is closed",
    ),
    "connecting": ("Қосылуда…", "Подключение…", "Connecting…"),
    "reconnecting": (
        "Байланыс үзілді, қайта қосылуда…",
        "Связь прервалась, переподключаемся…",
        "Connection lost, reconnecting…",
    ),
    "new_comments": ("Жаңа пікірлер ↓", "Новые комментарии ↓", "New comments ↓"),
    "chars_left": ("{n} таңба қалды", "осталось {n} символов", "{n} characters left"),
    "not_found": ("Мұндай кездесу жоқ", "Такой встречи нет", "No such meeting"),
    "error": ("Қате", "Ошибка", "Error"),
    "server_error": (
        "Серверде қате болды, кейінірек қайталаңыз",
        "На сервере произошла ошибка, повторите позже",
        "The server failed; please try again later",
    ),
    "unavailable": (
        "Қызмет уақытша қолжетімсіз",
        "Сервис временно недоступен",
        "The service is temporarily unavailable",
    ),
    "language": ("Тіл", "Язык", "Language"),
    "back": ("Барлық кездесулер", "Все встречи", "All meetings"),
    # staff login
    "login_title": ("Қызметкерлердің кіруі", "Вход для сотрудников", "Staff sign-in"),
    "login_name": ("Пайдаланушы аты", "Имя пользователя", "User name"),
    "login_password": ("Құпиясөз", "Пароль", "Password"),
    "login_submit": ("Кіру", "Войти", "Sign in"),
    "login_failed": (
        "Пайдаланушы аты немесе құпиясөз қате",
        "Неверное имя пользователя или пароль",
        "Wrong user name or password",
    ),
    "login_throttled": (
        "Әрекет тым көп. Бір минуттан кейін қайталап көріңіз",
        "Слишком много попыток. Повторите через минуту",
        "Too many attempts. Please try again in a minute",
    ),
    "login_stale": (
        "Бет ескірді: қайта кіріп көріңіз",
        "Страница устарела: попробуйте войти ещё раз",
        "The page had expired: please sign in again",
    ),
    "logout": ("Шығу", "Выйти", "Sign out"),
    "role_admin": ("Әкімші", "Администратор", "Administrator"),
    "role_moderator": ("Модератор", "Модератор", "Moderator"),
    "role_operator": ("Телефон операторы", "Оператор телефона", "Phone operator"),
    "role_producer": ("Продюсер", "Продюсер", "Producer"),
}

JS_KEYS = (
    "guest", "you", "sending", "delivered", "held", "held_none",
    "reason_profanity", "reason_phone", "reason_email", "reason_link",
    "rejected_rate_limited", "rejected_too_long", "rejected_meeting_closed",
    "rejected_invalid", "rejected_unavailable", "closed_scheduled", "closed_ended",
    "connecting", "reconnecting", "new_comments", "chars_left", "not_found",
    "status_scheduled", "status_live", "status_ended",
)  # fmt: skip


def translator(lang: str) -> Callable[..., str]:
    """`t(key, **values)` in `lang`; an unknown key is a programmer error."""
    column = LANGUAGES.index(lang)

    def translate(key: str, **values: object) -> str:
        text = MESSAGES[key][column]
        return text.format(**values) if values else text

    return translate


def js_strings(lang: str) -> dict[str, str]:
    """The words the viewer page's script needs, in `lang`."""
    column = LANGUAGES.index(lang)
    return {key: MESSAGES[key][column] for key in JS_KEYS}


def pick_language(
    query: Mapping[str, str], cookies: Mapping[str, str], accept: str, default: str
) -> str:
    """`?lang=`, then the remembered choice, then Accept-Language, then the default."""
    for candidate in (query.get("lang"), cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return str(candidate)
    for part in accept.split(","):
        tag = part.split(";", 1)[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return default
