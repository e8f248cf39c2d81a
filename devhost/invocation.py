"""What devhost passes a function besides its trigger: durable clients and the invocation context.

The Durable extension binds a durable client input the same way whatever the function's trigger
(``BindToInput`` in DurableTaskExtension.cs), and the Python worker adds a ``context`` argument to
any function that has an unbound ``context`` parameter, so HTTP, timer and activity functions are
all called through here.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import azure.functions as func

DURABLE_CLIENT = "durableClient"
_RETURN = "$return"
_HTTP_OUTPUT = "http"


class BindingUnavailable(Exception):
    """devhost cannot provide an input binding that the function declares."""


class ClientBinding:
    """The durable client binding's JSON, once devhost knows where it serves the durable HTTP API
    (it is the same JSON for every function, as the extension builds it).

    ``serve`` is for a host that serves that API only once a function needs it: ``ready()``
    awaits it (once) and keeps the JSON it returns.
    """

    def __init__(
        self,
        json_text: str | None = None,
        serve: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        self.json_text = json_text
        self._serve = serve
        self._serving: asyncio.Lock | None = None

    async def ready(self) -> None:
        """Make sure the JSON is known, serving the API first if this binding does that."""
        if self.json_text is not None or self._serve is None:
            return
        if self._serving is None:
            self._serving = asyncio.Lock()
        async with self._serving:
            if self.json_text is None:
                self.json_text = await self._serve()


class InvocationContext(func.Context):
    """The context the worker passes to a function with a ``context`` parameter."""

    def __init__(self, function_name: str, function_directory: str) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = function_directory
        self._local = threading.local()
        self._local.invocation_id = self._invocation_id

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> Any:
        return SimpleNamespace(trace_parent="", trace_state="", attributes={})

    @property
    def retry_context(self) -> Any:
        return SimpleNamespace(retry_count=0, max_retry_count=0, exception=None)


@dataclass(frozen=True)
class Parameters:
    """How one function is called: its trigger argument, durable clients, and the context."""

    function_name: str
    trigger: str
    clients: tuple[str, ...]
    wants_context: bool
    unsupported: tuple[str, ...]
    directory: str

    @classmethod
    def of(cls, function: Any) -> Parameters:
        """The function's parameters (worked out once per function object)."""
        cached = getattr(function, "_devhost_parameters", None)
        if cached is None:
            cached = cls._read(function)
            function._devhost_parameters = cached
        return cached

    @classmethod
    def _read(cls, function: Any) -> Parameters:
        trigger = function.get_trigger()
        clients, unsupported, bound = [], [], set()
        for binding in function.get_bindings():
            bound.add(binding.name)
            if binding is trigger or (binding.name == _RETURN and binding.type == _HTTP_OUTPUT):
                continue
            if binding.type == DURABLE_CLIENT:
                clients.append(binding.name)
            else:
                unsupported.append(f"{binding.type} '{binding.name}'")
        user_function = function.get_user_function()
        parameters = inspect.signature(user_function).parameters
        return cls(
            function_name=str(function.get_function_name()),
            trigger=trigger.name,
            clients=tuple(clients),
            wants_context="context" in parameters and "context" not in bound,
            unsupported=tuple(unsupported),
            directory=_directory_of(user_function),
        )

    def arguments(self, trigger_value: Any, client: ClientBinding | None) -> dict[str, Any]:
        """The keyword arguments of one invocation.

        Raises BindingUnavailable for a binding devhost cannot provide, so the invocation
        fails with a message that says which.
        """
        if self.unsupported:
            raise BindingUnavailable(
                f"devhost cannot provide the binding(s) {', '.join(self.unsupported)}"
            )
        arguments = {self.trigger: trigger_value}
        for name in self.clients:
            if client is None or client.json_text is None:
                raise BindingUnavailable(
                    f"durable client '{name}': devhost binds a durable client only while it "
                    "serves the durable HTTP API the client calls"
                )
            arguments[name] = client.json_text
        if self.wants_context:
            arguments["context"] = InvocationContext(self.function_name, self.directory)
        return arguments


async def client_ready(function: Any, client: ClientBinding | None) -> None:
    """Before a function with a durable client input runs: have its binding's JSON ready."""
    if client is not None and Parameters.of(function).clients:
        await client.ready()


def _directory_of(user_function: Any) -> str:
    """The folder of the file that defines the function object, as the worker reports it (for a
    function with a durable client, the SDK's wrapper: the worker does not unwrap it either)."""
    try:
        return str(Path(inspect.getfile(user_function)).parent)
    except (TypeError, OSError):
        return ""
