"""Activities and compensations: outcomes, and one effect per key however often delivered."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from azure.core.pipeline import PipelineResponse
from azure.data.tables import TableClient

from activities import inventory, orders, payments, shipping
from contracts.order import (
    ChargePayment,
    ConfirmOrder,
    CreateOrder,
    OrderLine,
    ReserveLine,
    ScheduleShipment,
    ShipTo,
)
from services import inventory as inventory_data
from services import orders as orders_data
from services import payments as payments_data
from services import shipping as shipping_data
from shared import services
from shared.chaos import ChaosFault
from shared.idempotency import Ledger, TableLedger, compensation_key
from shared.ledgers import ALREADY_COMPENSATED, ledger_for
from shared.services import Clock, Services
from tests.world import STORAGES, World, open_world

Activity = Any  # a registered activity: df's FunctionBuilder, callable like the function
TABLES = (
    orders_data.ORDERS_TABLE,
    inventory_data.INVENTORY_TABLE,
    payments_data.ACCOUNTS_TABLE,
    shipping_data.SHIPMENTS_TABLE,
)
STOCK, PRICE_CENTS, QUANTITY = 10, 250, 3
BALANCE_CENTS, CHARGE_CENTS = 1000, 750


@pytest.fixture(scope="module")
def azurite_tables(azurite: str) -> Iterator[World]:
    """The real ledgers, on this module's own tables in Azurite (dropped at the end)."""
    with open_world("tables", azurite) as world:
        yield world


@pytest.fixture(params=STORAGES)
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """Each test runs twice: on the in-memory twins, and on Table storage (this module's tables,
    shared by its tests); default settings, so chaos starts off."""
    if request.param == "memory":
        with open_world("memory") as world:
            yield world
    else:
        tables: World = request.getfixturevalue("azurite_tables")
        world = World(Services(tables.settings, tables.services.storage), tables.azurite)
        try:
            yield world
        finally:
            world.close(drop_tables=False)


@dataclass(frozen=True)
class Ids:
    """One test's order, SKU and customer: unique, so tests sharing tables never meet."""

    order: str
    sku: str
    customer: str

    def key(self, step: str) -> str:
        return f"{self.order}:{step}"


def new_ids() -> Ids:
    tag = uuid.uuid4().hex[:12]
    return Ids(f"order-{tag}", f"sku-{tag}", f"cust-{tag}")


@pytest.fixture
def ids(world: World) -> Ids:
    return new_ids()


def deliver(activity: Activity, key: str, payload: dict[str, Any]) -> Any:
    """Deliver one activity call as the engine does."""
    return activity({"key": key, "input": payload})


def concurrently(count: int, action: Callable[[int], Any]) -> list[Any]:
    """Run action(0..count-1) on as many threads, released together."""
    start = threading.Barrier(count)

    def run(number: int) -> Any:
        start.wait()
        return action(number)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


# Step inputs, as the orchestrator builds them.
def order_input(ids: Ids) -> dict[str, Any]:
    line = OrderLine(sku=ids.sku, quantity=QUANTITY)
    address = ShipTo.model_validate({"country": "NL", "city": "Delft"})
    return CreateOrder(
        order_id=ids.order, customer_id=ids.customer, items=(line,), shipping_address=address
    ).to_wire()


def confirm_input(ids: Ids) -> dict[str, Any]:
    return ConfirmOrder(order_id=ids.order, total_cents=CHARGE_CENTS).to_wire()


def reserve_input(ids: Ids, quantity: int = QUANTITY) -> dict[str, Any]:
    return ReserveLine(order_id=ids.order, sku=ids.sku, quantity=quantity).to_wire()


def charge_input(ids: Ids, amount_cents: int = CHARGE_CENTS) -> dict[str, Any]:
    return ChargePayment(
        order_id=ids.order, customer_id=ids.customer, amount_cents=amount_cents
    ).to_wire()


def ship_input(ids: Ids, country: str = "NL") -> dict[str, Any]:
    return ScheduleShipment(order_id=ids.order, country=country).to_wire()


# Business state, as each service holds it.
def order_of(ids: Ids) -> tuple[str, int | None] | None:
    row = ledger_for(orders_data.ORDERS_TABLE).get(ids.order, orders_data.ORDER_ROW)
    return (row["status"], row.get("totalCents")) if row else None


