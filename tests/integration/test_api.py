"""The order HTTP API over real HTTP: the unmodified app on devhost (virtual time, instances in
memory) with every service's table on the in-memory twins (each style) and in Azurite (the
declarative style). Every answer is checked against the OpenAPI document by the `Api` client."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from api import stock as api_stock
from api.openapi import document
from api.order_view import ORCHESTRATORS
from devhost.testing import DevHost
from services.inventory import INVENTORY_TABLE
from shared import services
from shared.ledgers import ledger_for
from shared.services import Services
from shared.settings import AZURITE_CONNECTION_STRING, SAGA_STYLES, get_settings
from tests.integration.api_client import Api
from tests.integration.shop import open_shop, order_steps
from tests.world import World, world_for

APPROVAL_THRESHOLD_CENTS = 100_000
# The API on the in-memory twins in each style, and on Azurite in one style.
SHOPS = [pytest.param(("memory", style), id=f"memory-{style}") for style in SAGA_STYLES] + [
    pytest.param(
        ("tables", SAGA_STYLES[0]), marks=pytest.mark.azurite, id=f"tables-{SAGA_STYLES[0]}"
    )
]


@pytest.fixture(scope="module", params=SHOPS)
def shop_in_world(request: pytest.FixtureRequest) -> Iterator[tuple[DevHost, World]]:
    """The app behind the API, on each storage and ORDER_SAGA_STYLE in SHOPS."""
    storage, style = request.param
    with world_for(request, storage) as world, open_shop(world, style=style) as host:
        yield host, world


@pytest.fixture(scope="module")
def shop(shop_in_world: tuple[DevHost, World]) -> DevHost:
    return shop_in_world[0]


@pytest.fixture(scope="module")
def world(shop_in_world: tuple[DevHost, World]) -> World:
    """The shop's world (this module's tests share it)."""
    return shop_in_world[1]


@pytest.fixture(scope="module")
def api(shop: DevHost) -> Api:
    return Api(shop.serve_http())


# ---------------------------------------------------------------------------------- helpers


def stocked(api: Api, unit_price_cents: int = 100, available: int = 10) -> str:
    """A SKU of this test's own, so its books are exact whatever other tests did."""
    sku = f"sku-{uuid.uuid4().hex[:8]}"
    body = {"available": available, "unitPriceCents": unit_price_cents}
    assert api.put(f"/inventory/{sku}", json=body).status_code == 200
    return sku


def funded(api: Api, balance_cents: int = 1_000_000) -> str:
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    body = {"balanceCents": balance_cents}
    assert api.put(f"/accounts/{customer}", json=body).status_code == 200
    return customer


def order_body(customer: str, lines: dict[str, int], country: str = "NL") -> dict[str, Any]:
    items = [{"sku": sku, "quantity": quantity} for sku, quantity in lines.items()]
    return {"customerId": customer, "items": items, "shippingAddress": {"country": country}}


def place(api: Api, body: dict[str, Any], key: str | None = None) -> requests.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return api.post("/orders", json=body, headers=headers)


def placed(api: Api, body: dict[str, Any], key: str | None = None) -> str:
    response = place(api, body, key)
    assert response.status_code == 202, response.text
    order_id: str = response.json()["orderId"]
    return order_id


def finished(shop: DevHost, api: Api, order_id: str) -> dict[str, Any]:
    """The order once its saga has finished (virtual time skips ahead)."""
    shop.wait_for(order_id)
    order: dict[str, Any] = api.get(f"/orders/{order_id}").json()
    return order


def settled(shop: DevHost, api: Api, order_id: str) -> dict[str, Any]:
    """The order once its saga waits for something (an event or time)."""
    shop.wait_idle()
    order: dict[str, Any] = api.get(f"/orders/{order_id}").json()
    return order


def awaiting_approval(shop: DevHost, api: Api) -> tuple[str, str, str]:
    """A big order parked in AwaitingApproval: (order id, sku, customer)."""
    sku, customer = stocked(api, APPROVAL_THRESHOLD_CENTS), funded(api)
    order_id = placed(api, order_body(customer, {sku: 1}))
    assert settled(shop, api, order_id)["status"] == "AwaitingApproval"
    return order_id, sku, customer


