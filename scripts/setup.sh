#!/usr/bin/env bash
# Idempotent local setup: .venv with the dev requirements, Azurite via npm, local.settings.json.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "setup: $*" >&2; exit 1; }

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

if [ ! -x .venv/bin/python ]; then
  py=${PYTHON:-python3}
  command -v "$py" >/dev/null || die "$py not found; install Python 3.11 or newer"
  python_ok "$py" || die "Python 3.11+ is required; $py is $("$py" -V 2>&1). Set PYTHON=/path/to/python3.11"
  echo "setup: creating .venv with $("$py" -V 2>&1)"
  "$py" -m venv .venv
fi
python_ok .venv/bin/python || die ".venv has $(.venv/bin/python -V 2>&1); delete .venv and rerun with Python 3.11+"

# Reinstall only when a requirements file changed since the last successful install.
stamp=.venv/.requirements.sha256
want=$(.venv/bin/python -c 'import hashlib, sys
print(hashlib.sha256(b"".join(open(f, "rb").read() for f in sys.argv[1:])).hexdigest())' \
  requirements.txt requirements-dev.txt requirements-infra.txt)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "setup: installing Python requirements into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > "$stamp"
fi

# checkov pins packages (e.g. packaging<24) that clash with the test tools, so the offline
# Bicep security scan gets a venv of its own; tests/infra runs it as a command.
stamp=.venv-infra/.requirements.sha256
want=$(.venv/bin/python -c 'import hashlib; print(hashlib.sha256(open("requirements-checkov.txt", "rb").read()).hexdigest())')
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "setup: installing checkov into .venv-infra"
  [ -x .venv-infra/bin/python ] || .venv/bin/python -m venv .venv-infra
  .venv-infra/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
  echo "$want" > "$stamp"
fi

if [ ! -x node_modules/.bin/azurite ]; then
  command -v npm >/dev/null || die "npm not found; install Node.js 18 or newer (it provides Azurite)"
  node -e 'process.exit(+process.versions.node.split(".")[0] < 18 ? 1 : 0)' \
    || die "Node.js 18+ is required; found $(node --version)"
  echo "setup: installing Azurite (npm install)"
  npm install --no-audit --no-fund
fi

if [ ! -f local.settings.json ]; then
  cp local.settings.sample.json local.settings.json
  echo "setup: created local.settings.json from local.settings.sample.json"
fi
