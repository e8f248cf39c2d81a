"""The try/finally compensation chain (shared/saga/chain.py) against the naive try/finally, under
the same episodes, on devhost: the real SDK replay, which closes the orchestrator's generator at
the end of every episode (azure-functions-durable-python 1.7, TaskOrchestrationExecutor.py
drops the paused generator; CPython closes it, raising GeneratorExit at its `yield`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devhost.instance import COMPLETED, FAILED
from devhost.testing import DevHost
from tests.unit.saga_host import fake_app, scheduled

APP = Path(__file__).parent / "apps" / "chain"
UNDOS = ("unbook", "refund", "release")


@pytest.fixture
def host() -> Iterator[DevHost]:
    with DevHost(APP) as running:
        fake_app(running).reset()
        yield running


@pytest.fixture
def dropped(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Errors Python could not raise to anyone: a `yield` while GeneratorExit propagates."""
    seen: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: seen.append(str(info.exc_value)))
    return seen


def effects(host: DevHost, instance_id: str) -> list[str]:
    """The activities whose effect took place, in order, each at most once (keys dedupe)."""
    return [
        name
        for name, key, done in fake_app(host).journal
        if key.startswith(f"{instance_id}:") and done == "applied"
    ]


def undone(host: DevHost, instance_id: str) -> list[str]:
    return [name for name in effects(host, instance_id) if name in UNDOS]


def run(host: DevHost, orchestrator: str, trip: dict[str, Any]) -> str:
    instance_id = host.start(orchestrator, trip)
    host.wait_for(instance_id)
    return instance_id


class TestTheTrapAndTheFix:
    def test_a_trip_that_succeeds(self, host: DevHost, dropped: list[str]) -> None:
        """Naive: its `finally` runs at every episode boundary (each compensation it asks for
        there is dropped: 'generator ignored GeneratorExit'), and at the real end it undoes a
        trip that succeeded. Chain: nothing compensated, nothing dropped."""
        naive = run(host, "naive_trip", {})
        assert dropped.count("generator ignored GeneratorExit") >= 3
        assert undone(host, naive) == ["unbook", "refund", "release"]

        dropped.clear()
        chain = run(host, "chain_trip", {})
        assert dropped == []
        assert host.output(chain)["status"] == "Completed"
        assert scheduled(host, chain) == ["reserve", "charge", "book", "ship"]
        assert undone(host, chain) == []

    def test_a_step_that_fails_after_its_effect_applied(
        self, host: DevHost, dropped: list[str]
    ) -> None:
        """`book` applies, then its reply is lost. Naive: it registered compensations only for
        steps that replied, so the booking is never undone, and the instance Fails. Chain: every
        step scheduled is compensated (an outcome unknown counts), newest first, once."""
        naive = run(host, "naive_trip", {"fail": "book"})
        assert host.state(naive).runtime_status == FAILED
        assert "book" in effects(host, naive)
        assert undone(host, naive) == ["refund", "release"]  # the booking stays

        chain = run(host, "chain_trip", {"fail": "book"})
        assert host.state(chain).runtime_status == COMPLETED
        output = host.output(chain)
        assert output["status"] == "Compensated"
        assert (output["failure"]["step"], output["failure"]["code"]) == ("book", "ActivityFault")
        assert undone(host, chain) == ["unbook", "refund", "release"]
        assert [name for name in scheduled(host, chain) if name in UNDOS] == list(UNDOS)

    def test_a_compensation_that_faults_once_across_a_crash_and_restart(
        self, host: DevHost, dropped: list[str]
    ) -> None:
        """`refund` faults once and `unbook` loses its reply, then the host crashes while the
        refund waits to retry. Naive: the fault escapes its `finally`, so `release` never runs.
        Chain: after the restart every compensation has applied exactly once, newest first."""
        trip = {"fail": "book", "flaky": "refund"}
        naive = run(host, "naive_trip", trip)
        assert undone(host, naive) == []  # refund raised; release was dropped with it
        assert "release" not in scheduled(host, naive)

        host.faults.crash_after_commit("unbook")
        chain = host.start("chain_trip", trip)
        host.wait_idle()  # unbook done (redelivered), refund failed, its retry timer pending
        assert host.custom_status(chain)["status"] == "Compensating"
        host.restart()
        host.wait_for(chain)
        assert host.output(chain)["status"] == "Compensated"
        assert undone(host, chain) == ["unbook", "refund", "release"]
        journal = [(name, done) for name, key, done in fake_app(host).journal if chain in key]
        assert ("unbook", "repeat") in journal  # the lost reply: delivered twice, applied once
        assert ("refund", "fault") in journal


