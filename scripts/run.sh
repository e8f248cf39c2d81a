#!/usr/bin/env bash
# Runs the app on http://127.0.0.1:7071 with Azurite: `func start` if installed, else devhost.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

port_open() {
  .venv/bin/python -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5)' \
    "$1" 2>/dev/null
}

azurite_pid=""
cleanup() {
  # Stop only the Azurite this script started; one that was already running is left alone.
  if [ -n "$azurite_pid" ]; then
    kill "$azurite_pid" 2>/dev/null || true
    wait "$azurite_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if port_open 10002; then
  echo "run: using the Azurite already listening on 127.0.0.1:10002"
else
  .venv/bin/python -m devhost.azurite &
  azurite_pid=$!
  for _ in $(seq 1 100); do
    port_open 10002 && break
    kill -0 "$azurite_pid" 2>/dev/null || { echo "run: Azurite failed to start" >&2; exit 1; }
    sleep 0.2
  done
  port_open 10002 || { echo "run: Azurite did not open port 10002" >&2; exit 1; }
fi

echo "run: serving http://127.0.0.1:7071/api/health (Ctrl-C stops)"
if command -v func >/dev/null; then
  # Core Tools runs the worker with the first python on PATH: make it the project's venv.
  PATH="$PWD/.venv/bin:$PATH" func start --port 7071
else
  # Functions run in worker processes, as under func start (and four keep 2 cores busy).
  .venv/bin/python -m devhost --port 7071 --worker-processes 4
fi
