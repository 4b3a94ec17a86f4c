"""The interface's words: gettext catalogs in server/locale/ (kk, ru, en), the code keys that name
them, and how a request picks its language. Translators edit the .po files (see the README)."""

from __future__ import annotations

import functools
import gettext
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TypeAlias

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from moderation.model import LANGUAGES

logger = logging.getLogger(__name__)

LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
LANG_COOKIE = "halyq_lang"
LOCALE_DIR = Path(__file__).parent.parent / "locale"
DOMAIN = "halyq"
# What `pybabel extract` looks for in Python besides its defaults (`_`, `gettext`, `N_`...); the
# README's command and tests/server/test_i18n.py use the same list.
EXTRACT_KEYWORDS = ("NP_:1c,2", "NN_:1,2")

# A script's plural message: its forms by CLDR category ("one", "few", "many", "other").
Strings: TypeAlias = dict[str, str | dict[str, str]]


@dataclass(frozen=True, slots=True)
class Message:
    """A msgid as the catalogs know it: with a context, a plural form, or both."""

    msgid: str
    plural: str = ""
    context: str = ""


def N_(msgid: str) -> Message:
    """Marks a message for `pybabel extract` and translates nothing."""
    return Message(msgid)


def NP_(context: str, msgid: str) -> Message:
    """Marks a message whose English is shared by other meanings (`msgctxt`)."""
    return Message(msgid, context=context)


def NN_(singular: str, plural: str) -> Message:
    """Marks a message with a count `{n}`: Russian has three forms, Kazakh and English two."""
    return Message(singular, plural=plural)


