"""The base of saga contract models: frozen pydantic models, camelCase on the wire, no extras."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints
from pydantic.alias_generators import to_camel


class Contract(BaseModel):
    """A step's input or result, or a saga's input: what the orchestrator sends is what the
    activity reads, since both use the same class. On the wire (the durable history, the
    ledger) fields are camelCase (``orderId``); in Python they are snake_case. Unknown fields
    are refused, so a field renamed on one side fails the first test that crosses it."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON object the durable host carries (camelCase, JSON types only)."""
        return self.model_dump(mode="json", by_alias=True)


# Field types with the limits every saga's contracts share. bool is refused where a number is
# wanted (StrictInt), and numbers stay below 2**53 so every JSON client reads them exactly.
Text = Annotated[str, StringConstraints(strict=True, min_length=1, pattern=r"\S")]
WholeNumber = Annotated[StrictInt, Field(ge=0, lt=2**53)]
PositiveNumber = Annotated[StrictInt, Field(ge=1, lt=2**53)]
Cents = WholeNumber


_AS_IS = frozenset({str, int, float, bool, type(None)})


def to_wire(value: Any) -> Any:
    """``value`` as the durable host carries it: a Contract becomes its JSON object, lists and
    dicts are converted member by member, anything else is returned as it is."""
    if type(value) in _AS_IS:  # the common case first: orchestrators convert on every replay
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list | tuple):
        return [to_wire(item) for item in value]
    if isinstance(value, dict):
        return {key: to_wire(item) for key, item in value.items()}
    return value
