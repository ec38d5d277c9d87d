"""Provider adapters behind the two sender ports (`ports.EmailSender`, `ports.SmsGateway`).

Implementations:
- `SmtpEmailSender`: SMTP through `aiosmtplib`, optional STARTTLS (or implicit TLS) and login.
- `JsonSmsGateway`: a generic JSON-over-HTTP gateway, `POST {url}` with `{"to", "message",
  "reference"}` and an `Idempotency-Key` header; 2xx with `{"id": ...}` is accepted. The local
  SMS sink (`deploy/local/smssink.py`) speaks it.
- `ZenzivaSmsGateway`: shaped like Zenziva's "reguler" SMS API (an Indonesian provider):
  form fields `userkey`, `passkey`, `to` (digits, `628…`), `message`; HTTP 200 with a JSON body
  `{"messageId", "to", "status": "1"|"0", "text"}` where status "1" means accepted. Written from
  the provider's public documentation as we know it; check it against the contract you sign.

Every failure leaves as a classified `DeliveryError` (see `retry.py`); no exception text that could
echo the recipient is kept.

`send(message, commit)`: a sender awaits `commit()` right before the step after which the provider
may have the message (the HTTP request; SMTP `DATA`, after the recipient was accepted). Everything
before it is safe to repeat; from `commit()` until the outcome is recorded is the window in which
a crash leaves the outcome unknown (see `service.py`). If `commit()` raises, nothing is sent.
"""

from __future__ import annotations

import asyncio
import email.charset
import email.policy
import email.utils
import time
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from typing import Any

import aiosmtplib
import httpx

from sipuma.notifier.ports import Commit, OutgoingEmail, OutgoingSms, Receipt
from sipuma.notifier.retry import (
    DeliveryError,
    classify,
    classify_http_status,
    permanent,
    transient,
)
from sipuma.shared.payloads import NotificationFailure


async def _no_commit() -> None:
    return None


class SmtpEmailSender:
    """SMTP with a small pool of open connections (at most `connections` at a time, each reused
    for up to `max_messages_per_connection` messages and dropped after `idle_seconds` unused):
    connect, EHLO, STARTTLS and login are paid once per connection, not per message. A pooled
    connection the server has closed meanwhile fails before `commit()` (at `MAIL`), so that
    message is simply tried once more on a new connection: nothing had been sent."""

    provider = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        sender_name: str = "",
        starttls: bool = False,
        implicit_tls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_seconds: float = 10.0,
        connections: int = 8,
        max_messages_per_connection: int = 100,
        idle_seconds: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self.sender, self.sender_name = sender, sender_name
        self.starttls, self.implicit_tls = starttls, implicit_tls
        self.username, self.password = username, password
        self.timeout = timeout_seconds
        self.domain = sender.rsplit("@", 1)[-1]
        self.max_messages, self.idle_seconds = max_messages_per_connection, idle_seconds
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[_Pooled] = []
        self._closing: set[asyncio.Task[None]] = set()

    def build(self, message: OutgoingEmail) -> Message:
        """The MIME message. Built with the `email` package's compat32 classes, which take the
        headers as written: the modern `EmailMessage` parses every header it is given, and that
        was 0.5–0.7 ms a message, a tenth of the notifier's CPU per e-mail (issue 15). Only an
        address that is not ASCII (internationalised mail) takes that path still."""
        if not message.to.isascii():
            return self._build_parsed(message)
        body = _text(message.text, "plain")
        if message.html is None:
            mail: Message = body
        else:
            mail = MIMEMultipart("alternative")
            mail.attach(body)
            mail.attach(_text(message.html, "html"))
        mail["From"] = email.utils.formataddr((self.sender_name, self.sender), _UTF8)
        mail["To"] = message.to
        subject = message.subject
        mail["Subject"] = subject if subject.isascii() else Header(subject, _UTF8).encode()
        mail["Date"] = email.utils.formatdate(localtime=False)
        mail["Message-ID"] = f"<{message.reference}@{self.domain}>"
        mail["Auto-Submitted"] = "auto-generated"
        mail["Content-Language"] = message.language
        return mail

    def _build_parsed(self, message: OutgoingEmail) -> Message:
        mail = EmailMessage()
        mail["From"] = email.utils.formataddr((self.sender_name, self.sender))
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = email.utils.formatdate(localtime=False)
        mail["Message-ID"] = f"<{message.reference}@{self.domain}>"
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.text)  # clears Content-* headers: set the language after it
        mail["Content-Language"] = message.language
        if message.html is not None:
            mail.add_alternative(message.html, subtype="html")
        return mail

    async def _connect(self) -> _Pooled:
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls if not self.implicit_tls else False,
            use_tls=self.implicit_tls,
            timeout=self.timeout,
        )
        try:
            await client.connect()  # EHLO, STARTTLS, login
        except Exception as error:
            client.close()
            raise classify(error) from None
        return _Pooled(client)

    def _reuse(self) -> _Pooled | None:
        now = time.monotonic()
        while self._idle:
            pooled = self._idle.pop()
            if pooled.client.is_connected and now - pooled.last_used < self.idle_seconds:
                return pooled
            pooled.client.close()
        return None

    def _release(self, pooled: _Pooled) -> None:
        pooled.sent += 1
        pooled.last_used = time.monotonic()
        if pooled.sent < self.max_messages and pooled.client.is_connected:
            self._idle.append(pooled)
        else:  # QUIT in the background: the outcome is recorded without waiting for it
            task = asyncio.get_running_loop().create_task(_quit(pooled.client))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def send(self, message: OutgoingEmail, commit: Commit = _no_commit) -> Receipt:
        mail = self.build(message)
        async with self._slots:
            pooled = await self._envelope(message)
            client = pooled.client
            try:
                await commit()  # may raise: then nothing was sent, no outcome is ours to record
            except BaseException:
                client.close()
                raise
            try:
                await client.data(_wire(mail))
            except Exception as error:
                client.close()
                raise classify(error) from None
            # accepted at the end of DATA: the connection goes back to the pool
            self._release(pooled)
        return Receipt(self.provider, str(mail["Message-ID"]))

    async def _envelope(self, message: OutgoingEmail) -> _Pooled:
        """`MAIL` and `RCPT` on a pooled (or new) connection: nothing is delivered yet. A pooled
        connection that turns out closed is replaced once."""
        pooled = self._reuse()
        for fresh in (pooled is None, True):
            if pooled is None:
                pooled = await self._connect()
            try:
                await pooled.client.mail(self.sender)
                await pooled.client.rcpt(message.to)
            except Exception as error:
                pooled.client.close()
                if not fresh and _closed_by_server(error):
                    pooled = None
                    continue
                raise classify(error) from None
            return pooled
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(_quit(p.client) for p in idle), *self._closing)


