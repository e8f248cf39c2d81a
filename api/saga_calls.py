"""What the API does to a saga through the durable client: start it once, signal it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container
from typing import Any, Protocol, TypeVar

from api.problems import ProblemError, ProblemType, not_found


async def start_once(client: Any, orchestrator: str, instance_id: str, saga_input: Any) -> Any:
    """Start the saga unless an instance with this id exists. Returns None when this call
    started it, or the existing instance's status (a repeat, or a concurrent start that won)."""
    existing = await client.get_status(instance_id, show_input=True)
    if existing:
        return existing
    try:
        await client.start_new(orchestrator, instance_id, saga_input)
    except Exception:
        # host.json refuses to restart a running instance (NonRunningStates), so a concurrent
        # duplicate that started first makes this start fail: answer as for any repeat. Still
        # open: a start that lands after the first saga already FINISHED replaces it; its steps
        # reuse the same idempotency keys and so replay the stored outcomes without new
        # effects, but the history starts over. And once an instance is purged, its key starts
        # a new saga.
        existing = await client.get_status(instance_id, show_input=True)
        if not existing:
            raise
        return existing
    return None


def same_request(saga_input: dict[str, Any], fingerprint: str) -> bool:
    """Whether the saga was started by a request with this fingerprint (its ``requestHash``)."""
    return saga_input.get("requestHash") == fingerprint


def key_reused() -> ProblemError:
    """409: the Idempotency-Key that addressed this saga came with another request body."""
    return ProblemError(
        ProblemType.IDEMPOTENCY_CONFLICT,
        "This Idempotency-Key was already used with a different request.",
    )


class HasStatus(Protocol):
    @property
    def status(self) -> Any: ...


V = TypeVar("V", bound=HasStatus)


async def signal(
    client: Any,
    instance_id: str,
    load: Callable[[], Awaitable[V | None]],
    allowed: Container[Any],
    event: str,
    data: Any,
    *,
    what: str,
    verb: str,
    conflict: ProblemType,
) -> V:
    """Raise ``event`` on the saga if its status (as ``load`` reads it) is ``allowed``;
    404 "No {what} has this id." when there is no such saga, the ``conflict`` problem "The
    {what} is {status}; it cannot be {verb} now." when its status does not allow it."""

    def checked(view: V | None) -> V:
        if view is None:
            raise not_found(f"No {what} has this id.")
        if view.status not in allowed:
            detail = f"The {what} is {view.status}; it cannot be {verb} now."
            raise ProblemError(conflict, detail)
        return view

    view = checked(await load())
    try:
        # The SDK encodes the data itself (twice; the saga decodes it): pass the value.
        await client.raise_event(instance_id, event, data)
    except Exception:
        # The saga may have finished (410) or been purged (404) since it was read; the SDK says
        # which only in its message, so read it again instead of parsing that.
        checked(await load())
        raise
    return view
