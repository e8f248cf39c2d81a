"""The Durable extension's HTTP API (RPC base and public webhooks), served from the task hub.

Routes, status codes and bodies follow the extension's HttpApiHandler.cs (Durable extension 3.x,
the line extension bundle 4.x ships) over DurableTask.AzureStorage 2.9.0; the tests in
tests/devhost/fidelity/test_http_api_*.py name the source of each answer. Unknown routes and
known routes called with another method answer 404 with an empty body. Where the extension answers
500 (an InvalidOperationException or a storage failure escaping a handler), devhost answers 500
too, with the extension's body, and logs what happened.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from aiohttp import web

from devhost.http.api_request import ApiRequest
from devhost.http.binding import management_urls
from devhost.http.query import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Query,
    UnknownStatus,
    api_segments,
    decode_token,
    dotnet_number,
    encode_token,
    partition_key,
    url_encode,
    utc,
)
from devhost.http.status import parse_json_text, status_payload
from devhost.instance import (
    CANCELED,
    COMPLETED,
    CONTINUED_AS_NEW,
    FAILED,
    PENDING,
    RUNNING,
    SUSPENDED,
    TERMINAL_STATUSES,
    TERMINATED,
    InstanceState,
)
from devhost.management import (
    InstanceAlreadyExists,
    InstanceNotFound,
    InstanceNotRunning,
    InvalidInstanceId,
    UnknownOrchestrator,
    WrongInstanceState,
)
from devhost.runtime import TaskHub

log = logging.getLogger("devhost")

CONTINUATION_HEADER = "x-ms-continuation-token"
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
GENERIC_ERROR = "Something went wrong while processing your request"
ARGUMENT_ERROR = "One or more of the arguments submitted is incorrect"
RESTART_ERROR = "InstanceId does not match a valid orchestration instance."
ARGUMENT_EXCEPTION = "System.ArgumentException"
INVALID_OPERATION = "System.InvalidOperationException"
ALREADY_EXISTS = "DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException"
JSON_READER_EXCEPTION = "Newtonsoft.Json.JsonReaderException"
STORAGE_EXCEPTION = "Azure.RequestFailedException"
# The Table service's answer to a query parameter it does not accept.
STORAGE_INVALID_INPUT = "One of the request inputs is not valid."
# devhost has no .NET stack to show; the key is there because the extension always sends it.
STACK_TRACE = "   at devhost (no .NET stack trace)"
# TimeSpan.FromSeconds' limits and messages.
MAX_TIMESPAN_SECONDS = 922337203685.4775
NAN_TIMESPAN = "TimeSpan does not accept floating point Not-a-Number values."
TIMESPAN_OVERFLOW = "TimeSpan overflowed because the duration is too long."


def json_response(
    value: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(value, status=status, headers=headers)


def error_response(
    status: int, message: str, exception_message: str | None = None, exception_type: str = ""
) -> web.Response:
    """HttpRequestMessageExtensions.CreateErrorResponse: ``Message`` alone, or with the
    exception's message, type and stack (the SDK reads ``ExceptionMessage``)."""
    body: dict[str, str] = {"Message": message}
    if exception_message is not None:
        body["ExceptionMessage"] = exception_message
        body["ExceptionType"] = exception_type
        body["StackTrace"] = STACK_TRACE
    return json_response(body, status)


def empty(status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, headers=headers)


class HostAnswer(Exception):
    """An exception the extension lets escape to HandleRequestAsync, which turns it into 400
    (an ArgumentException) or 500 (anything else)."""

    def __init__(self, exception_type: str, message: str) -> None:
        super().__init__(message)
        self.exception_type = exception_type
        self.message = message

    @property
    def is_argument_error(self) -> bool:
        return self.exception_type in (ARGUMENT_EXCEPTION, "System.ArgumentOutOfRangeException")


