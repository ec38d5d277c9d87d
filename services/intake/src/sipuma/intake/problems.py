"""Intake's rule violations as the shared RFC 9457 answer (`sipuma.shared.problems`), so every
SIPUMA API speaks one problem format: `invalid-params` with name, code and both languages."""

from __future__ import annotations

from collections.abc import Sequence

from sipuma.intake.domain import Violation
from sipuma.shared.problems import InvalidParam, Messages, ProblemError, unprocessable


def invalid(violations: Sequence[Violation]) -> ProblemError:
    return unprocessable(
        [
            InvalidParam(
                name=v.field, code=v.rule, reason=v.id, messages=Messages(id=v.id, en=v.en)
            )
            for v in violations
        ]
    )
