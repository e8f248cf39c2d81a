"""Finds orders for `GET /api/orders`, newest first, through the durable client's queries.

The client (SDK 1.7) reads only the first page of a query, 100 instances, and drops the
continuation token (azure-functions-durable-python #580); pages come in instance-id order, not
by time. So the id space is split by prefix (order ids are `o-` + hex) until every query fits
in one page: the orders are then all found, and sorted here. Two hex digits deep that is at
most 273 queries, enough for about 25,000 orders of the same runtime status; beyond that a full
page is taken as it is and a warning logged. An app with more orders should keep its own index.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from azure.durable_functions import OrchestrationRuntimeStatus

from api.models import OrderStatus
from api.order_view import order_view
from api.responses import OrderView

log = logging.getLogger("api")

PAGE_SIZE = 100  # the durable extension's default page size
MAX_PREFIX_DEPTH = 2
_HEX = "0123456789abcdef"
_ACTIVE = [
    OrchestrationRuntimeStatus.Running,
    OrchestrationRuntimeStatus.Pending,
    OrchestrationRuntimeStatus.Suspended,
    OrchestrationRuntimeStatus.ContinuedAsNew,
]
_RUNTIME: dict[OrderStatus, list[OrchestrationRuntimeStatus]] = {
    OrderStatus.RUNNING: _ACTIVE,
    OrderStatus.AWAITING_APPROVAL: _ACTIVE,
    OrderStatus.COMPENSATING: _ACTIVE,
    OrderStatus.NEEDS_ATTENTION: _ACTIVE,
    OrderStatus.COMPLETED: [OrchestrationRuntimeStatus.Completed],
    OrderStatus.COMPENSATED: [OrchestrationRuntimeStatus.Completed],
    OrderStatus.CANCELLED: [OrchestrationRuntimeStatus.Completed],
    OrderStatus.FAILED: [
        OrchestrationRuntimeStatus.Failed,
        OrchestrationRuntimeStatus.Terminated,
        OrchestrationRuntimeStatus.Canceled,
    ],
}


async def list_orders(client: Any, status: OrderStatus | None, limit: int) -> list[OrderView]:
    """The newest ``limit`` orders, of ``status`` if given."""
    runtime = _RUNTIME[status] if status else None
    found = await _scan(client, "o-", runtime, 0)
    newest_first = sorted(
        found.values(), key=lambda i: (i.created_time, i.instance_id), reverse=True
    )
    views: list[OrderView] = []
    index = 0
    while len(views) < limit and index < len(newest_first):
        batch = newest_first[index : index + limit - len(views)]
        index += len(batch)
        for instance in await asyncio.gather(*(_with_input(client, i) for i in batch)):
            view = order_view(instance)
            if view is not None and (status is None or view.status == status):
                views.append(view)
    return views


async def _with_input(client: Any, instance: Any) -> Any:
    """Some hosts list instances without their input; those are read one by one."""
    if instance.input_ is not None:
        return instance
    return await client.get_status(instance.instance_id, show_input=True)


async def _scan(client: Any, prefix: str, runtime: Any, depth: int) -> dict[str, Any]:
    page = await client.get_status_by(runtime_status=runtime, instance_id_prefix=prefix)
    if len(page) < PAGE_SIZE:
        return {instance.instance_id: instance for instance in page}
    if depth >= MAX_PREFIX_DEPTH:
        log.warning("order listing: over %d orders under %r; some are left out", PAGE_SIZE, prefix)
        return {instance.instance_id: instance for instance in page}
    parts = await asyncio.gather(
        *(_scan(client, prefix + digit, runtime, depth + 1) for digit in _HEX)
    )
    return {key: value for part in parts for key, value in part.items()}
