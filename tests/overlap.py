"""How many of some timed spans ran at once: for tests of concurrency limits."""

from __future__ import annotations

from collections.abc import Iterable


def most_at_once(spans: Iterable[tuple[float, float]]) -> int:
    """The most of these (began, ended) spans that overlapped at any moment."""
    # At a tie an end counts before a start: spans that only touch did not overlap.
    edges = sorted(edge for began, ended in spans for edge in ((began, 1), (ended, -1)))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak
