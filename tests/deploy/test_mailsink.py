"""The local SMTP sink keeps the newest messages only (deploy/local/mailsink.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit

SINK = Path(__file__).resolve().parents[2] / "deploy" / "local" / "mailsink.py"


def _sink() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mailsink", SINK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prune_keeps_the_newest_messages_with_their_envelopes(tmp_path: Path) -> None:
    for n in range(1, 8):
        (tmp_path / f"{n:020d}-abc.eml").write_bytes(b"Subject: x\r\n\r\nbody")
        (tmp_path / f"{n:020d}-abc.json").write_text("{}")

    assert _sink().prune(tmp_path, 3) == 4

    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == [f"{n:020d}-abc.{ext}" for n in (5, 6, 7) for ext in ("eml", "json")]