def stock_of(ids: Ids) -> tuple[int, int] | None:
    stock = inventory_data.get_stock(ids.sku)
    return (stock["available"], stock["reserved"]) if stock else None


def balance_of(ids: Ids) -> int | None:
    account = payments_data.get_account(ids.customer)
    return account["balanceCents"] if account else None


def with_stock(ids: Ids) -> None:
    inventory_data.put_stock(ids.sku, STOCK, PRICE_CENTS)


def with_account(ids: Ids) -> None:
    payments_data.put_account(ids.customer, BALANCE_CENTS)


def with_order(ids: Ids) -> None:
    deliver(orders.create_order, ids.key("create_order"), order_input(ids))


def shipment_of(ids: Ids) -> tuple[str, str] | None:
    row = ledger_for(shipping_data.SHIPMENTS_TABLE).get(ids.order, shipping_data.SHIPMENT_ROW)
    return (row["status"], row["country"]) if row else None


@dataclass(frozen=True)
class Case:
    """One activity or compensation: what it needs first, the state before it runs, and the
    state exactly one delivery leaves."""

    step: str  # the action's step name; its key is "{order}:{step}"
    activity: Activity  # what is delivered: the action, or its compensation
    payload: Callable[[Ids], dict[str, Any]]
    table: str
    partition: Callable[[Ids], str]
    state: Callable[[Ids], Any]
    before: Any
    expected: Any
    setup: tuple[Callable[[Ids], None], ...] = ()
    compensates: Activity | None = None  # the action that runs before its compensation

    def prepare(self, ids: Ids) -> None:
        for step in self.setup:
            step(ids)
        if self.compensates is not None:
            deliver(self.compensates, ids.key(self.step), self.payload(ids))

    def key(self, ids: Ids) -> str:
        action = ids.key(self.step)
        return compensation_key(action) if self.compensates is not None else action

    def deliver(self, ids: Ids) -> Any:
        return deliver(self.activity, self.key(ids), self.payload(ids))

    def stored_answer(self, ids: Ids) -> Any:
        record = ledger_for(self.table).record(self.partition(ids), self.key(ids))
        assert record is not None
        return record.result


def by_order(ids: Ids) -> str:
    return ids.order


def by_sku(ids: Ids) -> str:
    return ids.sku


def by_customer(ids: Ids) -> str:
    return ids.customer


ORDERS, INVENTORY = orders_data.ORDERS_TABLE, inventory_data.INVENTORY_TABLE
ACCOUNTS, SHIPMENTS = payments_data.ACCOUNTS_TABLE, shipping_data.SHIPMENTS_TABLE
PENDING, CANCELLED, CONFIRMED = ("Pending", None), ("Cancelled", None), ("Confirmed", CHARGE_CENTS)
RESERVED = (STOCK - QUANTITY, QUANTITY)
CASES = {
    "create_order": Case(
        "create_order", orders.create_order, order_input, ORDERS, by_order, order_of,
        before=None, expected=PENDING,
    ),
    "cancel_order": Case(
        "create_order", orders.cancel_order, order_input, ORDERS, by_order, order_of,
        before=PENDING, expected=CANCELLED, compensates=orders.create_order,
    ),
    "confirm_order": Case(
        "confirm_order", orders.confirm_order, confirm_input, ORDERS, by_order, order_of,
        before=PENDING, expected=CONFIRMED, setup=(with_order,),
    ),
    "reserve_inventory": Case(
        "reserve_inventory", inventory.reserve_inventory, reserve_input, INVENTORY, by_sku,
        stock_of, before=(STOCK, 0), expected=RESERVED, setup=(with_stock,),
    ),
    "release_inventory": Case(
        "reserve_inventory", inventory.release_inventory, reserve_input, INVENTORY, by_sku,
        stock_of, before=RESERVED, expected=(STOCK, 0), setup=(with_stock,),
        compensates=inventory.reserve_inventory,
    ),
    "charge_payment": Case(
        "charge_payment", payments.charge_payment, charge_input, ACCOUNTS, by_customer,
        balance_of, before=BALANCE_CENTS, expected=BALANCE_CENTS - CHARGE_CENTS,
        setup=(with_account,),
    ),
    "refund_payment": Case(
        "charge_payment", payments.refund_payment, charge_input, ACCOUNTS, by_customer,
        balance_of, before=BALANCE_CENTS - CHARGE_CENTS, expected=BALANCE_CENTS,
        setup=(with_account,), compensates=payments.charge_payment,
    ),
    "schedule_shipment": Case(
        "schedule_shipment", shipping.schedule_shipment, ship_input, SHIPMENTS, by_order,
        shipment_of, before=None, expected=("Scheduled", "NL"),
    ),
}  # fmt: skip
every_case = pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())


