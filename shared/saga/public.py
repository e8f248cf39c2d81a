"""A saga's public face: what the generic HTTP surface (api/sagas.py) needs to serve it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from shared.saga.contract import Contract
from shared.saga.definition import SagaDefinitionError

_NAME = re.compile(r"[a-z][a-z0-9]{0,30}")


class PublicStatus(StrEnum):
    """A saga's status as clients see it: the record's status, plus Failed for an
    orchestration that failed or was terminated."""

    RUNNING = "Running"
    AWAITING_APPROVAL = "AwaitingApproval"
    COMPENSATING = "Compensating"
    COMPLETED = "Completed"
    COMPENSATED = "Compensated"
    CANCELLED = "Cancelled"
    NEEDS_ATTENTION = "NeedsAttention"
    FAILED = "Failed"


FINISHED = frozenset(
    {PublicStatus.COMPLETED, PublicStatus.COMPENSATED, PublicStatus.CANCELLED, PublicStatus.FAILED}
)
UNFINISHED = frozenset(PublicStatus) - FINISHED


@dataclass(frozen=True)
class PublicSaga:
    """Registers a saga with the generic HTTP surface, which then serves, under
    ``/api/sagas/{name}``: POST (start; safe to repeat with the same ``Idempotency-Key``),
    GET ``/{id}`` (its status in business terms), POST ``/{id}/cancel``, ``/{id}/approval``
    (when ``approval_event`` is set) and ``/{id}/retry-compensation``, all documented in the
    OpenAPI document from ``request`` and ``summary``.

    - ``orchestrator``: the orchestration function to start.
    - ``request``: the start body, a strict pydantic model (unknown fields refused).
    - ``to_input(request, saga_id, request_hash)``: the saga's input. Keep ``request_hash`` in
      it: a repeat of the same key with another body is recognised by it (409).
    - ``owner(request)``: whose key it is (a customer, an account); keys are scoped to it, so
      one caller's key can never address another's saga.
    - ``summary``: the model of the record's ``summary`` (documentation only).
    """

    name: str
    orchestrator: str
    request: type[BaseModel]
    to_input: Callable[[Any, str, str], Contract]
    owner: Callable[[Any], str]
    approval_event: str | None = None
    summary: type[BaseModel] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise SagaDefinitionError(
                f"public saga name {self.name!r} must be lowercase letters and digits, "
                "starting with a letter (it is a URL segment and an id prefix)"
            )

    @property
    def id_pattern(self) -> str:
        """The ids this saga's instances get: ``{name}-`` and 32 hex digits."""
        return rf"{self.name}-[0-9a-f]{{32}}"
