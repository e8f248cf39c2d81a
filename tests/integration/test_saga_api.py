"""The generic saga API (api/sagas.py) serving the transfer saga over real HTTP: the real app on
devhost with its tables in Azurite; every answer is checked against the OpenAPI document."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from api.saga_ids import saga_id_for
from devhost.testing import DevHost
from tests.integration.api_client import Api
from tests.integration.shop import open_shop
from tests.world import open_world

pytestmark = pytest.mark.azurite

BASE = "/sagas/transfer"


@pytest.fixture(scope="module")
def shop(azurite: str) -> Iterator[DevHost]:
    with open_world("tables", azurite) as world, open_shop(world) as host:
        yield host


@pytest.fixture(scope="module")
def api(shop: DevHost) -> Api:
    return Api(shop.serve_http())


def account(api: Api, balance_cents: int) -> str:
    name = f"acct-{uuid.uuid4().hex[:8]}"
    assert api.put(f"/accounts/{name}", json={"balanceCents": balance_cents}).status_code == 200
    return name


def balance(api: Api, name: str) -> int:
    value: int = api.get(f"/accounts/{name}").json()["balanceCents"]
    return value


def start(api: Api, body: dict[str, Any], key: str | None = None) -> requests.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return api.post(BASE, json=body, headers=headers)


def started(api: Api, body: dict[str, Any], key: str | None = None) -> str:
    response = start(api, body, key)
    assert response.status_code == 202, response.text
    saga_id: str = response.json()["id"]
    assert response.headers["Location"] == f"/api{BASE}/{saga_id}"
    return saga_id


def finished(shop: DevHost, api: Api, saga_id: str) -> dict[str, Any]:
    shop.wait_for(saga_id)
    view: dict[str, Any] = api.get(f"{BASE}/{saga_id}").json()
    return view


def transfer(source: str, target: str, cents: int) -> dict[str, Any]:
    return {"fromAccount": source, "toAccount": target, "amountCents": cents}


class TestStart:
    def test_a_transfer_moves_the_money_and_reads_in_business_terms(
        self, shop: DevHost, api: Api
    ) -> None:
        source, target = account(api, 1_000), account(api, 0)
        saga_id = started(api, transfer(source, target, 300))
        view = finished(shop, api, saga_id)
        assert (view["saga"], view["status"], view["failure"]) == ("transfer", "Completed", None)
        assert [step["name"] for step in view["steps"]] == ["debit", "approval", "credit"]
        assert (balance(api, source), balance(api, target)) == (700, 300)

    def test_a_transfer_to_the_same_account_leaves_it_as_it_was(
        self, shop: DevHost, api: Api
    ) -> None:
        own = account(api, 500)
        view = finished(shop, api, started(api, transfer(own, own, 200)))
        assert view["status"] == "Completed"
        assert balance(api, own) == 500

    def test_the_same_key_twice_is_one_transfer(self, shop: DevHost, api: Api) -> None:
        source, target = account(api, 1_000), account(api, 0)
        key = uuid.uuid4().hex
        body = transfer(source, target, 100)
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda _: start(api, body, key), range(6)))
        assert {answer.status_code for answer in answers} == {202}
        (saga_id,) = {answer.json()["id"] for answer in answers}
        finished(shop, api, saga_id)
        again = start(api, body, key)
        assert (again.status_code, again.json()["status"]) == (202, "Completed")
        assert (balance(api, source), balance(api, target)) == (900, 100)

    def test_the_same_key_with_another_body_is_a_conflict(self, api: Api) -> None:
        source, target = account(api, 1_000), account(api, 0)
        key = uuid.uuid4().hex
        started(api, transfer(source, target, 100), key)
        conflict = start(api, transfer(source, target, 200), key)
        assert conflict.status_code == 409
        assert conflict.json()["type"].endswith(":idempotency-key-reused")

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"fromAccount": "a", "toAccount": "b"}, "amountCents"),
            ({"fromAccount": "a", "toAccount": "b", "amountCents": True}, "amountCents"),
            ({"fromAccount": "a", "toAccount": "b", "amountCents": 5, "x": 1}, "x"),
            ({"fromAccount": "a/b", "toAccount": "b", "amountCents": 5}, "fromAccount"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field_and_starts_nothing(
        self, shop: DevHost, api: Api, body: dict[str, Any], field: str
    ) -> None:
        key = uuid.uuid4().hex
        answer = start(api, body, key)
        assert answer.status_code == 400
        assert field in {error["field"] for error in answer.json()["errors"]}
        with pytest.raises(KeyError):  # the id this key would have given: never started
            shop.state(saga_id_for("transfer-", str(body["fromAccount"]), key))


class TestFailures:
    def test_insufficient_funds_compensates_and_the_books_are_untouched(
        self, shop: DevHost, api: Api
    ) -> None:
        source, target = account(api, 50), account(api, 0)
        view = finished(shop, api, started(api, transfer(source, target, 300)))
        assert view["status"] == "Compensated"
        assert view["failure"]["step"] == "debit"
        assert (balance(api, source), balance(api, target)) == (50, 0)

    def test_an_unknown_destination_fails_the_pivot_and_the_debit_is_undone(
        self, shop: DevHost, api: Api
    ) -> None:
        source = account(api, 1_000)
        view = finished(shop, api, started(api, transfer(source, "nobody-here", 300)))
        assert view["status"] == "Compensated"
        assert (view["failure"]["step"], view["failure"]["code"]) == ("credit", "AccountNotFound")
        assert balance(api, source) == 1_000


class TestSignals:
    def test_a_big_transfer_waits_for_approval_and_can_be_approved(
        self, shop: DevHost, api: Api
    ) -> None:
        source, target = account(api, 1_000_000), account(api, 0)
        saga_id = started(api, transfer(source, target, 200_000))
        shop.wait_idle()
        waiting = api.get(f"{BASE}/{saga_id}")
        assert waiting.json()["status"] == "AwaitingApproval"
        assert 1 <= int(waiting.headers["Retry-After"]) <= 30  # unfinished: look again later
        answer = api.post(f"{BASE}/{saga_id}/approval", json={"approved": True})
        assert answer.status_code == 202
        assert finished(shop, api, saga_id)["status"] == "Completed"
        assert "Retry-After" not in api.get(f"{BASE}/{saga_id}").headers
        assert balance(api, target) == 200_000

    def test_cancel_before_the_pivot_compensates_and_a_second_cancel_is_409(
        self, shop: DevHost, api: Api
    ) -> None:
        source, target = account(api, 1_000_000), account(api, 0)
        saga_id = started(api, transfer(source, target, 200_000))
        shop.wait_idle()
        assert api.post(f"{BASE}/{saga_id}/cancel").status_code == 202
        assert finished(shop, api, saga_id)["status"] == "Cancelled"
        again = api.post(f"{BASE}/{saga_id}/cancel")
        assert again.status_code == 409
        assert again.json()["type"].endswith(":saga-state-conflict")
        assert balance(api, source) == 1_000_000

    def test_approval_of_a_transfer_that_does_not_wait_is_409(
        self, shop: DevHost, api: Api
    ) -> None:
        source, target = account(api, 1_000), account(api, 0)
        saga_id = started(api, transfer(source, target, 10))
        finished(shop, api, saga_id)
        answer = api.post(f"{BASE}/{saga_id}/approval", json={"approved": True})
        assert answer.status_code == 409

    def test_unknown_ids_are_404(self, api: Api) -> None:
        assert api.get(f"{BASE}/transfer-{'0' * 32}").status_code == 404
        assert api.get(f"{BASE}/not-a-transfer-id").status_code == 404
        assert api.post(f"{BASE}/transfer-{'0' * 32}/cancel").status_code == 404

    def test_an_order_id_is_not_a_transfer(self, api: Api) -> None:
        """Each saga serves only its own instances, whatever the id looks like."""
        assert api.get(f"{BASE}/o-{'0' * 32}").status_code == 404
