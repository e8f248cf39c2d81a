"""The order listing finds the newest orders although the durable client reads only one page
of 100 instances per query, in instance-id order."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

from api.models import OrderStatus
from api.order_listing import PAGE_SIZE, list_orders

START = datetime(2030, 1, 1, tzinfo=UTC)


def instance(number: int, runtime: str = "Completed", with_input: bool = True) -> dict[str, Any]:
    order_id = "o-" + random.Random(number).randbytes(16).hex()
    saga_status = {"Completed": "Completed", "Running": "AwaitingApproval"}[runtime]
    return {
        "name": "order_saga",
        "instanceId": order_id,
        "runtimeStatus": runtime,
        "input": {"customerId": "alice", "items": []} if with_input else None,
        "customStatus": {"status": saga_status, "steps": []},
        "output": {"status": saga_status, "steps": [], "results": {}},
        "createdTime": (START + timedelta(seconds=number)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lastUpdatedTime": (START + timedelta(seconds=number)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class OnePageClient:
    """Answers queries like the durable client 1.7: the first page only, by instance id."""

    def __init__(self, instances: list[dict[str, Any]]) -> None:
        self.instances = sorted(instances, key=lambda i: i["instanceId"])
        self.queries = 0
        self.single_reads = 0

    async def get_status_by(
        self, runtime_status: Any = None, instance_id_prefix: str = ""
    ) -> list[DurableOrchestrationStatus]:
        self.queries += 1
        wanted = {s.value for s in runtime_status} if runtime_status else None
        page = [
            i
            for i in self.instances
            if i["instanceId"].startswith(instance_id_prefix)
            and (wanted is None or i["runtimeStatus"] in wanted)
        ][:PAGE_SIZE]
        return [DurableOrchestrationStatus.from_json(i) for i in page]

    async def get_status(self, instance_id: str, show_input: bool) -> DurableOrchestrationStatus:
        self.single_reads += 1
        found = next(i for i in self.instances if i["instanceId"] == instance_id)
        return DurableOrchestrationStatus.from_json(found | {"input": {"customerId": "alice"}})


def listed(client: OnePageClient, status: OrderStatus | None, limit: int) -> list[str]:
    return [view.order_id for view in asyncio.run(list_orders(client, status, limit))]


class TestListing:
    def test_a_single_page_is_one_query(self) -> None:
        client = OnePageClient([instance(n) for n in range(30)])
        assert listed(client, None, 5) == [instance(n)["instanceId"] for n in (29, 28, 27, 26, 25)]
        assert client.queries == 1

    def test_more_orders_than_a_page_are_all_considered(self) -> None:
        client = OnePageClient([instance(n) for n in range(700)])
        newest = [instance(n)["instanceId"] for n in range(699, 689, -1)]
        assert listed(client, None, 10) == newest
        assert client.queries == 1 + 16

    def test_the_status_filter_reaches_past_the_first_page(self) -> None:
        instances = [instance(n) for n in range(300)] + [
            instance(300 + n, "Running") for n in (0, 1)
        ]
        client = OnePageClient(instances)
        awaiting = listed(client, OrderStatus.AWAITING_APPROVAL, 20)
        assert awaiting == [instance(301)["instanceId"], instance(300)["instanceId"]]
        assert listed(client, OrderStatus.COMPLETED, 1) == [instance(299)["instanceId"]]

    def test_instances_listed_without_input_are_read_one_by_one(self) -> None:
        client = OnePageClient([instance(n, with_input=False) for n in range(10)])
        assert listed(client, None, 3) == [instance(n)["instanceId"] for n in (9, 8, 7)]
        assert client.single_reads == 3