class TestChainRules:
    def test_a_bug_in_the_saga_code_compensates_then_fails_the_instance(
        self, host: DevHost
    ) -> None:
        """The code raises between steps: the chain undoes what ran, records OrchestratorError,
        and the exception still fails the instance, so the bug is seen."""
        instance_id = run(host, "chain_trip", {"bug": True})
        assert host.state(instance_id).runtime_status == FAILED
        assert "a bug in the saga's own code" in host.output(instance_id)
        record = host.custom_status(instance_id)
        assert record["status"] == "Compensated"
        assert record["failure"]["step"] == "charge"
        assert record["failure"]["code"] == "OrchestratorError"
        assert undone(host, instance_id) == ["refund", "release"]

    @pytest.mark.parametrize(
        ("mistake", "message", "undone_after"),
        [
            ("twice", "'reserve' already ran", ["release"]),
            ("undeclared", "declares no step 'teleport'", ["release"]),
            ("after_pivot", "past the point of no return", []),
            ("after_end", "'charge' runs after the saga ended", []),
        ],
    )
    def test_breaking_a_rule_fails_with_a_clear_error(
        self, host: DevHost, mistake: str, message: str, undone_after: list[str]
    ) -> None:
        """A step run twice (its key would repeat), a step the definition does not list, a
        compensatable step after the pivot, a step after the chain ended the saga: the instance
        fails saying so, after compensating what can still be undone (nothing past the pivot
        or once the saga ended)."""
        instance_id = run(host, "chain_trip", {"mistake": mistake})
        assert host.state(instance_id).runtime_status == FAILED
        assert message in host.output(instance_id)
        assert undone(host, instance_id) == undone_after

    def test_a_body_without_the_chain_is_refused(self, host: DevHost) -> None:
        """Forgetting `finally: yield from saga.compensations()` fails the first run that
        reaches the end, success or not, instead of silently skipping compensation."""
        for trip in ({}, {"fail": "charge"}):
            instance_id = run(host, "no_chain_trip", trip)
            assert host.state(instance_id).runtime_status == FAILED
            assert "without running its compensation chain" in host.output(instance_id)

    def test_a_body_that_returns_a_value_is_refused(self, host: DevHost) -> None:
        instance_id = run(host, "returning_trip", {})
        assert host.state(instance_id).runtime_status == FAILED
        assert "its progress record" in host.output(instance_id)

    def test_a_failure_the_code_catches_lets_the_saga_go_on(self, host: DevHost) -> None:
        """Catching StepFailed takes another path: the saga completes, nothing is undone."""
        instance_id = run(host, "chain_trip", {"fail": "book", "tolerate": True})
        output = host.output(instance_id)
        assert output["status"] == "Completed"
        assert [s["status"] for s in output["steps"]] == [
            "Succeeded",
            "Succeeded",
            "Failed",
            "Succeeded",
        ]
        assert undone(host, instance_id) == []

    def test_the_chain_acts_once_however_often_it_is_called(self, host: DevHost) -> None:
        instance_id = run(host, "chain_trip", {"fail": "book", "again": True})
        assert host.output(instance_id)["status"] == "Compensated"
        assert [name for name in scheduled(host, instance_id) if name in UNDOS] == list(UNDOS)
