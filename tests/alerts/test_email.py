"""E-mail alerts through a real SMTP server on loopback (aiosmtpd): a plain-text and an HTML
part in the need's language, the one-click unsubscribe headers, the delivery id; a
recipient the server refuses for good is given up at once."""

from __future__ import annotations

import email
import email.policy
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from simatch.config import SmtpSettings
from tests.alerts.conftest import MATCHING_CALL, NEED, BoxFactory, rows


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd checks it by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def smtp(port: int) -> SmtpSettings:
    return SmtpSettings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
        smtp_from="simatch <alerts@example.org>",
    )  # fmt: skip


def test_a_matching_call_is_mailed_in_the_needs_language_with_one_click_unsubscribe(
    make_box: BoxFactory, inbox: tuple[Inbox, int]
) -> None:
    mailbox, port = inbox
    box = make_box(smtp=smtp(port))
    need = box.alert_service.create_need(dict(NEED))  # Finnish
    sub = box.alert_service.subscribe(need["id"], "email", address="info@pikkukunta.fi")
    box.ingestor.ingest(rows(MATCHING_CALL))
    assert box.alert_service.run().dispatch.sent == 1  # type: ignore[union-attr]

    (mail,) = mailbox.messages
    assert mail["To"] == "info@pikkukunta.fi"
    assert mail["Subject"].startswith("Uutta tarpeellesi")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = box.alert_service.unsubscribe_url(sub)
    assert mail["List-Unsubscribe"] == f"<{link}>"
    assert mail["Content-Language"] == "fi"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for body in (text, html):
        assert MATCHING_CALL["title"] in body and "STEA" in body
        assert "Lopeta nämä ilmoitukset" in body and link in body
        assert "Rahoittajat" in body  # the section, in Finnish
    assert "<strong>" in html and "*" not in text.split("--")[0]
    delivered = box.alert_service.deliveries("sent")[0]
    assert delivered.idempotency_key in mail["Message-ID"]


def test_a_refused_address_is_given_up_at_once_and_unsubscribing_deletes_it(
    make_box: BoxFactory, inbox: tuple[Inbox, int]
) -> None:
    mailbox, port = inbox
    mailbox.refuse.add("gone@example.org")
    box = make_box(smtp=smtp(port))
    need = box.alert_service.create_need(dict(NEED))
    sub = box.alert_service.subscribe(need["id"], "email", address="gone@example.org")
    box.ingestor.ingest(rows(MATCHING_CALL))
    box.alert_service.run()
    time.sleep(0.05)
    box.alert_service.run()
    counts = box.alert_service.status()
    assert (counts.sent, counts.failed) == (0, 1) and "550" in str(counts.failures[0].last_error)
    assert mailbox.messages == []
    box.alert_service.unsubscribe(sub.id, None, staff=True)
    assert box.alert_store.get_subscription(sub.id) is None
    assert box.alert_store.followed_needs() == []