# The names code, scripts and tests use for messages (`translator(lang)(key)`, `config.strings`,
# `t('status_' ~ status)` in templates). A template's own words need no key: it writes them out
# with `_()`, `pgettext()` or `ngettext()`. Contexts: "status" of an item in the console,
# "action" a moderator takes, "public status" of a question, "audit log", "report".
KEYS: dict[str, Message] = {
    "meetings": N_("Meetings"),
    "no_meetings": N_("No meetings yet"),
    "tagline": N_("Akims' meetings with the population, live"),
    "status_scheduled": N_("Starting soon"),
    "status_live": N_("Live"),
    "status_ended": N_("Broadcast ended"),
    # TRANSLATORS: the planned length of a meeting; {n} is a number of minutes.
    "planned": NN_("Planned: {n} minute", "Planned: {n} minutes"),
    "level_oblast": N_("Oblast akim"),
    "level_city_republican": N_("Akim of a city of republican significance"),
    "level_district": N_("District akim"),
    "level_city_local": N_("City akim"),
    "level_local": N_("Akim"),
    "player_placeholder": N_("The broadcast will appear here"),
    "open_stream": N_("Open the broadcast"),
    "video_unsupported": N_("This browser cannot play this video"),
    "chat": N_("Comments"),
    "name_label": N_("Your name"),
    "name_placeholder": N_("Name (optional)"),
    "comment_label": N_("Comment"),
    "comment_placeholder": N_("Write a comment…"),
    "send": N_("Send"),
    "guest": N_("Guest"),
    "you": N_("you"),
    "sending": N_("Sending…"),
    "delivered": N_("Delivered"),
    # TRANSLATORS: under a viewer's own comment; {reason} is one of the filter's reasons.
    "held": N_("Held: {reason}"),
    "held_title": N_("Held by the filter"),
    "held_none": N_("None so far"),
    "held_note": N_("Every held comment has a public reason."),
    "reason_profanity": N_("profanity"),
    "reason_phone": N_("phone number"),
    "reason_email": N_("e-mail address"),
    "reason_link": N_("link"),
    # TRANSLATORS: slow mode; {n} is a number of seconds.
    "rejected_rate_limited": NN_(
        "Slow mode: sending again in {n} second", "Slow mode: sending again in {n} seconds"
    ),
    "rejected_too_long": NN_("Too long: {n} character at most", "Too long: {n} characters at most"),
    "rejected_meeting_closed": N_("The meeting is not live"),
    "rejected_invalid": N_("Comment not accepted"),
    "rejected_unavailable": N_("Server unavailable; will send again"),
    # Issue 8: the name reads as «Аким», «Модератор» and the like, however it is spelled.
    "rejected_reserved_name": N_("This name reads as an official role: choose another name"),
    # The badge on a comment that staff posted as staff: no viewer's name can make one.
    "staff_badge": N_("Moderator"),
    # TRANSLATORS: on the console, a comment that reads as a question to the akim (issue 11).
    "asks_badge": N_("Reads as a question"),
    # TRANSLATORS: a YouTube Super Chat on the console; {amount} and {currency}, e.g. 5000.00 KZT.
    "superchat_badge": N_("Super Chat {amount} {currency}"),
    # TRANSLATORS: the server is past its capacity; {n} is a number of seconds.
    "rejected_overloaded": NN_(
        "Server busy: sending again in {n} second", "Server busy: sending again in {n} seconds"
    ),
    # TRANSLATORS: the server cannot say yet whether it recorded the comment; it is sent again.
    "not_confirmed": N_("Not confirmed yet, sending again"),
    # A `status` frame said the record is not usable (server/health.py); the viewer's notice.
    "degraded_viewer": N_("Comments are not being accepted right now; yours will be sent again"),
    "closed_scheduled": N_("Commenting opens when the broadcast starts"),
    "closed_ended": N_("The meeting has ended; commenting is closed"),
    "connecting": N_("Connecting…"),
    "reconnecting": N_("Connection lost, reconnecting…"),
    "new_comments": N_("New comments ↓"),
    # TRANSLATORS: under the comment box; {n} is the number of characters still allowed.
    "chars_left": NN_("{n} character left", "{n} characters left"),
    "not_found": N_("No such meeting"),
    "error": N_("Error"),
    "server_error": N_("The server failed; please try again later"),
    "unavailable": N_("The service is temporarily unavailable"),
    "language": N_("Language"),
    "back": N_("All meetings"),
    # staff sign-in
    "login_title": N_("Staff sign-in"),
    "login_name": N_("User name"),
    "login_password": N_("Password"),
    "login_submit": N_("Sign in"),
    "login_failed": N_("Wrong user name or password"),
    "login_throttled": N_("Too many attempts from here. Please wait a little and try again"),
    "login_stale": N_("The page had expired: please sign in again"),
    "logout": N_("Sign out"),
    "role_admin": N_("Administrator"),
    "role_moderator": N_("Moderator"),
    "role_operator": N_("Phone operator"),
    "role_producer": N_("Producer"),
    "role_commission": N_("Commission member"),
    # console, questions, transparency
    "console_title": N_("Moderation console"),
    "console_index_title": N_("Moderation"),
    "link_console": N_("Console"),
    "link_audit": N_("Log"),
    "link_transparency": N_("Report"),
    "audit_title": N_("Moderation log"),
    "transparency_title": N_("Moderation report"),
    "transparency_intro": N_(
        "These numbers are counted from the meeting's record: every hidden comment and rejected"
        " question has a public reason."
    ),
    # TRANSLATORS: {id} is the id of the last event counted, such as 1718000000000-0.
    "as_of": N_("As of event {id}"),
    "report_link": N_("Moderation report"),
    "filter_label": N_("Search"),
    "filter_placeholder": N_("Text or name (/)"),
    "filter_kind": N_("Kind"),
    "filter_status": N_("Status"),
    "filter_channel": N_("Channel"),
    "filter_topic": N_("Topic"),
    "filter_district": N_("District"),
    "filter_all": N_("All"),
    "kind_comment": N_("Comment"),
    "kind_question": N_("Question"),
    "kind_comments": N_("Comments"),
    "kind_questions": N_("Questions"),
    "item_shown": NP_("status", "Shown"),
    "item_held": NP_("status", "Held"),
    "item_hidden": NP_("status", "Hidden"),
    "item_new": NP_("status", "New"),
    "item_approved": NP_("status", "Approved"),
    "item_rejected": NP_("status", "Rejected"),
    "item_merged": NP_("status", "Merged"),
    "item_queued": NP_("status", "Queued"),
    "item_on_air": NP_("status", "On air"),
    "item_answered": NP_("status", "Answered"),
    "item_deferred": NP_("status", "Deferred"),
    "action_hide": NP_("action", "Hide"),
    "action_release": NP_("action", "Release"),
    "action_approve": NP_("action", "Approve"),
    "action_reject": NP_("action", "Reject"),
    "action_merge": NP_("action", "Merge"),
    "action_queue": NP_("action", "Queue"),
    "action_on_air": NP_("action", "On air"),
    "action_answer": NP_("action", "Answered"),
    "action_defer": NP_("action", "Defer"),
    "action_tag": NP_("action", "Topic and district"),
    "action_promote": NP_("action", "Make a question"),
    "reason_spam": N_("spam"),
    "reason_abuse": N_("abuse"),
    "reason_personal_data": N_("personal data"),
    "reason_off_topic": N_("off topic"),
    "reason_not_a_question": N_("not a question"),
    "reason_out_of_scope": N_("outside the akim's remit"),
    "reason_advertising": N_("advertising"),
    "reason_removed_on_youtube": N_("removed on YouTube"),
    "channel_web": N_("web"),
    "channel_youtube": N_("YouTube"),
    "channel_facebook": N_("Facebook"),
    "channel_instagram": N_("Instagram"),
    "channel_telegram": N_("Telegram"),
    "channel_whatsapp": N_("WhatsApp"),
    "channel_phone": N_("phone"),
    "channel_email": N_("e-mail"),
    "channel_sms": N_("SMS"),
    "channel_request": N_("request form"),
    "channel_staff": N_("moderators"),
    "topic_none": N_("no topic"),
    "topic_roads": N_("roads"),
    "topic_water": N_("water and sewerage"),
    "topic_heating": N_("heating"),
    "topic_landscaping": N_("landscaping"),
    "topic_transport": N_("public transport"),
    "topic_housing": N_("housing and utilities"),
    "topic_education": N_("education"),
    "topic_health": N_("health"),
    "topic_land": N_("land"),
    "topic_safety": N_("safety"),
    "topic_other": N_("other"),
    "district_none": N_("no district"),
    "held_by": N_("Held by the filter: {reason}"),
    "moderator_reason": N_("Reason: {reason}"),
    "suggested": N_("suggested"),
    "similar_to": N_("May repeat:"),
    "merge_into_it": N_("Merge into it"),
    "merged_into": N_("Merged into:"),
    "promoted_note": N_("Made a question"),
    "from_comment": N_("From a comment"),
    # TRANSLATORS: on a question in the console; {n} people asked it (duplicates merged).
    "askers": NN_("asked by {n} person", "asked by {n} people"),
    "votes": NN_("{n} vote", "{n} votes"),
    "choose_reason": N_("Choose a reason"),
    "choose_target": N_("Merge into which question?"),
    "choose_tag": N_("Topic and district"),
    "filter_targets": N_("Search questions"),
    "no_targets": N_("No question to merge into"),
    "chooser_hint": N_("j/k or ↑/↓ · Enter: choose · Esc: cancel"),
    "confirm": N_("Choose"),
    "cancel": N_("Cancel"),
    "empty_queue": N_("Nothing here yet"),
    "counts_label": N_("By status"),
    "queue_label": N_("Comments and questions, newest first"),
    "connected": N_("Connected"),
    "conflict": N_("Changed by someone else; now showing the current state"),
    "refused_forbidden": N_("Your role may not do this"),
    "refused_invalid_transition": N_("Not possible in this state"),
    "refused_invalid": N_("The action was not valid"),
    "refused_not_found": N_("No such item"),
    "refused_unavailable": N_("The record cannot be reached; try again"),
    # The console's banner while the record is not usable, by the `status` frame's reason.
    "degraded_title": N_("Comments are not being accepted"),
    "degraded_redis_unreachable": N_(
        "The record (Redis) does not answer. Viewers' comments wait in their browsers and are"
        " sent again when it is back."
    ),
    "degraded_redis_not_durable": N_(
        "The record (Redis) does not write to disk before it answers, so comments are refused."
        " Set appendonly yes and appendfsync always."
    ),
    "degraded_redis_start_failed": N_(
        "The record (Redis) cannot start; it is tried again automatically. Check the server's"
        " disk and its log."
    ),
    "degraded_redis_restarting": N_(
        "The record (Redis) stopped and is being started again automatically."
    ),
    # TRANSLATORS: {detail} is a short technical text in English, from the server.
    "degraded_detail": N_("Details: {detail}"),
    # The console's alert when the record lost history (FLT-6, a `discontinuity` frame).
    "discontinuity_title": N_("Part of the record was lost"),
    # TRANSLATORS: {ids} is a list of the comments' client ids, separated by commas.
    "discontinuity_missing": N_("Acknowledged comments no longer in the record: {ids}"),
    "discontinuity_none": N_("No acknowledged comment seen by this server is missing."),
    "dismiss": N_("Dismiss"),
    "refused_signed_out": N_("Your session has ended"),
    "not_allowed": N_("Not possible for this item"),
    "read_only": N_("Your role may view but not moderate"),
    "console_forbidden": N_("You no longer have access to this console"),
    # YouTube's chat feeds on the console (issue 11)
    "feed_title": N_("YouTube chat"),
    "feed_following": N_("following"),
    "feed_restarting": N_("restarting yt-dlp"),
    "feed_stopped": N_("stopped"),
    "feed_items": N_("Items in the last minute: {n}"),
    "feed_last_item": N_("Last item at {time}"),
    "feed_no_item": N_("No item yet"),
    "feed_error": N_("yt-dlp: {error}"),
    "feed_stalled": N_("The YouTube chat has delivered nothing for {seconds} s"),
    "feed_exited": N_("The YouTube chat is not being read: yt-dlp exited"),
    "feed_started": N_("Following the YouTube chat"),
    "feed_refused": N_("Not started: {detail}"),
    # Facebook Live and Instagram Live readers in the same list (issue 16)
    "feed_retrying": N_("retrying"),
    "feed_not_live": N_("not live now"),
    "feed_graph_error": N_("{platform}: {error}"),
    "feed_graph_stalled": N_("The {platform} comments have delivered nothing for {seconds} s"),
    "feed_graph_exited": N_("The {platform} comments are not being read"),
    "feed_graph_started": N_("Reading the {platform} comments"),
    "keys_title": N_("Keyboard"),
    "keys_hint": N_("?: keys"),
    "key_move": N_("Next / previous item"),
    "key_filter": N_("Search"),
    "key_help": N_("This help"),
    "key_merge_first": N_("Merge into the suggested question at once"),
    "key_close": N_("Close / cancel"),
    "questions_title": N_("Questions to the akim"),
    "tab_questions": N_("Questions"),
    "ask_title": N_("Ask the akim"),
    "question_label": N_("Your question"),
    "question_placeholder": N_("Write your question…"),
    "district_label": N_("District"),
    "district_optional": N_("District (optional)"),
    "ask": N_("Ask"),
    "question_pending": N_("Sent to the moderators"),
    "question_rejected": N_("Question not accepted"),
    "sort_label": N_("Sort"),
    "sort_votes": N_("By votes"),
    "sort_time": N_("By time"),
    "vote": N_("Support"),
    "vote_failed": N_("The vote did not count"),
    "vote_closed": N_("Voting is closed"),
    "no_questions": N_("No questions yet"),
    "public_approved": NP_("public status", "Accepted"),
    "public_queued": NP_("public status", "Next up"),
    "public_on_air": NP_("public status", "On air now"),
    "public_answered": NP_("public status", "Answered"),
    "public_deferred": NP_("public status", "Postponed"),
    "comment_hidden": N_("Hidden by a moderator: {reason}"),
    # The viewer's own questions and comments and their fates (issue 10.7, meeting_mine.js):
    # `mine_{status}` of `moderation.audiences.sent_item`; "sent" is `question_pending`.
    "mine_approved": NP_("my questions", "Approved"),
    "mine_queued": NP_("my questions", "Approved, waiting for the air"),
    "mine_rejected": NP_("my questions", "Rejected: {reason}"),
    "mine_merged": NP_("my questions", "Merged with a similar question"),
    "mine_on_air": NP_("my questions", "On air now"),
    "mine_answered": NP_("my questions", "Answered"),
    "mine_deferred": NP_("my questions", "Sent to the issue pool"),
    "mine_shown": NP_("my questions", "Shown"),
    "mine_held": NP_("my questions", "Held: {reason}"),
    "mine_hidden": NP_("my questions", "Hidden: {reason}"),
    "report_comments": N_("Comments"),
    "report_questions": N_("Questions"),
    "count_received": NP_("report", "Received"),
    "count_shown": NP_("report", "Shown"),
    "count_held": NP_("report", "Held by the filter"),
    "count_hidden": NP_("report", "Hidden by moderators"),
    "count_held_by_filter": NP_("report", "Held by the filter on arrival, by reason"),
    "count_hidden_by_reason": NP_("report", "Hidden by moderators, by reason"),
    "count_by_channel": NP_("report", "By channel"),
    "count_promoted": NP_("report", "Made into questions"),
    "count_public": NP_("report", "Public"),
    "count_rejected_by_reason": NP_("report", "Rejected, by reason"),
    "count_votes": NP_("report", "Votes"),
    "count_none": NP_("report", "none"),
    "col_time": NP_("audit log", "Time"),
    "col_action": NP_("audit log", "Action"),
    "col_item": NP_("audit log", "Item"),
    "col_by": NP_("audit log", "By"),
    "col_details": NP_("audit log", "Details"),
    "no_actions": N_("No actions yet"),
    "event_comment_hidden": NP_("audit log", "Comment hidden"),
    "event_comment_released": NP_("audit log", "Comment released"),
    "event_question_promoted": NP_("audit log", "Made a question"),
    "event_question_approved": NP_("audit log", "Question approved"),
    "event_question_rejected": NP_("audit log", "Question rejected"),
    "event_question_merged": NP_("audit log", "Question merged"),
    "event_question_queued": NP_("audit log", "Queued"),
    "event_question_on_air": NP_("audit log", "On air"),
    "event_question_answered": NP_("audit log", "Answered"),
    "event_question_deferred": NP_("audit log", "Deferred"),
    "event_question_tagged": NP_("audit log", "Tagged"),
    "event_meeting_phase_changed": NP_("audit log", "Phase changed"),
    # The clock's phases (R4): what a meeting is doing now, on the studio's and the public's
    # screens; `phase_{value}` of `moderation.events.Phase`.
    "phase_not_started": NP_("phase", "Not started"),
    "phase_presentation": NP_("phase", "Presentation"),
    "phase_qa": NP_("phase", "Questions and answers"),
    "phase_break": NP_("phase", "Break"),
    "phase_ended": NP_("phase", "Ended"),
    # The meeting report's charts (issue 12.6, server/web/results.py): their titles, the parts
    # of the time chart and its budget line (R4), where the approved questions ended up.
    "results_time": N_("Time against the budget"),
    "results_part_presentation": N_("Presentation"),
    "results_part_overrun": N_("Over the budget"),
    "results_part_qa": N_("Questions and answers"),
    "results_part_break": N_("Breaks"),
    "results_part_other": N_("Time not marked"),
    # TRANSLATORS: the time chart's budget line (R4: a quarter of the planned time); {time}
    # is a length such as 0:30:00.
    "results_budget": N_("Budget: {time}"),
    "results_topics": N_("Approved questions by topic"),
    "results_districts": N_("Approved questions by district"),
    "results_channels": N_("Approved questions by channel"),
    "results_outcomes": N_("What became of the approved questions"),
    "results_none": N_("No approved questions yet"),
    "outcome_answered": NP_("outcome", "Answered on air"),
    "outcome_deferred": NP_("outcome", "Deferred to the issue pool"),
    "outcome_not_reached": NP_("outcome", "Not reached"),
    # The studio's graphics and data feeds (issue 9): a sender who left the name blank is shown
    # by the district (issue 9.5), the ticker's heading, the clock past its budget.
    "studio_resident": NP_("studio", "Resident"),
    "studio_resident_of": NP_("studio", "Resident of {district}"),
    "studio_questions": NP_("studio", "Residents' questions"),
    "studio_overrun": NP_("studio", "Over the limit"),
    # The producer's desk (issue 9): the clock's line under the countdown, its questions.
    "producer_used": NP_("producer", "Presentation {used} of {budget}"),
    "producer_overrun": NP_("producer", "Presentation {used} of {budget}: over by {over}"),
    "producer_confirm_end": NP_("producer", "End the meeting? Comments and questions close."),
    "producer_failed": NP_("producer", "Not done: {detail}"),
    "producer_take": NP_("producer", "Take to air"),
    # The desk's broadcast panel (issue 16): the studio's ingest, our HLS, each restream output.
    "producer_broadcast_waiting": NP_("broadcast", "Waiting for the studio"),
    "producer_broadcast_live": NP_("broadcast", "The studio is on air"),
    "producer_broadcast_reconnecting": NP_("broadcast", "The studio dropped: waiting for it"),
    "producer_broadcast_ended": NP_("broadcast", "The broadcast has ended"),
    "producer_output_connecting": NP_("broadcast", "Connecting"),
    "producer_output_live": NP_("broadcast", "Sending"),
    "producer_output_retrying": NP_("broadcast", "Retrying"),
    "producer_output_stopped": NP_("broadcast", "Stopped"),
    "producer_hls_running": NP_("broadcast", "Running"),
    "producer_hls_restarting": NP_("broadcast", "Restarting"),
    "producer_hls_stopped": NP_("broadcast", "Stopped"),
    "producer_bitrate": NP_("broadcast", "{kbps} kbit/s"),
    "producer_part": NP_("broadcast", "part {part}"),
    "producer_grace": NP_("broadcast", "continues if back within {seconds} s"),
    "producer_restarts": NP_("broadcast", "restarts: {n}"),
    "producer_retry_in": NP_("broadcast", "next try in {seconds} s"),
    "producer_recording": NP_("broadcast", "{size} MB, parts: {parts}"),
    # The clock on the viewer page and the console (R4): the presentation's time left.
    "clock_left": NP_("clock", "{time} left"),
    "event_question_edited": NP_("audit log", "Edited by its sender"),
    # Issue 14: the audit page names every staff action, and each error page says what happened.
    "event_question_off_air": NP_("audit log", "Taken off air"),
    "event_rundown_moved": NP_("audit log", "Moved in the rundown"),
    "error_forbidden": NP_("error page", "Your role may not open this page."),
    "error_page_missing": NP_("error page", "There is no such page here."),
    "error_method": NP_("error page", "This page cannot be used that way."),
    "error_bad_request": NP_("error page", "The request has a mistake in it."),
    # Answers to senders on WhatsApp, SMS, Telegram and e-mail (issue 10), in the language
    # they wrote in: `reply_{kind}` of `server.usecases.replies.Reply`.
    "reply_arrived": NP_(
        "reply",
        "Your question to the meeting “{title}” has arrived. The moderators will"
        " read it, and we will tell you what becomes of it.",
    ),
    "reply_arrived_early": NP_(
        "reply",
        "No meeting is live now. Your question is among the requests for the meeting"
        " “{title}” on {date}; we will tell you what becomes of it.",
    ),
    "reply_date_unknown": NP_("reply", "a date to be announced"),
    "reply_approved": NP_(
        "reply", "Your question was approved: it is on the meeting's public list of questions."
    ),
    "reply_rejected": NP_("reply", "Your question was not accepted: {reason}."),
    "reply_merged": NP_(
        "reply", "Your question was joined with a similar one: they will be answered together."
    ),
    "reply_on_air": NP_("reply", "Your question is on air now."),
    "reply_answered": NP_("reply", "Your question was answered on air."),
    "reply_deferred": NP_(
        "reply",
        "Your question was not answered on air: it goes to the pool of problem issues, with an"
        " action plan and a deadline.",
    ),
    "reply_rate_limited": NN_(
        "Too many messages: please wait {n} second and write again.",
        "Too many messages: please wait {n} seconds and write again.",
    ),
    "reply_refused": NP_("reply", "Your message was not taken: {reason}."),
    "reply_no_meeting": NP_(
        "reply",
        "No meeting is live or announced now, so your message was not recorded. Please write"
        " again once a meeting is announced.",
    ),
    "reply_not_editable": NP_(
        "reply",
        "The moderators already decided on your question, so the edit was not taken: please"
        " send a new question instead.",
    ),
    "reply_start": NP_(
        "reply",
        "Hello! Write your question to the akim here, in one message, in Kazakh or Russian. We"
        " will tell you when it arrives and what becomes of it.",
    ),
    # The phone desk (issue 10.1): what became of each call, and why a field was refused.
    "desk_recorded": NP_("phone desk", "Recorded"),
    "desk_repeated": NP_("phone desk", "Recorded already"),
    "desk_sending": NP_("phone desk", "Sending…"),
    "desk_retrying": NP_("phone desk", "The server did not answer: sending again…"),
    # TRANSLATORS: {detail} is a short technical text in English, from the server.
    "desk_failed": NP_("phone desk", "Not recorded: {detail}"),
    "desk_elsewhere": NP_(
        "phone desk", "The meetings changed: this call went to another meeting. Reload the page."
    ),
    "desk_no_meeting": NP_(
        "phone desk", "No meeting is live or announced: the call was not recorded"
    ),
    "desk_bad_callback": NP_(
        "phone desk", "Not a phone number: type it as 8 701 234 56 78 or +7 701 234 56 78"
    ),
    "desk_bad_district": NP_(
        "phone desk", "Not a district of this meeting: choose one from the list"
    ),
    "desk_bad_name": NP_("phone desk", "This name cannot be used: type another or leave it blank"),
    "desk_no_text": NP_("phone desk", "Type the caller's question"),
    "desk_bad_language": NP_("phone desk", "Choose the language the caller spoke"),
    # TRANSLATORS: the same number called too often; {n} is a number of seconds.
    "desk_rate_limited": NN_(
        "This number called too often: wait {n} second",
        "This number called too often: wait {n} seconds",
    ),
    "desk_no_number": NP_("phone desk", "no number"),
    # The viewer page's player (issue 14, player.js): the stream's state, over the picture.
    "stream_waiting": NP_("stream", "Waiting for the broadcast"),
    "stream_live": NP_("stream", "On air"),
    "stream_reconnecting": NP_("stream", "Reconnecting to the broadcast…"),
    "stream_ended": NP_("stream", "The broadcast has ended"),
    # A scheduled meeting's countdown (issue 14, meeting_start.js); {time} is "3 days 4:05:09".
    "starts_in": NP_("start", "Starts in {time}"),
    "starting_now": NP_("start", "Starting any moment now"),
    # TRANSLATORS: days left before a meeting starts, before the hours:minutes:seconds.
    "days": NN_("{n} day", "{n} days"),
}

