"""Builds an order's timeline: the saga's steps in the progress record's order, each drawn with
the bars of its attempts, backoffs and compensations from the orchestration history."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from api.operator_axis import axis
from api.operator_history import Attempt, History
from api.operator_models import (
    BarKind,
    Outcome,
    RowKind,
    TimelineBar,
    TimelineEvent,
    TimelineRow,
    TimelineView,
)
from api.responses import OrderView
from shared.saga.outcome import EngineCode
from shared.saga.signals import RETRY_EVENT

# The fan-out row's status when its members differ: the one most worth a look.
_STATUS_RANK = ["Failed", "TimedOut", "Compensating", "Running", "Compensated", "Succeeded",
                "Pending", "Skipped"]  # fmt: skip
_OUTCOME_RANK = ["failed", "running", "no-result", "fault", "ok"]
_GATE_OUTCOME: dict[str, Outcome] = {
    "Succeeded": "ok",
    "Failed": "failed",
    "TimedOut": "failed",
    "Running": "running",
}


@dataclass(frozen=True)
class _Clock:
    origin: datetime

    def ms(self, instant: datetime | None) -> int | None:
        if instant is None:
            return None
        return max(0, round((instant - self.origin).total_seconds() * 1000))


def build_timeline(
    view: OrderView,
    record_steps: Any,
    history: History,
    now: datetime,
    finished: bool,
) -> TimelineView:
    """``record_steps`` is the progress record's ``steps``; ``now`` ends what is still going on.
    A step the saga waited at without calling anything is a gate (an approval)."""
    clock = _Clock(history.started or view.created_at)
    # A host's durable clock may run ahead of this one (devhost's --time-scale).
    now = max(now, history.latest or now)
    end = (history.ended or now) if finished else now
    attempts = _settled(history.attempts, end, finished)
    bars = _bars(attempts, clock)
    rows: list[TimelineRow] = []
    for entry in record_steps if isinstance(record_steps, list) else ():
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        if isinstance(entry.get("members"), int):
            rows.append(_fan_out(entry, bars, view))
        elif entry["name"] in bars:
            rows.append(_row(entry, "step", bars.pop(entry["name"]), view))
        else:
            gate_bars = _gate_bar(entry, rows, history, clock, view)
            rows.append(_row(entry, "gate" if gate_bars else "step", gate_bars, view))
    rows.extend(_row({"name": name}, "step", extra, view) for name, extra in bars.items())
    # The calls themselves, not a fan-out's envelopes: those span its members' idle stretches.
    busy = [
        (bar.start_ms, bar.end_ms if bar.end_ms is not None else clock.ms(end) or 0)
        for row in rows
        for leaf in row.members or [row]
        for bar in leaf.bars
        if bar.kind in ("action", "compensation")
    ]
    end_ms = clock.ms(end) or 0
    return TimelineView(
        order_id=view.order_id,
        status=view.status,
        started_at=clock.origin,
        end_ms=end_ms,
        finished=finished,
        axis=axis(busy, end_ms),
        rows=rows,
        events=[
            _event(signal.name, signal.data, clock.ms(signal.at) or 0) for signal in history.signals
        ],
        failure=view.failure,
        attention=view.attention,
    )


def _settled(attempts: list[Attempt], end: datetime, finished: bool) -> list[Attempt]:
    """An attempt without a result ends where the saga stopped waiting for it: at its step's
    next attempt, or at the first compensation started after it (a timeout), or at the end of
    a finished saga; otherwise it is still running."""
    settled = []
    for index, attempt in enumerate(attempts):
        if attempt.end is not None:
            settled.append(attempt)
            continue
        later = [
            other.start
            for other in attempts[index + 1 :]
            if other.start > attempt.start and _moves_on(attempt, other)
        ]
        if later:
            settled.append(replace(attempt, end=min(later), outcome="no-result"))
        elif finished:
            settled.append(replace(attempt, end=end, outcome="no-result"))
        else:
            settled.append(attempt)
    return settled


def _moves_on(attempt: Attempt, other: Attempt) -> bool:
    """Whether ``other``, started later, shows the saga no longer waits for ``attempt``."""
    if attempt.compensation:
        return other.compensation and other.step == attempt.step
    return other.compensation or other.step == attempt.step


def _bars(attempts: list[Attempt], clock: _Clock) -> dict[str, list[TimelineBar]]:
    """Each step's bars: its attempts, the backoff before each retry, its compensation's."""
    by_call: dict[tuple[str, bool], list[Attempt]] = defaultdict(list)
    for attempt in attempts:
        by_call[(attempt.step, attempt.compensation)].append(attempt)
    bars: dict[str, list[TimelineBar]] = defaultdict(list)
    for (step, compensation), calls in by_call.items():
        kind: BarKind = "compensation" if compensation else "action"
        previous: Attempt | None = None
        for number, attempt in enumerate(calls, start=1):
            start = clock.ms(attempt.start) or 0
            if previous is not None and previous.end is not None and previous.end < attempt.start:
                backoff_start = clock.ms(previous.end) or 0
                bars[step].append(
                    TimelineBar(
                        kind="backoff",
                        start_ms=backoff_start,
                        end_ms=start,
                        attempt=number,
                        outcome="ok",
                    )
                )
            bars[step].append(
                TimelineBar(
                    kind=kind,
                    start_ms=start,
                    end_ms=clock.ms(attempt.end),
                    attempt=number,
                    outcome=attempt.outcome,
                    code=attempt.code,
                )
            )
            previous = attempt
    return bars


def _gate_bar(
    entry: dict[str, Any],
    earlier: list[TimelineRow],
    history: History,
    clock: _Clock,
    view: OrderView,
) -> list[TimelineBar]:
    """The gate's wait: from the end of the steps before it to the first signal other than an
    operator's retry (a decision or a Cancel), or the first call after it began (its timeout
    started the compensation). None when the saga did not wait there."""
    status = entry.get("status")
    failure = view.failure
    cancelled = (
        failure is not None
        and failure.step == entry["name"]
        and (failure.code == EngineCode.CANCELLED)
    )
    if status not in _GATE_OUTCOME and not cancelled:
        return []  # not required, or not reached
    ends = [
        bar.end_ms or 0
        for row in earlier
        for member in [row, *row.members]
        for bar in member.bars
        if bar.kind == "action"
    ]
    start_ms = max(ends, default=0)
    closing = [clock.ms(signal.at) or 0 for signal in history.signals if signal.name != RETRY_EVENT]
    closing += [clock.ms(attempt.start) or 0 for attempt in history.attempts]
    end_ms = min((at for at in closing if at >= start_ms), default=None)
    outcome: Outcome = "no-result" if cancelled else _GATE_OUTCOME[str(status)]
    if outcome == "running":
        end_ms = None
    code = failure.code if failure is not None and failure.step == entry["name"] else None
    return [
        TimelineBar(
            kind="gate", start_ms=start_ms, end_ms=end_ms, attempt=1, outcome=outcome, code=code
        )
    ]


def _fan_out(
    entry: dict[str, Any], bars: dict[str, list[TimelineBar]], view: OrderView
) -> TimelineRow:
    """One row per member (``{name}-{i}``), under envelopes of their actions and compensations."""
    name, statuses, attempts = entry["name"], entry.get("status"), entry.get("attempts")
    members = [
        _row(
            {
                "name": f"{name}-{index}",
                "status": _at(statuses, index),
                "attempts": _at(attempts, index),
            },
            "step",
            bars.pop(f"{name}-{index}", []),
            view,
        )
        for index in range(entry["members"])
    ]
    envelopes = [_envelope(members, "action"), _envelope(members, "compensation")]
    ranked = [str(member.status) for member in members]
    status = min(ranked, key=_rank(_STATUS_RANK), default="Pending")
    return TimelineRow(
        name=name,
        kind="fan-out",
        status=status,
        attempts=max((member.attempts for member in members), default=0),
        cause=any(member.cause for member in members),
        attention=any(member.attention for member in members),
        bars=[bar for bar in envelopes if bar is not None],
        members=members,
    )


def _envelope(members: list[TimelineRow], kind: BarKind) -> TimelineBar | None:
    """From the first start to the last end of the members' ``kind`` bars; its outcome is the
    worst among each member's last attempt."""
    spans = [[bar for bar in member.bars if bar.kind == kind] for member in members]
    spans = [member_bars for member_bars in spans if member_bars]
    if not spans:
        return None
    every = [bar for member_bars in spans for bar in member_bars]
    ends = [bar.end_ms for bar in every]
    last = [member_bars[-1] for member_bars in spans]
    worst = min(last, key=lambda bar: _rank(_OUTCOME_RANK)(bar.outcome))
    return TimelineBar(
        kind=kind,
        start_ms=min(bar.start_ms for bar in every),
        end_ms=None if None in ends else max(end for end in ends if end is not None),
        attempt=max(bar.attempt for bar in every),
        outcome=worst.outcome,
        code=worst.code,
    )


def _row(
    entry: dict[str, Any], kind: RowKind, bars: list[TimelineBar], view: OrderView
) -> TimelineRow:
    name = entry["name"]
    attempts = entry.get("attempts")
    return TimelineRow(
        name=name,
        kind=kind,
        status=str(entry.get("status") or "Pending"),
        attempts=attempts if isinstance(attempts, int) else 0,
        cause=view.failure is not None and view.failure.step == name,
        attention=view.attention is not None and view.attention.step == name,
        bars=bars,
    )


def _event(name: str, data: Any, at_ms: int) -> TimelineEvent:
    """A decision is shown as approved or rejected; its comment is in the failure notice."""
    approved = data.get("approved") if isinstance(data, dict) else None
    detail = None
    if isinstance(approved, bool):
        detail = "approved" if approved else "rejected"
    return TimelineEvent(at_ms=at_ms, name=name, detail=detail)


def _rank(order: list[str]) -> Any:
    return lambda value: order.index(value) if value in order else len(order)


def _at(values: Any, index: int) -> Any:
    return values[index] if isinstance(values, list) and index < len(values) else None
