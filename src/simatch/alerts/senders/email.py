"""E-mail through SMTP: one message with a plain-text and an HTML part, in the need's
language, with a one-click unsubscribe (``List-Unsubscribe`` and ``List-Unsubscribe-Post``,
RFC 8058) and the delivery's idempotency key in ``Message-ID``, so that a repeat after a
crash is recognisable. A permanent refusal (5xx) is not retried; anything else is."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape

from simatch.alerts.render import AlertMessage, render
from simatch.chat.catalogue import Catalogue
from simatch.domain.alerts import Delivery, DeliveryResult, Subscription


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    security: str = "starttls"  # starttls, ssl or none
    user: str | None = None
    password: str | None = None
    sender: str = "simatch <alerts@localhost>"
    timeout: float = 10.0


def plain(text: str) -> str:
    """The catalogue's light markup (*bold*, _italic_) as plain text."""
    return text.replace("*", "").replace("_", "")


def _html_markup(text: str) -> str:
    parts = escape(text).split("*")
    return "".join(f"<strong>{p}</strong>" if n % 2 else p for n, p in enumerate(parts))


def text_body(message: AlertMessage) -> str:
    lines = [plain(message.intro), ""]
    for item in message.items:
        lines.append(f"{item.section}: {item.title}")
        lines.append(f"  {plain(item.reason)}")
        if item.detail:
            lines.append(f"  {item.detail}")
        if item.url:
            lines.append(f"  {item.url}")
        lines.append("")
    lines += ["--", message.footer, f"{message.stop_label}: {message.unsubscribe_url}"]
    return "\n".join(lines) + "\n"


def html_body(message: AlertMessage) -> str:
    items = []
    for item in message.items:
        title = escape(item.title)
        if item.url:
            title = f'<a href="{escape(item.url, quote=True)}">{title}</a>'
        detail = f"<br>{escape(item.detail)}" if item.detail else ""
        items.append(
            f"<li><small>{escape(item.section)}</small><br><strong>{title}</strong><br>"
            f"{escape(plain(item.reason))}{detail}</li>"
        )
    stop = escape(message.unsubscribe_url, quote=True)
    return (
        f'<!doctype html><html lang="{message.language}"><head><meta charset="utf-8">'
        f"<title>{escape(message.subject)}</title></head><body>"
        f"<p>{_html_markup(message.intro)}</p><ul>{''.join(items)}</ul><hr>"
        f'<p><small>{escape(message.footer)} <a href="{stop}">{escape(message.stop_label)}'
        "</a></small></p></body></html>"
    )


def email_message(
    subscription: Subscription,
    delivery: Delivery,
    unsubscribe_url: str,
    catalogue: Catalogue,
    sender: str,
    today: date,
) -> EmailMessage:
    content = render(subscription, delivery, unsubscribe_url, catalogue, today)
    mail = EmailMessage()
    mail["Subject"] = content.subject
    mail["From"] = sender
    mail["To"] = str(subscription.target["address"])
    mail["Date"] = formatdate(localtime=False)
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "localhost"
    mail["Message-ID"] = make_msgid(idstring=delivery.idempotency_key, domain=domain)
    mail["X-Simatch-Delivery"] = delivery.idempotency_key
    mail["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(text_body(content))
    mail.add_alternative(html_body(content), subtype="html")
    mail["Content-Language"] = content.language  # after the parts: they move Content-*
    return mail


class EmailSender:
    def __init__(
        self,
        config: SmtpConfig,
        catalogue: Catalogue,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self.config = config
        self.catalogue = catalogue
        self.today = today

    def send(
        self, subscription: Subscription, delivery: Delivery, unsubscribe_url: str
    ) -> DeliveryResult:
        c = self.config
        mail = email_message(
            subscription, delivery, unsubscribe_url, self.catalogue, c.sender, self.today()
        )
        try:
            with self._connect() as smtp:
                if c.user and c.password is not None:
                    smtp.login(c.user, c.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            permanent = all(500 <= code < 600 for code in codes)
            return DeliveryResult(
                ok=False, error=f"recipient refused: {codes}", retry=not permanent
            )
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            return DeliveryResult(
                ok=False,
                error=f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:300],
                retry=not permanent,
            )
        except (OSError, smtplib.SMTPException) as exc:
            return DeliveryResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])
        return DeliveryResult(ok=True)

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        if c.security == "ssl":
            return smtplib.SMTP_SSL(
                c.host, c.port, timeout=c.timeout, context=ssl.create_default_context()
            )
        smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        if c.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp
