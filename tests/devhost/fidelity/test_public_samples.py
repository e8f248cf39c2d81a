"""The public Durable Functions Python samples run on devhost with their documented results, or are
refused at load with a message naming the reason.

Each app under tests/devhost/samples/ is our own rewrite of one public sample: the same
decorators, bindings, trigger kinds, client calls and durable patterns, in the same shape. The
samples read (each test names its path and the result it asserts):

- Azure/azure-functions-durable-python `samples-v2/` at e7cb43de (dev, 2024-03-15);
  `samples-v2/orchestration_versioning` at 20ceeaaf (host.json 86326ea7); `samples-v2/openai_agents`
  at 6edbf26a; the v1 `samples/function_chaining` at e7cb43de.
- Azure-Samples/Durable-Task-Scheduler `samples/durable-functions/python/` at c17a179e (2026-06-24).
- Azure-Samples/durable-functions-quickstart-python-azd `src/` at d4027273 (2025-10-10).

Samples are driven over HTTP as their READMEs drive them, on devhost's HTTP surface. The memory
store runs every test; the tests marked `azurite` run a representative subset on the Table store.
"""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import TableClient

from devhost.clock import WallClock
from devhost.store import InstanceStore
from devhost.store.memory import MemoryStore
from devhost.store.tables import TableStore, table_name_for
from devhost.testing import DevHost
from tests.devhost.conftest import Http, HttpResult

SAMPLES = Path(__file__).parents[1] / "samples"
FINAL = {"Completed", "Failed", "Terminated"}
THREE_CITIES = ["Hello Tokyo!", "Hello Seattle!", "Hello London!"]

StoreFactory = Callable[[], InstanceStore]


# --------------------------------------------------------------------------- helpers


@pytest.fixture(params=["memory", pytest.param("table", marks=pytest.mark.azurite)])
def new_store(request: pytest.FixtureRequest) -> Iterator[StoreFactory]:
    """Makes the store a host opens: one memory store shared by every host of the test, or a
    Table store on a task hub of the test's own (dropped after)."""
    if request.param == "memory":
        memory = MemoryStore()
        yield lambda: memory
        return
    connection_string: str = request.getfixturevalue("azurite")
    hub = f"samples{uuid.uuid4().hex[:16]}"
    yield lambda: TableStore(connection_string, hub)
    with TableClient.from_connection_string(connection_string, table_name_for(hub)) as table:
        table.delete_table()


@contextmanager
def serving(app: Path, store: InstanceStore | None = None) -> Iterator[Http]:
    """The app on devhost, on wall-clock time, served over HTTP as `func start` would."""
    with DevHost(app, store=store, clock=WallClock()) as host:
        yield Http(host.serve_http())


def status_of(http: Http, status_url: str) -> dict[str, Any]:
    response = http("GET", status_url)
    assert response.status in (200, 202), (response.status, response.body)
    return dict(response.json())


def wait_until(
    http: Http, status_url: str, reached: Callable[[dict[str, Any]], bool], timeout: float = 30
) -> dict[str, Any]:
    """Poll the instance's status URL until `reached`; fail at once if it ends otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        status = status_of(http, status_url)
        if reached(status):
            return status
        assert status["runtimeStatus"] not in FINAL, status  # it ended, and not as awaited
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def finished(http: Http, started: HttpResult) -> dict[str, Any]:
    """The final status of the instance a starter answered 202 for."""
    assert started.status == 202, (started.status, started.body)
    status_url = started.json()["statusQueryGetUri"]
    return wait_until(http, status_url, lambda status: status["runtimeStatus"] in FINAL)


def completed_output(http: Http, started: HttpResult) -> Any:
    status = finished(http, started)
    assert status["runtimeStatus"] == "Completed", status
    return status["output"]


def load(app: Path) -> None:
    """Load the app as devhost does (tests expect a refusal; a host that loads is closed)."""
    with DevHost(app):
        pass


def copy_app(sample: str, into: Path) -> Path:
    app = into / sample
    shutil.copytree(SAMPLES / sample, app, ignore=shutil.ignore_patterns("__pycache__"))
    return app


# --------------------------------------------------------------------------- samples-v2


class TestFunctionChaining:
    def test_its_host_json_of_two_objects_is_refused_with_its_path(self) -> None:
        """samples-v2/function_chaining/host.json (azure-functions-durable-python e7cb43de) is
        two JSON objects one after the other. The host's HostJsonFileConfigurationSource.cs
        (azure-functions-host v4) fails to start with "Unable to parse host configuration file
        '<path>'."; devhost refuses the app with the same message."""
        app = SAMPLES / "function_chaining"
        with pytest.raises(Exception, match="Unable to parse host configuration file") as info:
            load(app)
        assert f"'{app / 'host.json'}'" in str(info.value)

    def test_with_one_host_json_object_it_greets_three_cities(self, tmp_path: Path) -> None:
        """samples-v2/function_chaining (e7cb43de) once its host.json holds only its first
        object: GET /api/orchestrators/my_orchestrator starts the orchestrator, whose output is
        the tutorial's (docs: durable-functions-sequence, Python) ["Hello Tokyo!",
        "Hello Seattle!", "Hello London!"]."""
        app = copy_app("function_chaining", tmp_path)
        text = (app / "host.json").read_text()
        (app / "host.json").write_text(text[: text.index("}{") + 1])
        with serving(app) as http:
            started = http("GET", "/api/orchestrators/my_orchestrator")
            assert completed_output(http, started) == THREE_CITIES


class TestBlueprint:
    def test_the_blueprint_starter_runs_the_chaining_orchestrator(self) -> None:
        """samples-v2/blueprint (e7cb43de): a func.FunctionApp registering a df.Blueprint from
        durable_blueprints.py; GET /api/startOrchestrator starts my_orchestrator, whose output
        is ["Hello Tokyo!", "Hello Seattle!", "Hello London!"] (by the sample's code)."""
        with serving(SAMPLES / "blueprint") as http:
            assert completed_output(http, http("GET", "/api/startOrchestrator")) == THREE_CITIES

    def test_the_apps_own_http_function_greets_by_name(self) -> None:
        """samples-v2/blueprint (e7cb43de) HttpTrigger, registered on the app itself: a name from
        the query string or the JSON body is greeted, no name gets the template's hint. Its
        auth level is FUNCTION, which the local host does not enforce (no keys locally)."""
        greeting = "Hello, Azure. This HTTP triggered function executed successfully."
        with serving(SAMPLES / "blueprint") as http:
            assert http("GET", "/api/HttpTrigger?name=Azure").body.decode() == greeting
            by_body = http("POST", "/api/HttpTrigger", json_body={"name": "Azure"})
            assert by_body.body.decode() == greeting
            no_name = http("GET", "/api/HttpTrigger")
            assert no_name.status == 200
            assert no_name.body.decode().startswith("This HTTP triggered function executed")


@pytest.fixture
def blob_sdk() -> None:
    """samples-v2/fan_in_fan_out imports azure-storage-blob when it loads."""
    pytest.importorskip("azure.storage.blob", reason="the sample needs azure-storage-blob")


