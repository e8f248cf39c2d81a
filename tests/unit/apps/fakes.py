"""What the fake activities of the fixture apps apps/saga and apps/permanent share: a journal of
what they did, attempts counted per idempotency key, the operator's repairs, and the effect of a
call that goes through (an action applies once; a compensation undoes it, or tombstones an action
that never applied, so a late action has no effect)."""

import threading
from typing import Any

from shared.saga import ok


class Fakes:
    """The state of one app's fake activities; each app exposes `journal` and `repaired`."""

    def __init__(self) -> None:
        self.journal: list[tuple[str, str, str]] = []  # (activity, idempotency key, what happened)
        self.attempts: dict[tuple[str, str], int] = {}
        self.applied: set[str] = set()
        self.tombstones: set[str] = set()
        self.repaired: set[str] = set()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.journal.clear()
            self.attempts.clear()
            self.applied.clear()
            self.tombstones.clear()
            self.repaired.clear()

    def instruction(self, name: str, request: dict[str, Any]) -> tuple[str, int]:
        """What the saga input's `fail` map tells activity `name` to do ("" once repaired, or
        once a "fault:N" has passed), and which attempt at this idempotency key this is."""
        key = request["key"]
        spec = str(((request.get("input") or {}).get("fail") or {}).get(name, ""))
        if name in self.repaired:
            spec = ""
        with self._lock:
            self.attempts[(name, key)] = attempt = self.attempts.get((name, key), 0) + 1
        if spec.startswith("fault") and attempt > int(spec.partition(":")[2] or 10**9):
            spec = ""
        return spec, attempt

    def note(self, name: str, request: dict[str, Any], what: str) -> None:
        self.journal.append((name, request["key"], what))

    def go_through(self, name: str, request: dict[str, Any]) -> Any:
        """Take the call's effect, journal it, and return a success."""
        key = request["key"]
        with self._lock:
            if "actionKey" in request:  # a compensation
                done = "undone" if request["actionKey"] in self.applied else "tombstone"
                self.tombstones.add(request["actionKey"])
            elif key in self.tombstones:
                done = "ignored"
            else:
                done = "ok"
                self.applied.add(key)
        self.note(name, request, done)
        return ok({"by": name})
