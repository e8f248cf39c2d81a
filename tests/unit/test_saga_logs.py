"""Saga log records: each names its saga, step, attempt, phase and outcome as fields, so one
saga's trail can be told apart from every other saga's, and Application Insights stores those
fields as custom dimensions.

The sagas run on devhost with the fixture app apps/permanent (`order`: book, pay, ship the
pivot, over fake activities wrapped in `saga_activity`, as every real activity is), so the
records come from the real engine, replays included, and from the activity frame.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

# The exporter's conversion of a record into a trace is not public API; this test is where a
# release that moves it, or stops sending record attributes as properties, shows up.
from azure.monitor.opentelemetry.exporter.export.logs._exporter import _convert_log_to_envelope
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from devhost.instance import COMPLETED
from devhost.testing import DevHost, WaitAbandoned, when_custom_status
from shared.saga.logs import LOGGER_NAME, Phase, call_fields, saga_fields
from shared.saga.status import SagaStatus

APP = Path(__file__).parent / "apps" / "permanent"
ENGINE, ACTIVITY = "shared.saga", "shared.saga.activity"


@pytest.fixture
def host() -> Iterator[DevHost]:
    # Without devhost's replay check, which runs every episode a second time (in another
    # world) and so would log it twice; Azure runs an episode once.
    with DevHost(APP, replay_check=False) as running:
        fake_app(running).reset()
        yield running


class Records:
    """The records of the saga loggers from INFO up, as the worker's root logger lets pass."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO, LOGGER_NAME)
        self._caplog = caplog

    def all(self) -> list[logging.LogRecord]:
        return [r for r in self._caplog.records if r.name.startswith(LOGGER_NAME)]

    def of_saga(self, saga_id: str) -> list[logging.LogRecord]:
        """The filter docs/deploy.md's KQL applies to customDimensions.sagaId."""
        return [r for r in self.all() if getattr(r, "sagaId", None) == saga_id]

    def trail(self, saga_id: str) -> list[tuple[Any, ...]]:
        """(logger, step, phase, outcome, attempt) of one saga's records, in order."""
        return [
            (r.name, *(getattr(r, f, None) for f in ("step", "phase", "outcome", "attempt")))
            for r in self.of_saga(saga_id)
        ]

    def with_outcome(self, saga_id: str, outcome: str) -> list[logging.LogRecord]:
        return [r for r in self.of_saga(saga_id) if getattr(r, "outcome", None) == outcome]


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Records:
    return Records(caplog)


def fake_app(host: DevHost) -> ModuleType:
    function = host.functions.activities["book"].get_user_function()
    return sys.modules[function.__module__]


def fields(record: logging.LogRecord) -> dict[str, Any]:
    names = ("sagaId", "sagaName", "step", "attempt", "phase", "outcome", "code")
    return {name: getattr(record, name) for name in names if hasattr(record, name)}


class TestOneSagasTrail:
    def test_its_records_are_found_by_its_id_among_another_sagas(
        self, host: DevHost, records: Records
    ) -> None:
        """Two sagas run at once; filtering on sagaId gives each one's engine and activity
        records, and only those, in the order they happened."""
        retried = host.start("order", {"fail": {"pay": "fault:1"}})
        refused = host.start("order", {"fail": {"pay": "business"}})
        assert host.wait_for(retried).runtime_status == COMPLETED
        assert host.wait_for(refused).runtime_status == COMPLETED

        every = records.all()
        assert every and {getattr(r, "sagaId", None) for r in every} == {retried, refused}
        assert not [r for r in records.of_saga(retried) if refused in r.getMessage()]
        assert records.trail(retried) == [
            (ACTIVITY, "book", "forward", "succeeded", 1),
            (ENGINE, "book", "forward", "succeeded", 1),
            (ACTIVITY, "pay", "forward", "faulted", 1),
            (ENGINE, "pay", "forward", "attempt_failed", 1),
            (ACTIVITY, "pay", "forward", "succeeded", 2),
            (ENGINE, "pay", "forward", "succeeded", 2),
            (ACTIVITY, "ship", "forward", "succeeded", 1),
            (ENGINE, "ship", "forward", "succeeded", 1),
            (ENGINE, None, "forward", "Completed", None),
        ]
        assert records.trail(refused) == [
            (ACTIVITY, "book", "forward", "succeeded", 1),
            (ENGINE, "book", "forward", "succeeded", 1),
            (ACTIVITY, "pay", "forward", "failed", 1),
            (ENGINE, "pay", "forward", "attempt_failed", 1),
            (ENGINE, "pay", "forward", "failed", 1),
            (ENGINE, "pay", "compensating", "Compensating", None),
            (ACTIVITY, "pay", "compensating", "succeeded", 1),  # refund: outcome unknown
            (ENGINE, "pay", "compensating", "succeeded", 1),
            (ACTIVITY, "book", "compensating", "succeeded", 1),
            (ENGINE, "book", "compensating", "succeeded", 1),
            (ENGINE, None, "compensating", "Compensated", None),
        ]

    def test_engine_records_name_the_saga_definition_too(
        self, host: DevHost, records: Records
    ) -> None:
        instance_id = host.start("order", {})
        host.wait_for(instance_id)
        engine = [r for r in records.of_saga(instance_id) if r.name == ENGINE]
        assert engine and {r.sagaName for r in engine} == {"order"}