@pytest.mark.usefixtures("blob_sdk")
class TestFanInFanOut:
    def test_an_empty_input_fails_the_orchestrator_with_its_message(self) -> None:
        """samples-v2/fan_in_fan_out (e7cb43de): E2_BackupSiteContent raises "A directory path
        is required as input" when the POSTed JSON is empty; the instance is Failed and its
        output carries that message."""
        with serving(SAMPLES / "fan_in_fan_out") as http:
            started = http("POST", "/api/orchestrators/E2_BackupSiteContent", json.dumps(""))
            status = finished(http, started)
        assert status["runtimeStatus"] == "Failed"
        assert "A directory path is required as input" in status["output"]

    def test_a_request_without_a_body_is_a_server_error(self) -> None:
        """samples-v2/fan_in_fan_out (e7cb43de): HttpStart parses the body as JSON, so a request
        without one raises in the function and the host answers 500."""
        with serving(SAMPLES / "fan_in_fan_out") as http:
            assert http("POST", "/api/orchestrators/E2_BackupSiteContent").status == 500

    def test_a_tree_without_function_folders_fails_as_the_sdk_makes_it(
        self, tmp_path: Path
    ) -> None:
        """samples-v2/fan_in_fan_out (e7cb43de) copies only files of folders named E2_*. For a
        tree without any, the orchestrator yields `task_all([])`, which azure-functions-durable
        1.7.0 (models/Task.py, CompoundTask) completes with the result None, so `sum(None)`
        fails the instance, on Azure as on devhost."""
        (tmp_path / "site").mkdir()
        (tmp_path / "site" / "index.html").write_text("<p>hi</p>")
        with serving(SAMPLES / "fan_in_fan_out") as http:
            root = json.dumps(str(tmp_path))
            status = finished(http, http("POST", "/api/orchestrators/E2_BackupSiteContent", root))
        assert status["runtimeStatus"] == "Failed"
        assert status["output"].endswith("'NoneType' object is not iterable")

    @pytest.mark.azurite
    def test_it_backs_up_the_function_files_and_returns_their_bytes(
        self, tmp_path: Path, azurite: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """samples-v2/fan_in_fan_out (e7cb43de), the docs' "cloud backup" tutorial: every
        __init__.py and function.json under an E2_* folder is uploaded to the `backups`
        container as "<folder>_<file>" through AzureWebJobsStorage, in parallel, and the output
        is the total number of bytes uploaded."""
        from azure.storage.blob import BlobServiceClient

        monkeypatch.setenv("AzureWebJobsStorage", azurite)
        folder = f"E2_{uuid.uuid4().hex[:8]}"  # blob names of their own: uploads don't overwrite
        files = {"__init__.py": "def main():\n    pass\n", "function.json": '{"bindings": []}'}
        (tmp_path / folder).mkdir()
        for name, text in files.items():
            (tmp_path / folder / name).write_text(text)
        (tmp_path / folder / "notes.txt").write_text("not a function file")
        with serving(SAMPLES / "fan_in_fan_out") as http:
            started = http(
                "POST", "/api/orchestrators/E2_BackupSiteContent", json.dumps(str(tmp_path))
            )
            assert completed_output(http, started) == sum(len(t) for t in files.values())
        with BlobServiceClient.from_connection_string(azurite) as service:
            backups = service.get_container_client("backups")
            uploaded = {blob.name for blob in backups.list_blobs(name_starts_with=folder)}
        assert uploaded == {f"{folder}_{name}" for name in files}


# --------------------------------------------------------------------------- versioning

WAITING = "Waiting for Continue event..."


def versioning_app(tmp_path: Path, default_version: str) -> Path:
    app = copy_app("orchestration_versioning", tmp_path)
    set_default_version(app, default_version)
    return app


def set_default_version(app: Path, version: str) -> None:
    """Redeploy with another host.json defaultVersion, as the README's steps 3-5 do."""
    settings = json.loads((app / "host.json").read_text())
    settings["extensions"]["durableTask"]["defaultVersion"] = version
    (app / "host.json").write_text(json.dumps(settings, indent=2))


def start_and_wait_for_continue(http: Http, query: str = "") -> dict[str, str]:
    """Start my_orchestrator over HTTP and wait until it waits for its Continue event."""
    started = http("GET", f"/api/orchestrators/my_orchestrator{query}")
    assert started.status == 202, (started.status, started.body)
    urls: dict[str, str] = started.json()
    wait_until(http, urls["statusQueryGetUri"], lambda s: s["customStatus"] == WAITING)
    return urls


def on_this_host(http: Http, urls: dict[str, str]) -> dict[str, str]:
    """The management URLs of an instance, pointed at this host (a restarted host listens on
    another port)."""
    return {
        key: http.base_url + url[url.index("/runtime/") :]
        for key, url in urls.items()
        if key.endswith("Uri")
    }


def send_continue_and_finish(http: Http, urls: dict[str, str]) -> Any:
    raised = http("POST", urls["sendEventPostUri"].replace("{eventName}", "Continue"), json_body={})
    assert raised.status == 202, (raised.status, raised.body)
    status = wait_until(http, urls["statusQueryGetUri"], lambda s: s["runtimeStatus"] in FINAL)
    assert status["runtimeStatus"] == "Completed", status
    assert status["customStatus"] == "Continue event received"
    return status["output"]


class TestOrchestrationVersioning:
    """samples-v2/orchestration_versioning (azure-functions-durable-python, README and
    function_app.py 20ceeaaf, host.json 86326ea7). The README's outputs predate the sample's
    explicit sub-orchestration version; the code returns four lines: the orchestration's version,
    the sub-orchestration's with an explicit "0.9", the sub-orchestration's by default, and the
    activity's greeting. Each README output is asserted in that four-line form."""

    def test_under_default_version_1_0_it_takes_the_old_path(self, tmp_path: Path) -> None:
        """README: while defaultVersion is "1.0": "Orchestration version: 1.0 /
        Suborchestration version: 1.0 / Hello from A!"."""
        with serving(versioning_app(tmp_path, "1.0")) as http:
            output = send_continue_and_finish(http, start_and_wait_for_continue(http))
        assert output == [
            "Orchestration version: 1.0",
            "Suborchestration version (explicit): 0.9",
            "Suborchestration version (default): 1.0",
            "Hello from A!",
        ]

    def test_under_default_version_2_0_new_instances_take_the_new_path(
        self, tmp_path: Path
    ) -> None:
        """README: once defaultVersion is "2.0", new instances output "Orchestration version:
        2.0 / Suborchestration version: 2.0 / Hello from B!"."""
        with serving(versioning_app(tmp_path, "2.0")) as http:
            output = send_continue_and_finish(http, start_and_wait_for_continue(http))
        assert output == [
            "Orchestration version: 2.0",
            "Suborchestration version (explicit): 0.9",
            "Suborchestration version (default): 2.0",
            "Hello from B!",
        ]

    def test_an_instance_keeps_its_version_across_a_redeploy(
        self, tmp_path: Path, new_store: StoreFactory
    ) -> None:
        """README steps 1-7: an instance started under "1.0" waits for Continue; the app is
        stopped, defaultVersion set to "2.0" and the app started again; after Continue the
        output is "Orchestration version: 1.0 / Suborchestration version: 2.0 / Hello from A!"
        (the instance keeps its version; the sub-orchestration, created after the change, gets
        the new default)."""
        app = versioning_app(tmp_path, "1.0")
        with serving(app, new_store()) as http:
            urls = start_and_wait_for_continue(http)
        set_default_version(app, "2.0")
        with serving(app, new_store()) as http:
            output = send_continue_and_finish(http, on_this_host(http, urls))
        assert output == [
            "Orchestration version: 1.0",
            "Suborchestration version (explicit): 0.9",
            "Suborchestration version (default): 2.0",
            "Hello from A!",
        ]

    def test_a_version_given_on_start_wins_over_the_default(self, tmp_path: Path) -> None:
        """README "Overriding Version Programmatically": `start_new(..., version="1.5")` (the
        sample's `?version=` query) starts the instance at 1.5, which is not "1.0", so it takes
        the new path; the sub-orchestrations still get "0.9" and the host's default. (Started
        under defaultVersion "2.0", so 1.5 is older than the worker's version and accepted by
        any match strategy.)"""
        with serving(versioning_app(tmp_path, "2.0")) as http:
            output = send_continue_and_finish(
                http, start_and_wait_for_continue(http, "?version=1.5")
            )
        assert output == [
            "Orchestration version: 1.5",
            "Suborchestration version (explicit): 0.9",
            "Suborchestration version (default): 2.0",
            "Hello from B!",
        ]


# --------------------------------------------------------------------------- Durable Task Scheduler


class TestHelloCities:
    """Durable-Task-Scheduler samples/durable-functions/python/hello-cities (c17a179e). Its
    host.json selects the `azureManaged` storage provider and hub "default"; devhost keeps its
    own store and uses the hub name."""

    def test_chaining_greets_three_cities_in_order(self, new_store: StoreFactory) -> None:
        """README "Expected Output": POST /api/StartChaining -> ["Hello Tokyo!",
        "Hello Seattle!", "Hello London!"]."""
        with serving(SAMPLES / "dts_hello_cities", new_store()) as http:
            started = http("POST", "/api/StartChaining")
            assert "taskHub=default" in started.json()["statusQueryGetUri"]
            assert completed_output(http, started) == THREE_CITIES

    def test_fan_out_fan_in_greets_five_cities(self, new_store: StoreFactory) -> None:
        """README "Expected Output": POST /api/StartFanOutFanIn -> ["Hello Tokyo!",
        "Hello Seattle!", "Hello London!", "Hello Paris!", "Hello Berlin!"]."""
        with serving(SAMPLES / "dts_hello_cities", new_store()) as http:
            output = completed_output(http, http("POST", "/api/StartFanOutFanIn"))
        assert output == [*THREE_CITIES, "Hello Paris!", "Hello Berlin!"]

    def test_the_starters_accept_only_post(self) -> None:
        """hello-cities (c17a179e) routes its starters with methods=["POST"]: a GET finds no
        function (404)."""
        with serving(SAMPLES / "dts_hello_cities") as http:
            assert http("GET", "/api/StartChaining").status == 404


class TestDtsFanOutFanIn:
    def test_the_client_decorator_of_another_registry_is_refused(self) -> None:
        """Durable-Task-Scheduler samples/durable-functions/python/fan-out-fan-in (c17a179e)
        stacks `@bp.durable_client_input` over `@app.route`; azure-functions' _validate_type
        then gives the client binding to the Blueprint's last function, so the starter has a
        `client` parameter without a binding. The Python worker's functions.Registry
        (azure-functions-python-worker 4.34.0) refuses the app: "cannot load the
        start_fan_out_fan_in function: the following parameters are declared in Python but not
        in function.json: {'client'}"."""
        message = (
            "cannot load the start_fan_out_fan_in function: the following parameters are "
            "declared in Python but not in function.json: {'client'}"
        )
        with pytest.raises(Exception, match=message.replace("{", r"\{").replace("}", r"\}")):
            load(SAMPLES / "dts_fan_out_fan_in")


class TestWorkItemFiltering:
    def test_app_a_with_a_durable_entity_is_refused(self) -> None:
        """Durable-Task-Scheduler samples/durable-functions/python/work-item-filtering
        (c17a179e) has the entity counter_entity, called by counter_orchestration (README
        "Expected" 30). devhost has no durable entities: it refuses the app at load, naming
        the entity function and the missing feature."""
        with pytest.raises(Exception, match=r"(?i)entit") as info:
            load(SAMPLES / "dts_work_item_filtering")
        assert "counter_entity" in str(info.value)

    def test_app_b_ships_the_order(self, new_store: StoreFactory) -> None:
        """Durable-Task-Scheduler samples/durable-functions/python/work-item-filtering-app-b
        (c17a179e), run-both.ps1 scenario 2 "App B orchestration, scheduled from App B client:
        Completed": POST /api/orchestrators/orders starts orders_orchestration with "order-42";
        the output is "Shipped order-42 from App B" (by the code). The app has no extension
        bundle (extensions.csproj) and sets workItemFilteringEnabled: devhost takes both."""
        with serving(SAMPLES / "dts_work_item_filtering_app_b", new_store()) as http:
            output = completed_output(http, http("POST", "/api/orchestrators/orders"))
        assert output == "Shipped order-42 from App B"


def test_agent_directed_workflows_with_a_chat_entity_is_refused() -> None:
    """Durable-Task-Scheduler samples/durable-functions/python/agent-directed-workflows
    (c17a179e): each chat session is the entity chat_agent_entity, signalled and read by HTTP
    functions through their durable client. devhost refuses the app at load, naming the entity
    function and the missing feature."""
    with pytest.raises(Exception, match=r"(?i)entit") as info:
        load(SAMPLES / "dts_agent_directed_workflows")
    assert "chat_agent_entity" in str(info.value)


def test_pdf_summarizer_with_a_blob_trigger_is_refused() -> None:
    """Durable-Task-Scheduler samples/durable-functions/python/pdf-summarizer (c17a179e): a blob
    trigger with a durable client starts the orchestrator, and an activity takes an OpenAI
    `textCompletion` input binding. devhost runs neither: it refuses the app at load, naming
    the blob-triggered function."""
    with pytest.raises(Exception, match="blob_trigger") as info:
        load(SAMPLES / "dts_pdf_summarizer")
    assert "blobTrigger" in str(info.value)


# --------------------------------------------------------------------------- azd quickstart


class LearnPages(http.server.BaseHTTPRequestHandler):
    """Stands in for learn.microsoft.com: each page's title is its last path segment."""

    def do_GET(self) -> None:
        slug = self.path.rstrip("/").rsplit("/", 1)[-1]
        if slug == "functions-scenarios" and getattr(self.server, "scenarios_missing", False):
            self.send_error(404)
            return
        page = f"<html><head><title>{slug} | Microsoft Learn</title></head></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def learn_site(monkeypatch: pytest.MonkeyPatch) -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), LearnPages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("LEARN_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class TestAzdQuickstart:
    """Azure-Samples/durable-functions-quickstart-python-azd src/ (d4027273). Our copy takes the
    pages' origin from LEARN_BASE_URL so the test runs offline against a local stand-in."""

    def test_it_answers_with_the_management_urls_and_joins_the_titles(
        self, learn_site: http.server.ThreadingHTTPServer, new_store: StoreFactory
    ) -> None:
        """README "Run your app": GET /api/orchestrators/fetch_orchestration answers with `id`
        and `statusQueryGetUri` ".../runtime/webhooks/durabletask/instances/<id>?taskHub=
        TestHubName&connection=Storage..."; the orchestration fans out to fetch_title (an async
        aiohttp activity) and returns "the titles as a formatted string" joined by "; "."""
        with serving(SAMPLES / "azd_quickstart", new_store()) as http:
            started = http("GET", "/api/orchestrators/fetch_orchestration")
            urls = started.json()
            assert urls["statusQueryGetUri"].startswith(
                f"{http.base_url}/runtime/webhooks/durabletask/instances/{urls['id']}"
                "?taskHub=TestHubName&connection=Storage"
            )
            assert {"sendEventPostUri", "terminatePostUri"} <= set(urls)
            output = completed_output(http, started)
        assert output == (
            "durable-functions-overview; durable-task-scheduler; functions-scenarios; "
            "functions-create-ai-enabled-apps"
        )

    def test_a_page_that_fails_is_reported_in_the_output(
        self, learn_site: http.server.ThreadingHTTPServer
    ) -> None:
        """src/function_app.py (d4027273): fetch_title catches every error and returns "Error
        fetching from <url>: <error>", so the orchestration still completes."""
        learn_site.scenarios_missing = True  # type: ignore[attr-defined]
        with serving(SAMPLES / "azd_quickstart") as http:
            output = completed_output(http, http("GET", "/api/orchestrators/fetch_orchestration"))
        parts = output.split("; ")
        assert parts[0] == "durable-functions-overview"
        assert parts[2].startswith("Error fetching from http://127.0.0.1:")
        assert "functions-scenarios: 404" in parts[2]


# --------------------------------------------------------------------------- refused as on Azure


def test_openai_agents_without_the_agents_package_is_refused() -> None:
    """samples-v2/openai_agents (azure-functions-durable-python 6edbf26a) imports the OpenAI
    Agents SDK (`agents`, from openai-agents) when it loads; where it is not installed, the
    Python worker's loader fails indexing with ModuleNotFoundError, and devhost refuses the app
    naming the module."""
    with pytest.raises(Exception, match="No module named 'agents'"):
        load(SAMPLES / "openai_agents")


def test_a_v1_function_json_app_is_refused_saying_so() -> None:
    """The v1 samples (azure-functions-durable-python `samples/function_chaining` at e7cb43de and
    its siblings) declare functions in <name>/function.json. The real host runs them by host
    indexing; devhost runs only v2 apps and says so at load."""
    with pytest.raises(Exception, match=r"v1 \(function.json\) apps are not supported"):
        load(SAMPLES / "v1_function_chaining")
