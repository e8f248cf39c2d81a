"""Values the SDK left JSON-encoded are decoded once; everything else passes through."""

import pytest

from shared.json_text import decoded_once


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ('{"approved": true}', {"approved": True}),
        ('"text"', "text"),
        ("not json", "not json"),
        ({"approved": False}, {"approved": False}),
        (None, None),
        ('"{\\"a\\": 1}"', '{"a": 1}'),  # decoded once, not recursively
    ],
)
def test_decoded_once(raw: object, value: object) -> None:
    assert decoded_once(raw) == value