def instance_ids(shop: DevHost) -> set[str]:
    async def ids() -> set[str]:
        return {state.instance_id for state in shop._hub.instances()}

    return shop.call(ids())


@contextlib.contextmanager
def nothing_changes(shop: DevHost, world: World) -> Iterator[None]:
    """No instance is started and no entity is written inside the block."""
    shop.wait_idle()
    before = instance_ids(shop), world.rows()
    yield
    shop.wait_idle()
    assert (instance_ids(shop), world.rows()) == before


def problem(response: requests.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:durable-saga:problem:{kind}"
    assert body["status"] == status
    return body


# ---------------------------------------------------------------------------------- tests


class TestPlaceOrder:
    def test_an_order_is_accepted_and_its_saga_completes(self, shop: DevHost, api: Api) -> None:
        """202 with Location and Retry-After; the order completes, moving stock and money once."""
        sku, customer = stocked(api, 150), funded(api, 1000)
        response = place(api, order_body(customer, {sku: 2}))
        assert response.status_code == 202
        order_id = response.json()["orderId"]
        assert response.headers["Location"] == f"/api/orders/{order_id}"
        assert response.headers["Retry-After"] == "1"
        assert response.json() == {"orderId": order_id, "status": "Running"}

        order = finished(shop, api, order_id)
        assert order["status"] == "Completed"
        assert (order["customerId"], order["items"]) == (customer, [{"sku": sku, "quantity": 2}])
        assert order["totalCents"] == 300
        assert order["failure"] is None
        assert [step["name"] for step in order["steps"]] == order_steps({sku: 2})
        assert api.get(f"/inventory/{sku}").json()["available"] == 8
        assert api.get(f"/accounts/{customer}").json()["balanceCents"] == 700

    def test_a_repeated_request_gets_the_same_order_and_no_second_saga(
        self, shop: DevHost, api: Api
    ) -> None:
        sku, customer = stocked(api, 100), funded(api, 1000)
        body = order_body(customer, {sku: 3})
        order_id = placed(api, body, key="checkout-1")
        execution = shop.state(order_id).execution_id
        assert finished(shop, api, order_id)["status"] == "Completed"

        again = place(api, body, key="checkout-1")
        assert again.status_code == 202
        assert again.json() == {"orderId": order_id, "status": "Completed"}
        assert again.headers["Location"] == f"/api/orders/{order_id}"
        shop.wait_idle()
        assert shop.state(order_id).execution_id == execution
        assert api.get(f"/inventory/{sku}").json()["available"] == 7
        assert api.get(f"/accounts/{customer}").json()["balanceCents"] == 700

    def test_concurrent_duplicates_start_exactly_one_saga(self, shop: DevHost, api: Api) -> None:
        """Ten identical requests at once: one saga, and every caller gets its id."""
        sku, customer = stocked(api, APPROVAL_THRESHOLD_CENTS, 5), funded(api)
        body, before = order_body(customer, {sku: 1}), instance_ids(shop)
        barrier, answers = threading.Barrier(10), []

        def post() -> None:
            barrier.wait()
            answers.append(place(api, body, key="double-click"))

        threads = [threading.Thread(target=post) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert {answer.status_code for answer in answers} == {202}
        order_ids = {answer.json()["orderId"] for answer in answers}
        assert len(order_ids) == 1
        assert instance_ids(shop) - before == order_ids
        (order_id,) = order_ids
        assert settled(shop, api, order_id)["status"] == "AwaitingApproval"
        assert api.post(f"/orders/{order_id}/approval", json={"approved": True}).status_code == 202
        assert finished(shop, api, order_id)["status"] == "Completed"
        assert api.get(f"/inventory/{sku}").json()["available"] == 4

    def test_the_same_key_with_another_body_is_409(
        self, shop: DevHost, api: Api, world: World
    ) -> None:
        sku, customer = stocked(api), funded(api)
        order_id = placed(api, order_body(customer, {sku: 1}), key="k-409")
        shop.wait_for(order_id)
        with nothing_changes(shop, world):
            response = place(api, order_body(customer, {sku: 2}), key="k-409")
        body = problem(response, 409, "idempotency-key-reused")
        assert "Idempotency-Key" in body["detail"]

    def test_a_key_is_scoped_to_its_customer(self, shop: DevHost, api: Api) -> None:
        sku, alice, bob = stocked(api), funded(api), funded(api)
        first = placed(api, order_body(alice, {sku: 1}), key="shared-key")
        second = placed(api, order_body(bob, {sku: 1}), key="shared-key")
        assert first != second
        assert finished(shop, api, second)["customerId"] == bob

    def test_without_a_key_every_request_is_a_new_order(self, shop: DevHost, api: Api) -> None:
        sku, customer = stocked(api), funded(api)
        body = order_body(customer, {sku: 1})
        first, second = placed(api, body), placed(api, body)
        assert first != second
        shop.wait_for(first)
        shop.wait_for(second)
        assert api.get(f"/inventory/{sku}").json()["available"] == 8


ORDER = order_body("alice", {"apple": 1})


class TestInvalidOrders:
    @pytest.mark.parametrize(
        ("kwargs", "status", "kind", "fields"),
        [
            ({"data": b'{"customerId": "alice",', "headers": {"Content-Type": "application/json"}},
             400, "malformed-json", None),
            ({"data": b"", "headers": {"Content-Type": "application/json"}},
             400, "malformed-json", None),
            ({"json": {**ORDER, "customerId": "al ice", "coupon": "X"}},
             400, "validation-error", ["customerId", "coupon"]),
            ({"json": {**ORDER, "items": [{"sku": "apple", "quantity": 0}]}},
             400, "validation-error", ["items[0].quantity"]),
            ({"json": {**ORDER, "items": []}}, 400, "validation-error", ["items"]),
            ({"json": {**ORDER, "shippingAddress": {"country": "nl"}}},
             400, "validation-error", ["shippingAddress.country"]),
            ({"json": [ORDER]}, 400, "validation-error", ["(body)"]),
            ({"json": ORDER, "headers": {"Idempotency-Key": "no spaces"}},
             400, "validation-error", ["Idempotency-Key"]),
            ({"json": {**ORDER, "shippingAddress": {"country": "NL", "line1": "x" * 70_000}}},
             413, "payload-too-large", None),
            ({"data": b"customerId=alice", "headers": {"Content-Type": "text/plain"}},
             415, "unsupported-media-type", None),
            ({"data": b"{}"}, 415, "unsupported-media-type", None),
        ],
    )  # fmt: skip
    def test_nothing_is_started_or_written(
        self,
        shop: DevHost,
        api: Api,
        world: World,
        kwargs: dict[str, Any],
        status: int,
        kind: str,
        fields: list[str] | None,
    ) -> None:
        with nothing_changes(shop, world):
            response = api.post("/orders", **kwargs)
        body = problem(response, status, kind)
        assert [error["field"] for error in body.get("errors", [])] == (fields or [])
        assert "Traceback" not in response.text


class TestReadOrders:
    def test_an_unfinished_order_says_when_to_look_again_and_a_finished_one_does_not(
        self, shop: DevHost, api: Api
    ) -> None:
        """Retry-After on GET while the saga runs (api/polling.py has the rule), none after."""
        order_id, _, _ = awaiting_approval(shop, api)
        waiting = api.get(f"/orders/{order_id}")
        assert waiting.json()["status"] == "AwaitingApproval"
        assert 1 <= int(waiting.headers["Retry-After"]) <= 30
        assert api.post(f"/orders/{order_id}/approval", json={"approved": True}).status_code == 202
        assert finished(shop, api, order_id)["status"] == "Completed"
        assert "Retry-After" not in api.get(f"/orders/{order_id}").headers

    def test_unknown_orders_are_404(self, api: Api) -> None:
        problem(api.get("/orders/o-" + "0" * 32), 404, "not-found")
        problem(api.get("/orders/not-an-order-id"), 404, "not-found")

    def test_an_order_saga_started_by_other_means_is_not_an_api_order(
        self, shop: DevHost, api: Api
    ) -> None:
        orchestrator = ORCHESTRATORS[get_settings().order_saga_style]
        instance_id = shop.start(orchestrator, {"orderId": "x"}, instance_id="manual-1")
        shop.wait_for(instance_id)
        problem(api.get(f"/orders/{instance_id}"), 404, "not-found")

    def test_a_business_failure_shows_the_failure_and_the_priced_total(
        self, shop: DevHost, api: Api
    ) -> None:
        sku, customer = stocked(api, 500), funded(api, 100)
        order = finished(shop, api, placed(api, order_body(customer, {sku: 1})))
        assert order["status"] == "Compensated"
        assert (order["failure"]["step"], order["failure"]["code"]) == (
            "charge_payment",
            "InsufficientFunds",
        )
        assert order["totalCents"] == 500

    def test_an_unpriced_order_has_no_total(self, shop: DevHost, api: Api) -> None:
        customer = funded(api)
        order = finished(shop, api, placed(api, order_body(customer, {"no-such-sku": 1})))
        assert (order["status"], order["failure"]["code"]) == ("Compensated", "UnknownSku")
        assert order["totalCents"] is None

    def test_a_terminated_saga_is_failed(self, shop: DevHost, api: Api) -> None:
        order_id, _, _ = awaiting_approval(shop, api)
        shop.terminate(order_id, "operator")
        order = finished(shop, api, order_id)
        assert order["status"] == "Failed"
        assert order["failure"]["code"] == "OrchestrationTerminated"
        listed = api.get("/orders", params={"status": "Failed"}).json()["orders"]
        assert order_id in [entry["orderId"] for entry in listed]

    def test_the_list_is_newest_first_filtered_and_limited(self, shop: DevHost, api: Api) -> None:
        sku, customer = stocked(api), funded(api)
        ids = []
        for _ in range(3):
            shop.advance(1)  # distinct creation times on the virtual clock
            ids.append(placed(api, order_body(customer, {sku: 1})))
        for order_id in ids:
            shop.wait_for(order_id)

        newest = api.get("/orders", params={"limit": 2}).json()["orders"]
        assert [order["orderId"] for order in newest] == ids[::-1][:2]
        completed = api.get("/orders", params={"status": "Completed", "limit": 100}).json()
        assert {order["status"] for order in completed["orders"]} == {"Completed"}
        assert set(ids) <= {order["orderId"] for order in completed["orders"]}
        stuck = api.get("/orders", params={"status": "NeedsAttention"}).json()["orders"]
        assert not set(ids) & {order["orderId"] for order in stuck}

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"status": "Done"}, "status"),
            ({"limit": "0"}, "limit"),
            ({"limit": "101"}, "limit"),
            ({"limit": "x"}, "limit"),
        ],
    )
    def test_a_bad_list_query_is_400(self, api: Api, params: dict[str, str], field: str) -> None:
        body = problem(api.get("/orders", params=params), 400, "validation-error")
        assert [error["field"] for error in body["errors"]] == [field]


