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
    # console, questions, transparency
    "console_title": ("Модерация пульті", "Пульт модерации", "Moderation console"),
    "console_index_title": ("Модерация", "Модерация", "Moderation"),
    "link_console": ("Пульт", "Пульт", "Console"),
    "link_audit": ("Журнал", "Журнал", "Log"),
    "link_transparency": ("Есеп", "Отчёт", "Report"),
    "audit_title": ("Модерация журналы", "Журнал модерации", "Moderation log"),
    "transparency_title": ("Модерация есебі", "Отчёт о модерации", "Moderation report"),
    "transparency_intro": (
        "Бұл сандар кездесудің жазбасынан есептелген: әр жасырылған пікір мен қабылданбаған"
        " сұрақтың жария себебі бар.",
        "Эти числа посчитаны по записи встречи: у каждого скрытого комментария и отклонённого"
        " вопроса есть публичная причина.",
        "These numbers are counted from the meeting's record: every hidden comment and rejected"
        " question has a public reason.",
    ),
    "as_of": ("Жазба күйі: {id}", "По состоянию на событие {id}", "As of event {id}"),
    "report_link": ("Модерация есебі", "Отчёт о модерации", "Moderation report"),
    "filter_label": ("Іздеу", "Поиск", "Search"),
    "filter_placeholder": ("Мәтін немесе аты (/)", "Текст или имя (/)", "Text or name (/)"),
    "filter_kind": ("Түрі", "Тип", "Kind"),
    "filter_status": ("Күйі", "Статус", "Status"),
    "filter_channel": ("Арна", "Канал", "Channel"),
    "filter_topic": ("Тақырып", "Тема", "Topic"),
    "filter_district": ("Аудан", "Район", "District"),
    "filter_all": ("Барлығы", "Все", "All"),
    "kind_comment": ("Пікір", "Комментарий", "Comment"),
    "kind_question": ("Сұрақ", "Вопрос", "Question"),
    "kind_comments": ("Пікірлер", "Комментарии", "Comments"),
    "kind_questions": ("Сұрақтар", "Вопросы", "Questions"),
    "item_shown": ("Көрсетілген", "Показан", "Shown"),
    "item_held": ("Сүзгіде ұсталған", "Задержан фильтром", "Held"),
    "item_hidden": ("Жасырылған", "Скрыт", "Hidden"),
    "item_new": ("Жаңа", "Новый", "New"),
    "item_approved": ("Мақұлданған", "Одобрен", "Approved"),
    "item_rejected": ("Қабылданбаған", "Отклонён", "Rejected"),
    "item_merged": ("Біріктірілген", "Объединён", "Merged"),
    "item_queued": ("Кезекте", "В очереди", "Queued"),
    "item_on_air": ("Эфирде", "В эфире", "On air"),
    "item_answered": ("Жауап берілген", "Отвечен", "Answered"),
    "item_deferred": ("Кейінге қалдырылған", "Отложен", "Deferred"),
    "action_hide": ("Жасыру", "Скрыть", "Hide"),
    "action_release": ("Қайта көрсету", "Вернуть", "Release"),
    "action_approve": ("Мақұлдау", "Одобрить", "Approve"),
    "action_reject": ("Қабылдамау", "Отклонить", "Reject"),
    "action_merge": ("Біріктіру", "Объединить", "Merge"),
    "action_queue": ("Кезекке қою", "В очередь", "Queue"),
    "action_on_air": ("Эфирге", "В эфир", "On air"),
    "action_answer": ("Жауап берілді", "Отвечен", "Answered"),
    "action_defer": ("Кейінге қалдыру", "Отложить", "Defer"),
    "action_tag": ("Тақырып пен аудан", "Тема и район", "Topic and district"),
    "action_promote": ("Сұраққа айналдыру", "Сделать вопросом", "Make a question"),
    "reason_spam": ("спам", "спам", "spam"),
    "reason_abuse": ("қорлау", "оскорбления", "abuse"),
    "reason_personal_data": ("жеке деректер", "персональные данные", "personal data"),
    "reason_off_topic": ("тақырыптан тыс", "не по теме", "off topic"),
    "reason_not_a_question": ("сұрақ емес", "не вопрос", "not a question"),
    "reason_out_of_scope": (
        "әкім құзыретінен тыс",
        "вне компетенции акима",
        "outside the akim's remit",
    ),
    "reason_advertising": ("жарнама", "реклама", "advertising"),
    "channel_web": ("сайт", "сайт", "web"),
    "channel_youtube": ("YouTube", "YouTube", "YouTube"),
    "channel_telegram": ("Telegram", "Telegram", "Telegram"),
    "channel_whatsapp": ("WhatsApp", "WhatsApp", "WhatsApp"),
    "channel_phone": ("телефон", "телефон", "phone"),
    "channel_email": ("электрондық пошта", "e-mail", "e-mail"),
    "topic_none": ("тақырыпсыз", "без темы", "no topic"),
    "topic_roads": ("жолдар", "дороги", "roads"),
    "topic_water": ("су және кәріз", "вода и канализация", "water and sewerage"),
    "topic_heating": ("жылу", "отопление", "heating"),
    "topic_landscaping": ("абаттандыру", "благоустройство", "landscaping"),
    "topic_transport": ("қоғамдық көлік", "общественный транспорт", "public transport"),
    "topic_housing": ("тұрғын үй-коммуналдық шаруашылық", "ЖКХ", "housing and utilities"),
    "topic_education": ("білім", "образование", "education"),
    "topic_health": ("денсаулық", "здравоохранение", "health"),
    "topic_land": ("жер", "земля", "land"),
    "topic_safety": ("қауіпсіздік", "безопасность", "safety"),
    "topic_other": ("басқа", "другое", "other"),
    "district_none": ("аудансыз", "без района", "no district"),
    "held_by": (
        "Сүзгі ұстады: {reason}",
        "Задержан фильтром: {reason}",
        "Held by the filter: {reason}",
    ),
    "moderator_reason": ("Себебі: {reason}", "Причина: {reason}", "Reason: {reason}"),
    "suggested": ("ұсыныс", "предложено", "suggested"),
    "similar_to": ("Қайталануы мүмкін:", "Возможный повтор:", "May repeat:"),
    "merge_into_it": ("Осыған біріктіру", "Объединить с ним", "Merge into it"),
    "merged_into": ("Біріктірілді:", "Объединён с:", "Merged into:"),
    "promoted_note": ("Сұраққа айналды", "Стал вопросом", "Made a question"),
    "from_comment": ("Пікірден", "Из комментария", "From a comment"),
    "askers": ("{n} адам сұрады", "спросили: {n}", "asked by {n}"),
    "votes": ("{n} дауыс", "голосов: {n}", "{n} votes"),
    "choose_reason": ("Себебін таңдаңыз", "Выберите причину", "Choose a reason"),
    "choose_target": (
        "Қай сұраққа біріктіру?",
        "С каким вопросом объединить?",
        "Merge into which question?",
    ),
    "choose_tag": ("Тақырып пен аудан", "Тема и район", "Topic and district"),
    "filter_targets": ("Сұрақтарды іздеу", "Поиск вопросов", "Search questions"),
    "no_targets": ("Біріктіретін сұрақ жоқ", "Не с чем объединить", "No question to merge into"),
    "chooser_hint": (
        "j/k немесе ↑/↓ · Enter: таңдау · Esc: болдырмау",
        "j/k или ↑/↓ · Enter: выбрать · Esc: отмена",
        "j/k or ↑/↓ · Enter: choose · Esc: cancel",
    ),
    "confirm": ("Таңдау", "Выбрать", "Choose"),
    "cancel": ("Болдырмау", "Отмена", "Cancel"),
    "empty_queue": ("Әзірге ештеңе жоқ", "Пока ничего нет", "Nothing here yet"),
    "counts_label": ("Күйлер бойынша", "По статусам", "By status"),
    "queue_label": (
        "Пікірлер мен сұрақтар, жаңалары жоғарыда",
        "Комментарии и вопросы, новые сверху",
        "Comments and questions, newest first",
    ),
    "connected": ("Қосылды", "Подключено", "Connected"),
    "conflict": (
        "Басқа біреу өзгертті; қазіргі күйі көрсетілді",
        "Изменено кем-то другим; показано текущее состояние",
        "Changed by someone else; now showing the current state",
    ),
    "refused_forbidden": (
        "Рөліңіз бұған рұқсат бермейді",
        "Вашей роли это не разрешено",
        "Your role may not do this",
    ),
    "refused_invalid_transition": (
        "Бұл күйде мүмкін емес",
        "В этом состоянии нельзя",
        "Not possible in this state",
    ),
    "refused_invalid": ("Әрекет жарамсыз", "Недопустимое действие", "The action was not valid"),
    "refused_not_found": ("Мұндай жазба жоқ", "Такой записи нет", "No such item"),
    "refused_unavailable": (
        "Жазбаға қол жетпеді; қайталаңыз",
        "Запись недоступна; повторите",
        "The record cannot be reached; try again",
    ),
    "refused_signed_out": ("Сессия аяқталды", "Сеанс завершён", "Your session has ended"),
    "not_allowed": (
        "Бұл жазбаға мүмкін емес",
        "Для этой записи нельзя",
        "Not possible for this item",
    ),
    "read_only": (
        "Рөліңіз тек қарауға рұқсат береді",
        "Ваша роль позволяет только просмотр",
        "Your role may view but not moderate",
    ),
    "console_forbidden": (
        "Бұл пультке рұқсатыңыз жоқ",
        "У вас больше нет доступа к этому пульту",
        "You no longer have access to this console",
    ),
    "keys_title": ("Пернетақта", "Клавиши", "Keyboard"),
    "keys_hint": ("?: пернелер", "?: клавиши", "?: keys"),
    "key_move": ("Келесі / алдыңғы жазба", "Следующая / предыдущая запись", "Next / previous item"),
    "key_filter": ("Іздеу", "Поиск", "Search"),
    "key_help": ("Осы анықтама", "Эта справка", "This help"),
    "key_merge_first": (
        "Ұсынылған сұраққа бірден біріктіру",
        "Сразу объединить с предложенным вопросом",
        "Merge into the suggested question at once",
    ),
    "key_close": ("Жабу / болдырмау", "Закрыть / отмена", "Close / cancel"),
    "questions_title": ("Әкімге сұрақтар", "Вопросы акиму", "Questions to the akim"),
    "tab_questions": ("Сұрақтар", "Вопросы", "Questions"),
    "ask_title": ("Әкімге сұрақ қою", "Задать вопрос акиму", "Ask the akim"),
    "question_label": ("Сұрағыңыз", "Ваш вопрос", "Your question"),
    "question_placeholder": ("Сұрағыңызды жазыңыз…", "Напишите вопрос…", "Write your question…"),
    "district_label": ("Аудан", "Район", "District"),
    "district_optional": ("Аудан (міндетті емес)", "Район (необязательно)", "District (optional)"),
    "ask": ("Сұрау", "Спросить", "Ask"),
    "question_pending": (
        "Модераторларға жіберілді",
        "Отправлен модераторам",
        "Sent to the moderators",
    ),
    "question_rejected": ("Сұрақ қабылданбады", "Вопрос не принят", "Question not accepted"),
    "sort_label": ("Сұрыптау", "Сортировка", "Sort"),
    "sort_votes": ("Дауыс бойынша", "По голосам", "By votes"),
    "sort_time": ("Уақыт бойынша", "По времени", "By time"),
    "vote": ("Қолдау", "Поддержать", "Support"),
    "vote_failed": ("Дауыс есептелмеді", "Голос не учтён", "The vote did not count"),
    "vote_closed": ("Дауыс беру жабық", "Голосование закрыто", "Voting is closed"),
    "no_questions": ("Әзірге сұрақ жоқ", "Вопросов пока нет", "No questions yet"),
    "public_approved": ("Қабылданды", "Принят", "Accepted"),
    "public_queued": ("Кезекте", "В очереди", "Next up"),
    "public_on_air": ("Қазір эфирде", "Сейчас в эфире", "On air now"),
    "public_answered": ("Жауап берілді", "Отвечен", "Answered"),
    "public_deferred": ("Кейінге қалдырылды", "Отложен", "Postponed"),
    "comment_hidden": (
        "Модератор жасырды: {reason}",
        "Скрыто модератором: {reason}",
        "Hidden by a moderator: {reason}",
    ),
    "report_comments": ("Пікірлер", "Комментарии", "Comments"),
    "report_questions": ("Сұрақтар", "Вопросы", "Questions"),
    "count_received": ("Барлығы келді", "Всего получено", "Received"),
    "count_shown": ("Көрсетілді", "Показано", "Shown"),
    "count_held": ("Сүзгіде тұр", "Задержано фильтром", "Held by the filter"),
    "count_hidden": ("Модератор жасырды", "Скрыто модераторами", "Hidden by moderators"),
    "count_held_by_filter": (
        "Сүзгі ұстаған, себептері бойынша",
        "Задержано фильтром, по причинам",
        "Held by the filter on arrival, by reason",
    ),
    "count_hidden_by_reason": (
        "Модератор жасырған, себептері бойынша",
        "Скрыто модераторами, по причинам",
        "Hidden by moderators, by reason",
    ),
    "count_by_channel": ("Арналар бойынша", "По каналам", "By channel"),
    "count_promoted": ("Сұраққа айналды", "Стали вопросами", "Made into questions"),
    "count_public": ("Жария", "Публичные", "Public"),
    "count_rejected_by_reason": (
        "Қабылданбаған, себептері бойынша",
        "Отклонено, по причинам",
        "Rejected, by reason",
    ),
    "count_votes": ("Дауыстар", "Голоса", "Votes"),
    "count_none": ("жоқ", "нет", "none"),
    "col_time": ("Уақыты", "Время", "Time"),
    "col_action": ("Әрекет", "Действие", "Action"),
    "col_item": ("Жазба", "Запись", "Item"),
    "col_by": ("Кім", "Кто", "By"),
    "col_details": ("Толығырақ", "Подробности", "Details"),
    "no_actions": ("Әзірге әрекет жоқ", "Действий пока нет", "No actions yet"),
    "event_comment_hidden": ("Пікір жасырылды", "Комментарий скрыт", "Comment hidden"),
    "event_comment_released": ("Пікір қайтарылды", "Комментарий возвращён", "Comment released"),
    "event_question_promoted": ("Сұраққа айналды", "Сделан вопросом", "Made a question"),
    "event_question_approved": ("Сұрақ мақұлданды", "Вопрос одобрен", "Question approved"),
    "event_question_rejected": ("Сұрақ қабылданбады", "Вопрос отклонён", "Question rejected"),
    "event_question_merged": ("Сұрақ біріктірілді", "Вопрос объединён", "Question merged"),
    "event_question_queued": ("Кезекке қойылды", "Поставлен в очередь", "Queued"),
    "event_question_on_air": ("Эфирге шықты", "Выведен в эфир", "On air"),
    "event_question_answered": ("Жауап берілді", "Отвечен", "Answered"),
    "event_question_deferred": ("Кейінге қалдырылды", "Отложен", "Deferred"),
    "event_question_tagged": ("Тақырып/аудан белгіленді", "Тема/район указаны", "Tagged"),
}

