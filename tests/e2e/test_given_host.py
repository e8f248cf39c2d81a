"""With E2E_BASE_URL set, the end-to-end tests use that host: only the devhost-only ones are
skipped, and neither devhost nor Azurite is started (checked by running pytest in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.conftest import BASE_URL_VARIABLE, ROOT

pytestmark = pytest.mark.slow  # two pytest runs in subprocesses, a few seconds each

DEVHOST_ONLY = {
    "test_orders::test_the_configured_style_runs_every_new_order",
    "test_orders.TestApprovalAndCancel::test_an_unanswered_approval_times_out",
    "test_orders::test_a_failing_compensation_waits_for_an_operator_then_completes",
    "test_resilience::test_chaos_at_30_percent_over_120_orders_keeps_the_books_exact",
    "test_resilience::test_kill_9_under_load_then_restart_loses_and_doubles_nothing",
}
RUN_ANYWHERE = {  # a sample: orders, idempotent POST, approval, cancel, fuzzing
    "test_orders::test_an_order_completes_and_moves_stock_and_money",
    "test_orders.TestIdempotency::test_concurrent_duplicates_start_exactly_one_saga",
    "test_orders.TestApprovalAndCancel::test_a_big_order_waits_for_approval_then_completes",
    "test_orders.TestApprovalAndCancel::test_cancel_before_the_pivot_compensates",
    "test_fuzz::test_every_operation_answers_as_documented",
}
PORTABLE = (
    "tests/e2e/test_orders.py::TestApprovalAndCancel::test_commands_on_unknown_orders_are_404"
)
# Loaded into the child pytest with -p, before any conftest imports these names.
REFUSE_DEVHOST = """
import devhost.azurite, devhost.process

def refuse(*args, **kwargs):
    raise AssertionError("devhost or Azurite was started although E2E_BASE_URL is set")

devhost.process.DevHostProcess.start = refuse
devhost.azurite.ensure_azurite = refuse
"""


class FakeHost(BaseHTTPRequestHandler):
    """Answers what the portable test needs from an app: health, stock and accounts; 404 else."""

    calls: list[str]

    def do_GET(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.calls.append(f"{self.command} {self.path}")
        known = self.path == "/api/health" or (
            self.command == "PUT" and self.path.startswith(("/api/inventory/", "/api/accounts/"))
        )
        body = json.dumps({} if known else {"status": 404}).encode()
        self.send_response(200 if known else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def fake_host() -> Iterator[tuple[str, list[str]]]:
    calls: list[str] = []
    handler = type("Handler", (FakeHost,), {"calls": calls})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", calls
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run_pytest(tmp_path: Path, base_url: str, *args: str) -> dict[str, str | None]:
    """Run pytest on tests/e2e with E2E_BASE_URL set; each test's id, without its parameters,
    -> its skip reason (None when it was not skipped)."""
    (tmp_path / "refuse_devhost.py").write_text(REFUSE_DEVHOST)
    report = tmp_path / "report.xml"
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_ADDOPTS"}
    env.update({BASE_URL_VARIABLE: base_url, "PYTHONPATH": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "refuse_devhost", "-p", "no:cacheprovider",
         "-q", f"--junit-xml={report}", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    outcomes: dict[str, str | None] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        test = str(case.get("name")).split("[", 1)[0]
        name = f"{case.get('classname', '').removeprefix('tests.e2e.')}::{test}"
        skipped = case.find("skipped")
        outcomes[name] = None if skipped is None else skipped.get("message", "")
    return outcomes


def test_only_the_devhost_only_tests_are_skipped(tmp_path: Path) -> None:
    """Planned, not run: every other end-to-end test would run against the given host."""
    outcomes = run_pytest(tmp_path, "http://127.0.0.1:9", "--setup-plan", "tests/e2e")
    skipped = {name: reason for name, reason in outcomes.items() if reason is not None}
    assert set(skipped) == DEVHOST_ONLY
    assert all("needs devhost's" in str(reason) for reason in skipped.values())
    assert "fault injection" in str(
        skipped["test_orders::test_a_failing_compensation_waits_for_an_operator_then_completes"]
    )
    assert all(outcomes[name] is None for name in RUN_ANYWHERE)


def test_the_tests_talk_to_the_given_host_and_start_no_devhost(tmp_path: Path) -> None:
    with fake_host() as (base_url, calls):
        outcomes = run_pytest(
            tmp_path, base_url, PORTABLE, "tests/e2e/test_resilience.py",
            "tests/e2e/test_orders.py::test_a_failing_compensation_waits_for_an_operator_then_completes",
        )  # fmt: skip
    assert outcomes.pop(PORTABLE.removeprefix("tests/e2e/").replace(".py::", ".", 1)) is None
    assert all(reason is not None for reason in outcomes.values()), outcomes
    assert calls[0] == "GET /api/health"
    assert "POST /api/orders/o-does-not-exist/cancel" in calls
    assert not any("/admin/" in call for call in calls)
