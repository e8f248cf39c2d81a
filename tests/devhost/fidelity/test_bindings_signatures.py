"""Functions whose parameters don't match their bindings are refused when the app is indexed,
with the function's name and the Python worker's own message.

Follows azure_functions_worker/functions.py, ``Registry.add_indexed_function`` and
``validate_function_params``, with azure_functions_worker/_thirdparty/typing_inspect.py
(azure-functions-python-worker 4.34.0) on Python 3.11, where ``isinstance(dict[str, Any], type)``
is False: a builtin generic annotation such as ``dict[str, Any]`` on an activity's input is
refused (Azure/azure-functions-durable-python issue 468: "works fine in 3.10").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devhost.app_loader import AppLoadError, load_app
from devhost.signatures import FunctionLoadError, check_functions

HEADER = """
import typing
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
"""


def refusal(tmp_path: Path, functions: str) -> str:
    """The message the app is refused with (by the check itself, or by load_app calling it)."""
    (tmp_path / "function_app.py").write_text(HEADER + functions)
    with pytest.raises((FunctionLoadError, AppLoadError)) as refused:
        check_functions(load_app(tmp_path).every)
    return str(refused.value)


def accepted(tmp_path: Path, functions: str) -> None:
    (tmp_path / "function_app.py").write_text(HEADER + functions)
    check_functions(load_app(tmp_path).every)


def test_a_parameter_without_a_binding_is_refused(tmp_path: Path) -> None:
    message = refusal(
        tmp_path,
        '@app.activity_trigger(input_name="name")\ndef greet(name, greeting):\n    return name\n',
    )
    assert message.endswith(
        "cannot load the greet function: the following parameters are declared in Python but "
        "not in function.json: {'greeting'}"
    )


def test_a_binding_without_a_parameter_is_refused(tmp_path: Path) -> None:
    """A durable client named other than the parameter (the client_name is the binding name)."""
    message = refusal(
        tmp_path,
        '@app.route(route="start")\n@app.durable_client_input(client_name="starter")\n'
        "async def start(req: func.HttpRequest):\n    return 'x'\n",
    )
    assert message.endswith(
        "cannot load the start function: the following parameters are declared in function.json "
        "but not in Python: {'starter'}"
    )


def test_a_builtin_generic_annotation_on_an_activity_input_is_refused(tmp_path: Path) -> None:
    message = refusal(
        tmp_path,
        '@app.activity_trigger(input_name="call")\n'
        "def charge(call: dict[str, Any]) -> dict[str, Any]:\n    return call\n",
    )
    assert message.endswith(
        "cannot load the charge function: binding call has invalid non-type annotation "
        "dict[str, typing.Any]"
    )


def test_an_annotation_the_binding_cannot_convert_is_refused(tmp_path: Path) -> None:
    message = refusal(
        tmp_path, '@app.route(route="x")\ndef handler(req: dict) -> str:\n    return "x"\n'
    )
    assert message.endswith(
        "cannot load the handler function: 'req' binding type \"httpTrigger\" and dataType "
        '"None" in function.json do not match the corresponding function parameter\'s Python '
        'type annotation "dict"'
    )


def test_a_context_parameter_of_another_type_is_refused(tmp_path: Path) -> None:
    message = refusal(
        tmp_path,
        '@app.activity_trigger(input_name="name")\n'
        "def greet(name, context: str):\n    return name\n",
    )
    assert message.endswith(
        'cannot load the greet function: the "context" parameter is expected to be of type '
        "azure.functions.Context, got <class 'str'>"
    )


def test_an_http_function_annotated_to_return_none_is_refused(tmp_path: Path) -> None:
    message = refusal(
        tmp_path, '@app.route(route="x")\ndef nothing(req: func.HttpRequest) -> None:\n    pass\n'
    )
    assert message.endswith(
        'cannot load the nothing function: Python return annotation "NoneType" does not match '
        'binding type "http"'
    )


def test_the_forms_the_worker_accepts_load(tmp_path: Path) -> None:
    """typing's generics, Any, bare classes, no annotation, a context and durable clients."""
    accepted(
        tmp_path,
        '@app.activity_trigger(input_name="a")\ndef typed(a: typing.Dict[str, Any]) -> dict:\n'
        "    return a\n\n\n"
        '@app.activity_trigger(input_name="b")\ndef anything(b: Any, context: func.Context):\n'
        "    return b\n\n\n"
        '@app.activity_trigger(input_name="c")\n@app.durable_client_input(client_name="client")\n'
        "async def plain(c: dict, client):\n    return c\n\n\n"
        '@app.route(route="x")\n@app.durable_client_input(client_name="client")\n'
        "async def start(req: func.HttpRequest, client) -> func.HttpResponse:\n"
        '    return func.HttpResponse("x")\n\n\n'
        '@app.orchestration_trigger(context_name="context")\n'
        "def orchestrator(context: df.DurableOrchestrationContext):\n    return 1\n\n\n"
        '@app.schedule(schedule="0 0 * * * *", arg_name="timer")\n'
        "def tick(timer: func.TimerRequest) -> None:\n    pass\n",
    )
