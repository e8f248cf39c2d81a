"""Startup problems are one line naming what is wrong: a host.json that does not parse (with its
path) or lacks ``"version": "2.0"``, and a v1 (function.json) app, which devhost does not run.

host.json follows src/WebJobs.Script/Config/HostJsonFileConfigurationSource.cs
(azure-functions-host v4.1037): ``JObject.Parse`` (Json.NET, which allows comments and trailing
commas), then "Unable to parse host configuration file '<path>'." or the ``version`` checks.
The v1 app follows azure_functions_worker/dispatcher.py (azure-functions-python-worker 4.34.0):
without function_app.py the worker falls back to function.json indexing, which devhost lacks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost.config import HostConfig
from devhost.host import main

APP = """
import azure.durable_functions as df

app = df.DFApp()


@app.activity_trigger(input_name="name")
def hello(name):
    return name
"""


def refusal(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main([*args, "--store", "memory", "--port", "0"]) == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    return error


def app_with_host_json(folder: Path, host_json: str) -> Path:
    (folder / "function_app.py").write_text(APP)
    (folder / "host.json").write_text(host_json)
    return folder


def test_a_host_json_that_does_not_parse_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_with_host_json(tmp_path, '{"version": "2.0", "extensions": {')
    error = refusal(["--app", str(app)], capsys)
    assert error.startswith(
        f"devhost: error: Unable to parse host configuration file '{app / 'host.json'}'."
    )


def test_a_host_json_without_its_version_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = app_with_host_json(tmp_path, '{"extensions": {}}')
    error = refusal(["--app", str(app)], capsys)
    assert "The host.json file is missing the required 'version' property." in error


def test_comments_and_trailing_commas_parse_as_json_net_reads_them(tmp_path: Path) -> None:
    app = app_with_host_json(
        tmp_path,
        '{\n  "version": "2.0", // the schema\n  /* durable */ "extensions": {"durableTask":'
        ' {"hubName": "Commented//Hub",},},\n}',
    )
    assert HostConfig.load(app).hub_name == "Commented//Hub"


def test_a_v1_app_is_refused_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    function = tmp_path / "HttpExample"
    function.mkdir()
    (function / "__init__.py").write_text("def main(req):\n    return 'hello'\n")
    (function / "function.json").write_text(
        json.dumps({"scriptFile": "__init__.py", "bindings": [{"type": "httpTrigger"}]})
    )
    error = refusal(["--app", str(tmp_path)], capsys)
    assert error == (
        f"devhost: error: cannot load the app: {tmp_path} is a v1 app: v1 (function.json) apps "
        "are not supported by devhost: it runs apps of the v2 programming model, whose "
        "function_app.py declares the functions with decorators"
    )


@pytest.mark.parametrize(
    "setting", ["maxConcurrentActivityFunctions", "maxConcurrentOrchestratorFunctions"]
)
def test_a_concurrency_limit_below_one_is_refused(
    setting: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """DurableTaskOptions.Validate (azure-functions-durable-extension, src/WebJobs.Extensions.
    DurableTask/Options/DurableTaskOptions.cs) refuses a limit <= 0 at startup."""
    host_json = {"version": "2.0", "extensions": {"durableTask": {setting: 0}}}
    app = app_with_host_json(tmp_path, json.dumps(host_json))
    error = refusal(["--app", str(app)], capsys)
    pascal = setting[0].upper() + setting[1:]
    assert error == f"devhost: error: {pascal} must be a positive integer value."
