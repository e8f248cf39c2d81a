"""Saga activities as local transactions: parse the call, run it once through the ledger, reply.

Every step of the sample repeats the same frame around its business logic; these decorators
are that frame, so an activity module holds only the logic:

    @bp.activity_trigger(input_name="call")
    @local_action(ReserveLine, table=INVENTORY_TABLE, partition=lambda line: line.sku,
                  reads=[STOCK_ROW])
    def reserve_inventory(line: ReserveLine, uow: UnitOfWork) -> dict[str, Any]:
        ...  # read and stage writes through uow; return ok(...) or failure(code, message)

The function the Functions worker sees takes ``call: dict`` (the engine's ``{"key", "input"}``)
and carries the decorated function's name and docstring; it is wrapped in ``saga_activity``
(errors no retry can fix become failures) and ``chaotic`` (the test fault knob).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from shared.chaos import chaotic
from shared.idempotency import UnitOfWork
from shared.ledgers import applied_value, ledger_for, reply
from shared.retention import replay_only_before
from shared.saga.activity import saga_activity
from shared.saga.call import StepCall
from shared.saga.contract import Contract
from shared.services import current

M = TypeVar("M", bound=Contract)
R = TypeVar("R", bound=BaseModel)
Activity = Callable[[dict], Any]


def local_action(
    model: type[M],
    *,
    table: str,
    partition: Callable[[M], str],
    reads: Sequence[str],
    new_rows: bool = False,
    recall: bool = False,
) -> Callable[[Callable[[M, UnitOfWork], dict[str, Any]]], Activity]:
    """An action: ``transaction(step_input, uow)`` runs at most once per idempotency key, in one
    batch in the partition ``partition(step_input)`` of ``table`` with the rows ``reads`` (see
    Ledger.run_once; ``new_rows`` for a step that creates them, ``recall`` for rows that only
    the saga's own steps write). A repeat gets the stored reply, and a key reused with another
    input gets IdempotencyKeyReused."""

    def decorate(transaction: Callable[[M, UnitOfWork], dict[str, Any]]) -> Activity:
        def activity(call: dict) -> Any:
            step = StepCall.parse(call, model)
            record = ledger_for(table).run_once(
                partition(step.input),
                step.key,
                lambda uow: transaction(step.input, uow),
                reads=list(reads),
                request=step.input.to_wire(),
                new_rows=new_rows,
                recall=recall,
                replay_only=_too_old(step),
            )
            return reply(record)

        return _as_activity(transaction, activity)

    return decorate


def local_compensation(
    model: type[M],
    done: type[R],
    *,
    table: str,
    partition: Callable[[M], str],
    reads: Sequence[str],
) -> Callable[[Callable[[M, UnitOfWork, R | None], dict[str, Any]]], Activity]:
    """A compensation: ``undo(step_input, uow, applied)`` runs once, where ``applied`` is the
    action's result (parsed as ``done``) if the action applied and succeeded, or None if it
    never applied (it is then tombstoned, so a late action does nothing) or failed."""

    def decorate(undo: Callable[[M, UnitOfWork, R | None], dict[str, Any]]) -> Activity:
        def activity(call: dict) -> Any:
            step = StepCall.parse(call, model)

            def run(uow: UnitOfWork, action: Any) -> dict[str, Any]:
                value = applied_value(action)
                applied = None if value is None else done.model_validate(value)
                return undo(step.input, uow, applied)

            ledger = ledger_for(table)
            record = ledger.compensate(
                partition(step.input), step.action_key, run, reads=reads, replay_only=_too_old(step)
            )
            return record.result

        return _as_activity(undo, activity)

    return decorate


def _too_old(step: StepCall[Any]) -> bool:
    """Issued so long ago that its record may have been purged (see shared.retention)."""
    if step.issued_at is None:
        return False
    services = current()
    return step.issued_at < replay_only_before(services.clock(), services.settings.retention_days)


def _as_activity(logic: Callable[..., Any], activity: Activity) -> Activity:
    # The worker and call_activity know a function by its __name__, and bind its input by the
    # parameter's name (`call`), which the wrappers' functools.wraps keep.
    for attribute in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(activity, attribute, getattr(logic, attribute))
    return saga_activity(chaotic(activity))
