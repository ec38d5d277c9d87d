"""What an operator may see of a dead letter: personal data masked.

Headers: the CloudEvents attributes, the correlation id and the dead-letter headers are shown
(ids, types, times, codes: never personal data, `detail` names fields, never values); any other
header's value is hidden, since a poison message may carry anything. Body: the event JSON with
every personal field masked by key and e-mail / phone / NIK look-alikes masked in free text (the
log redactor's rules, `sipuma.shared.logging.redact_value`); a body that is not JSON is shown
only by its size.
"""

from __future__ import annotations

import json
from typing import Any

from sipuma.shared.consumer import DEAD_LETTER_HEADER
from sipuma.shared.logging import redact_value
from sipuma.shared.pii import KEY_MASK, mask_text

SHOWN_HEADERS = ("ce_", "correlation_id", "content-type", "traceparent", DEAD_LETTER_HEADER)


def headers(raw: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for name, value in raw:
        text = (value or b"").decode("utf-8", "replace")
        shown[name] = mask_text(text) if name.startswith(SHOWN_HEADERS) else KEY_MASK
    return shown


def body(value: bytes | None) -> Any:
    if not value:
        return None
    try:
        decoded = json.loads(value)
    except ValueError:
        return f"[{len(value)} bytes, not JSON]"
    return redact_value(decoded)
