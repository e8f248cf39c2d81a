"""The timeline's time axis: long idle stretches (an approval that took hours, a backoff)
are compressed, so milliseconds of work beside them stay readable."""

from __future__ import annotations

from collections.abc import Iterable

from api.operator_models import AxisSegment

# A gap is compressed when it is longer than all the work drawn and at least this long.
MIN_COMPRESSED_MS = 1000


def axis(busy: Iterable[tuple[int, int]], end_ms: int) -> list[AxisSegment]:
    """Segments covering 0..``end_ms``: the stretches around ``busy`` intervals (activity
    attempts) are compressed when they would take over half the drawing."""
    merged: list[list[int]] = []
    for start, end in sorted(busy):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    work_ms = sum(end - start for start, end in merged)
    segments: list[AxisSegment] = []
    cursor = 0
    for start, end in [*merged, [end_ms, end_ms]]:
        if start > cursor:
            gap = start - cursor
            compressed = gap > max(work_ms, MIN_COMPRESSED_MS)
            _add(segments, cursor, start, compressed)
        if end > start:
            _add(segments, start, end, False)
        cursor = max(cursor, end)
    if not segments:
        segments.append(AxisSegment(start_ms=0, end_ms=max(end_ms, 1), compressed=False))
    return segments


def _add(segments: list[AxisSegment], start: int, end: int, compressed: bool) -> None:
    last = segments[-1] if segments else None
    if last is not None and not compressed and not last.compressed:
        segments[-1] = AxisSegment(start_ms=last.start_ms, end_ms=end, compressed=False)
    else:
        segments.append(AxisSegment(start_ms=start, end_ms=end, compressed=compressed))
