"""How a protection layer answers in a surface's own error format."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.responses import Response

# Each surface's errors module has one: render_error(status, code, message, headers=None).
RenderError = Callable[[int, str, str, Mapping[str, str] | None], Response]
