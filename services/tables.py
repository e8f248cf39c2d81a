"""The services' tables, declared once in tables.json: read here and by infra/app/storage.bicep."""

from __future__ import annotations

import json
from pathlib import Path

TABLES_FILE = Path(__file__).with_name("tables.json")
TABLES: tuple[str, ...] = tuple(json.loads(TABLES_FILE.read_text(encoding="utf-8")))


def declared(name: str) -> str:
    """``name``, once it is listed in tables.json (so the deployment creates it too)."""
    if name not in TABLES:
        raise LookupError(
            f"table {name!r} is not declared: add it to {TABLES_FILE.name} "
            f"(which lists {', '.join(TABLES)})"
        )
    return name
