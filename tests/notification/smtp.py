"""A real SMTP server (aiosmtpd) on a free loopback port, keeping what it receives: where digests are sent in
tests.

    async with Mailbox.running() as mailbox:
        settings = ...(smtp_host=mailbox.host, smtp_port=mailbox.port)
        message = await mailbox.wait_for(lambda m: m["To"].endswith("<alice@example.com>"), within=5)

It runs in the test's own event loop, bound to port 0, so it needs no thread and no guessed port.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

__all__ = ["Mailbox"]


class Mailbox:
    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TOs)
        self._arrived = asyncio.Condition()

    @classmethod
    @asynccontextmanager
    async def running(cls) -> AsyncIterator[Mailbox]:
        mailbox = cls()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(mailbox, hostname="chirp-test-smtp", loop=loop), mailbox.host, 0)
        mailbox.port = server.sockets[0].getsockname()[1]
        try:
            yield mailbox
        finally:
            server.close()
            await server.wait_closed()

    # The aiosmtpd handler hook: called once per message, after DATA.
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content: Any = envelope.original_content or envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        async with self._arrived:
            self.messages.append(message)
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        """The messages received for `address` so far."""
        return [m for m, (_, rcpts) in zip(self.messages, self.envelopes, strict=True) if address in rcpts]

    async def wait_for(self, address: str, *, count: int = 1, within: float) -> list[EmailMessage]:
        """Wait until `count` messages for `address` arrived (fail after `within` seconds); answer them."""
        deadline = time.monotonic() + within

        def enough() -> bool:
            return len(self.to(address)) >= count

        async with self._arrived:
            while not enough():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.to(address))} of {count} messages for {address} in {within}s")
                try:
                    await asyncio.wait_for(self._arrived.wait(), left)
                except TimeoutError:
                    pass
        return self.to(address)
