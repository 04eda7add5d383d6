"""The platform-neutral conversation engine: a message or a button press in, a reply out.

Synchronous and free of any chat SDK, so it runs from a Python shell and in tests as is;
the adapters call it in a worker thread. Collaborators come in through the constructor.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from simatch.chat import intents
from simatch.chat.answers import Answers
from simatch.chat.catalogue import Catalogue
from simatch.chat.needs import need_record, parse_consent
from simatch.chat.replies import ActionEvent, Button, Incoming, Reply
from simatch.chat.state import Conversation, Conversations, ConversationStore, QueryState
from simatch.domain.audit import Actor
from simatch.domain.results import SECTIONS, Section
from simatch.services.alerts import AlertService
from simatch.services.feedback import FeedbackService
from simatch.services.gaps import GapService
from simatch.services.match import MatchService
from simatch.services.records import RecordService
from simatch.text.language import detect_language

log = logging.getLogger(__name__)

MAX_CONSENT_WORDS = 12  # a longer reply to the consent prompt is a new question, not a name


class Engine:
    def __init__(
        self,
        matches: MatchService,
        feedback: FeedbackService,
        records: RecordService,
        gaps: GapService,
        catalogue: Catalogue | None = None,
        store: Conversations | None = None,
        detect: Callable[[str], str] = detect_language,
        extra_regions: Iterable[str] = (),
        page_size: int = 3,
        alerts: AlertService | None = None,
    ) -> None:
        self.feedback = feedback
        self.records = records  # needs saved with consent
        self.gaps = gaps  # questions without a good match, for staff (MatchService records them)
        self.catalogue = catalogue or Catalogue.load()
        self.answers = Answers(matches, self.catalogue, page_size)
        self.store: Conversations = store if store is not None else ConversationStore()
        self.detect = detect
        self.extra_regions = tuple(extra_regions)
        self.alerts = alerts  # "tell me here when something new matches" (None: not offered)

    @property
    def matches(self) -> MatchService:
        return self.answers.matches

    @matches.setter
    def matches(self, service: MatchService) -> None:
        self.answers.matches = service

    # -- entry points -----------------------------------------------------------------------

    def knows(self, conversation: str) -> bool:
        """True while the assistant takes part in this thread (follow-ups need no mention)."""
        return conversation in self.store

    def rebind(self, old: str, new: str) -> None:
        self.store.rebind(old, new)

    def welcome(self, language: str | None = None) -> Reply:
        lang = self.catalogue.language(language or self.catalogue.default_language)
        return Reply("help", lang, self.catalogue.text(lang, "welcome"))

    def apology(self, text: str = "") -> Reply:
        """What an adapter says when the engine did not answer in time (or failed)."""
        lang = self.catalogue.language(self.detect(text) if text.strip() else None)
        return Reply("error", lang, self._t(lang, "error_unavailable"))

    def handle(self, msg: Incoming) -> Reply | None:
        """The reply to a message; None when it was not meant for the assistant."""
        known = self.store.get(msg.conversation)
        conv = known or Conversation(key=msg.conversation)
        reply = None
        try:
            reply = self._handle(conv, msg)
            return reply
        finally:
            if known is not None or reply is not None:  # a thread it takes no part in: kept out
                self.store.save(conv)

    def act(self, event: ActionEvent) -> Reply:
        conv = self.store.get(event.conversation)
        if event.action == "feedback":
            return self._feedback(conv, event)
        if event.action == "follow" or event.action.startswith("alert_"):
            return self._alert_action(conv, event)
        qs = conv.query(event.value.get("q")) if conv else None
        if conv is None or qs is None:
            return self._reply(conv, "info", "expired")
        try:
            if event.action == "more":
                return self._more(conv, qs, SECTIONS)
            if event.action == "show_anyway":
                return self._show(conv, qs, SECTIONS, event.platform, honest=False)
            if event.action == "save_need":
                conv.ask_consent(qs.key, event.user)
                cancel = Button(self._t(qs.language, "button_cancel"), "cancel", {"q": qs.key})
                return Reply(
                    "consent", qs.language, self._t(qs.language, "consent_prompt"), buttons=[cancel]
                )
            # cancel
            if conv.awaits_consent() and not conv.awaits_consent(event.user):
                return self._reply(conv, "info", "consent_other_user", private=True)
            conv.end_consent()
            return self._reply(conv, "info", "consent_cancelled")
        finally:
            self.store.save(conv)

    # -- messages ---------------------------------------------------------------------------

    def _handle(self, conv: Conversation, msg: Incoming) -> Reply | None:
        text = " ".join(msg.text.split())
        consent = conv.awaits_consent(msg.user)
        intent = intents.parse(text, self.extra_regions, pending_consent=consent)
        current = conv.query()
        follow_up = intent.kind == "followup" and current is not None
        if not (msg.addressed or consent or follow_up or conv.clarify_text):
            return None  # people talking to each other in the thread
        if consent:
            if intent.kind == "cancel":
                conv.end_consent()
                return self._reply(conv, "info", "consent_cancelled")
            if intent.kind != "help" and len(text.split()) <= MAX_CONSENT_WORDS:
                return self._save_need(conv, msg.platform, text)
            conv.end_consent()
        if intent.kind == "empty":
            return self.welcome(conv.language)
        if intent.kind == "help":
            lang = intent.language or self.detect(text)
            return Reply("help", self.catalogue.language(lang), self._t(lang, "help"))
        if follow_up and current is not None:
            return self._followup(conv, current, intent, msg.platform)
        language = self.catalogue.language(conv.language or self.detect(text))
        if conv.clarify_text:
            text = f"{conv.clarify_text} {text}"
            language = self.catalogue.language(conv.language or self.detect(text))
            conv.clarify_text = ""
        elif intents.is_vague(text, language):
            conv.clarify_text = text
            return Reply("clarify", language, self._t(language, "clarify"))
        qs = QueryState(key=_new_id(), text=text, language=language, regions=conv.regions)
        return self._show(conv, qs, SECTIONS, msg.platform, honest=True)

    def _followup(
        self, conv: Conversation, qs: QueryState, intent: intents.Intent, platform: str
    ) -> Reply:
        if intent.set_language:
            conv.language = self.catalogue.language(intent.set_language)
        if intent.regions is not None:
            conv.regions = intent.regions
        language = self.catalogue.language(conv.language or intent.language or qs.language)
        sections: tuple[Section, ...] = (intent.section,) if intent.section else SECTIONS
        changed_regions = intent.regions is not None and intent.regions != qs.regions
        if intent.more and not changed_regions:
            qs.language = language  # "more funders" asked in English: the next page in English
            return self._more(conv, qs, sections)
        if changed_regions or language != qs.language:
            fresh = QueryState(key=_new_id(), text=qs.text, language=language, regions=conv.regions)
            return self._show(conv, fresh, sections, platform, honest=True)
        return self._show(conv, qs, sections, platform, honest=True)

    # -- answers ----------------------------------------------------------------------------

    def _show(
        self,
        conv: Conversation,
        qs: QueryState,
        sections: tuple[Section, ...],
        platform: str,
        honest: bool,
    ) -> Reply:
        reply = self.answers.first(qs, sections, platform, honest)
        if reply.kind in ("answer", "no_match"):
            conv.remember(qs)
        return reply

    def _more(self, conv: Conversation, qs: QueryState, sections: tuple[Section, ...]) -> Reply:
        reply = self.answers.more(qs, sections)
        if reply.kind in ("more", "info"):
            conv.remember(qs)
        return reply

    # -- actions ----------------------------------------------------------------------------

    def _feedback(self, conv: Conversation | None, event: ActionEvent) -> Reply:
        verdict = event.value.get("v", "")
        try:
            self.feedback.record(
                match_id=event.value.get("m", ""),
                item_id=event.value.get("i", ""),
                verdict=verdict,
                source=event.platform,
                kind=event.value.get("k") or None,
            )
        except Exception:
            log.exception("feedback could not be recorded")
            return self._reply(conv, "error", "error_feedback", private=True)
        key = "feedback_useful" if verdict == "useful" else "feedback_not_useful"
        return self._reply(conv, "feedback", key, private=True)

    def _save_need(self, conv: Conversation, platform: str, text: str) -> Reply:
        qs = conv.query(conv.consent_query)
        if qs is None:
            conv.end_consent()
            return self._reply(conv, "info", "expired")
        lang = qs.language
        organisation, email = parse_consent(text)
        if organisation is None:
            return Reply("consent", lang, self._t(lang, "consent_needs_org"))
        record = need_record(qs.text, organisation, qs.regions, email, platform)
        try:
            # Audited as the organisation that consented, through its chat platform.
            self.records.save(record, Actor(name=f"{platform}: {organisation}", via=platform))
        except Exception:
            log.exception("need could not be saved")
            return Reply("error", lang, self._t(lang, "error_save"))
        conv.end_consent()
        text = self._t(lang, "consent_saved", id=record.id, organisation=record.organisation)
        if self.alerts is None or platform not in ("slack", "teams"):
            return Reply("saved", lang, text)
        # Alerts only on an explicit press, after saying what that stores.
        follow = Button(self._t(lang, "follow_offer"), "follow", {"n": record.id}, "primary")
        return Reply("saved", lang, text, notes=[self._t(lang, "follow_consent")], buttons=[follow])

    def _alert_action(self, conv: Conversation | None, event: ActionEvent) -> Reply:
        alerts = self.alerts
        if alerts is None:
            return self._reply(conv, "info", "expired")
        try:
            if event.action == "follow":
                need_id = event.value.get("n", "")
                alerts.follow_conversation(need_id, event.platform, event.reference)
                lang = self._reply(conv, "info", "follow_started").language
                need = self.records.get("need", need_id).get("title", need_id)
                return Reply("info", lang, self._t(lang, "follow_started", need=need))
            sub_id = event.value.get("s", "")
            if event.action == "alert_stop":
                outcome = alerts.stop_in_conversation(sub_id, event.reference)
            else:
                interested = event.action == "alert_interested"
                outcome = alerts.react(
                    sub_id, event.value.get("r", ""), interested, event.reference
                )
        except Exception:
            log.exception("alert action %s failed", event.action)
            return self._reply(conv, "error", "follow_failed", private=True)
        lang = self.catalogue.language(outcome.language)
        private = event.action != "alert_stop"  # a stop is for everyone in the thread to see
        return Reply("info", lang, self._t(lang, outcome.key, **outcome.params), private=private)

    # -- helpers ----------------------------------------------------------------------------

    def _reply(
        self, conv: Conversation | None, kind: Any, key: str, private: bool = False
    ) -> Reply:
        current = conv.query() if conv else None
        lang = self.catalogue.language(
            (conv.language if conv else None)
            or (current.language if current else None)
            or self.catalogue.default_language
        )
        return Reply(kind, lang, self._t(lang, key), private=private)

    def _t(self, lang: str, key: str, **params: Any) -> str:
        return self.catalogue.text(lang, key, **params)


def _new_id() -> str:
    return uuid.uuid4().hex[:16]
