"""Officer console and public tracking page (issue 8), mounted inside intake's app:
`mount_console(app, settings)` with intake's `IntakeSettings`; the rest comes from the
`SIPUMA_CONSOLE_*` variables (`ConsoleSettings`). See docs/console.md."""

from sipuma.intake.console.routes import mount_console
from sipuma.intake.console.settings import ConsoleSettings

__all__ = ["ConsoleSettings", "mount_console"]
