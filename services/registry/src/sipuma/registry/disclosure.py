"""Who sees the complainant's identity in clear, and its masked form for everyone else.

SOP (Pengaduan, steps 1-10): the compliance unit (UKI) owns the handling of a complaint and its
follow-up, supervisors answer for it; the receiver (Penerima Pengaduan) needs the identity only
for the intake itself: recording it, telling the register number, entering the tracking contact
(steps 2-9). Once the receiver's part ends (step 10: ticket sent or number told), a receiver-only
officer sees the identity masked. Lists show it masked to everyone (docs/identity.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sipuma.shared.auth import Principal, Role

# Detail fields that carry who the complainant is or how to reach them.
PERSONAL_FIELDS = (
    "complainant",
    "complainant_current",
    "complainant_corrections",
    "tracking_contact",
    "contacts",
)
MASK = "***"


def mask_name(name: str) -> str:
    """Budi Santoso → "B*** S***": enough to tell two filings apart, not to identify."""
    return " ".join(part[0] + MASK for part in name.split()) or MASK


def mask_digits(value: str) -> str:
    """NIK or phone → "****7890"."""
    digits = "".join(c for c in value if c.isdigit())
    return "****" + digits[-4:] if len(digits) > 4 else "****"


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return f"{local[:1]}{MASK}@{domain[:1]}{MASK}" if domain else MASK


def mask_all(_: str) -> str:
    return MASK


_MASKERS: dict[str, Callable[[str], str]] = {
    "name": mask_name,
    "nik": mask_digits,
    "phone": mask_digits,
    "mobile": mask_digits,
    "email": mask_email,
    "address": mask_all,
}


def masked(part: Any) -> Any:
    """A complainant or contact object with every personal value masked (others kept)."""
    if not isinstance(part, dict):
        return part
    return {
        k: (_MASKERS[k](v) if k in _MASKERS and isinstance(v, str) else v) for k, v in part.items()
    }


def _masked_correction(correction: Any) -> Any:
    """A complainant correction: each changed field's previous and new value masked."""
    if not isinstance(correction, dict):
        return correction
    changes = []
    for change in correction.get("changes") or []:
        name = change.get("field")
        mask = _MASKERS.get(name, mask_all)
        changes.append(
            change
            | {
                k: mask(v) if isinstance(v, str) else v
                for k, v in change.items()
                if k in ("previous", "value")
            }
        )
    return correction | {"changes": changes}


def _masked_contact(entry: Any) -> Any:
    """A tracking-contact entry ({contact, officer_id, at}) or a bare contact."""
    if isinstance(entry, dict) and isinstance(entry.get("contact"), dict):
        return entry | {"contact": masked(entry["contact"])}
    return masked(entry)


def masked_name(complainant: Any) -> str | None:
    """The list's masked complainant: the name, else the phone, else the NIK."""
    if not isinstance(complainant, dict):
        return None
    for key in ("name", "phone", "nik"):
        value = complainant.get(key)
        if isinstance(value, str) and value:
            return str(_MASKERS[key](value))
    return None


def sees_identity(caller: Principal, intake_open: bool) -> bool:
    if caller.has(Role.SUPERVISOR) or caller.has(Role.COMPLIANCE):
        return True
    return caller.has(Role.RECEIVER) and intake_open


def disclose(found: dict[str, Any], caller: Principal) -> dict[str, Any]:
    """The detail as this caller may see it; `identity_masked` says whether it was masked."""
    if sees_identity(caller, found.get("intake_done_at") is None):
        return found | {"identity_masked": False}
    shown = dict(found)
    shown["complainant"] = masked(found.get("complainant"))
    if "complainant_current" in found:
        shown["complainant_current"] = masked(found["complainant_current"])
    if "complainant_corrections" in found:
        shown["complainant_corrections"] = [
            _masked_correction(c) for c in found["complainant_corrections"] or []
        ]
    shown["tracking_contact"] = masked(found.get("tracking_contact"))
    shown["contacts"] = [_masked_contact(c) for c in found.get("contacts") or []]
    return shown | {"identity_masked": True}
