"""Quiet hours: when notifications wait."""

from __future__ import annotations

from datetime import time


def parse(spec: str) -> tuple[time, time] | None:
    """'22:00-07:00' -> (22:00, 07:00); '' -> None (never quiet)."""
    if not spec:
        return None
    start, end = spec.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def is_quiet(spec: str, moment: time) -> bool:
    """Whether `moment` falls in the quiet hours; a range may run past midnight."""
    hours = parse(spec)
    if hours is None:
        return False
    start, end = hours
    if start <= end:
        return start <= moment < end
    return moment >= start or moment < end
