"""Checks of numbers the services store."""

from __future__ import annotations


def whole_number(value: object, what: str) -> int:
    """`value` if it is an int from 0 up that Table storage can hold (64 bits), else ValueError."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise ValueError(f"{what} must be a whole number from 0 up, got {value!r:.100}")
    return value
