"""The `sipuma-registry` console script: SIPUMA_REGISTRY_ROLE picks the composition root
(README "Roles"). Each root is imported inside `run()`, after the role is known, so the `reports`
process never loads the Kafka client or the holiday calendar that `main` needs."""

from __future__ import annotations

from sipuma.registry.settings import RegistrySettings
from sipuma.shared.logging import configure_logging
from sipuma.shared.tracing import configure_tracing
from sipuma.shared.web import serve


def run() -> None:
    settings = RegistrySettings()
    configure_logging(settings.service, settings.log_level, settings.log_format)
    configure_tracing(settings)
    if settings.registry_role == "reports":
        from sipuma.registry.read_side import build_reports

        serve(build_reports(settings).app, settings)
    else:
        from sipuma.registry.main import build
        from sipuma.shared import heap

        app = build(settings).app
        # Issue 15: the imports and the wiring live for good; no collection walks them again
        # (the collector's full passes were part of the CPU per event, as in the notifier).
        heap.settle()
        serve(app, settings)
