"""The order API of the ``shop`` example workload: one portable handler for every cloud.

Direct invocation passes the order as the event; over the HTTP trigger the event is the
function-URL payload (``body`` holds the JSON order). The reply is what the VMs of the
workload would queue for the workers.
"""

from __future__ import annotations

import json
import os
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Accept one order: ``{"item": str, "quantity": int}``; echo it with where it ran."""
    order = json.loads(event["body"]) if isinstance(event.get("body"), str) else event
    quantity = int(order.get("quantity", 1))
    context.logger.info("order for %s x%d", order.get("item"), quantity)
    return {
        "accepted": quantity > 0,
        "item": order.get("item"),
        "quantity": quantity,
        "shop": os.environ.get("SHOP_NAME", "shop"),
        "function": context.function_name,
    }