def code_of(answer: Any) -> str | None:
    """The failure code of an answer, or None for a success."""
    assert isinstance(answer, dict)
    return None if answer["ok"] else str(answer["error"]["code"])


@every_case
class TestExactlyOnce:
    def test_a_redelivery_has_no_second_effect_and_gets_the_same_answer(
        self, case: Case, ids: Ids
    ) -> None:
        """The ledger finds the first delivery's record and replays its answer."""
        case.prepare(ids)
        assert case.state(ids) == case.before
        first = case.deliver(ids)
        assert code_of(first) is None
        assert case.state(ids) == case.expected
        assert case.deliver(ids) == first
        assert case.state(ids) == case.expected

    def test_concurrent_deliveries_have_one_effect_and_one_answer(
        self, case: Case, ids: Ids
    ) -> None:
        """Eight deliveries racing each other: one commits, the rest replay its answer."""
        case.prepare(ids)
        answers = concurrently(8, lambda _: case.deliver(ids))
        assert code_of(answers[0]) is None
        assert answers == [answers[0]] * 8
        assert case.state(ids) == case.expected


class TestChaos:
    @every_case
    def test_a_fault_after_commit_leaves_one_effect_and_the_retry_gets_the_lost_answer(
        self, case: Case, ids: Ids, world: World
    ) -> None:
        """At rate 1 with seed 3 the faults come before, after, before, after: the first `after`
        commits, no later delivery adds an effect, and once chaos stops the retry replies with
        the answer the lost reply carried (the stored one)."""
        case.prepare(ids)
        set_chaos(world, rate=1.0, seed=3)
        faults, states = [], []
        for _ in range(4):
            with pytest.raises(ChaosFault) as caught:
                case.deliver(ids)
            faults.append(caught.value.when)
            states.append(case.state(ids))
        assert faults == ["before", "after", "before", "after"]
        assert states == [case.before, case.expected, case.expected, case.expected]
        set_chaos(world, rate=None, seed=None)
        answer = case.deliver(ids)
        assert code_of(answer) is None
        assert answer == case.stored_answer(ids)
        assert case.state(ids) == case.expected

    def test_retrying_through_chaos_gives_every_order_exactly_one_effect(
        self, ids: Ids, world: World
    ) -> None:
        """40 orders reserve on one SKU through 50% chaos, a third of them are released; each
        delivery is retried with its key until it replies, and the stock comes out exact."""
        inventory_data.put_stock(ids.sku, 1000, PRICE_CENTS)
        set_chaos(world, rate=0.5, seed=9)
        quantities = [1 + number % 4 for number in range(40)]

        def place(number: int) -> tuple[Any, Any]:
            key, payload = f"{ids.order}-{number}:reserve", reserve_input(ids, quantities[number])
            reserved = until_replied(inventory.reserve_inventory, key, payload)
            released = None
            if number % 3 == 0:
                released = until_replied(
                    inventory.release_inventory, compensation_key(key), payload
                )
            return reserved, released

        results = concurrently(10, lambda worker: [place(n) for n in range(worker, 40, 10)])
        flat = [result for batch in results for result in batch]
        assert all(code_of(reserved) is None for reserved, _ in flat)
        kept = sum(q for n, q in enumerate(quantities) if n % 3 != 0)
        assert stock_of(ids) == (1000 - kept, kept)


def set_chaos(world: World, *, rate: float | None, seed: int | None) -> None:
    world.configure(chaos_fault_rate=rate or 0.0, chaos_seed=seed)


def until_replied(activity: Activity, key: str, payload: dict[str, Any]) -> Any:
    """Retry a delivery with the same key, as the engine does, until it replies."""
    for _ in range(100):
        try:
            return deliver(activity, key, payload)
        except ChaosFault:
            continue
    raise AssertionError(f"{key} never replied")


