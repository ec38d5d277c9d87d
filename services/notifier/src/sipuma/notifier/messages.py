"""The ticket message, rendered from Jinja2 templates (`templates/`), Indonesian by default.

Content: ticket number, register number (when known), office name and the tracking URL from
settings. Nothing else: no name, no complaint text, and the ticket never goes into the URL (it
would end up in proxy and browser logs).

SMS: the longest variant that fits one GSM-7 segment (160 characters) is sent — with register
number and office, then without the office, then without the register number, then without the
closing advice. Only when even that does not fit (a very long tracking URL) does the SMS take
more than one segment.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined

from sipuma.notifier.domain import Language

SMS_SEGMENT = 160
# GSM 03.38 basic character set; the extension table (^{}[]~|€\) costs two septets each.
_GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€\f")


def gsm7_length(text: str) -> int | None:
    """Septets needed in GSM-7, or None when the text needs UCS-2 (70 chars per segment)."""
    total = 0
    for ch in text:
        if ch in _GSM7_BASIC:
            total += 1
        elif ch in _GSM7_EXTENDED:
            total += 2
        else:
            return None
    return total


def fits_one_segment(text: str) -> bool:
    septets = gsm7_length(text)
    return septets <= SMS_SEGMENT if septets is not None else len(text) <= 70


@dataclass(frozen=True)
class TicketFacts:
    ticket_number: str
    register_number: str | None
    office: str
    tracking_url: str


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str


class MessageRenderer:
    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("sipuma.notifier", "templates"),
            undefined=StrictUndefined,
            autoescape=False,  # noqa: S701 - plain text only (mail body and SMS), never HTML
            keep_trailing_newline=False,
        )

    def email(self, facts: TicketFacts, language: Language) -> RenderedEmail:
        values = vars(facts)
        subject = self.env.get_template(f"email_subject.{language}.j2").render(values).strip()
        text = self.env.get_template(f"email_body.{language}.txt.j2").render(values).strip()
        return RenderedEmail(subject=subject, text=text + "\n")

    def sms(self, facts: TicketFacts, language: Language) -> str:
        template = self.env.get_template(f"sms.{language}.j2")
        variants = [
            {**vars(facts)},
            {**vars(facts), "office": None},
            {**vars(facts), "office": None, "register_number": None},
        ]
        texts = [" ".join(template.render(v).split()) for v in variants]
        for text in texts:
            if fits_one_segment(text):
                return text
        shortest = texts[-1]
        closing = shortest.rfind(facts.tracking_url) + len(facts.tracking_url)
        trimmed = shortest[:closing]
        return trimmed if fits_one_segment(trimmed) else shortest
