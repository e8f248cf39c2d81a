"""Saga definitions are checked when constructed, with messages naming the offending entry;
retry policies compute their backoff; activity results travel in envelopes."""

from datetime import UTC, datetime

import pytest

from shared.saga import (
    PIVOT,
    RETRIABLE,
    ApprovalGate,
    EngineCode,
    FanOut,
    ParallelGroup,
    RetryPolicy,
    SagaDefinition,
    SagaDefinitionError,
    Step,
    StepError,
    failure,
    ok,
    parse_envelope,
)


def undoable(name: str) -> Step:
    return Step(name, f"do_{name}", f"undo_{name}")


PIVOT_STEP = Step("ship", "ship", kind=PIVOT)
RETRIABLE_STEP = Step("confirm", "confirm", kind=RETRIABLE)
GATE = ApprovalGate("approval", timeout_seconds=60)


def rejected(steps: list, match: str) -> None:
    with pytest.raises(SagaDefinitionError, match=match):
        SagaDefinition("order", steps)


class TestValidDefinitions:
    def test_the_canonical_shape_is_accepted(self) -> None:
        """Compensatable steps, a group and a gate, then the pivot, then retriable steps."""
        group = ParallelGroup("stock", [undoable("a"), undoable("b")])
        definition = SagaDefinition(
            "order", [undoable("create"), group, GATE, PIVOT_STEP, RETRIABLE_STEP]
        )
        assert [entry.name for entry in definition.steps] == [
            "create",
            "stock",
            "approval",
            "ship",
            "confirm",
        ]

    def test_a_saga_without_pivot_or_without_compensatable_steps_is_accepted(self) -> None:
        SagaDefinition("compensatable only", [undoable("a"), undoable("b")])
        SagaDefinition("no return", [PIVOT_STEP, RETRIABLE_STEP])
        SagaDefinition("retriable only", [RETRIABLE_STEP])

    def test_steps_are_stored_as_a_tuple(self) -> None:
        """A frozen definition cannot be changed through the list it was built from."""
        steps = [undoable("a")]
        definition = SagaDefinition("order", steps)
        steps.append(undoable("b"))
        assert len(definition.steps) == 1


class TestOrderingRules:
    def test_a_compensatable_step_after_the_pivot_is_rejected(self) -> None:
        rejected(
            [undoable("a"), PIVOT_STEP, undoable("late")],
            r"saga 'order': step 'late' \(compensatable\) comes after the pivot 'ship'",
        )

    def test_a_group_after_the_pivot_is_rejected(self) -> None:
        rejected(
            [PIVOT_STEP, ParallelGroup("stock", [undoable("a")])],
            r"parallel group 'stock' comes after the pivot 'ship'",
        )

    def test_a_gate_after_the_pivot_is_rejected(self) -> None:
        rejected([PIVOT_STEP, GATE], r"approval gate 'approval' comes after the pivot 'ship'")

    def test_a_compensatable_step_after_a_retriable_one_is_rejected(self) -> None:
        rejected(
            [RETRIABLE_STEP, undoable("late")],
            r"step 'late' \(compensatable\) comes after the retriable step 'confirm'",
        )

    def test_a_second_pivot_is_rejected(self) -> None:
        rejected(
            [PIVOT_STEP, Step("bill", "bill", kind=PIVOT)],
            r"step 'bill' is a second pivot \(the first is 'ship'\)",
        )

    def test_a_pivot_after_a_retriable_step_is_rejected(self) -> None:
        rejected(
            [RETRIABLE_STEP, PIVOT_STEP],
            r"pivot 'ship' comes after the retriable step 'confirm'",
        )

    def test_an_empty_saga_is_rejected(self) -> None:
        rejected([], r"saga 'order' has no steps")

    def test_something_that_is_not_a_step_is_rejected(self) -> None:
        rejected(["charge"], r"'charge' is not a Step, group or gate")


class TestCompensationRules:
    def test_a_compensatable_step_needs_a_compensation(self) -> None:
        rejected(
            [Step("charge", "charge")],
            r"step 'charge' is compensatable but has no compensation",
        )

    def test_a_pivot_must_not_have_a_compensation(self) -> None:
        rejected(
            [Step("ship", "ship", "unship", kind=PIVOT)],
            r"step 'ship' is pivot and must not have a compensation",
        )

    def test_a_retriable_step_must_not_have_a_compensation(self) -> None:
        rejected(
            [Step("confirm", "confirm", "unconfirm", kind=RETRIABLE)],
            r"step 'confirm' is retriable and must not have a compensation",
        )

    def test_every_group_member_must_be_compensatable(self) -> None:
        rejected(
            [ParallelGroup("stock", [undoable("a"), PIVOT_STEP])],
            r"step 'ship' in parallel group 'stock' is pivot; every member of a group must be "
            r"compensatable",
        )

    def test_a_group_member_needs_a_compensation(self) -> None:
        rejected(
            [ParallelGroup("stock", [Step("a", "a")])],
            r"step 'a' is compensatable but has no compensation",
        )


