"""An order's timeline from its orchestration history: bars per attempt, backoffs, gates,
compensations, fan-outs grouped, and a time axis that compresses long idle stretches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from api.models import OrderStatus
from api.operator_axis import axis
from api.operator_history import read_history
from api.operator_timeline import build_timeline
from api.responses import FailureView, OrderView

ID = "o-" + "a" * 32
T0 = datetime(2030, 1, 1, tzinfo=UTC)


def at(ms: float) -> str:
    return (T0 + timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def call(step: str, start: float, end: float | None, result: Any = None, fault: bool = False,
         compensation: bool = False) -> dict[str, Any]:  # fmt: skip
    key = f"{ID}:{step}" + (":compensate" if compensation else "")
    payload = json.dumps({"key": key, "input": {}})
    if end is None:
        return {"EventType": "TaskScheduled", "Timestamp": at(start), "Name": "f", "Input": payload}
    event = {"EventType": "TaskFailed" if fault else "TaskCompleted", "Timestamp": at(end),
             "ScheduledTime": at(start), "FunctionName": "f", "Input": payload}  # fmt: skip
    if not fault:
        event["Result"] = result if result is not None else {"ok": True, "value": None}
    return event


def raised(name: str, ms: float, data: Any) -> dict[str, Any]:
    # As the SDK's client sends it: the data encoded twice.
    return {"EventType": "EventRaised", "Timestamp": at(ms), "Name": name,
            "Input": json.dumps(json.dumps(data))}  # fmt: skip


def view(status: OrderStatus, failure: FailureView | None = None,
         attention: FailureView | None = None) -> OrderView:  # fmt: skip
    return OrderView(order_id=ID, status=status, customer_id="c", items=[], total_cents=None,
                     steps=[], failure=failure, attention=attention, created_at=T0,
                     updated_at=T0)  # fmt: skip


def step(name: str, status: str, attempts: int = 1) -> dict[str, Any]:
    return {"name": name, "status": status, "attempts": attempts, "lastError": None}


def fan_out(name: str, statuses: list[str], attempts: list[int]) -> dict[str, Any]:
    return {"name": name, "members": len(statuses), "status": statuses, "attempts": attempts}


def timeline(history: list[dict[str, Any]], steps: list[dict[str, Any]], order: OrderView,
             now_ms: float = 60_000, finished: bool = True) -> dict[str, Any]:  # fmt: skip
    events = [{"EventType": "ExecutionStarted", "Timestamp": at(0)}, *history]
    if finished:
        last = max(event["Timestamp"] for event in events)  # one format: text order is time order
        events.append({"EventType": "ExecutionCompleted", "Timestamp": last})
    now = T0 + timedelta(milliseconds=now_ms)
    built = build_timeline(order, steps, read_history(events, ID), now, finished)
    return built.to_json()


def rows(built: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in built["rows"]}


def shape(bars: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(b["kind"], b["startMs"], b["endMs"], b["attempt"], b["outcome"], b["code"])
            for b in bars]  # fmt: skip


class TestSteps:
    def test_each_attempt_is_a_bar_and_a_retry_waits_its_backoff_between_them(self) -> None:
        built = timeline(
            [call("charge", 10, 20, fault=True), call("charge", 1020, 1030)],
            [step("charge", "Succeeded", 2)],
            view(OrderStatus.COMPLETED),
        )
        assert shape(rows(built)["charge"]["bars"]) == [
            ("action", 10, 20, 1, "fault", "ActivityFault"),
            ("backoff", 20, 1020, 2, "ok", None),
            ("action", 1020, 1030, 2, "ok", None),
        ]

    def test_a_business_failure_is_marked_as_the_cause_of_the_compensation(self) -> None:
        failure = FailureView(step="charge", code="InsufficientFunds", message="no money")
        built = timeline(
            [call("create", 0, 5),
             call("charge", 10, 20, {"ok": False, "error": {"code": "InsufficientFunds"}}),
             call("create", 25, 30, compensation=True)],
            [step("create", "Compensated"), step("charge", "Failed")],
            view(OrderStatus.COMPENSATED, failure),
        )  # fmt: skip
        charge, create = rows(built)["charge"], rows(built)["create"]
        assert (charge["cause"], create["cause"]) == (True, False)
        assert shape(charge["bars"]) == [("action", 10, 20, 1, "failed", "InsufficientFunds")]
        assert [bar["kind"] for bar in create["bars"]] == ["action", "compensation"]
        assert built["failure"]["code"] == "InsufficientFunds"

    def test_a_call_still_out_is_running_until_the_saga_moves_on(self) -> None:
        running = timeline([call("create", 10, None)], [step("create", "Running")],
                           view(OrderStatus.RUNNING), now_ms=500, finished=False)  # fmt: skip
        assert shape(rows(running)["create"]["bars"]) == [("action", 10, None, 1, "running", None)]
        timed_out = timeline(
            [call("create", 10, None), call("create", 900, 950, compensation=True)],
            [step("create", "Compensated")],
            view(OrderStatus.COMPENSATED),
        )
        assert shape(rows(timed_out)["create"]["bars"])[0] == (
            "action", 10, 900, 1, "no-result", None)  # fmt: skip

    def test_an_unfinished_saga_ends_at_the_later_of_now_and_its_last_event(self) -> None:
        """devhost's --time-scale runs the durable clock ahead of the wall clock."""
        built = timeline([call("create", 0, 5000)], [step("create", "Succeeded")],
                         view(OrderStatus.RUNNING), now_ms=100, finished=False)  # fmt: skip
        assert built["endMs"] == 5000