# UTF-8 in quoted-printable, header and body: 7-bit clean on any server, readable when ASCII
_UTF8 = email.charset.Charset("utf-8")
_UTF8.header_encoding = _UTF8.body_encoding = email.charset.QP
_WIRE = email.policy.compat32.clone(linesep="\r\n")


def _text(text: str, subtype: str) -> Message:
    part = MIMENonMultipart("text", subtype)
    part.set_payload(text, _UTF8)
    return part


def _wire(mail: Message) -> bytes:
    """The message as SMTP `DATA` takes it (CRLF line ends)."""
    policy = _WIRE if mail.policy is email.policy.compat32 else email.policy.SMTP
    return mail.as_bytes(policy=policy)


@dataclass
class _Pooled:
    client: aiosmtplib.SMTP
    sent: int = 0
    last_used: float = field(default_factory=time.monotonic)


def _closed_by_server(error: BaseException) -> bool:
    """The pooled connection is gone (idle timeout, server restart), not a refusal."""
    if isinstance(error, aiosmtplib.SMTPServerDisconnected | ConnectionError):
        return True
    return isinstance(error, aiosmtplib.SMTPResponseException) and error.code == 421


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:  # a polite goodbye; the messages were accepted already
        if client.is_connected:
            await client.quit()
    except Exception:  # noqa: S110 - closed below either way
        pass
    finally:
        client.close()


class JsonSmsGateway:
    provider = "http-json"

    def __init__(self, url: str, client: httpx.AsyncClient, *, api_key: str | None = None) -> None:
        self.url, self.client, self.api_key = url, client, api_key

    async def send(self, message: OutgoingSms, commit: Commit = _no_commit) -> Receipt:
        headers = {"Idempotency-Key": message.reference}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {"to": message.to, "message": message.text, "reference": message.reference}
        await commit()
        try:
            response = await self.client.post(self.url, json=body, headers=headers)
        except Exception as error:
            raise classify(error) from None
        if not response.is_success:
            raise classify_http_status(response.status_code)
        return Receipt(self.provider, _field(response, "id"))


class ZenzivaSmsGateway:
    provider = "zenziva"
    # Texts of status "0" answers that an operator can fix (credit, keys): worth retrying.
    _OPERATOR_FIXABLE = ("saldo", "balance", "credit", "userkey", "passkey", "expired")
    _BAD_NUMBER = ("nomor", "number", "invalid to", "tidak valid")

    def __init__(
        self, url: str, client: httpx.AsyncClient, *, user_key: str, pass_key: str
    ) -> None:
        self.url, self.client = url, client
        self.user_key, self.pass_key = user_key, pass_key

    async def send(self, message: OutgoingSms, commit: Commit = _no_commit) -> Receipt:
        form = {
            "userkey": self.user_key,
            "passkey": self.pass_key,
            "to": message.to.removeprefix("+"),
            "message": message.text,
        }
        await commit()
        try:
            response = await self.client.post(self.url, data=form)
        except Exception as error:
            raise classify(error) from None
        if not response.is_success:
            raise classify_http_status(response.status_code)
        try:
            answer: Any = response.json()
        except ValueError:
            raise transient("answer is not JSON") from None
        status = str(answer.get("status", "")) if isinstance(answer, dict) else ""
        if status == "1":
            return Receipt(self.provider, _field(response, "messageId"))
        raise self._refusal(str(answer.get("text", "")) if isinstance(answer, dict) else "")

    def _refusal(self, text: str) -> DeliveryError:
        lowered = text.lower()
        detail = f"zenziva status 0 ({len(text)} chars of text)"
        if any(word in lowered for word in self._OPERATOR_FIXABLE):
            return transient("zenziva account problem (credit or keys)")
        if any(word in lowered for word in self._BAD_NUMBER):
            return permanent(NotificationFailure.INVALID_RECIPIENT, "zenziva refused the number")
        return permanent(NotificationFailure.REJECTED, detail)


def _field(response: httpx.Response, name: str) -> str | None:
    try:
        answer = response.json()
    except ValueError:
        return None
    value = answer.get(name) if isinstance(answer, dict) else None
    return str(value) if value is not None else None
