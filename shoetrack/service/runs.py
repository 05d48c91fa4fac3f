"""Listing sessions: the runs the runner did, newest first."""

from __future__ import annotations

from ..core.sports import ON_FOOT


def run_view(row: dict) -> dict:
    """The public shape of one session (what `runs --json` prints)."""
    distance = row["distance_m"]
    duration = row["timer_s"] if row["timer_s"] is not None else row["elapsed_s"]
    return {
        "id": row["id"],
        "start_time": row["start_time"],
        "date": row["local_date"],
        "sport": row["sport"],
        "sub_sport": row["sub_sport"],
        "distance_km": None if distance is None else distance / 1000,
        "duration_s": duration,
        "shoe": None,
        "source": row["source"],
    }


def list_runs(store, *, since: str | None = None, until: str | None = None,
              all_sports: bool = False) -> list[dict]:
    """On-foot sessions (or every session with `all_sports`) between two days, newest first."""
    rows = store.sessions(since=since, until=until, sports=None if all_sports else sorted(ON_FOOT))
    return [run_view(row) for row in rows]