class TestGatesAndSignals:
    def test_an_approval_waits_from_the_steps_before_it_to_the_decision(self) -> None:
        built = timeline(
            [call("create", 0, 10), raised("Approval", 5000, {"approved": True}),
             call("charge", 5010, 5020)],
            [step("create", "Succeeded"), step("approval", "Succeeded", 0),
             step("charge", "Succeeded")],
            view(OrderStatus.COMPLETED),
        )  # fmt: skip
        assert shape(rows(built)["approval"]["bars"]) == [("gate", 10, 5000, 1, "ok", None)]
        assert rows(built)["approval"]["kind"] == "gate"
        assert built["events"] == [{"atMs": 5000, "name": "Approval", "detail": "approved"}]

    def test_a_gate_still_waiting_is_open_and_a_skipped_one_has_no_bar(self) -> None:
        steps = [step("create", "Succeeded"), step("approval", "Running", 0)]
        built = timeline([call("create", 0, 10)], steps, view(OrderStatus.AWAITING_APPROVAL),
                         finished=False)  # fmt: skip
        assert shape(rows(built)["approval"]["bars"]) == [("gate", 10, None, 1, "running", None)]
        steps = [step("create", "Succeeded"), step("approval", "Skipped", 0)]
        skipped = timeline([call("create", 0, 10)], steps, view(OrderStatus.COMPLETED))
        assert rows(skipped)["approval"]["bars"] == []
        assert rows(skipped)["approval"]["kind"] == "step"

    def test_a_cancel_during_the_wait_ends_it_without_a_decision(self) -> None:
        failure = FailureView(step="approval", code="Cancelled", message="a Cancel request")
        built = timeline(
            [call("create", 0, 10), raised("Cancel", 300, None),
             call("create", 310, 320, compensation=True)],
            [step("create", "Compensated"), step("approval", "Skipped", 0)],
            view(OrderStatus.CANCELLED, failure),
        )  # fmt: skip
        assert shape(rows(built)["approval"]["bars"]) == [
            ("gate", 10, 300, 1, "no-result", "Cancelled")]  # fmt: skip
        assert built["events"] == [{"atMs": 300, "name": "Cancel", "detail": None}]


