#!/usr/bin/env bash
# Runs the test suite: bash scripts/test.sh [pytest args]; paths are relative to the repo root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Azurite is started on demand by the `azurite` fixture in tests/conftest.py.
status=0
.venv/bin/python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "test: pytest collected no tests; check the paths, -k and -m arguments" >&2
fi
exit "$status"