class TestOrders:
    def test_create_order_stores_the_pending_order_with_its_details(self, ids: Ids) -> None:
        """The row holds what the order service later shows; the reply carries its createdAt."""
        answer = deliver(orders.create_order, ids.key("create_order"), order_input(ids))
        row = ledger_for(ORDERS).get(ids.order, orders_data.ORDER_ROW)
        assert row is not None
        assert answer == {
            "ok": True,
            "value": {
                "orderId": ids.order,
                "status": "Pending",
                "createdAt": row["createdAt"].isoformat(),
            },
        }
        assert row["customerId"] == ids.customer
        assert row["items"] == f'[{{"sku": "{ids.sku}", "quantity": {QUANTITY}}}]'
        assert row["shippingAddress"] == '{"country": "NL", "city": "Delft"}'

    def test_an_order_id_taken_by_another_key_is_refused_and_left_alone(self, ids: Ids) -> None:
        """A second saga reusing an order id gets OrderExists, and compensating that failed
        create does not cancel the first saga's order."""
        with_order(ids)
        other_key = f"other-{ids.order}:create_order"
        answer = deliver(orders.create_order, other_key, order_input(ids))
        assert code_of(answer) == "OrderExists"
        undone = deliver(orders.cancel_order, compensation_key(other_key), order_input(ids))
        assert undone == {"ok": True, "value": {"orderId": ids.order, "status": "NotCreated"}}
        assert order_of(ids) == PENDING

    def test_cancel_before_create_tombstones_it_so_the_late_create_does_nothing(
        self, ids: Ids
    ) -> None:
        """The create timed out and was compensated; when it finally runs it has no effect and
        says why."""
        key = ids.key("create_order")
        undone = deliver(orders.cancel_order, compensation_key(key), order_input(ids))
        assert undone == {"ok": True, "value": {"orderId": ids.order, "status": "NotCreated"}}
        late = deliver(orders.create_order, key, order_input(ids))
        assert code_of(late) == ALREADY_COMPENSATED
        assert order_of(ids) is None

    def test_confirming_a_missing_or_cancelled_order_is_a_fault(self, ids: Ids) -> None:
        """Neither can happen in a well-formed saga, so the step raises rather than guess: a
        plain ValueError, which saga_activity does not translate (retried, then the operator)."""
        with pytest.raises(ValueError, match="does not exist"):
            deliver(orders.confirm_order, ids.key("confirm_order"), confirm_input(ids))
        with_order(ids)
        key = compensation_key(ids.key("create_order"))
        deliver(orders.cancel_order, key, order_input(ids))
        with pytest.raises(ValueError, match="is Cancelled"):
            deliver(orders.confirm_order, ids.key("confirm_order"), confirm_input(ids))
        assert order_of(ids) == CANCELLED


