"""The Durable extension's HTTP API (RPC base and public webhooks), served from the task hub.

Routes, status codes and bodies follow the extension's HttpApiHandler: unknown routes and known
routes called with another method answer 404 with an empty body, as the extension does.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from aiohttp import web

from devhost.http.binding import management_urls
from devhost.http.query import Query, decode_token, encode_token, utc
from devhost.http.status import parse_json_text, status_payload
from devhost.instance import (
    COMPLETED,
    CONTINUED_AS_NEW,
    FAILED,
    PENDING,
    RUNNING,
    SUSPENDED,
    InstanceState,
)
from devhost.management import (
    InstanceAlreadyExists,
    InstanceNotFound,
    InstanceNotRunning,
    UnknownOrchestrator,
)
from devhost.runtime import TaskHub

log = logging.getLogger("devhost")

CONTINUATION_HEADER = "x-ms-continuation-token"
DEFAULT_PAGE_SIZE = 100  # OrchestrationStatusQueryCondition.PageSize's default
INSTANCE_OPERATIONS = ("terminate", "rewind", "restart", "suspend", "resume")
CHECK_STATUS_KEYS = (
    "id",
    "statusQueryGetUri",
    "sendEventPostUri",
    "terminatePostUri",
    "purgeHistoryDeleteUri",
    "restartPostUri",
    "suspendPostUri",
    "resumePostUri",
)


def json_response(
    value: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(value, status=status, headers=headers)


def error_response(
    status: int, message: str, error: BaseException | None = None, error_type: str = ""
) -> web.Response:
    """ASP.NET's HttpError shape; the SDK reads ``ExceptionMessage`` from a failed start."""
    body: dict[str, str] = {"Message": message}
    if error is not None:
        body["ExceptionMessage"] = str(error)
        body["ExceptionType"] = error_type or type(error).__name__
    return json_response(body, status)


def empty(status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, headers=headers)


