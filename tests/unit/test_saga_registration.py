"""check_registered: a saga step whose activity the app does not register fails at app load."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from devhost.app_loader import AppLoadError, load_app
from devhost.host import main
from devhost.testing import DevHost
from shared.saga import (
    PIVOT,
    ApprovalGate,
    FanOut,
    ParallelGroup,
    SagaDefinition,
    SagaDefinitionError,
    Step,
    check_registered,
    ok,
)

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).parent / "apps" / "unregistered"


class Shop:
    """A small app: activities reserve, release_stock and ship, an orchestrator and a route."""

    def __init__(self) -> None:
        self.app = app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

        @app.activity_trigger(input_name="request")
        def reserve(request: dict) -> Any:
            return ok(None)

        @app.activity_trigger(input_name="request")
        def release_stock(request: dict) -> Any:
            return ok(None)

        @app.activity_trigger(input_name="request")
        def ship(request: dict) -> Any:
            return ok(None)

        @app.orchestration_trigger(context_name="context")
        def shop_saga(context: df.DurableOrchestrationContext):
            yield context.call_activity(reserve, {})

        @app.route(route="orders")
        def orders(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("")

        self.reserve, self.release_stock, self.ship = reserve, release_stock, ship
        self.orchestrator = shop_saga


@pytest.fixture
def shop() -> Shop:
    return Shop()


def saga(*entries: Any) -> SagaDefinition:
    return SagaDefinition("shop", entries)


def refused(app: Any, *definitions: SagaDefinition) -> str:
    with pytest.raises(SagaDefinitionError) as error:
        check_registered(app, *definitions)
    message = str(error.value)
    assert "\n" not in message  # a load failure is shown on one line
    return message


# ------------------------------------------------------------------ what passes


def test_steps_naming_activities_by_function_pass(shop: Shop) -> None:
    check_registered(
        shop.app,
        saga(
            Step("reserve", shop.reserve, shop.release_stock),
            ApprovalGate("approval"),
            Step("ship", shop.ship, kind=PIVOT),
        ),
    )


def test_steps_naming_activities_by_name_pass(shop: Shop) -> None:
    check_registered(
        shop.app,
        saga(Step("reserve", "reserve", "release_stock"), Step("ship", "ship", kind=PIVOT)),
    )


def test_names_match_ignoring_case_as_the_host_resolves_them(shop: Shop) -> None:
    check_registered(shop.app, saga(Step("reserve", "Reserve", "RELEASE_STOCK")))


def test_an_activity_registered_under_its_activity_name_passes() -> None:
    app = df.DFApp()

    @app.activity_trigger(input_name="request", activity="ReserveStock")
    def reserve(request: dict) -> Any:
        return ok(None)

    check_registered(app, saga(Step("reserve", "reservestock", kind=PIVOT)))


def test_the_check_leaves_the_app_indexable(shop: Shop) -> None:
    # get_functions() may run only once per app; the worker calls it after function_app.py ran.
    check_registered(shop.app, saga(Step("reserve", shop.reserve, shop.release_stock)))
    names = {function.get_function_name() for function in shop.app.get_functions()}
    assert {"reserve", "release_stock", "ship", "shop_saga", "orders"} <= names


# ------------------------------------------------------------------ what is refused


def test_a_missing_action_is_named_with_the_closest_registered_name(shop: Shop) -> None:
    message = refused(shop.app, saga(Step("reserve", "reserv", shop.release_stock)))
    assert message == (
        "saga 'shop': step 'reserve' action 'reserv' is not an activity of this app "
        "(did you mean 'reserve'?)"
    )


def test_a_missing_compensation_lists_the_registered_activities(shop: Shop) -> None:
    message = refused(shop.app, saga(Step("reserve", shop.reserve, "undo_it")))
    assert message == (
        "saga 'shop': step 'reserve' compensation 'undo_it' is not an activity of this app "
        "(registered activities: release_stock, reserve, ship)"
    )


def test_a_missing_activity_in_a_fan_out(shop: Shop) -> None:
    fan_out = FanOut(Step("lines", shop.reserve, "release"), items=lambda order: order["lines"])
    message = refused(shop.app, saga(fan_out))
    assert message.startswith("saga 'shop': step 'lines' compensation 'release' ")
    assert "did you mean 'release_stock'?" in message


def test_a_missing_activity_in_a_parallel_group(shop: Shop) -> None:
    group = ParallelGroup(
        "parts",
        [
            Step("pick_a", shop.reserve, shop.release_stock),
            Step("pick_b", "pick_b", shop.release_stock),
        ],
    )
    message = refused(shop.app, saga(group))
    assert message.startswith("saga 'shop': step 'pick_b' action 'pick_b' is not an activity")


def test_a_name_of_a_function_that_is_not_an_activity_says_what_it_is(shop: Shop) -> None:
    message = refused(
        shop.app,
        saga(Step("start", "Shop_Saga", shop.release_stock), Step("list", "orders", kind=PIVOT)),
    )
    assert message == (
        "saga 'shop': step 'start' action 'Shop_Saga' names the orchestrationTrigger function "
        "'shop_saga', not an activity; "
        "saga 'shop': step 'list' action 'orders' names the httpTrigger function 'orders', "
        "not an activity"
    )


def test_a_function_that_is_not_an_activity_says_what_it_is(shop: Shop) -> None:
    message = refused(shop.app, saga(Step("start", shop.orchestrator, shop.release_stock)))
    assert message == (
        "saga 'shop': step 'start' action names the orchestrationTrigger function "
        "'shop_saga', not an activity"
    )


def test_an_activity_of_a_blueprint_never_registered_is_refused(shop: Shop) -> None:
    payments = df.Blueprint()  # decorated, but never passed to app.register_functions

    @payments.activity_trigger(input_name="request")
    def refund(request: dict) -> Any:
        return ok(None)

    message = refused(shop.app, saga(Step("charge", shop.reserve, refund)))
    assert message == (
        "saga 'shop': step 'charge' compensation 'refund' is an activity this app never "
        "registered (is its blueprint registered with app.register_functions?)"
    )


def test_a_same_named_activity_from_another_function_is_refused(shop: Shop) -> None:
    other = df.Blueprint()

    @other.activity_trigger(input_name="request")
    def reserve(request: dict) -> Any:
        return ok(None)

    message = refused(shop.app, saga(Step("reserve", reserve, shop.release_stock)))
    assert message.startswith("saga 'shop': step 'reserve' action 'reserve' is an activity")
    assert "the activity 'reserve' the app registered is a different function" in message


def test_a_function_registered_under_another_name_is_refused() -> None:
    # call_activity sends a FunctionBuilder's Python name, not its function_name.
    app = df.DFApp()

    @app.function_name("ReserveStock")
    @app.activity_trigger(input_name="request")
    def reserve(request: dict) -> Any:
        return ok(None)

    message = refused(app, saga(Step("reserve", reserve, kind=PIVOT)))
    assert message == (
        "saga 'shop': step 'reserve' action 'reserve' is registered as the activity "
        "'ReserveStock', but call_activity calls a function by its Python name 'reserve': "
        "pass 'ReserveStock' instead"
    )


def test_every_problem_of_every_definition_is_reported_at_once(shop: Shop) -> None:
    first = saga(Step("reserve", "reserv", "undo"))
    second = SagaDefinition("returns", [Step("collect", "collect", kind=PIVOT)])
    message = refused(shop.app, first, second)
    assert re.findall(r"saga '(\w+)': step '(\w+)' (\w+)", message) == [
        ("shop", "reserve", "action"),
        ("shop", "reserve", "compensation"),
        ("returns", "collect", "action"),
    ]


# ------------------------------------------------------------------ at app load


def test_devhost_refuses_the_app_at_load_naming_the_step() -> None:
    with pytest.raises(AppLoadError) as error:
        DevHost(APP)
    message = str(error.value)
    assert "SagaDefinitionError" in message
    assert "saga 'delivery': step 'ship' action 'ship_order' is not an activity" in message
    assert "(registered activities: release_stock, reserve, ship)" in message


def test_the_devhost_command_exits_with_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--app", str(APP), "--store", "memory"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("devhost: error: cannot load the app: importing ")
    assert "step 'ship' action 'ship_order' is not an activity" in error
    assert "\n" not in error


def test_the_real_app_passes_the_check() -> None:
    functions = load_app(ROOT)  # imports function_app.py, which runs check_registered
    assert "reserve_inventory" in functions.activities

    import function_app
    from orchestrators.order_saga import ORDER_SAGA

    check_registered(function_app.app, ORDER_SAGA)