class TestWarnings:
    def test_entering_compensating_warns_with_the_failed_step_and_its_error(
        self, host: DevHost, records: Records
    ) -> None:
        instance_id = host.start("order", {"fail": {"pay": "business"}})
        host.wait_for(instance_id)
        [warning] = records.with_outcome(instance_id, "Compensating")
        assert warning.levelno == logging.WARNING
        assert fields(warning) == {
            "sagaId": instance_id,
            "sagaName": "order",
            "step": "pay",
            "phase": "compensating",
            "outcome": "Compensating",
            "code": "Refused",
        }
        assert "step pay: Refused: pay refused" in warning.getMessage()

    def test_a_stuck_step_past_the_pivot_warns_as_it_enters_needs_attention(
        self, host: DevHost, records: Records
    ) -> None:
        """The pivot raises on every attempt: after its three the saga waits for an operator,
        going forward (nothing is undone past the pivot)."""
        instance_id = host.start("order", {"fail": {"ship": "value_error"}})
        with pytest.raises(WaitAbandoned):
            host.wait_for(instance_id, give_up=when_custom_status("status", "NeedsAttention"))
        [warning] = records.with_outcome(instance_id, "NeedsAttention")
        assert warning.levelno == logging.WARNING
        assert (warning.step, warning.phase, warning.code) == (
            "ship",
            "forward",
            "ActivityFault",
        )
        message = warning.getMessage()
        assert "NeedsAttention: step ship: ActivityFault:" in message
        assert "ship attempt 3 found a broken invariant" in message
        engine = [
            (r.outcome, getattr(r, "attempt", None))
            for r in records.of_saga(instance_id)
            if r.name == ENGINE and getattr(r, "step", None) == "ship"
        ]
        assert engine == [
            ("attempt_failed", 1),
            ("attempt_failed", 2),
            ("attempt_failed", 3),
            ("faulted", 3),
            ("NeedsAttention", None),
        ]

    def test_a_stuck_compensation_warns_in_the_compensating_phase(
        self, host: DevHost, records: Records
    ) -> None:
        instance_id = host.start("order", {"fail": {"pay": "business", "unbook": "permanent"}})
        host.wait_idle()
        [warning] = records.with_outcome(instance_id, "NeedsAttention")
        assert (warning.levelno, warning.step, warning.phase, warning.code) == (
            logging.WARNING,
            "book",
            "compensating",
            "PermanentFault",
        )
        [refusal] = [r for r in records.of_saga(instance_id) if r.levelno == logging.ERROR]
        assert (refusal.name, refusal.step, refusal.phase, refusal.outcome) == (
            ACTIVITY,
            "book",
            "compensating",
            "failed",
        )


class TestReplays:
    def test_each_record_is_written_once_whatever_the_episodes(
        self, host: DevHost, records: Records
    ) -> None:
        """The orchestrator replays its history in every episode; the engine logs only the new
        part, so every (step, outcome, attempt) of the engine appears once."""
        instance_id = host.start("order", {"fail": {"pay": "fault:2"}})
        host.wait_for(instance_id)
        engine = [
            (getattr(r, "step", None), r.outcome, getattr(r, "attempt", None))
            for r in records.of_saga(instance_id)
            if r.name == ENGINE
        ]
        assert len(engine) == len(set(engine)) == 6  # book, pay's three attempts, ship, Completed
        assert engine.count(("pay", "attempt_failed", 2)) == 1


