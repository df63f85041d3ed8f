"""Email: the digest message, and sending it over SMTP to the configured server (aiosmtplib).

The message is plain text, a line per notification as the list shows it ("Alice and 3 others liked your
tweet") with the tweet's first words, newest first, and how many more are waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Protocol

import aiosmtplib
from chirp.notification.v1 import notification_pb2

from services.notification.settings import NotificationSettings

__all__ = ["Mailer", "SmtpMailer", "digest_message"]

_SNIPPET = 80


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    """Sends each message over its own SMTP connection (digests are few and far between)."""

    def __init__(self, settings: NotificationSettings) -> None:
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        """Raises aiosmtplib.SMTPException or OSError when the server cannot be reached or refuses."""
        s = self._settings
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password.get_secret_value() or None,
            use_tls=s.smtp_security == "tls",
            start_tls=True if s.smtp_security == "starttls" else False,
            timeout=s.smtp_timeout,
        )


def digest_message(
    *,
    sender: str,
    to: str,
    name: str,
    notifications: Sequence[notification_pb2.Notification],
    unread_count: int,
) -> EmailMessage:
    """The digest of `notifications` (newest first) for `name` at `to`; `unread_count` counts all unread."""
    count = max(unread_count, len(notifications))
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((name, to))
    message["Subject"] = f"You have {count} unread notification{'s' if count != 1 else ''} on Chirp"
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or None)
    lines = [f"Hi {name},", "", "While you were away:", ""]
    for n in notifications:
        lines.append(f"- {n.summary}")
        text = n.tweet.text or n.tweet.retweeted_tweet.text
        if text:
            snippet = " ".join(text.split())
            lines.append(f'    "{snippet[:_SNIPPET]}{"…" if len(snippet) > _SNIPPET else ""}"')
    if count > len(notifications):
        lines += ["", f"…and {count - len(notifications)} more."]
    lines += ["", "Open Chirp to catch up."]
    message.set_content("\n".join(lines) + "\n")
    return message
