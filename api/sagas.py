"""The generic saga API: every PublicSaga (contracts.public_sagas) served at /api/sagas/{name}.

For each registered saga, five HTTP functions named after it (``transfer_start``, ...):
POST /sagas/{name} starts one (a repeat with the same Idempotency-Key gets the same saga),
GET /sagas/{name}/{id} shows it, and POST /sagas/{name}/{id}/cancel, /approval and
/retry-compensation signal it. Nothing here knows a saga's steps: the request model, the input
it becomes and the summary's model come from its registration.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Container
from datetime import datetime
from typing import Any

import azure.functions as func
from azure.durable_functions import Blueprint
from pydantic import Field, create_model

from api.models import ApprovalRequest
from api.parsing import idempotency_key, json_body, parse_model, read_model
from api.polling import retry_after
from api.problems import ProblemType, accepted, guarded, json_response, not_found
from api.responses import FailureView, ResponseModel, StepView
from api.saga_calls import key_reused, same_request, signal, start_once
from api.saga_ids import request_hash, saga_id_for
from api.saga_state import read_saga
from shared.saga import CANCEL_EVENT, RETRY_EVENT
from shared.saga.public import UNFINISHED, PublicSaga, PublicStatus

Handler = Callable[[func.HttpRequest, Any], Awaitable[func.HttpResponse]]


class SagaAccepted(ResponseModel):
    """The answer to a started (or repeated) saga, or to a delivered signal."""

    id: str
    saga: str
    status: PublicStatus


class SagaView(ResponseModel):
    """A saga in business terms: its status, steps, why it stopped, what it knows so far."""

    id: str
    saga: str
    status: PublicStatus
    steps: list[StepView]
    failure: FailureView | None
    attention: FailureView | None = Field(
        description="What an operator must look at (status NeedsAttention)."
    )
    summary: Any = Field(description="What the saga's summary says of its results so far.")
    created_at: datetime
    updated_at: datetime


@functools.cache
def view_model(public: PublicSaga) -> type[SagaView]:
    """``SagaView`` with the saga's own summary model, so the document shows its shape."""
    summary: Any = public.summary or Any
    return create_model(
        f"{public.name.capitalize()}View",
        __base__=SagaView,
        summary=(summary | None, Field(description=f"The {public.name} saga's summary.")),
    )