class DurableApi:
    """Handles one request below ``/durabletask/`` or ``/runtime/webhooks/durabletask/``."""

    def __init__(self, hub: TaskHub | Callable[[], TaskHub], hub_name: str) -> None:
        self._hub = hub
        self.hub_name = hub_name

    @property
    def hub(self) -> TaskHub:
        return self._hub if isinstance(self._hub, TaskHub) else self._hub()

    async def handle(self, request: ApiRequest, path: str) -> web.Response:
        """``path`` is the (once percent-decoded) path below the API's base."""
        try:
            return await self._route(request, api_segments(path))
        except web.HTTPException:
            raise
        except HostAnswer as answer:
            if answer.is_argument_error:
                return error_response(400, ARGUMENT_ERROR, answer.message, answer.exception_type)
            return self._answer_500(request, answer.exception_type, answer.message)
        except Exception as error:
            log.exception("durable HTTP API: %s %s failed", request.method, request.path)
            return error_response(500, GENERIC_ERROR, str(error), type(error).__name__)

    @staticmethod
    def _answer_500(request: ApiRequest, exception_type: str, message: str) -> web.Response:
        log.error(
            "durable HTTP API: %s %s: 500, as the Azure host answers: %s: %s",
            request.method,
            request.path,
            exception_type,
            message,
        )
        return error_response(500, GENERIC_ERROR, message, exception_type)

    async def _route(self, request: ApiRequest, segments: list[str]) -> web.Response:
        method = request.method
        head = segments[0].lower()
        count = len(segments)
        if head == "orchestrators" and count in (2, 3) and segments[1]:
            if method != "POST":
                return empty(404)
            instance_id = segments[2] if count == 3 else ""
            return await self._start(request, segments[1], instance_id)
        if head == "entities" and count <= 3:
            return self._entities(request, segments[1:])
        if head == "instances" and count <= 3:
            instance_id = segments[1] if count >= 2 else ""
            operation = (segments[2] if count == 3 else "").lower()
            if not instance_id and not operation:
                handlers = {"GET": self._query, "DELETE": self._purge_by_filter}
                handler = handlers.get(method)
                return await handler(request) if handler else empty(404)
            if instance_id and not operation:
                if method == "GET":
                    return self._status(request, instance_id)
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

    async def _start(self, request: ApiRequest, name: str, instance_id: str) -> web.Response:
        body = await request.read()
        token: Any = None
        text = body.decode("utf-8-sig", errors="replace")
        if text.strip():  # an empty or blank body is a null input
            try:
                token = json.loads(text)
            except ValueError as error:
                return error_response(
                    400, "Invalid JSON content", str(error), JSON_READER_EXCEPTION
                )
        # The extension keeps the body's JSON token as the input and hands the orchestrator that
        # token; the SDK client encodes twice, so for its starts it is a string (the JSON text).
        input_text = None if token is None else _compact(token)
        try:
            # The SDK client sends an explicit orchestration version as ?version= (1.7).
            version = Query(request).text("version")
            started = await self.hub.start_new(
                name, instance_id or None, input_text, version=version
            )
        except (UnknownOrchestrator, InvalidInstanceId) as error:
            raise HostAnswer(ARGUMENT_EXCEPTION, str(error)) from error
        except InstanceAlreadyExists as error:
            raise HostAnswer(ALREADY_EXISTS, str(error)) from error
        return await self._check_status_or_wait(request, started)

    async def _check_status_or_wait(self, request: ApiRequest, instance_id: str) -> web.Response:
        """HandleStartOrchestratorRequestAsync's ending: the check-status response, or with
        ``timeout`` and ``pollingInterval`` WaitForCompletionOrCreateCheckStatusResponseAsync.
        The instance is already started when these parameters are found to be wrong."""
        query = Query(request)
        timeout = _time_span(query.seconds("timeout"))
        polling = _time_span(query.seconds("pollingInterval"))
        if timeout is None or polling is None:
            return self._check_status_response(request, instance_id)
        if polling > timeout:
            raise HostAnswer(
                ARGUMENT_EXCEPTION,
                f"Total timeout {dotnet_number(timeout)} should be bigger than retry timeout "
                f"{dotnet_number(polling)}",
            )
        try:
            state = await self.hub.wait_for(instance_id, lambda s: s.is_terminal, max(0.0, timeout))
        except TimeoutError:
            return self._check_status_response(request, instance_id)
        if state.runtime_status == COMPLETED:
            return json_response(parse_json_text(state.output))
        return self._status(request, instance_id, allow_500=False)

    def _check_status_response(self, request: ApiRequest, instance_id: str) -> web.Response:
        urls = management_urls(self._origin(request), self.hub_name, url_encode(instance_id))
        body = {key: urls[key] for key in CHECK_STATUS_KEYS}
        body["id"] = instance_id
        return json_response(
            body,
            202,
            {"Location": urls["statusQueryGetUri"], "Retry-After": "10"},
        )

    @staticmethod
    def _origin(request: ApiRequest) -> str:
        return f"{request.scheme}://{request.host}"

    # ----------------------------------------------------------------- status and queries

    def _status(
        self, request: ApiRequest, instance_id: str, allow_500: bool = True
    ) -> web.Response:
        state = self.hub.checkpointed(instance_id)
        if state is None:
            return empty(404)
        query = Query(request)
        payload = status_payload(
            state,
            show_input=query.boolean("showInput", True),
            show_history=query.boolean("showHistory", False) and state.runtime_status != PENDING,
            show_history_output=query.boolean("showHistoryOutput", False),
        )
        status = state.runtime_status
        if status in (RUNNING, PENDING, CONTINUED_AS_NEW, SUSPENDED):
            return json_response(payload, 202, {"Location": str(request.url), "Retry-After": "5"})
        wants_500 = allow_500 and query.boolean("returnInternalServerErrorOnFailure", False)
        if status == FAILED and wants_500:
            return json_response(payload, 500)
        return json_response(payload, 200)

    async def _query(self, request: ApiRequest) -> web.Response:
        query = Query(request)
        try:
            statuses = query.statuses("runtimeStatus")
        except UnknownStatus as error:
            raise HostAnswer(ARGUMENT_EXCEPTION, str(error)) from error
        page_size = query.integer("top")
        page_size = DEFAULT_PAGE_SIZE if page_size is None else page_size
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise HostAnswer(STORAGE_EXCEPTION, STORAGE_INVALID_INPUT)
        token = request.headers.get(CONTINUATION_HEADER, "")
        try:
            start_key = decode_token(token) if token else ""
        except ValueError as error:
            raise HostAnswer(STORAGE_EXCEPTION, STORAGE_INVALID_INPUT) from error
        # Azure Tables returns rows by partition key: the escaped instance id.
        matches = sorted(
            (
                (partition_key(state.instance_id), state)
                for state in self._matching(query, statuses, by_prefix=True)
                if partition_key(state.instance_id) >= start_key
            ),
            key=lambda pair: pair[0],
        )
        show_input = query.boolean("showInput", True)
        page = [status_payload(state, show_input=show_input) for _, state in matches[:page_size]]
        # The extension always sets the header; it is empty on the last page.
        next_token = encode_token(matches[page_size][0]) if len(matches) > page_size else ""
        return json_response(page, 200, {CONTINUATION_HEADER: next_token})

    def _matching(
        self,
        query: Query,
        statuses: set[str] | None,
        default_to: datetime | None = None,
        by_prefix: bool = False,
    ) -> Iterable[InstanceState]:
        """Instances by ``createdTimeFrom`` (>=), ``createdTimeTo`` (<=), status and (for
        status queries only) ``instanceIdPrefix``."""
        created_from = query.time("createdTimeFrom")
        created_to = query.time("createdTimeTo") or default_to
        prefix = query.text("instanceIdPrefix") if by_prefix else None
        for state in list(self.hub.checkpointed_instances()):
            if created_from is not None and utc(state.created_time) < created_from:
                continue
            if created_to is not None and utc(state.created_time) > created_to:
                continue
            if statuses is not None and state.runtime_status not in statuses:
                continue
            if prefix and not state.instance_id.startswith(prefix):
                continue
            yield state

    # ----------------------------------------------------------------- purge

    async def _purge(self, instance_id: str) -> web.Response:
        """Azure Storage purges an instance whatever its status, a running one included."""
        if self.hub.get(instance_id) is None:
            return empty(404)
        deleted = int(await self.hub.purge(instance_id))
        return json_response({"instancesDeleted": deleted})

    async def _purge_by_filter(self, request: ApiRequest) -> web.Response:
        query = Query(request)
        if query.time("createdTimeFrom") is None:
            return json_response("Please provide value for 'createdTimeFrom' parameter.", 400)
        # AzureTableTrackingStore keeps only the terminal statuses of the list; with none left
        # there is no status filter, and running instances in the time range go too.
        terminal = set(query.orchestration_statuses("runtimeStatus")) & TERMINAL_STATUSES
        now = utc(self.hub.clock.now())
        deleted = 0
        for state in list(self._matching(query, terminal or None, default_to=now)):
            if await self.hub.purge(state.instance_id):
                deleted += 1
        if deleted == 0:
            return empty(404)
        return json_response({"instancesDeleted": deleted})

    # ----------------------------------------------------------------- instance operations

    async def _operation(
        self, request: ApiRequest, instance_id: str, operation: str
    ) -> web.Response:
        if operation == "restart":
            return await self._restart(request, instance_id)
        state = self.hub.get(instance_id)
        if state is None:
            return empty(404)
        # Rewind answers 410 for the final statuses but Failed, the others for all four.
        gone = (COMPLETED, TERMINATED, CANCELED) if operation == "rewind" else TERMINAL_STATUSES
        if state.runtime_status in gone:
            return empty(410)
        reason = Query(request).text("reason")
        actions: dict[str, Callable[[str, str | None], Any]] = {
            "terminate": self.hub.terminate,
            "suspend": self.hub.suspend,
            "resume": self.hub.resume,
            "rewind": self.hub.rewind,
        }
        try:
            await actions[operation](instance_id, reason)
        except WrongInstanceState as error:
            raise HostAnswer(INVALID_OPERATION, str(error)) from error
        except InstanceNotFound:
            return empty(404)
        except InstanceNotRunning:
            return empty(410)
        return empty(202)

    async def _restart(self, request: ApiRequest, instance_id: str) -> web.Response:
        with_new_id = Query(request).boolean("restartWithNewInstanceId", True)
        try:
            started = await self.hub.restart(instance_id, with_new_id)
        except (InstanceNotFound, UnknownOrchestrator) as error:
            return error_response(400, RESTART_ERROR, str(error), ARGUMENT_EXCEPTION)
        except InstanceAlreadyExists as error:
            raise HostAnswer(ALREADY_EXISTS, str(error)) from error
        return await self._check_status_or_wait(request, started)

    # ----------------------------------------------------------------- events

    async def _raise_event(
        self, request: ApiRequest, instance_id: str, event_name: str
    ) -> web.Response:
        state = self.hub.get(instance_id)
        if state is None:
            return empty(404)
        if state.is_terminal:
            return empty(410)
        if request.content_type.lower() != "application/json":
            return error_response(400, "Only application/json request content is supported")
        try:
            token = json.loads((await request.read()).decode("utf-8-sig", errors="replace"))
        except ValueError as error:
            return error_response(400, "Invalid JSON content", str(error), JSON_READER_EXCEPTION)
        # The event carries the body's JSON token, re-serialised: the SDK client's
        # double-encoded data therefore reaches the orchestrator as a JSON string, as on Azure.
        try:
            await self.hub.raise_event(instance_id, event_name, _compact(token))
        except InstanceNotFound:
            return empty(404)
        except InstanceNotRunning:
            return empty(410)
        return empty(202)

    # ----------------------------------------------------------------- entities

    def _entities(self, request: ApiRequest, segments: list[str]) -> web.Response:
        """The entity API of an app without entities, as the extension answers it."""
        if self.hub.functions.entities:
            return error_response(501, "devhost does not support durable entities.")
        name = segments[0] if segments else ""
        key = segments[1] if len(segments) > 1 else ""
        if request.method == "GET":
            if key:
                return empty(404)
            return json_response([], 200, {CONTINUATION_HEADER: ""})
        if request.method not in ("POST", "DELETE"):
            return empty(404)
        if not name:
            return error_response(
                400,
                "Invalid entity id: entity name must not be a null or empty string. "
                "(Parameter 'entityName')",
            )
        # DurableTaskExtension.GetInvalidEntityFunctionMessage (it tests the orchestrator count).
        message = (
            f"The function '{name.lower()}' doesn't exist, is disabled, or is not an entity "
            "function. Additional info: "
        )
        if self.hub.functions.orchestrators:
            message += "The following are the known entity functions: ''."
        else:
            message += "No entity functions are currently registered!"
        return error_response(400, message)


def _compact(token: Any) -> str:
    """A JSON token serialised as Newtonsoft's Formatting.None writes it."""
    return json.dumps(token, separators=(",", ":"), ensure_ascii=False)


def _time_span(seconds: float | None) -> float | None:
    """TimeSpan.FromSeconds: whole ticks; NaN and out-of-range values throw."""
    if seconds is None:
        return None
    if math.isnan(seconds):
        raise HostAnswer(ARGUMENT_EXCEPTION, NAN_TIMESPAN)
    if abs(seconds) > MAX_TIMESPAN_SECONDS:
        raise HostAnswer("System.OverflowException", TIMESPAN_OVERFLOW)
    return math.trunc(seconds * 10_000_000) / 10_000_000