class TestFanOut:
    def test_members_are_grouped_under_envelopes_of_their_bars(self) -> None:
        history = [call(f"reserve-{i}", 10 + i, 20 + i) for i in range(100)]
        history += [call("reserve-7", 200, 210, compensation=True)]
        attention = FailureView(step="reserve-7", code="ActivityFault", message="…")
        built = timeline(history, [fan_out("reserve", ["Succeeded"] * 100, [1] * 100)],
                         view(OrderStatus.NEEDS_ATTENTION, attention=attention))  # fmt: skip
        group = rows(built)["reserve"]
        assert (group["kind"], len(group["members"]), group["attention"]) == ("fan-out", 100, True)
        assert shape(group["bars"]) == [
            ("action", 10, 119, 1, "ok", None),
            ("compensation", 200, 210, 1, "ok", None),
        ]
        assert group["members"][99]["name"] == "reserve-99"
        assert shape(group["members"][99]["bars"]) == [("action", 109, 119, 1, "ok", None)]

    def test_the_envelope_takes_the_worst_final_outcome_and_the_group_the_worst_status(
        self,
    ) -> None:
        failure = FailureView(step="reserve-1", code="OutOfStock", message="none left")
        built = timeline(
            [call("reserve-0", 0, 10),
             call("reserve-1", 0, 12, {"ok": False, "error": {"code": "OutOfStock"}})],
            [fan_out("reserve", ["Compensated", "Failed"], [1, 1])],
            view(OrderStatus.COMPENSATED, failure),
        )  # fmt: skip
        group = rows(built)["reserve"]
        assert (group["status"], group["cause"]) == ("Failed", True)
        assert shape(group["bars"]) == [("action", 0, 12, 1, "failed", "OutOfStock")]

    def test_the_axis_compresses_idle_stretches_between_members_not_their_envelope(
        self,
    ) -> None:
        history = [call("reserve-0", 0, 10), call("reserve-1", 3000, 3010, fault=True)]
        built = timeline(history, [fan_out("reserve", ["Succeeded", "Failed"], [1, 1])],
                         view(OrderStatus.COMPENSATED))  # fmt: skip
        assert {"startMs": 10, "endMs": 3000, "compressed": True} in built["axis"]


class TestHistory:
    def test_calls_without_an_idempotency_key_and_unknown_events_are_tolerated(self) -> None:
        history = read_history(
            [{"EventType": "ExecutionStarted", "Timestamp": at(0)},
             {"EventType": "TaskCompleted", "Timestamp": at(5), "FunctionName": "ping"},
             {"EventType": "GenericEvent", "Timestamp": at(6)},
             {"EventType": "TaskCompleted", "Timestamp": "not a time"}, "junk"],
            ID,
        )  # fmt: skip
        assert [(a.step, a.outcome) for a in history.attempts] == [("ping", "ok")]

    def test_a_malformed_result_counts_as_a_failure(self) -> None:
        history = read_history([call("create", 0, 5, result="nonsense")], ID)
        assert (history.attempts[0].outcome, history.attempts[0].code) == (
            "failed", "MalformedResult")  # fmt: skip


class TestAxis:
    def test_an_idle_stretch_longer_than_all_the_work_is_compressed(self) -> None:
        segments = [s.to_json() for s in axis([(0, 100), (50, 200), (3_600_000, 3_600_300)],
                                              3_600_300)]  # fmt: skip
        assert segments == [
            {"startMs": 0, "endMs": 200, "compressed": False},
            {"startMs": 200, "endMs": 3_600_000, "compressed": True},
            {"startMs": 3_600_000, "endMs": 3_600_300, "compressed": False},
        ]

    def test_short_gaps_stay_linear(self) -> None:
        segments = axis([(0, 100), (300, 400)], 500)
        assert [(s.start_ms, s.end_ms, s.compressed) for s in segments] == [(0, 500, False)]

    def test_nothing_drawn_still_gives_an_axis(self) -> None:
        assert [(s.start_ms, s.end_ms) for s in axis([], 0)] == [(0, 1)]