class TestCancel:
    def test_cancelling_before_the_pivot_compensates(self, shop: DevHost, api: Api) -> None:
        order_id, sku, customer = awaiting_approval(shop, api)
        response = api.post(f"/orders/{order_id}/cancel")
        assert response.status_code == 202
        assert response.json() == {"orderId": order_id, "status": "AwaitingApproval"}
        assert finished(shop, api, order_id)["status"] == "Cancelled"
        assert api.get(f"/inventory/{sku}").json()["available"] == 10
        assert api.get(f"/accounts/{customer}").json()["balanceCents"] == 1_000_000

        again = api.post(f"/orders/{order_id}/cancel")
        assert "Cancelled" in problem(again, 409, "order-state-conflict")["detail"]

    def test_cancelling_an_unknown_order_is_404(self, api: Api) -> None:
        problem(api.post("/orders/o-" + "1" * 32 + "/cancel"), 404, "not-found")


class TestApproval:
    def test_an_approved_order_completes(self, shop: DevHost, api: Api) -> None:
        order_id, sku, _ = awaiting_approval(shop, api)
        response = api.post(f"/orders/{order_id}/approval", json={"approved": True})
        assert response.status_code == 202
        order = finished(shop, api, order_id)
        assert (order["status"], order["totalCents"]) == ("Completed", APPROVAL_THRESHOLD_CENTS)
        assert api.get(f"/inventory/{sku}").json()["available"] == 9

        late = api.post(f"/orders/{order_id}/approval", json={"approved": False})
        problem(late, 409, "order-state-conflict")

    def test_a_rejected_order_is_compensated_with_the_comment(
        self, shop: DevHost, api: Api
    ) -> None:
        order_id, _, _ = awaiting_approval(shop, api)
        decision = {"approved": False, "comment": "too expensive"}
        assert api.post(f"/orders/{order_id}/approval", json=decision).status_code == 202
        order = finished(shop, api, order_id)
        assert order["status"] == "Compensated"
        assert order["failure"] == {
            "step": "approval",
            "code": "ApprovalRejected",
            "message": "too expensive",
        }

    def test_an_order_not_awaiting_approval_is_409(self, shop: DevHost, api: Api) -> None:
        sku, customer = stocked(api), funded(api)
        order_id = placed(api, order_body(customer, {sku: 1}))
        shop.wait_for(order_id)
        response = api.post(f"/orders/{order_id}/approval", json={"approved": True})
        problem(response, 409, "order-state-conflict")

    def test_an_invalid_decision_is_400_and_changes_nothing(
        self, shop: DevHost, api: Api, world: World
    ) -> None:
        order_id, _, _ = awaiting_approval(shop, api)
        history = len(shop.state(order_id).history)
        with nothing_changes(shop, world):
            response = api.post(f"/orders/{order_id}/approval", json={"approved": "yes"})
        assert problem(response, 400, "validation-error")["errors"][0]["field"] == "approved"
        assert len(shop.state(order_id).history) == history  # no event was raised
        assert settled(shop, api, order_id)["status"] == "AwaitingApproval"
        shop.terminate(order_id)  # leave no timer behind for later tests' time jumps

    def test_an_order_awaiting_approval_shows_its_priced_total(
        self, shop: DevHost, api: Api
    ) -> None:
        """The approver sees what they approve: the total is known once stock is reserved."""
        order_id, _, _ = awaiting_approval(shop, api)
        assert api.get(f"/orders/{order_id}").json()["totalCents"] == APPROVAL_THRESHOLD_CENTS
        shop.terminate(order_id)  # leave no timer behind for later tests' time jumps

    def test_approving_an_unknown_order_is_404(self, api: Api) -> None:
        response = api.post("/orders/o-" + "2" * 32 + "/approval", json={"approved": True})
        problem(response, 404, "not-found")


