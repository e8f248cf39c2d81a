"""tests/polling.py: the wait the devhost and saga tests use for what other threads bring about."""

import itertools
import time

import pytest

from tests.polling import eventually


def test_the_first_true_answer_is_returned() -> None:
    answers = itertools.chain([None, 0, ""], itertools.repeat("ready"))
    assert eventually(lambda: next(answers), timeout=5, what="readiness", every=0.001) == "ready"


def test_a_wait_that_runs_out_names_what_did_not_happen() -> None:
    began = time.monotonic()
    with pytest.raises(AssertionError, match=r"the sky falling did not happen within 0\.2 s"):
        eventually(lambda: False, timeout=0.2, what="the sky falling", every=0.01)
    assert time.monotonic() - began < 2


def test_a_failing_check_ends_the_wait_at_once() -> None:
    calls = []

    def check() -> bool:
        calls.append(1)
        raise AssertionError("it ended otherwise")

    with pytest.raises(AssertionError, match="it ended otherwise"):
        eventually(check, timeout=5, what="anything")
    assert len(calls) == 1
