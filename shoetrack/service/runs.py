"""Listing sessions: the runs the runner did, newest first."""

from __future__ import annotations

from ..core.sports import ON_FOOT
from ..errors import NotFound


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
        "shoe": row["shoe"],
        "shoe_reason": row["shoe_reason"],
        "shoe_why": row["shoe_why"],
        "source": row["source"],
        "note": row["note"],
    }


def list_runs(store, *, since: str | None = None, until: str | None = None,
              all_sports: bool = False, shoe: str | None = None) -> list[dict]:
    """On-foot sessions (or every session with `all_sports`) between two days, newest
    first; only those of one pair when `shoe` names it."""
    shoe_id = None
    if shoe is not None:
        row = store.shoe_by_name(shoe)
        if row is None:
            raise NotFound(f"no pair named {shoe!r}; see `shoetrack shoes list --all`")
        shoe_id = row["id"]
    rows = store.sessions(since=since, until=until, sports=None if all_sports else sorted(ON_FOOT),
                          shoe_id=shoe_id)
    return [run_view(row) for row in rows]