class TestCustomDimensions:
    def test_the_azure_monitor_exporter_sends_the_fields_as_custom_dimensions(
        self, host: DevHost
    ) -> None:
        """What Azure does with PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY: the worker's
        configure_azure_monitor puts OpenTelemetry's LoggingHandler on the logger named by
        PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME (shared.saga), and the Azure Monitor exporter
        turns each record into a trace whose properties (customDimensions) hold the fields.
        The records go to memory here, then through the exporter's own conversion."""
        captured = InMemoryLogRecordExporter()
        provider = LoggerProvider()
        provider.add_log_record_processor(SimpleLogRecordProcessor(captured))
        handler = LoggingHandler(logger_provider=provider)
        saga_logger = logging.getLogger(LOGGER_NAME)
        level = saga_logger.level
        saga_logger.addHandler(handler)
        saga_logger.setLevel(logging.INFO)
        try:
            instance_id = host.start("order", {"fail": {"pay": "business"}})
            host.wait_for(instance_id)
        finally:
            saga_logger.removeHandler(handler)
            saga_logger.setLevel(level)
        sent = [_convert_log_to_envelope(record) for record in captured.get_finished_logs()]
        dimensions = [item.data.base_data.properties for item in sent]
        assert dimensions and all(d["sagaId"] == instance_id for d in dimensions)
        [compensating] = [d for d in dimensions if d.get("outcome") == "Compensating"]
        assert compensating["step"] == "pay" and compensating["code"] == "Refused"
        assert compensating["phase"] == "compensating" and compensating["sagaName"] == "order"
        activity = [d for d in dimensions if d["logger_name"] == ACTIVITY]
        assert {(d["step"], d["phase"], d["outcome"]) for d in activity} >= {
            ("book", "forward", "succeeded"),
            ("pay", "forward", "failed"),
            ("book", "compensating", "succeeded"),
        }
        attempts = {d["attempt"] for d in dimensions if "attempt" in d}
        assert attempts == {"1"}  # numbers arrive as text: toint() them in KQL


class TestDocumentedQueries:
    DOC = (Path(__file__).parents[2] / "docs" / "deploy.md").read_text()

    def test_the_waiting_query_knows_every_saga_status(self) -> None:
        """ "Sagas waiting for a person" takes each saga's last status record: it must list
        every status the engine logs, or a resumed saga would still look parked."""
        listed = re.search(r"let statuses = dynamic\((\[.*?\])\);", self.DOC)
        assert listed is not None
        assert sorted(json.loads(listed.group(1))) == sorted(s.value for s in SagaStatus)

    def test_the_queries_use_only_fields_the_records_carry(self) -> None:
        used = set(re.findall(r"customDimensions\.(\w+)", self.DOC))
        carried = set(
            saga_fields(
                "i", saga="s", step="t", attempt=1, phase=Phase.FORWARD, outcome="o", code="c"
            )
        )
        assert used and used <= carried | {"logger_name"}  # logger_name: the exporter's own


class TestFields:
    def test_fields_that_do_not_apply_are_left_out(self) -> None:
        """The exporter would drop a None attribute with a warning; we never send one."""
        assert saga_fields("o-1", outcome="Completed") == {"sagaId": "o-1", "outcome": "Completed"}

    @pytest.mark.parametrize(
        ("call", "expected"),
        [
            (
                {"key": "o-1:pay", "input": {}},
                {"sagaId": "o-1", "step": "pay", "phase": "forward"},
            ),
            (
                {"key": "o-1:pay:compensate", "actionKey": "o-1:pay", "input": {}},
                {"sagaId": "o-1", "step": "pay", "phase": "compensating"},
            ),
            (
                {"key": "tenant:o-1:reserve-0", "input": {}, "attempt": 2},
                {"sagaId": "tenant:o-1", "step": "reserve-0", "phase": "forward", "attempt": 2},
            ),
            ({"key": "no-step", "input": {}}, {}),
            ({"key": "o-1:pay", "input": {}, "attempt": True}, None),
        ],
        ids=["action", "compensation", "colon in the id, attempt", "not a saga key", "bool"],
    )
    def test_an_activity_reads_them_from_its_call(
        self, call: dict[str, Any], expected: dict[str, Any] | None
    ) -> None:
        """From the key ({sagaId}:{step}[:compensate]) and, once the engine sends it, the
        attempt; a call the engine did not make gives nothing rather than a wrong id."""
        found = call_fields(call)
        if expected is None:
            assert "attempt" not in found
        else:
            assert found == expected
