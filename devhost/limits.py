"""The host's limits and refusals, worded as the Durable extension words them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from azure.durable_functions.models.actions.ActionType import ActionType

# DurableOrchestrationContext.SetCustomStatus: MaxCustomStatusPayloadSizeInKB.
MAX_CUSTOM_STATUS_KB = 16
SUPPORTED_ACTIONS = {
    ActionType.CALL_ACTIVITY,
    ActionType.CALL_ACTIVITY_WITH_RETRY,
    ActionType.CALL_SUB_ORCHESTRATOR,
    ActionType.CALL_SUB_ORCHESTRATOR_WITH_RETRY,
    ActionType.CONTINUE_AS_NEW,
    ActionType.CREATE_TIMER,
    ActionType.WAIT_FOR_EXTERNAL_EVENT,
}
# Newtonsoft escapes these on top of the control characters; each becomes six characters.
_ESCAPED_BY_NEWTONSOFT = str.maketrans(
    {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def host_json_text(value: Any) -> str:
    """``value`` as the extension re-serialises it: compact, non-ASCII characters kept."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.translate(_ESCAPED_BY_NEWTONSOFT)


def utf16_kilobytes(text: str) -> int:
    """The extension's size measure: UTF-16 bytes, in whole KB (rounded down)."""
    return len(text.encode("utf-16-le")) // 1024


def custom_status_violation(value: Any) -> str | None:
    """The extension's message when a custom status is over its limit (MessagePayloadDataConverter
    .Serialize, Durable extension 3.x); None when it fits."""
    if value is None:
        return None
    size = utf16_kilobytes(host_json_text(value))
    if size <= MAX_CUSTOM_STATUS_KB:
        return None
    return (
        "The UTF-16 size of the JSON-serialized payload must not exceed "
        f"{MAX_CUSTOM_STATUS_KB:,} KB. The current payload size is {size:,} KB."
    )


def unknown_function_message(registered: Iterable[str], name: str, kind: str) -> str:
    """DurableTaskExtension.GetInvalid{Activity,Orchestrator}FunctionMessage: ``kind`` is
    ``activity`` or ``orchestrator``; the known names are listed in registration order."""
    known = "', '".join(registered)
    info = (
        f"The following are the known {kind} functions: '{known}'."
        if known
        else f"No {kind} functions are currently registered!"
    )
    article = "an" if kind[0] in "aeiou" else "a"
    return (
        f"The function '{name}' doesn't exist, is disabled, or is not {article} {kind} function. "
        f"Additional info: {info}"
    )


def unsupported_action(actions: list[dict[str, Any]]) -> str | None:
    """devhost's failure for actions it cannot run (durable entities, call_http)."""
    for action in actions:
        kind = action.get("actionType")
        if kind not in SUPPORTED_ACTIONS:
            return (
                f"devhost does not support action type {kind} "
                "(durable entities and call_http are not implemented)"
            )
    return None
