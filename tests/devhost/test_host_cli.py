"""`python -m devhost`: startup errors are one line with exit status 2; SIGINT stops it cleanly."""

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from devhost.azurite import DEV_CONNECTION_STRING
from devhost.host import main, resolve_connection_string, table_endpoint

REPO = Path(__file__).resolve().parents[2]
HTTP_APP = Path(__file__).parent / "apps" / "http"


def test_development_storage_means_the_local_emulator() -> None:
    assert resolve_connection_string("UseDevelopmentStorage=true") == DEV_CONNECTION_STRING
    assert table_endpoint(DEV_CONNECTION_STRING) == ("127.0.0.1", 10002)
    assert table_endpoint("AccountName=x;AccountKey=y") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--app", "/nonexistent/function_app.py", "--store", "memory"], "cannot load the app"),
        (
            [
                "--app",
                str(HTTP_APP),
                "--connection-string",
                "AccountName=a;AccountKey=b;TableEndpoint=http://127.0.0.1:1/a",
            ],
            "storage unreachable at 127.0.0.1:1",
        ),
    ],
)
def test_a_startup_problem_is_one_line_and_exit_2(args: list[str], message: str, capsys) -> None:
    assert main(args) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"devhost: error: {message}")
    assert "\n" not in error


def test_a_taken_port_is_exit_2(capsys) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code = main(["--app", str(HTTP_APP), "--store", "memory", "--port", str(port)])
    assert code == 2
    assert "cannot listen on 127.0.0.1:" in capsys.readouterr().err


def test_serves_the_app_and_stops_on_sigint() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devhost",
            "--app",
            str(HTTP_APP),
            "--store",
            "memory",
            "--port",
            "0",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert process.stdout is not None
        printed = []
        for line in process.stdout:
            printed.append(line)
            if "devhost is running on" in line:
                break
        text = "".join(printed)
        base_url = re.search(r"running on (http://\S+)", text)
        assert base_url, text
        assert re.search(
            r"  http_start: \[POST\] http://127\.0\.0\.1:\d+/api/orchestrators/\{functionName\}",
            text,
        )
        request = urllib.request.Request(
            base_url.group(1) + "/api/orchestrators/hello_sequence/wait",
            data=b'["CLI"]',
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.read() == b'["Hello CLI"]'
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        _, errors = process.communicate(timeout=5)
        assert "http_start_and_wait: POST /api/orchestrators/hello_sequence/wait -> 200" in errors
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