class TestNames:
    def test_duplicate_names_are_rejected_across_steps_groups_and_members(self) -> None:
        rejected(
            [undoable("a"), ParallelGroup("stock", [undoable("a")])],
            r"the name 'a' is used twice",
        )
        rejected([ParallelGroup("stock", [undoable("stock")])], r"the name 'stock' is used twice")

    @pytest.mark.parametrize("name", ["", "a:compensate", None])
    def test_a_name_must_be_a_non_empty_string_without_colons(self, name: object) -> None:
        """Names make the idempotency keys `{instance}:{step}[:compensate]`."""
        with pytest.raises(SagaDefinitionError, match=r"step name .* must be a non-empty"):
            Step(name, "act", "undo")  # type: ignore[arg-type]

    def test_gates_cannot_share_an_event_or_use_a_reserved_one(self) -> None:
        second = ApprovalGate("second", timeout_seconds=60)
        rejected(
            [GATE, second],
            r"approval gate 'second' cannot use the event name 'Approval'",
        )
        with pytest.raises(SagaDefinitionError, match=r"event name 'Cancel'"):
            SagaDefinition("order", [ApprovalGate("g", 60, event_name="Cancel")])


class TestStepFields:
    def test_an_action_must_be_an_activity_function_or_a_name(self) -> None:
        with pytest.raises(SagaDefinitionError, match=r"step 'a': action must be an activity"):
            Step("a", 42, "undo")  # type: ignore[arg-type]

    def test_a_timeout_must_be_positive(self) -> None:
        with pytest.raises(SagaDefinitionError, match=r"step 'a': timeout_seconds must be > 0"):
            Step("a", "act", "undo", timeout_seconds=0)
        with pytest.raises(SagaDefinitionError, match=r"approval gate 'g': timeout_seconds"):
            ApprovalGate("g", timeout_seconds=-1)

    def test_an_input_builder_takes_two_or_three_arguments(self) -> None:
        """(saga_input, results) or (saga_input, results, now); anything else is a mistake
        found when the module is imported, not when the step first runs."""
        now = datetime(2030, 1, 1, tzinfo=UTC)
        two = Step("a", "act", "undo", input=lambda order, results: order["x"])
        three = Step("b", "act", "undo", input=lambda order, results, at: at)
        assert two.build_input({"x": 1}, {}, now) == 1
        assert three.build_input({}, {}, now) == now
        for wrong in (lambda order: order, lambda a, b, c, d: a, 42):
            with pytest.raises(SagaDefinitionError, match=r"step 'c': input must be a callable"):
                Step("c", "act", "undo", input=wrong)  # type: ignore[arg-type]

    def test_an_empty_group_is_rejected(self) -> None:
        with pytest.raises(SagaDefinitionError, match=r"parallel group 'stock' has no steps"):
            ParallelGroup("stock", [])


class TestRetryPolicy:
    def test_delays_grow_by_the_coefficient_up_to_the_cap(self) -> None:
        policy = RetryPolicy(
            6, first_interval_seconds=2, backoff_coefficient=3, max_interval_seconds=60
        )
        assert [policy.delay_seconds(n) for n in range(1, 6)] == [2, 6, 18, 54, 60]

    def test_a_coefficient_of_one_gives_a_constant_delay(self) -> None:
        policy = RetryPolicy(3, first_interval_seconds=5, backoff_coefficient=1)
        assert [policy.delay_seconds(n) for n in (1, 2)] == [5, 5]

    @pytest.mark.parametrize(
        ("fields", "match"),
        [
            ({"max_attempts": 0}, "max_attempts must be at least 1"),
            ({"first_interval_seconds": -1}, "first_interval_seconds must not be negative"),
            ({"backoff_coefficient": 0.5}, "backoff_coefficient must be at least 1"),
            ({"first_interval_seconds": 10, "max_interval_seconds": 5}, "max_interval_seconds"),
        ],
    )
    def test_nonsense_policies_are_rejected(self, fields: dict, match: str) -> None:
        with pytest.raises(SagaDefinitionError, match=match):
            RetryPolicy(**fields)