class TestInputs:
    @pytest.mark.parametrize(
        ("activity", "call", "complaint"),
        [
            (inventory.reserve_inventory, {"key": "i:s"}, "must be \\{key, input\\}"),
            (inventory.reserve_inventory, {"key": "i:s", "input": {}, "x": 1}, "unknown.*x"),
            (inventory.reserve_inventory, {"key": "", "input": {}}, "key must be"),
            (
                inventory.reserve_inventory,
                {"key": "i:s", "input": {"orderId": "o", "sku": "s", "quantity": 0}},
                "quantity: Input should be greater than or equal to 1",
            ),
            (
                inventory.reserve_inventory,
                {"key": "i:s", "input": {"orderId": "o", "sku": "s", "quantity": True}},
                "quantity",
            ),
            (
                payments.charge_payment,
                {"key": "i:s", "input": {"orderId": "o", "customerId": "c", "amountCents": 1.5}},
                "amountCents: Input should be a valid integer",
            ),
            (
                shipping.schedule_shipment,
                {"key": "i:s", "input": {"orderId": "o", "country": "nl"}},
                "country: String should match pattern",
            ),
            (
                orders.create_order,
                {
                    "key": "i:s",
                    "input": {
                        "orderId": "o",
                        "customerId": "c",
                        "items": [],
                        "shippingAddress": {"country": "NL"},
                    },
                },
                "items: Tuple should have at least 1 item",
            ),
            (
                inventory.release_inventory,
                {"key": "i:s", "input": {"orderId": "o", "sku": "s", "quantity": 1}},
                "not a compensation key",
            ),
            (
                inventory.release_inventory,
                {
                    "key": "i:s:compensate",
                    "actionKey": "j:s",
                    "input": {"orderId": "o", "sku": "s", "quantity": 1},
                },
                "does not match",
            ),
        ],
    )
    def test_invalid_input_is_an_invalid_step_input_failure_naming_the_problem(
        self, world: World, activity: Activity, call: dict[str, Any], complaint: str
    ) -> None:
        """Bad input is the orchestrator's bug, which no retry fixes: the activity replies with
        the InvalidStepInput failure (not retried; the saga compensates) instead of raising."""
        answer = activity(call)
        assert code_of(answer) == "InvalidStepInput"
        assert re.search(complaint, answer["error"]["message"])

    def test_a_malformed_charge_is_refused_and_writes_nothing(self, ids: Ids) -> None:
        """Refused before the ledger is touched: the balance is as it was, no record holds the
        key, and the refusal is the same on every delivery."""
        with_account(ids)
        key = ids.key("charge_payment")
        payload = {**charge_input(ids), "amountCents": "7.50"}
        answer = deliver(payments.charge_payment, key, payload)
        complaint = "ChargePayment input: amountCents: Input should be a valid integer (got '7.50')"
        assert answer == {"ok": False, "error": {"code": "InvalidStepInput", "message": complaint}}
        assert deliver(payments.charge_payment, key, payload) == answer
        assert balance_of(ids) == BALANCE_CENTS
        assert ledger_for(ACCOUNTS).record(ids.customer, key) is None

    def test_a_compensation_accepts_the_action_key_the_engine_sends(self, ids: Ids) -> None:
        """The engine may also pass `actionKey`; when it agrees with `key` it is accepted."""
        key = ids.key("reserve_inventory")
        call = {"key": compensation_key(key), "actionKey": key, "input": reserve_input(ids)}
        assert inventory.release_inventory(call)["ok"] is True

    def test_reusing_a_key_for_a_different_input_is_an_idempotency_key_reused_failure(
        self, ids: Ids
    ) -> None:
        """A key names one request; another input under it is a bug, not a duplicate: the
        ledger's IdempotencyConflict becomes the IdempotencyKeyReused failure (not retried),
        nothing changes, and the first request still gets its own answer."""
        with_stock(ids)
        key = ids.key("reserve_inventory")
        first = deliver(inventory.reserve_inventory, key, reserve_input(ids, 1))
        answer = deliver(inventory.reserve_inventory, key, reserve_input(ids, 2))
        assert answer == {
            "ok": False,
            "error": {
                "code": "IdempotencyKeyReused",
                "message": f"idempotency key {key!r} was already used for a different request",
            },
        }
        assert stock_of(ids) == (STOCK - 1, 1)
        assert deliver(inventory.reserve_inventory, key, reserve_input(ids, 1)) == first

    def test_a_reused_key_is_refused_by_the_charge_too(self, ids: Ids) -> None:
        with_account(ids)
        key = ids.key("charge_payment")
        deliver(payments.charge_payment, key, charge_input(ids, 100))
        answer = deliver(payments.charge_payment, key, charge_input(ids, 200))
        assert code_of(answer) == "IdempotencyKeyReused"
        assert balance_of(ids) == BALANCE_CENTS - 100


