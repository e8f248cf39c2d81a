"""The operator pages as a person uses them, through a Playwright page."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FUNCTION_KEY = "operator-test-key"
WAIT_MS = 60_000


class OperatorPage:
    """A browser tab on the app's operator pages, opened with a function key (`code`)."""

    def __init__(self, page: Any, base_url: str, folder: Path, shots: list[Path]) -> None:
        self.page = page
        self.base_url = base_url
        self.folder = folder
        self.shots = shots
        self.script_errors: list[str] = []
        self.foreign_requests: list[str] = []
        self.keyless_requests: list[str] = []
        page.on("pageerror", lambda error: self.script_errors.append(str(error)))
        page.on("request", self._check)

    def _check(self, request: Any) -> None:
        url = urlsplit(request.url)
        if url.scheme == "data":
            return
        if f"{url.scheme}://{url.netloc}" != self.base_url:
            self.foreign_requests.append(request.url)
        elif parse_qs(url.query).get("code") != [FUNCTION_KEY]:
            self.keyless_requests.append(request.url)

    def open_list(self, status: str = "") -> None:
        query = f"?code={FUNCTION_KEY}" + (f"&status={status}" if status else "")
        self.page.goto(f"{self.base_url}/api/operator{query}")
        self.page.wait_for_selector("main[data-ready=true]", timeout=WAIT_MS)

    def open_order(self, order_id: str) -> None:
        """From the list, as a person would: follow the order's link."""
        self.open_list()
        self.page.click(f"tr[data-order='{order_id}'] a", timeout=WAIT_MS)
        self.page.wait_for_selector("#timeline", timeout=WAIT_MS)

    def listed_statuses(self) -> list[str]:
        return list(self.page.locator("#orders tbody tr[data-order] .badge").all_inner_texts())

    def listed_orders(self) -> list[str]:
        rows = self.page.locator("#orders tbody tr[data-order]")
        return [rows.nth(i).get_attribute("data-order") for i in range(rows.count())]

    def act(self, action: str, comment: str | None = None) -> None:
        if comment is not None:
            self.page.fill("#comment", comment)
        self.page.click(f"button[data-action='{action}']")

    def wait_for_status(self, status: str) -> None:
        """The page itself shows ``status`` (it polls the order while it is unfinished)."""
        selector = f".facts .badge[data-status='{status}']"
        self.page.wait_for_selector(selector, timeout=WAIT_MS)

    def row(self, step: str) -> Any:
        return self.page.locator(f".tl-row[data-step='{step}']")

    def bars(self, step: str, kind: str, outcome: str | None = None) -> int:
        selector = f".bar[data-kind='{kind}']"
        if outcome is not None:
            selector += f"[data-outcome='{outcome}']"
        return int(self.row(step).locator(selector).count())

    def screenshot(self, name: str) -> Path:
        """The whole page, in the test's temporary folder (listed at the end of the run)."""
        path = self.folder / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        print(f"screenshot: {path}")
        return path
