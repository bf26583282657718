"""A portable function: the same source deploys to every cloud unicompute supports."""

from __future__ import annotations

import os
from typing import Any


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Greet ``event["name"]`` (anyone, for any other event); shows the portable context and
    the function's environment."""
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    context.logger.info("greeting %s", name)
    return {
        "greeting": f"{os.environ.get('GREETING', 'hello')}, {name}!",
        "function": context.function_name,
        "request_id": context.request_id,
        "memory_mb": context.memory_mb,
        "remaining_ms": context.remaining_time_ms(),
    }
