"""The engine's log records of one saga: its status changes and how each attempt ended.

Written from the orchestrator, so only when it is not replaying (a replay repeats what an
earlier episode already logged), and only built when its level is enabled. Each record carries
the fields of ``shared.saga.logs``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from shared.saga.calls import Call, Settled, Settlement
from shared.saga.logs import LOGGER_NAME, Phase, saga_fields
from shared.saga.outcome import EngineCode, StepError

log = logging.getLogger(LOGGER_NAME)


class Trail:
    """Writes the records of the saga ``saga`` running as the orchestration ``context``."""

    def __init__(self, context: Any, saga: str) -> None:
        self._context = context
        self._saga = saga

    def status(
        self, status: str, phase: Phase, notice: Mapping[str, Any] | None, step: str | None
    ) -> None:
        """The saga entered ``status``. A ``notice`` (``{"step", "code", "message"}``: the failure
        it compensates for, or what an operator must fix) makes the record a warning."""
        level = logging.INFO if notice is None else logging.WARNING
        if self._context.is_replaying or not log.isEnabledFor(level):
            return
        if notice is not None:
            log.warning(
                "saga %s (%s): %s: step %s: %s: %s",
                self._saga,
                self._context.instance_id,
                status,
                notice["step"],
                notice["code"],
                notice["message"],
                extra=self._fields(notice["step"], phase, status, code=notice["code"]),
            )
            return
        log.info(
            "saga %s (%s): %s",
            self._saga,
            self._context.instance_id,
            status,
            extra=self._fields(step, phase, status),
        )

    def attempt_failed(self, call: Call, attempt: int, error: StepError) -> None:
        if self._context.is_replaying or not log.isEnabledFor(logging.INFO):
            return
        log.info(
            "saga %s (%s): step %s, %s attempt %d failed: %s: %s",
            self._saga,
            self._context.instance_id,
            call.name,
            _phase(call),
            attempt,
            error.code,
            error.message,
            extra=self._fields(
                call.name, _phase(call), "attempt_failed", attempt=attempt, code=error.code
            ),
        )

    def settled(self, result: Settled, attempt: int) -> None:
        succeeded = result.settlement is Settlement.SUCCEEDED
        level = logging.INFO if succeeded else logging.WARNING
        if self._context.is_replaying or not log.isEnabledFor(level):
            return
        call = result.call
        code = None if result.error is None else result.error.code
        log.log(
            level,
            "saga %s (%s): step %s, %s: %s after %d attempt(s)%s",
            self._saga,
            self._context.instance_id,
            call.name,
            _phase(call),
            result.settlement,
            attempt,
            "" if result.error is None else f": {result.error.code}: {result.error.message}",
            extra=self._fields(
                call.name, _phase(call), str(result.settlement), attempt=attempt, code=code
            ),
        )

    def summary_dropped(self, phase: Phase, limit_units: int) -> None:
        if self._context.is_replaying:
            return
        log.warning(
            "saga %s (%s): summary over %d UTF-16 units of JSON, not published",
            self._saga,
            self._context.instance_id,
            limit_units,
            extra=self._fields(None, phase, "summary_dropped"),
        )

    def code_raised(self, step: str, error: BaseException) -> None:
        """A plain-code saga's own code raised at ``step``: it compensates, then fails."""
        if self._context.is_replaying:
            return
        log.error(
            "saga %s (%s): its code raised at %s; compensating, then failing the instance",
            self._saga,
            self._context.instance_id,
            step,
            exc_info=error,
            extra=self._fields(step, Phase.FORWARD, "raised", code=EngineCode.ORCHESTRATOR_ERROR),
        )

    def _fields(
        self,
        step: str | None,
        phase: Phase,
        outcome: str,
        *,
        attempt: int | None = None,
        code: str | None = None,
    ) -> dict[str, Any]:
        return saga_fields(
            self._context.instance_id,
            saga=self._saga,
            step=step,
            attempt=attempt,
            phase=phase,
            outcome=outcome,
            code=code,
        )


def _phase(call: Call) -> Phase:
    return Phase.COMPENSATING if call.compensating else Phase.FORWARD