JS_KEYS = (
    "guest", "you", "sending", "delivered", "held", "held_none",
    "reason_profanity", "reason_phone", "reason_email", "reason_link",
    "rejected_rate_limited", "rejected_too_long", "rejected_meeting_closed",
    "rejected_invalid", "rejected_unavailable", "rejected_overloaded", "not_confirmed",
    "closed_scheduled", "closed_ended",
    "connecting", "reconnecting", "new_comments", "chars_left", "not_found",
    "status_scheduled", "status_live", "status_ended",
    "reason_spam", "reason_abuse", "reason_personal_data", "reason_off_topic",
    "reason_not_a_question", "reason_out_of_scope", "reason_advertising", "comment_hidden",
    "question_pending", "question_rejected", "vote", "vote_failed", "vote_closed",
    "no_questions", "votes", "public_approved", "public_queued", "public_on_air",
    "public_answered", "public_deferred", "degraded_viewer", "rejected_reserved_name",
    "staff_badge",
    # "My questions" (issue 10.7, meeting_mine.js).
    "mine_approved", "mine_queued", "mine_rejected", "mine_merged", "mine_on_air",
    "mine_answered", "mine_deferred", "mine_shown", "mine_held", "mine_hidden",
    "kind_comment", "kind_question",
    # The clock (R4, meeting_clock.js), shared with the console.
    "phase_not_started", "phase_presentation", "phase_qa", "phase_break", "phase_ended",
    "clock_left", "studio_overrun", "producer_used", "producer_overrun",
    # The player's state (player.js) and the countdown to the start (meeting_start.js).
    "stream_waiting", "stream_live", "stream_reconnecting", "stream_ended", "starts_in",
    "starting_now", "days",
)  # fmt: skip
# Words the console script needs, besides every status, action, reason, channel and topic.
CONSOLE_KEYS = (
    "guest", "connecting", "connected", "reconnecting", "not_found", "console_forbidden",
    "kind_comment", "kind_question", "held_by", "moderator_reason", "suggested", "similar_to",
    "merge_into_it", "merged_into", "promoted_note", "from_comment", "askers", "votes",
    "topic_none", "district_none", "no_targets", "empty_queue", "conflict", "not_allowed",
    "read_only", "filter_label", "degraded_title", "degraded_redis_unreachable",
    "degraded_redis_not_durable", "degraded_redis_start_failed", "degraded_redis_restarting",
    "degraded_detail", "staff_badge", "discontinuity_title", "discontinuity_missing",
    "discontinuity_none", "dismiss",
    "phase_not_started", "phase_presentation", "phase_qa", "phase_break", "phase_ended",
    "clock_left", "studio_overrun", "producer_used", "producer_overrun",
    "asks_badge", "superchat_badge",
)  # fmt: skip
CONSOLE_PREFIXES = ("item_", "action_", "reason_", "channel_", "topic_", "refused_", "feed_")