JS_KEYS = (
    "guest", "you", "sending", "delivered", "held", "held_none",
    "reason_profanity", "reason_phone", "reason_email", "reason_link",
    "rejected_rate_limited", "rejected_too_long", "rejected_meeting_closed",
    "rejected_invalid", "rejected_unavailable", "closed_scheduled", "closed_ended",
    "connecting", "reconnecting", "new_comments", "chars_left", "not_found",
    "status_scheduled", "status_live", "status_ended",
    "reason_spam", "reason_abuse", "reason_personal_data", "reason_off_topic",
    "reason_not_a_question", "reason_out_of_scope", "reason_advertising", "comment_hidden",
    "question_pending", "question_rejected", "vote", "vote_failed", "vote_closed",
    "no_questions", "votes", "public_approved", "public_queued", "public_on_air",
    "public_answered", "public_deferred",
)  # fmt: skip
# Words the console script needs, besides every status, action, reason, channel and topic.
CONSOLE_KEYS = (
    "guest", "connecting", "connected", "reconnecting", "not_found", "console_forbidden",
    "kind_comment", "kind_question", "held_by", "moderator_reason", "suggested", "similar_to",
    "merge_into_it", "merged_into", "promoted_note", "from_comment", "askers", "votes",
    "topic_none", "district_none", "no_targets", "empty_queue", "conflict", "not_allowed",
    "read_only", "filter_label",
)  # fmt: skip
CONSOLE_PREFIXES = ("item_", "action_", "reason_", "channel_", "topic_", "refused_")


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
    keys = [*JS_KEYS, *(k for k in MESSAGES if k.startswith("topic_"))]
    return {key: MESSAGES[key][column] for key in keys}


def console_strings(lang: str) -> dict[str, str]:
    """The words the moderator console's script needs, in `lang`."""
    column = LANGUAGES.index(lang)
    keys = [*CONSOLE_KEYS, *(k for k in MESSAGES if k.startswith(CONSOLE_PREFIXES))]
    return {key: MESSAGES[key][column] for key in keys}


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