class TestInventory:
    def test_a_reservation_replies_with_its_price(self, ids: Ids) -> None:
        """The orchestrator totals the order from the reservations' amounts."""
        with_stock(ids)
        answer = deliver(inventory.reserve_inventory, ids.key("r"), reserve_input(ids))
        assert answer == {
            "ok": True,
            "value": {
                "sku": ids.sku,
                "quantity": QUANTITY,
                "unitPriceCents": PRICE_CENTS,
                "amountCents": QUANTITY * PRICE_CENTS,
            },
        }

    def test_an_unknown_sku_fails_and_stocks_nothing(self, ids: Ids) -> None:
        answer = deliver(inventory.reserve_inventory, ids.key("r"), reserve_input(ids))
        assert code_of(answer) == "UnknownSku"
        assert stock_of(ids) is None

    def test_out_of_stock_fails_changes_nothing_and_its_release_gives_nothing_back(
        self, ids: Ids
    ) -> None:
        """A business failure applied (it is recorded) but has nothing to undo."""
        with_stock(ids)
        key, payload = ids.key("r"), reserve_input(ids, STOCK + 1)
        assert code_of(deliver(inventory.reserve_inventory, key, payload)) == "OutOfStock"
        released = deliver(inventory.release_inventory, compensation_key(key), payload)
        assert released == {"ok": True, "value": {"sku": ids.sku, "releasedQuantity": 0}}
        assert stock_of(ids) == (STOCK, 0)

    def test_release_before_reserve_tombstones_it_so_the_late_reserve_does_nothing(
        self, ids: Ids
    ) -> None:
        """The timeout race: the reservation arrives after its compensation."""
        with_stock(ids)
        key = ids.key("r")
        deliver(inventory.release_inventory, compensation_key(key), reserve_input(ids))
        late = deliver(inventory.reserve_inventory, key, reserve_input(ids))
        assert code_of(late) == ALREADY_COMPENSATED
        assert stock_of(ids) == (STOCK, 0)

    def test_reserve_racing_its_release_never_leaves_an_orphan_reservation(self, ids: Ids) -> None:
        """Whichever commits first, the stock ends where it started and the answers agree."""
        with_stock(ids)

        def race(number: int) -> list[Any]:
            key = f"{ids.order}-{number}:r"
            reserve = (inventory.reserve_inventory, key)
            release = (inventory.release_inventory, compensation_key(key))
            steps = [reserve, release]
            return concurrently(2, lambda side: deliver(*steps[side], reserve_input(ids, 1)))

        for reserved, released in (race(number) for number in range(6)):
            taken = 1 if code_of(reserved) is None else 0
            assert code_of(reserved) in (None, ALREADY_COMPENSATED)
            assert released["value"]["releasedQuantity"] == taken
        assert stock_of(ids) == (STOCK, 0)

    def test_fifty_concurrent_orders_on_stock_ten_sell_exactly_ten(self, ids: Ids) -> None:
        """ETag retries serialise the reservations: no oversell, no lost update."""
        with_stock(ids)
        answers = concurrently(
            50,
            lambda n: deliver(
                inventory.reserve_inventory, f"{ids.order}-{n}:r", reserve_input(ids, 1)
            ),
        )
        codes = [code_of(answer) for answer in answers]
        assert codes.count(None) == STOCK
        assert codes.count("OutOfStock") == 50 - STOCK
        assert stock_of(ids) == (0, STOCK)

    def test_put_stock_sets_available_and_price_and_keeps_reservations(self, ids: Ids) -> None:
        with_stock(ids)
        deliver(inventory.reserve_inventory, ids.key("r"), reserve_input(ids))
        view = inventory_data.put_stock(ids.sku, 20, 300)
        assert view == {
            "sku": ids.sku,
            "available": 20,
            "reserved": QUANTITY,
            "unitPriceCents": 300,
        }
        assert inventory_data.get_stock(ids.sku) == view

    def test_get_stock_of_an_unknown_sku_is_none_and_bad_stock_is_refused(self, ids: Ids) -> None:
        assert inventory_data.get_stock(ids.sku) is None
        with pytest.raises(ValueError, match="available"):
            inventory_data.put_stock(ids.sku, -1, 100)


class TestPayments:
    def test_a_charge_replies_with_what_it_took(self, ids: Ids) -> None:
        with_account(ids)
        answer = deliver(payments.charge_payment, ids.key("c"), charge_input(ids))
        assert answer == {"ok": True, "value": {"chargedCents": CHARGE_CENTS}}

    def test_a_customer_without_an_account_fails(self, ids: Ids) -> None:
        answer = deliver(payments.charge_payment, ids.key("c"), charge_input(ids))
        assert code_of(answer) == "AccountNotFound"

    def test_insufficient_funds_fails_and_its_refund_gives_nothing_back(self, ids: Ids) -> None:
        with_account(ids)
        key, payload = ids.key("c"), charge_input(ids, BALANCE_CENTS + 1)
        assert code_of(deliver(payments.charge_payment, key, payload)) == "InsufficientFunds"
        refunded = deliver(payments.refund_payment, compensation_key(key), payload)
        assert refunded == {"ok": True, "value": {"refundedCents": 0}}
        assert balance_of(ids) == BALANCE_CENTS

    def test_a_charge_of_the_whole_balance_succeeds(self, ids: Ids) -> None:
        """balance < amount fails; balance == amount does not."""
        with_account(ids)
        answer = deliver(payments.charge_payment, ids.key("c"), charge_input(ids, BALANCE_CENTS))
        assert code_of(answer) is None
        assert balance_of(ids) == 0

    def test_refund_before_charge_tombstones_it_so_the_late_charge_does_nothing(
        self, ids: Ids
    ) -> None:
        with_account(ids)
        key = ids.key("c")
        deliver(payments.refund_payment, compensation_key(key), charge_input(ids))
        late = deliver(payments.charge_payment, key, charge_input(ids))
        assert code_of(late) == ALREADY_COMPENSATED
        assert balance_of(ids) == BALANCE_CENTS

    def test_put_account_replaces_the_balance(self, ids: Ids) -> None:
        assert payments_data.get_account(ids.customer) is None
        with_account(ids)
        view = payments_data.put_account(ids.customer, 5)
        assert view == {"customerId": ids.customer, "balanceCents": 5}
        assert payments_data.get_account(ids.customer) == view