def load_catalog(lang: str, directory: Path = LOCALE_DIR) -> gettext.GNUTranslations:
    """The compiled catalog of `lang`, compiled in memory when its .mo is missing or stale."""
    po = directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as file:
            return gettext.GNUTranslations(file)
    # `make` compiles the .mo files at install (`pybabel compile`); a bare `pip install -e .`
    # does not, and an edited .po is newer than its .mo. Rather than fail, or serve the old
    # words, compile the .po in memory as `pybabel compile` would (fuzzy entries left out).
    logger.info("compiling %s in memory: its .mo is missing or older", po)
    with po.open("rb") as file:
        catalog = read_po(file, locale=lang, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@functools.cache
def _catalog(lang: str) -> gettext.GNUTranslations:
    if lang not in LANGUAGES:
        raise ValueError(f"no catalog for language {lang!r}")
    return load_catalog(lang)


def _lookup(catalog: gettext.GNUTranslations, message: Message, n: int = 1) -> str:
    if message.plural and message.context:
        return catalog.npgettext(message.context, message.msgid, message.plural, n)
    if message.plural:
        return catalog.ngettext(message.msgid, message.plural, n)
    if message.context:
        return catalog.pgettext(message.context, message.msgid)
    return catalog.gettext(message.msgid)


def _fill(text: str, values: Mapping[str, object]) -> str:
    return text.format(**values) if values else text


def translator(lang: str) -> Callable[..., str]:
    """`t(key, **values)` in `lang`; a plural message takes its count as `n`.

    An unknown key, or a plural message without `n`, is a programmer error (`KeyError`).
    """
    catalog = _catalog(lang)

    def translate(key: str, **values: object) -> str:
        message = KEYS[key]
        count = values["n"] if message.plural else 1
        assert isinstance(count, int), f"{key}: n must be an int"
        return _fill(_lookup(catalog, message, count), values)

    return translate


def template_gettext(lang: str) -> dict[str, Callable[..., str]]:
    """`gettext`, `ngettext`, `pgettext` and `npgettext` in `lang`, for jinja2's i18n extension.

    Placeholders are `{name}`, as in the scripts: `_('Reason: {reason}', reason=...)`; the plural
    functions pass their count as `n`: `ngettext('{n} vote', '{n} votes', count)`.
    """
    catalog = _catalog(lang)

    def gettext_(msgid: str, **values: object) -> str:
        return _fill(catalog.gettext(msgid), values)

    def ngettext_(singular: str, plural: str, n: int, **values: object) -> str:
        return _fill(catalog.ngettext(singular, plural, n), {"n": n, **values})

    def pgettext_(context: str, msgid: str, **values: object) -> str:
        return _fill(catalog.pgettext(context, msgid), values)

    def npgettext_(context: str, singular: str, plural: str, n: int, **values: object) -> str:
        return _fill(catalog.npgettext(context, singular, plural, n), {"n": n, **values})

    return {
        "gettext": gettext_,
        "ngettext": ngettext_,
        "pgettext": pgettext_,
        "npgettext": npgettext_,
    }


@functools.cache
def plural_samples(lang: str) -> dict[str, int]:
    """A count for each CLDR plural category of `lang` ("one": 1, "few": 2, "many": 5...)."""
    rule = Locale.parse(lang).plural_form
    samples: dict[str, int] = {}
    for n in range(200):
        samples.setdefault(rule(n), n)
    return samples


def _script_value(lang: str, message: Message) -> str | dict[str, str]:
    catalog = _catalog(lang)
    if not message.plural:
        return _lookup(catalog, message)
    # Scripts pick the form with `Intl.PluralRules(lang).select(n)`, which gives these
    # categories; tests/server/test_i18n.py checks they agree with each .po's Plural-Forms.
    return {category: _lookup(catalog, message, n) for category, n in plural_samples(lang).items()}


def _script_strings(lang: str, keys: list[str]) -> Strings:
    return {key: _script_value(lang, KEYS[key]) for key in keys}


def js_strings(lang: str) -> Strings:
    """The words the viewer page's script needs, in `lang`; plurals as forms by category."""
    return _script_strings(lang, [*JS_KEYS, *(k for k in KEYS if k.startswith("topic_"))])


def console_strings(lang: str) -> Strings:
    """The words the moderator console's script needs, in `lang`; plurals as forms by category."""
    keys = [*CONSOLE_KEYS, *(k for k in KEYS if k.startswith(CONSOLE_PREFIXES))]
    return _script_strings(lang, keys)


def studio_strings(lang: str) -> Strings:
    """The words the overlays' scripts need, in `lang`: names, channels, phases (issue 9)."""
    prefixes = ("studio_", "channel_", "phase_")
    return _script_strings(lang, [k for k in KEYS if k.startswith(prefixes)])


def producer_strings(lang: str) -> Strings:
    """The words the producer's desk script needs, in `lang` (issue 9)."""
    keys = ["connected", "reconnecting", "votes"]
    prefixes = ("producer_", "studio_", "channel_", "phase_")
    return _script_strings(lang, [*keys, *(k for k in KEYS if k.startswith(prefixes))])


def desk_strings(lang: str) -> Strings:
    """The words the phone desk's script needs, in `lang` (issue 10.1)."""
    keys = ["rejected_reserved_name", "rejected_too_long", "studio_resident", "studio_resident_of"]
    return _script_strings(lang, [*keys, *(k for k in KEYS if k.startswith("desk_"))])


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