class TestRetryCompensation:
    def test_an_operator_retry_finishes_a_stuck_compensation(
        self, shop: DevHost, api: Api, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The release of the reservation fails until the operator has fixed it: the order
        waits in NeedsAttention, and a retry then compensates it."""
        order_id, sku, _ = awaiting_approval(shop, api)
        broken = threading.Event()
        broken.set()
        ledger_class = type(ledger_for(INVENTORY_TABLE))  # TableLedger or MemoryLedger
        original = ledger_class.compensate

        def failing(self: Any, partition: str, action_key: str, *a: Any, **kw: Any) -> Any:
            if broken.is_set() and action_key == f"{order_id}:reserve-0":
                raise RuntimeError("inventory partition unavailable")
            return original(self, partition, action_key, *a, **kw)

        monkeypatch.setattr(ledger_class, "compensate", failing)
        problem(api.post(f"/orders/{order_id}/retry-compensation"), 409, "order-state-conflict")
        assert api.post(f"/orders/{order_id}/approval", json={"approved": False}).status_code == 202
        order = settled(shop, api, order_id)
        for _ in range(60):  # the compensation's retries back off on durable timers
            if order["status"] == "NeedsAttention":
                break
            shop.advance(60)
            order = settled(shop, api, order_id)
        assert order["status"] == "NeedsAttention"
        assert order["attention"]["step"] == "reserve-0"
        assert "inventory partition" not in order["attention"]["message"]

        broken.clear()
        response = api.post(f"/orders/{order_id}/retry-compensation")
        assert response.status_code == 202
        assert response.json()["status"] == "NeedsAttention"
        order = finished(shop, api, order_id)
        assert (order["status"], order["attention"]) == ("Compensated", None)
        assert api.get(f"/inventory/{sku}").json()["available"] == 10

    def test_retrying_an_unknown_order_is_404(self, api: Api) -> None:
        problem(api.post("/orders/o-" + "3" * 32 + "/retry-compensation"), 404, "not-found")


class TestSampleData:
    def test_stock_is_set_and_read(self, api: Api) -> None:
        sku = f"sku-{uuid.uuid4().hex[:8]}"
        problem(api.get(f"/inventory/{sku}"), 404, "not-found")
        body = {"available": 7, "unitPriceCents": 250}
        expected = {"sku": sku, "available": 7, "reserved": 0, "unitPriceCents": 250}
        assert api.put(f"/inventory/{sku}", json=body).json() == expected
        assert api.get(f"/inventory/{sku}").json() == expected

    def test_an_account_is_set_and_read(self, api: Api) -> None:
        customer = f"cust-{uuid.uuid4().hex[:8]}"
        problem(api.get(f"/accounts/{customer}"), 404, "not-found")
        expected = {"customerId": customer, "balanceCents": 1234}
        assert api.put(f"/accounts/{customer}", json={"balanceCents": 1234}).json() == expected
        assert api.get(f"/accounts/{customer}").json() == expected

    @pytest.mark.parametrize(
        ("path", "kwargs", "status", "kind"),
        [
            ("/inventory/apple", {"json": {"available": -1, "unitPriceCents": 1}}, 400,
             "validation-error"),
            ("/inventory/apple", {"json": {"available": 1}}, 400, "validation-error"),
            ("/inventory/apple", {"data": b"{", "headers": {"Content-Type": "application/json"}},
             400, "malformed-json"),
            ("/inventory/apple", {"data": b"{}", "headers": {"Content-Type": "text/plain"}}, 415,
             "unsupported-media-type"),
            ("/inventory/a%20b", {"json": {"available": 1, "unitPriceCents": 1}}, 400,
             "validation-error"),
            ("/accounts/alice", {"json": {"balanceCents": "10"}}, 400, "validation-error"),
            ("/accounts/alice", {"json": {"balanceCents": 1, "currency": "EUR"}}, 400,
             "validation-error"),
            ("/accounts/alice", {"headers": {"Content-Type": "application/json"},
                                 "data": b"x" * 70_000}, 413, "payload-too-large"),
        ],
    )  # fmt: skip
    def test_invalid_writes_change_nothing(
        self,
        shop: DevHost,
        api: Api,
        world: World,
        path: str,
        kwargs: dict[str, Any],
        status: int,
        kind: str,
    ) -> None:
        with nothing_changes(shop, world):
            problem(api.put(path, **kwargs), status, kind)

    def test_an_unexpected_error_is_a_500_without_details(
        self, api: Api, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def broken(sku: str) -> None:
            raise RuntimeError("secret connection string")

        monkeypatch.setattr(api_stock, "get_stock", broken)
        response = api.get("/inventory/apple")
        body = problem(response, 500, "internal-error")
        assert "secret" not in response.text
        assert body["detail"] == "The request could not be completed."


class TestHealthAndDocument:
    def test_health_is_ok_when_storage_answers(self, api: Api) -> None:
        assert api.get("/health").json() == {"status": "ok", "storage": "ok"}

    def test_health_is_503_when_storage_is_unreachable(
        self, shop: DevHost, api: Api, world: World
    ) -> None:
        """On Azurite, Table storage on a port nothing listens on; on the twins, a storage whose
        ping fails."""
        shop.wait_idle()
        if world.storage == "tables":
            with socket.socket() as probe:  # a port nothing listens on
                probe.bind(("127.0.0.1", 0))
                dead_port = probe.getsockname()[1]
            dead = AZURITE_CONNECTION_STRING.replace("127.0.0.1:10002", f"127.0.0.1:{dead_port}")
            unreachable = Services(
                dataclasses.replace(world.settings, storage_connection_string=dead)
            )
        else:
            unreachable = Services(world.settings, Unreachable())
        with services.use(unreachable):
            response = api.get("/health")
        unreachable.close()
        problem(response, 503, "service-unavailable")
        assert response.headers["Retry-After"] == "5"
        assert api.get("/health").status_code == 200

    def test_the_document_is_served(self, api: Api) -> None:
        response = api.get("/openapi.json")
        assert response.json() == document()


class Unreachable:
    """A storage that never answers."""

    def ledger(self, name: str) -> Any:
        raise ConnectionError("unreachable")

    def ping(self, timeout_seconds: float) -> None:
        raise ConnectionError("unreachable")

    def close(self) -> None:
        return None