class SagaRoutes:
    """The HTTP functions of one public saga, on a Blueprint of their own."""

    def __init__(self, public: PublicSaga) -> None:
        self.public = public
        self.id_pattern = re.compile(public.id_pattern)
        self.view = view_model(public)
        self.bp = Blueprint()
        base = f"sagas/{public.name}"
        self._add("start", base, func.HttpMethod.POST, self._start)
        self._add("get", base + "/{id}", func.HttpMethod.GET, self._get)
        self._add("cancel", base + "/{id}/cancel", func.HttpMethod.POST, self._cancel)
        if public.approval_event is not None:
            self._add("approval", base + "/{id}/approval", func.HttpMethod.POST, self._approval)
        retry = base + "/{id}/retry-compensation"
        self._add("retry_compensation", retry, func.HttpMethod.POST, self._retry)

    def location(self, saga_id: str) -> str:
        return f"/api/sagas/{self.public.name}/{saga_id}"

    def _add(self, action: str, route: str, method: func.HttpMethod, handler: Handler) -> None:
        async def function(req: func.HttpRequest, client: Any) -> func.HttpResponse:
            return await handler(req, client)

        # The worker and the OpenAPI document know the function by this name.
        function.__name__ = function.__qualname__ = f"{self.public.name}_{action}"
        function.__doc__ = handler.__doc__
        wrapped = self.bp.durable_client_input(client_name="client")(guarded(function))
        self.bp.route(route=route, methods=[method])(wrapped)

    async def _start(self, req: func.HttpRequest, client: Any) -> func.HttpResponse:
        """Start the saga (202); a repeat with the same Idempotency-Key gets the same one."""
        key, key_errors = idempotency_key(req)
        request = parse_model(json_body(req), self.public.request, key_errors)
        saga_id = saga_id_for(f"{self.public.name}-", self.public.owner(request), key)
        fingerprint = request_hash(request)
        saga_input = self.public.to_input(request, saga_id, fingerprint)
        existing = await start_once(client, self.public.orchestrator, saga_id, saga_input.to_wire())
        if existing is None:
            return self._accepted(saga_id, PublicStatus.RUNNING)
        if not self._ours(existing):
            raise key_reused()
        saga = read_saga(existing)
        if not same_request(saga.input, fingerprint):
            raise key_reused()
        return self._accepted(saga_id, saga.status)

    async def _get(self, req: func.HttpRequest, client: Any) -> func.HttpResponse:
        """The saga and its progress."""
        found = await self._load(client, req.route_params.get("id", ""))
        if found is None:
            raise not_found(f"No {self.public.name} saga has this id.")
        return json_response(found.to_json(), 200, **retry_after(found.status, found.created_at))

    async def _cancel(self, req: func.HttpRequest, client: Any) -> func.HttpResponse:
        """Cancel it: before its pivot it compensates (Cancelled); 409 once it has finished."""
        return await self._signal(req, client, UNFINISHED, CANCEL_EVENT, None, "cancelled")

    async def _approval(self, req: func.HttpRequest, client: Any) -> func.HttpResponse:
        """Approve or reject it while it awaits approval (409 in any other status)."""
        decision = read_model(req, ApprovalRequest)
        data: dict[str, Any] = {"approved": decision.approved}
        if decision.comment is not None:
            data["comment"] = decision.comment
        allowed = {PublicStatus.AWAITING_APPROVAL}
        event = self.public.approval_event or ""
        return await self._signal(req, client, allowed, event, data, "approved or rejected")

    async def _retry(self, req: func.HttpRequest, client: Any) -> func.HttpResponse:
        """Operator: retry the compensation that parked it in NeedsAttention."""
        allowed = {PublicStatus.NEEDS_ATTENTION}
        return await self._signal(req, client, allowed, RETRY_EVENT, None, "retried")

    async def _signal(
        self,
        req: func.HttpRequest,
        client: Any,
        allowed: Container[PublicStatus],
        event: str,
        data: Any,
        verb: str,
    ) -> func.HttpResponse:
        saga_id = req.route_params.get("id", "")
        view = await signal(
            client,
            saga_id,
            lambda: self._load(client, saga_id),
            allowed,
            event,
            data,
            what=f"{self.public.name} saga",
            verb=verb,
            conflict=ProblemType.SAGA_STATE_CONFLICT,
        )
        return self._accepted(saga_id, view.status)

    async def _load(self, client: Any, saga_id: str) -> SagaView | None:
        """The saga with this id, or None; ids this saga never hands out are not looked up."""
        if not self.id_pattern.fullmatch(saga_id):
            return None
        status = await client.get_status(saga_id, show_input=True)
        if not self._ours(status):
            return None
        saga = read_saga(status)
        return self.view(
            id=saga.instance_id,
            saga=self.public.name,
            status=saga.status,
            steps=saga.steps,
            failure=saga.failure,
            attention=saga.attention,
            summary=saga.summary,
            created_at=saga.created_at,
            updated_at=saga.updated_at,
        )

    def _ours(self, status: Any) -> bool:
        return bool(status) and str(status.name or "").lower() == self.public.orchestrator.lower()

    def _accepted(self, saga_id: str, status: PublicStatus) -> func.HttpResponse:
        body = SagaAccepted(id=saga_id, saga=self.public.name, status=status).to_json()
        return accepted(body, self.location(saga_id))


def saga_routes(sagas: list[PublicSaga]) -> list[SagaRoutes]:
    """The routes of each public saga; names must be unique (they are URL segments)."""
    names = [public.name for public in sagas]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"public saga names must be unique; repeated: {duplicates}")
    return [SagaRoutes(public) for public in sagas]
