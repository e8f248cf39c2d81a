"""One orchestrator episode: the SDK's input JSON in, its actions and outcome out."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"
WHEN_ANY, WHEN_ALL = 11, 12


@dataclass
class EpisodeResult:
    """What the orchestrator asked for in one episode."""

    actions: list[dict[str, Any]] = field(default_factory=list)  # flattened, cumulative
    top_actions: list[dict[str, Any]] = field(default_factory=list)  # as sent: compounds kept
    is_done: bool = False
    output: Any = None
    error: str | None = None  # the orchestrator raised (or the SDK failed)
    crashed: bool = False  # the handler raised without reporting its actions: nothing to replay
    custom_status: Any = None
    has_custom_status: bool = False


def build_payload(
    instance_id: str,
    input_json: str | None,
    parent_instance_id: str | None,
    history_json: str,
) -> str:
    """The orchestration trigger's JSON. ``input_json`` is the instance's input as the host
    stores it (a JSON text) and goes in as that JSON token, as OrchestrationContextToString
    sends it; ``history_json`` is already a JSON array."""
    head = json.dumps(
        {
            "instanceId": instance_id,
            "isReplaying": False,
            "parentInstanceId": parent_instance_id,
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
            # The Azure Storage provider's timer limits (AzureStorageDurabilityProvider): the SDK
            # splits a timer further out than 6 days into 3-day steps, as on Azure.
            "maximumShortTimerDuration": "6.00:00:00",
            "longRunningTimerIntervalDuration": "3.00:00:00",
        }
    )
    token = input_json if input_json and input_json.strip() else "null"
    return head[:-1] + ', "input": ' + token + ', "history": ' + history_json + "}"


def run_episode(handler: Any, payload: str) -> EpisodeResult:
    """Call the SDK's orchestrator handler and decode its reply, including raised failures."""
    return decode_episode(*call_orchestrator(handler, payload))


def call_orchestrator(handler: Any, payload: str) -> tuple[str | None, str | None]:
    """The SDK handler's reply JSON, or else the text of what it raised (a worker sends these)."""
    try:
        return handler(payload), None
    except Exception as error:  # the SDK reports user exceptions by raising
        return None, str(error) or type(error).__name__


def decode_episode(reply: str | None, raised: str | None) -> EpisodeResult:
    if reply is None:
        message, marker, state_json = (raised or "").partition(OUT_OF_PROC_MARKER)
        if not marker:
            return EpisodeResult(error=message, crashed=True)
        result = _decode(json.loads(state_json))
        # The shim reads the state's error: the SDK names the type when the message is empty.
        result.error = result.error or message
        return result
    return _decode(json.loads(reply))


class EpisodeRunner(Protocol):
    """Runs one orchestrator episode: (result, CPU seconds it took)."""

    async def run_episode(
        self, name: str, function: Any, payload: str
    ) -> tuple[EpisodeResult, float]: ...


class InProcessEpisodes:
    """Episodes on the host's own thread, synchronously (the default). With ``replay_check``
    every episode runs twice and the runs must agree (see ``devhost.replay_check``)."""

    def __init__(self, replay_check: bool = False) -> None:
        self.replay_check = replay_check
        from devhost import sdk_speedups

        sdk_speedups.install()

    async def run_episode(
        self, name: str, function: Any, payload: str
    ) -> tuple[EpisodeResult, float]:
        began = time.thread_time()
        handler = function.get_user_function()
        if self.replay_check:
            from devhost.replay_check import call_checked

            result = decode_episode(*call_checked(handler, payload))
        else:
            result = run_episode(handler, payload)
        return result, time.thread_time() - began


def _decode(state: dict[str, Any]) -> EpisodeResult:
    groups = state.get("actions") or []
    actions: list[dict[str, Any]] = []
    for group in groups:
        for action in group:
            _flatten(action, actions)
    return EpisodeResult(
        actions=actions,
        top_actions=[action for group in groups for action in group],
        is_done=bool(state.get("isDone")),
        output=state.get("output"),
        error=state.get("error"),
        custom_status=state.get("customStatus"),
        has_custom_status="customStatus" in state,
    )


def _flatten(action: dict[str, Any], into: list[dict[str, Any]]) -> None:
    # Compound actions list only children not scheduled before, depth first: the same order in
    # which the SDK hands out sequence ids.
    if action.get("actionType") in (WHEN_ANY, WHEN_ALL):
        for child in action.get("compoundActions", []):
            _flatten(child, into)
    else:
        into.append(action)
