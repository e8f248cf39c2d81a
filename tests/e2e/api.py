"""A small client for the order API as a caller sees it, over real HTTP."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

FINISHED = frozenset({"Completed", "Compensated", "Cancelled", "Failed"})
# The app's host.json enables the host's dynamic HTTP throttle: while the host is under high
# load every request gets 429 and nothing runs, so a caller sends the same request again a
# little later, as any caller of a Functions app must (POSTs too: nothing was started).
TOO_BUSY_RETRIES = Retry(
    total=60, connect=0, read=0, redirect=0, other=0, status=60, status_forcelist=[429],
    allowed_methods=None, backoff_factor=0.1, backoff_max=1.0, raise_on_status=False,
)  # fmt: skip


class OrderApi:
    """The app's HTTP API plus devhost's fault hook, with the waits a test needs."""

    def __init__(self, base_url: str, style: str | None = None) -> None:
        self.base_url = base_url
        self.style = style  # the ORDER_SAGA_STYLE the host was started with, when known
        self._local = threading.local()

    @property
    def http(self) -> requests.Session:
        """One session per thread: tests call the API from thread pools."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.mount("http://", HTTPAdapter(max_retries=TOO_BUSY_RETRIES))
        return session

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def put_stock(self, sku: str, available: int, unit_price_cents: int) -> dict[str, Any]:
        body = {"available": available, "unitPriceCents": unit_price_cents}
        response = self.http.put(self.url(f"/api/inventory/{sku}"), json=body, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def stock(self, sku: str) -> dict[str, Any]:
        response = self.http.get(self.url(f"/api/inventory/{sku}"), timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def put_account(self, customer_id: str, balance_cents: int) -> dict[str, Any]:
        body = {"balanceCents": balance_cents}
        response = self.http.put(self.url(f"/api/accounts/{customer_id}"), json=body, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def balance(self, customer_id: str) -> int:
        response = self.http.get(self.url(f"/api/accounts/{customer_id}"), timeout=10)
        assert response.status_code == 200, response.text
        return int(response.json()["balanceCents"])

    def post_order(
        self,
        customer_id: str,
        lines: dict[str, int],
        country: str = "NL",
        key: str | None = None,
    ) -> requests.Response:
        body = {
            "customerId": customer_id,
            "items": [{"sku": sku, "quantity": quantity} for sku, quantity in lines.items()],
            "shippingAddress": {"country": country},
        }
        headers = {"Idempotency-Key": key} if key else {}
        return self.http.post(self.url("/api/orders"), json=body, headers=headers, timeout=30)

    def place(self, customer_id: str, lines: dict[str, int], country: str = "NL") -> str:
        """Place an order (with an idempotency key, retried on connection errors as a careful
        client would); returns the order id."""
        key = uuid.uuid4().hex
        for _ in range(50):
            try:
                response = self.post_order(customer_id, lines, country, key)
            except requests.ConnectionError:
                time.sleep(0.2)
                continue
            assert response.status_code == 202, response.text
            return str(response.json()["orderId"])
        raise AssertionError("the API did not accept the order")

    def order(self, order_id: str) -> dict[str, Any]:
        response = self.http.get(self.url(f"/api/orders/{order_id}"), timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for(
        self, order_id: str, statuses: frozenset[str] = FINISHED, timeout: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                order = self.order(order_id)
                if order["status"] in statuses:
                    return order
            except requests.ConnectionError:
                pass  # the host is restarting
            if time.monotonic() > deadline:
                raise AssertionError(f"order {order_id} did not reach {sorted(statuses)}")
            time.sleep(0.1)

    def command(self, order_id: str, action: str, body: Any = None) -> requests.Response:
        return self.http.post(self.url(f"/api/orders/{order_id}/{action}"), json=body, timeout=10)

    def inject_fault(self, fault: str, activity: str = "*", times: int | None = 1) -> None:
        body = {"fault": fault, "activity": activity, "times": times}
        assert self.http.post(self.url("/admin/faults"), json=body, timeout=10).status_code == 201

    def clear_faults(self) -> None:
        assert self.http.delete(self.url("/admin/faults"), timeout=10).status_code == 204

    def instance_status(self, order_id: str) -> dict[str, Any]:
        """The orchestration's status from the durable status API."""
        url = self.url(f"/runtime/webhooks/durabletask/instances/{order_id}")
        response = self.http.get(url, timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def instance_history(self, order_id: str) -> list[dict[str, Any]]:
        """The orchestration's history from the durable status API (what an operator sees)."""
        response = self.http.get(
            self.url(f"/runtime/webhooks/durabletask/instances/{order_id}"),
            params={"showHistory": "true"},
            timeout=10,
        )
        return list(response.json().get("historyEvents", []))
