"""An app that needs what devhost does not run is refused at load, naming each function and why:
durable entities, triggers other than HTTP, timer, orchestration and activity, and bindings other
than durable client inputs and an HTTP function's response.

On Azure these apps load: azure_functions_worker/loader.py (azure-functions-python-worker 4.34.0)
indexes any binding type, and the extensions run them. devhost lacks those triggers and
bindings, so rather than list the functions and fail at their first call it refuses the app,
as the worker refuses an app it cannot index (one message, no function loaded). The type names
are the ones the decorators write, from azure/functions/decorators/constants.py
(azure-functions 1.26.0) and azure/durable_functions/decorators/durable_app.py
(azure-functions-durable 1.7.0: ``entity_trigger`` writes ``entityTrigger``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devhost.app_loader import AppLoadError, load_app
from devhost.host import main

HEADER = """
import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
"""

ENTITY = """
@app.entity_trigger(context_name="context")
def counter(context):
    context.set_state((context.get_state(lambda: 0) or 0) + 1)
"""

QUEUE_TRIGGER = """
@app.queue_trigger(arg_name="message", queue_name="orders", connection="AzureWebJobsStorage")
@app.durable_client_input(client_name="client")
async def on_order(message: func.QueueMessage, client) -> None:
    await client.start_new("saga", None, message.get_body().decode())
"""

BLOB_INPUT = """
@app.activity_trigger(input_name="name")
@app.blob_input(arg_name="document", path="docs/{name}", connection="AzureWebJobsStorage")
def read_document(name: str, document: func.InputStream) -> str:
    return document.read().decode()
"""

QUEUE_OUTPUT = """
@app.route(route="notify")
@app.queue_output(arg_name="outbox", queue_name="outbox", connection="AzureWebJobsStorage")
def notify(req: func.HttpRequest, outbox: func.Out[str]) -> func.HttpResponse:
    outbox.set(req.get_body().decode())
    return func.HttpResponse(status_code=202)
"""

SUPPORTED = """
@app.route(route="start/{name}")
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["name"])
    return client.create_check_status_response(req, instance_id)


@app.schedule(schedule="0 0 * * * *", arg_name="timer")
@app.durable_client_input(client_name="client")
async def hourly(timer: func.TimerRequest, client) -> None:
    await client.start_new("saga")


@app.orchestration_trigger(context_name="context")
def saga(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("step", context.get_input()))


@app.activity_trigger(input_name="value")
@app.durable_client_input(client_name="client")
async def step(value: str, client) -> str:
    return str(value)
"""


def app_with(folder: Path, *functions: str) -> Path:
    (folder / "function_app.py").write_text(HEADER + "\n".join(functions))
    return folder


def refusal(folder: Path, *functions: str) -> str:
    with pytest.raises(AppLoadError) as refused:
        load_app(app_with(folder, *functions))
    message = str(refused.value)
    assert message.startswith("devhost cannot run this app: ")
    return message


def test_an_entity_function_is_refused_as_entities_are_not_implemented(tmp_path: Path) -> None:
    message = refusal(tmp_path, SUPPORTED, ENTITY)
    assert (
        "function 'counter' uses a durable entity trigger (entities are not implemented)" in message
    )


def test_a_queue_triggered_function_is_refused_naming_its_trigger(tmp_path: Path) -> None:
    """Only the trigger is named: its durable client input is not what stops devhost."""
    message = refusal(tmp_path, SUPPORTED, QUEUE_TRIGGER)
    assert "function 'on_order' uses a queueTrigger trigger, which devhost does not run." in message
    assert "'client'" not in message


def test_an_input_binding_devhost_does_not_provide_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, SUPPORTED, BLOB_INPUT)
    assert (
        "function 'read_document' uses a blob input binding 'document', which devhost does not "
        "provide." in message
    )


def test_an_output_binding_devhost_does_not_provide_is_refused(tmp_path: Path) -> None:
    message = refusal(tmp_path, SUPPORTED, QUEUE_OUTPUT)
    assert (
        "function 'notify' uses a queue output binding 'outbox', which devhost does not provide."
        in message
    )


def test_every_such_function_is_named_with_what_devhost_runs(tmp_path: Path) -> None:
    message = refusal(tmp_path, ENTITY, SUPPORTED, QUEUE_TRIGGER, BLOB_INPUT)
    named = ["function 'counter'", "function 'on_order'", "function 'read_document'"]
    assert all(name in message for name in named)
    assert [message.index(name) for name in named] == sorted(message.index(n) for n in named)
    assert "devhost runs HTTP, timer, orchestration and activity triggers" in message
    for runnable in ("'start'", "'hourly'", "'saga'", "'step'"):
        assert runnable not in message


def test_an_app_of_the_triggers_and_bindings_devhost_runs_loads(tmp_path: Path) -> None:
    functions = load_app(app_with(tmp_path, SUPPORTED))
    assert {str(f.get_function_name()) for f in functions.every} == {
        "start", "hourly", "saga", "step"
    }  # fmt: skip


def test_python_m_devhost_refuses_the_app_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_with(tmp_path, SUPPORTED, ENTITY)
    (app / "host.json").write_text('{"version": "2.0"}')
    assert main(["--app", str(app), "--store", "memory", "--port", "0"]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert error.startswith("devhost: error: ")
    assert "function 'counter' uses a durable entity trigger" in error