class DurableApi:
    """Handles one request below ``/durabletask/`` or ``/runtime/webhooks/durabletask/``."""

    def __init__(self, hub: TaskHub | Callable[[], TaskHub], hub_name: str) -> None:
        self._hub = hub
        self.hub_name = hub_name

    @property
    def hub(self) -> TaskHub:
        return self._hub if isinstance(self._hub, TaskHub) else self._hub()

    async def handle(self, request: web.Request, path: str) -> web.Response:
        """``path`` is the decoded path below the API's base, e.g. ``instances/abc``."""
        try:
            return await self._route(request, path.strip("/").split("/"))
        except web.HTTPException:
            raise
        except Exception as error:
            log.exception("durable HTTP API: %s %s failed", request.method, request.path)
            return error_response(500, "Something went wrong while processing your request", error)

    async def _route(self, request: web.Request, segments: list[str]) -> web.Response:
        method = request.method
        head = segments[0].lower()
        count = len(segments)
        if head == "orchestrators" and count in (2, 3) and segments[1]:
            if method != "POST":
                return empty(404)
            instance_id = segments[2] if count == 3 else ""
            return await self._start(request, segments[1], instance_id)
        if head == "entities" and count <= 3:
            return error_response(501, "devhost does not support durable entities.")
        if head == "instances" and count <= 3:
            instance_id = segments[1] if count >= 2 else ""
            operation = (segments[2] if count == 3 else "").lower()
            if not instance_id and not operation:
                handlers = {"GET": self._query, "DELETE": self._purge_by_filter}
                handler = handlers.get(method)
                return await handler(request) if handler else empty(404)
            if instance_id and not operation:
                if method == "GET":
                    return await self._status(request, instance_id)
                if method == "DELETE":
                    return await self._purge(instance_id)
                return empty(404)
            if method == "POST" and instance_id and operation in INSTANCE_OPERATIONS:
                return await self._operation(request, instance_id, operation)
            return empty(404)
        if head == "instances" and count == 4 and segments[2].lower() == "raiseevent":
            if method != "POST" or not segments[3]:
                return empty(404)
            return await self._raise_event(request, segments[1], segments[3])
        return empty(404)

    # ----------------------------------------------------------------- starting

    async def _start(self, request: web.Request, name: str, instance_id: str) -> web.Response:
        body = await request.read()
        input_text: str | None = None
        if body:
            try:
                text = body.decode("utf-8-sig")
                token = json.loads(text)
            except ValueError as error:
                return error_response(
                    400, "Invalid JSON content", error, "Newtonsoft.Json.JsonReaderException"
                )
            # The extension keeps the body as the instance input and hands the orchestrator its
            # JSON token; the SDK client double-encodes, so that token is the input's JSON text.
            input_text = token if isinstance(token, str) else text.strip()
        canonical = self._orchestrator_name(name)
        try:
            instance_id = await self.hub.start_new(
                canonical, instance_id or uuid.uuid4().hex, input_text
            )
        except UnknownOrchestrator as error:
            return error_response(400, str(error), error, "System.ArgumentException")
        except InstanceAlreadyExists as error:
            return error_response(409, str(error))
        return await self._check_status_or_wait(request, instance_id)

    def _orchestrator_name(self, name: str) -> str:
        """Function names are case-insensitive in the host."""
        for known in self.hub.functions.orchestrators:
            if known.lower() == name.lower():
                return known
        return name

    async def _check_status_or_wait(self, request: web.Request, instance_id: str) -> web.Response:
        query = Query(request)
        timeout = query.seconds("timeout")
        if timeout is not None and query.seconds("pollingInterval") is not None:
            try:
                state = await self.hub.wait_for(
                    instance_id, lambda s: s.is_terminal, max(0.0, timeout)
                )
            except TimeoutError:
                pass
            else:
                if state.runtime_status == COMPLETED:
                    return json_response(parse_json_text(state.output))
                return json_response(status_payload(state))
        return self._check_status_response(request, instance_id)

    def _check_status_response(self, request: web.Request, instance_id: str) -> web.Response:
        urls = management_urls(self._origin(request), self.hub_name, instance_id)
        body = {key: urls[key] for key in CHECK_STATUS_KEYS}
        return json_response(
            body,
            202,
            {"Location": urls["statusQueryGetUri"], "Retry-After": "10"},
        )

    @staticmethod
    def _origin(request: web.Request) -> str:
        return f"{request.scheme}://{request.host}"

    # ----------------------------------------------------------------- status and queries

    async def _status(self, request: web.Request, instance_id: str) -> web.Response:
        state = self.hub.get(instance_id)
        if state is None:
            return empty(404)
        query = Query(request)
        payload = status_payload(
            state,
            show_input=query.boolean("showInput", True),
            show_history=query.boolean("showHistory", False),
            show_history_output=query.boolean("showHistoryOutput", False),
        )
        status = state.runtime_status
        if status in (RUNNING, PENDING, CONTINUED_AS_NEW, SUSPENDED):
            return json_response(payload, 202, {"Location": str(request.url), "Retry-After": "5"})
        if status == FAILED and query.boolean("returnInternalServerErrorOnFailure", False):
            return json_response(payload, 500)
        return json_response(payload, 200)

    async def _query(self, request: web.Request) -> web.Response:
        query = Query(request)
        matches = sorted(self._matching(query), key=lambda s: s.instance_id)
        page_size = query.integer("top") or DEFAULT_PAGE_SIZE
        page_size = page_size if page_size > 0 else DEFAULT_PAGE_SIZE
        token = request.headers.get(CONTINUATION_HEADER)
        try:
            offset = decode_token(token) if token else 0
        except ValueError:
            return error_response(400, f"The continuation token {token!r} is not valid.")
        page = matches[offset : offset + page_size]
        show_input = query.boolean("showInput", True)
        headers = {}
        if offset + page_size < len(matches):
            headers[CONTINUATION_HEADER] = encode_token(offset + page_size)
        return json_response(
            [status_payload(state, show_input=show_input) for state in page], 200, headers
        )

    def _matching(
        self, query: Query, default_to: datetime | None = None
    ) -> Iterable[InstanceState]:
        created_from = query.time("createdTimeFrom")
        created_to = query.time("createdTimeTo") or default_to
        statuses = query.statuses("runtimeStatus")
        prefix = query.text("instanceIdPrefix")
        for state in list(self.hub.instances()):
            if created_from is not None and utc(state.created_time) < created_from:
                continue
            if created_to is not None and utc(state.created_time) > created_to:
                continue
            if statuses is not None and state.runtime_status not in statuses:
                continue
            if prefix is not None and not state.instance_id.startswith(prefix):
                continue
            yield state

    # ----------------------------------------------------------------- purge

    async def _purge(self, instance_id: str) -> web.Response:
        if instance_id.startswith("@"):
            # Entity ids skip the status check in the extension; devhost has no entities.
            deleted = int(await self.hub.purge(instance_id))
            return json_response({"instancesDeleted": deleted})
        state = self.hub.get(instance_id)
        if state is None:
            return empty(404)
        if not state.is_terminal:
            return json_response(
                "Only orchestrations in a terminal state can be purged, but the orchestration "
                f"with instance ID {instance_id} has status {state.runtime_status}",
                412,
            )
        deleted = int(await self.hub.purge(instance_id))
        return json_response({"instancesDeleted": deleted})

    async def _purge_by_filter(self, request: web.Request) -> web.Response:
        query = Query(request)
        if query.time("createdTimeFrom") is None:
            return json_response("Please provide value for 'createdTimeFrom' parameter.", 400)
        deleted = 0
        # Unlike Azure Storage, devhost never purges an instance that is still running.
        for state in list(self._matching(query, default_to=utc(self.hub.clock.now()))):
            if state.is_terminal and await self.hub.purge(state.instance_id):
                deleted += 1
        if deleted == 0:
            return empty(404)
        return json_response({"instancesDeleted": deleted})

    # ----------------------------------------------------------------- instance operations

    async def _operation(
        self, request: web.Request, instance_id: str, operation: str
    ) -> web.Response:
        if operation == "restart":
            return await self._restart(request, instance_id)
        state = self.hub.get(instance_id)
        if operation == "rewind":
            return self._rewind(instance_id, state)
        if state is None:
            return empty(404)
        if state.is_terminal:
            return empty(410)
        reason = Query(request).text("reason")
        actions: dict[str, Callable[[str, str | None], Any]] = {
            "terminate": self.hub.terminate,
            "suspend": self.hub.suspend,
            "resume": self.hub.resume,
        }
        try:
            await actions[operation](instance_id, reason)
        except InstanceNotFound:
            return empty(404)
        except InstanceNotRunning:
            return empty(410)
        return empty(202)

    @staticmethod
    def _rewind(instance_id: str, state: InstanceState | None) -> web.Response:
        if state is None:
            return json_response(f'No orchestration with instance ID "{instance_id}" found.', 404)
        if state.runtime_status != FAILED:
            return json_response(
                f"This orchestration has status {state.runtime_status}, but only orchestrations "
                'in the "Failed" state can be rewound.',
                412,
            )
        return error_response(501, "Rewind is not supported by the underlying storage provider.")

    async def _restart(self, request: web.Request, instance_id: str) -> web.Response:
        state = self.hub.get(instance_id)
        if state is None:
            return error_response(
                400,
                "InstanceId does not match a valid orchestration instance.",
                ValueError(f"An orchestrastion with the instanceId {instance_id} was not found."),
                "System.ArgumentException",
            )
        with_new_id = Query(request).boolean("restartWithNewInstanceId", True)
        new_id = uuid.uuid4().hex if with_new_id else instance_id
        try:
            started = await self.hub.start_new(state.name, new_id, state.input)
        except InstanceAlreadyExists as error:
            return error_response(
                409, "A non-terminal instance with this instance ID already exists.", error
            )
        return await self._check_status_or_wait(request, started)

    # ----------------------------------------------------------------- events

    async def _raise_event(
        self, request: web.Request, instance_id: str, event_name: str
    ) -> web.Response:
        state = self.hub.get(instance_id)
        if state is None:
            return empty(404)
        if state.is_terminal:
            return empty(410)
        if request.content_type.lower() != "application/json":
            return error_response(400, "Only application/json request content is supported")
        try:
            token = json.loads((await request.read()).decode("utf-8-sig"))
        except ValueError as error:
            return error_response(
                400, "Invalid JSON content", error, "Newtonsoft.Json.JsonReaderException"
            )
        # The event carries the body's JSON token, re-serialised: the SDK client's
        # double-encoded data therefore reaches the orchestrator as a JSON string, as on Azure.
        try:
            await self.hub.raise_event(instance_id, event_name, json.dumps(token))
        except InstanceNotFound:
            return empty(404)
        except InstanceNotRunning:
            return empty(410)
        return empty(202)