class TestFanOut:
    def test_a_fan_out_expands_to_one_member_per_item(self) -> None:
        """Members are named step-0, step-1, ... and each gets its own item as input."""
        lines = FanOut(undoable("reserve"), items=lambda order: order["lines"])
        saga = SagaDefinition("order", [lines, PIVOT_STEP])
        expanded = saga.for_input({"lines": ["x", "y"]})
        [group, pivot] = expanded.steps
        assert isinstance(group, ParallelGroup)
        assert [m.name for m in group.steps] == ["reserve-0", "reserve-1"]
        assert [m.input({"lines": []}, {}) for m in group.steps] == ["x", "y"]
        assert pivot is PIVOT_STEP
        assert saga.for_input({"lines": ["x"]}) is not saga

    def test_members_list_every_step_and_gate_one_by_one(self) -> None:
        """What a status lists: fan-out members and group members in place, gates as steps."""
        lines = FanOut(undoable("reserve"), items=lambda order: order["lines"])
        pair = ParallelGroup("pair", [undoable("left"), undoable("right")])
        gate = ApprovalGate("approval")
        saga = SagaDefinition("order", [undoable("create"), lines, gate, pair, PIVOT_STEP])
        members = saga.members({"lines": ["x", "y"]})
        assert [member.name for member in members] == [
            "create",
            "reserve-0",
            "reserve-1",
            "approval",
            "left",
            "right",
            "ship",
        ]
        assert members[3] is gate and members[-1] is PIVOT_STEP

    def test_values_come_back_in_item_order(self) -> None:
        lines = FanOut(undoable("reserve"), items=lambda order: order)
        results = {"reserve-10": 10, "reserve-2": 2, "other": 0, "reserve-x": 9}
        assert lines.values(results) == [2, 10]

    def test_a_definition_without_fan_outs_is_its_own_expansion(self) -> None:
        saga = SagaDefinition("order", [undoable("a"), PIVOT_STEP])
        assert saga.for_input({}) is saga

    def test_fan_out_steps_must_be_compensatable(self) -> None:
        rejected(
            [FanOut(Step("ship", "ship", kind=PIVOT), items=list)],
            "fan-out 'ship' is pivot; the steps of a fan-out run as a parallel group",
        )

    def test_a_fan_out_after_the_pivot_is_rejected(self) -> None:
        rejected(
            [PIVOT_STEP, FanOut(undoable("reserve"), items=list)],
            "fan-out 'reserve' comes after the pivot 'ship'",
        )

    def test_a_member_named_like_another_step_is_refused_when_expanded(self) -> None:
        lines = FanOut(undoable("reserve"), items=lambda order: order)
        saga = SagaDefinition("order", [lines, undoable("reserve-1"), PIVOT_STEP])
        assert [m.name for m in saga.for_input(["x"]).steps[0].steps] == ["reserve-0"]
        with pytest.raises(SagaDefinitionError, match="the name 'reserve-1' is used twice"):
            saga.for_input(["x", "y"])

    def test_an_expansion_keeps_the_name_and_summary(self) -> None:
        def summary(order: object, results: object) -> None:
            return None

        lines = FanOut(undoable("reserve"), items=lambda order: order)
        saga = SagaDefinition("order", [lines, PIVOT_STEP], summary=summary)
        expanded = saga.for_input(["x"])
        assert (expanded.name, expanded.summary) == ("order", summary)
        assert saga.steps[0] is lines  # the definition itself is unchanged

    def test_an_empty_fan_out_is_refused_when_expanded(self) -> None:
        saga = SagaDefinition("order", [FanOut(undoable("reserve"), items=list), PIVOT_STEP])
        with pytest.raises(SagaDefinitionError, match="parallel group 'reserve' has no steps"):
            saga.for_input([])


class TestApprovalTimeout:
    def test_the_timeout_can_come_from_the_saga_input(self) -> None:
        gate = ApprovalGate("approval", timeout=lambda order: order["seconds"])
        assert gate.timeout_for({"seconds": 30}) == 30.0
        assert ApprovalGate("approval", timeout_seconds=60).timeout_for({}) == 60.0

    def test_a_non_positive_timeout_from_the_input_is_refused(self) -> None:
        gate = ApprovalGate("approval", timeout=lambda order: 0)
        with pytest.raises(SagaDefinitionError, match="timeout 0 <= 0"):
            gate.timeout_for({})


class TestEnvelopes:
    def test_ok_and_failure_round_trip(self) -> None:
        assert parse_envelope(ok({"id": 1})).value == {"id": 1}
        assert parse_envelope(ok()).ok
        parsed = parse_envelope(failure("OutOfStock", "only 2 left"))
        assert not parsed.ok
        assert parsed.error == StepError("OutOfStock", "only 2 left")

    @pytest.mark.parametrize(
        "result", [None, "done", {"ok": "yes"}, {"ok": False}, {"ok": False, "error": {}}]
    )
    def test_anything_else_is_a_malformed_result(self, result: object) -> None:
        parsed = parse_envelope(result)
        assert parsed.error is not None
        assert parsed.error.code == EngineCode.MALFORMED_RESULT
