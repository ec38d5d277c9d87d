"""structlog everywhere: JSON lines (console renderer on a TTY), `service`, `correlation_id` and
`event_id` from contextvars, and personal data redacted before anything is rendered.

Standard-library loggers (uvicorn, aiokafka, FastStream) go through the same processors, so no
path reaches stdout unredacted. Called once from a service's composition root.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from pydantic import BaseModel
from structlog.typing import EventDict, Processor, WrappedLogger

from sipuma.shared import pii

_MAX_DEPTH = 8


def redact_value(value: Any, depth: int = 0) -> Any:
    """Mask sensitive keys at any depth and e-mail/phone/NIK look-alikes inside strings."""
    if depth > _MAX_DEPTH:
        return "[too deep]"
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, str):
        return pii.mask_text(value)
    if isinstance(value, Mapping):
        return {
            key: pii.KEY_MASK
            if isinstance(key, str) and pii.is_sensitive_key(key) and value[key] is not None
            else redact_value(value[key], depth + 1)
            for key in value
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item, depth + 1) for item in value]
    return value


def redact_personal_data(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor; runs after exceptions are formatted so tracebacks are masked too."""
    for key in list(event_dict):
        if pii.is_sensitive_key(key) and event_dict[key] is not None:
            event_dict[key] = pii.KEY_MASK
        else:
            event_dict[key] = redact_value(event_dict[key])
    return event_dict


def _service_adder(service: str) -> Processor:
    def add_service(_: WrappedLogger, __: str, event_dict: MutableMapping[str, Any]) -> EventDict:
        event_dict.setdefault("service", service)
        return dict(event_dict)

    return add_service


def configure_logging(
    service: str,
    level: str = "INFO",
    fmt: str = "auto",
    stream: TextIO | None = None,
) -> structlog.stdlib.BoundLogger:
    """Configure structlog and the standard library once; answer the service's logger."""
    stream = stream or sys.stdout
    console = fmt == "console" or (fmt == "auto" and stream.isatty())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _service_adder(service),
        structlog.processors.StackInfoRenderer(),
    ]
    # Tracebacks become text before redaction, in both renderers, so they are masked too.
    finish: list[Processor] = [structlog.processors.format_exc_info, redact_personal_data]
    renderer: Processor = (
        structlog.dev.ConsoleRenderer() if console else structlog.processors.JSONRenderer()
    )

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *finish,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # httpx logs every request's full URL at INFO (query strings and all), PyMongo's DEBUG log
    # whole commands and replies (names, addresses, tickets): warnings only.
    for noisy in ("aiokafka", "kafka", "httpx", "httpcore", "pymongo"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []  # propagate to the root handler instead
        logging.getLogger(name).propagate = True
    # uvicorn's access line holds the raw path and query (tickets, file names): off, wherever
    # uvicorn is started from; `web.AccessLogMiddleware` logs the route template instead.
    logging.getLogger("uvicorn.access").disabled = True
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(f"sipuma.{service}")
    return logger