class TestShipping:
    def test_the_shipment_id_is_derived_from_the_order_id(self, ids: Ids) -> None:
        """Any process computes the same id for an order, and different orders differ."""
        answer = deliver(shipping.schedule_shipment, ids.key("s"), ship_input(ids))
        assert answer == {"ok": True, "value": {"shipmentId": shipping_data.shipment_id(ids.order)}}
        assert shipping_data.shipment_id(ids.order) == shipping_data.shipment_id(ids.order)
        assert shipping_data.shipment_id(ids.order) != shipping_data.shipment_id(ids.order + "x")

    def test_a_country_outside_the_shipping_list_fails(self, ids: Ids) -> None:
        answer = deliver(shipping.schedule_shipment, ids.key("s"), ship_input(ids, "AQ"))
        assert code_of(answer) == "ShippingUnavailable"
        assert shipment_of(ids) is None

    def test_the_shipping_countries_setting_decides(self, ids: Ids, world: World) -> None:
        world.configure(shipping_countries=frozenset({"AQ"}))
        answer = deliver(shipping.schedule_shipment, ids.key("s"), ship_input(ids, "AQ"))
        assert code_of(answer) is None
        assert code_of(deliver(shipping.schedule_shipment, "x:s", ship_input(ids, "NL"))) == (
            "ShippingUnavailable"
        )


class ClientStorage:
    """Ledgers over the given table clients, by table name."""

    def __init__(self, clients: dict[str, TableClient]) -> None:
        self.clients = clients

    def ledger(self, name: str, clock: Clock) -> Ledger:
        return TableLedger(self.clients[name], clock=clock)

    def ping(self, timeout_seconds: float) -> None:
        return None

    def close(self) -> None:
        return None


class Requests:
    """Every request the real Table clients send, via the SDK's per-response hook."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def hook(self, response: PipelineResponse[Any, Any]) -> None:
        request = response.http_request
        self.sent.append(f"{request.method} {request.url.split('?')[0].rsplit('/', 1)[-1]}")


@pytest.mark.azurite
@every_case
def test_an_activity_costs_at_most_two_round_trips_and_so_does_a_redelivery(
    case: Case, azurite: str, azurite_tables: World
) -> None:
    """Design §7: at most 2 round trips per step on the happy path, and for a duplicate. A step
    that inserts new rows (``new_rows``) commits without reading: one batch, and for a duplicate
    the rejected batch and the read of the record; any other step reads, then commits, and its
    duplicate costs the read that finds the record."""
    requests = Requests()
    prefix = azurite_tables.settings.table_prefix
    clients = {
        name: TableClient.from_connection_string(
            azurite, prefix + name, raw_response_hook=requests.hook
        )
        for name in TABLES
    }
    ids = new_ids()
    try:
        counted = Services(azurite_tables.settings, ClientStorage(clients))
        with services.use(counted):
            case.prepare(ids)
            requests.sent.clear()
            case.deliver(ids)
            first = list(requests.sent)
            requests.sent.clear()
            case.deliver(ids)
            again = list(requests.sent)
    finally:
        for client in clients.values():
            client.close()
    if case.before is None:  # the row is new: create_order, schedule_shipment
        assert first == ["POST $batch"]
        assert len(again) == 2 and again[0] == "POST $batch" and again[1].startswith("GET")
    else:
        assert len(first) == 2 and first[0].startswith("GET") and first[1] == "POST $batch"
        assert len(again) == 1 and again[0].startswith("GET")
