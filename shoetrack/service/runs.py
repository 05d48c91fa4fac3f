"""Listing sessions: the runs the runner did, newest first."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timezone

from ..core.sports import ON_FOOT
from ..errors import InvalidInput, NotFound


MANUAL = "manual"  # the source of a run logged by hand


def _finite(value: float | None) -> float | None:
    return value if value is None or math.isfinite(value) else None


def run_view(row: dict) -> dict:
    """The public shape of one session (what `runs --json` prints). A figure that is not
    a finite number (only an old version could store one; such runs are hidden) is null."""
    distance = _finite(row["distance_m"])
    duration = _finite(row["timer_s"] if row["timer_s"] is not None else row["elapsed_s"])
    return {
        "id": row["id"],
        "start_time": row["start_time"],
        "date": row["local_date"],
        "sport": row["sport"],
        "sub_sport": row["sub_sport"],
        "distance_km": None if distance is None else round(distance / 1000, 3),  # to the metre
        "duration_s": duration,
        "shoe": row["shoe"],
        "shoe_reason": row["shoe_reason"],
        "shoe_why": row["shoe_why"],
        "source": row["source"],
        "format": "manual" if row["source"] == MANUAL else (row.get("format") or "fit"),
        # the file had no summary of its own: worked out from its records
        "derived": bool(row.get("derived")),
        "note": row["note"],
    }


def list_runs(store, *, since: str | None = None, until: str | None = None,
              all_sports: bool = False, shoe: str | None = None, deleted: bool = False) -> list[dict]:
    """On-foot sessions (or every session with `all_sports`) between two days, newest
    first; only those of one pair when `shoe` names it."""
    shoe_id = None
    if shoe is not None:
        row = store.shoe_by_name(shoe)
        if row is None:
            raise NotFound(f"no pair named {shoe!r}; see `shoetrack shoes list --all`")
        shoe_id = row["id"]
    rows = store.sessions(since=since, until=until, sports=None if all_sports else sorted(ON_FOOT),
                          shoe_id=shoe_id, hidden=deleted)
    return [run_view(row) for row in rows]


def log_run(store, day: date, km: float, *, minutes=None, sport="running", sub_sport=None, shoe=None,
            note=None) -> int:
    """Record a run by hand (treadmill, forgotten watch). Returns its id.

    The values were checked at the edge: a past day, a distance and minutes a
    person can run, FIT sport and sub-sport names.
    """
    from .shoes import _shoe, reattribute

    pair = _shoe(store, shoe) if shoe else None
    if pair and sport not in ON_FOOT:
        raise InvalidInput(f"{sport} is not on foot: a pair of shoes cannot be attached")
    seconds = None if minutes is None else minutes * 60
    run_id = store.add_session({
        "source": MANUAL,
        "session_index": 0,
        "start_time": manual_start_time(day),
        "local_date": day.isoformat(),
        "sport": sport,
        "sub_sport": sub_sport or "generic",
        "distance_m": km * 1000,
        "timer_s": seconds,
        "elapsed_s": seconds,
        "note": note,
    })
    if pair:
        store.set_pin(run_id, pair["id"])
    reattribute(store, [run_id])
    return run_id


# -- undoing mistakes -----------------------------------------------------------------

def _run(store, run_id: int, *, hidden: bool | None = False) -> dict:
    """The run with this id, which must be hidden (True), not hidden (False) or either (None)."""
    row = store.session(run_id)
    if row is None:
        raise NotFound(f"no run with id {run_id}; see `shoetrack runs` for ids")
    if hidden is None:
        return row
    if hidden and row["hidden_at"] is None:
        raise InvalidInput(f"run {run_id} is not deleted; nothing to restore")
    if not hidden and row["hidden_at"] is not None:
        raise InvalidInput(f"run {run_id} is already deleted; `shoetrack runs restore {run_id}` brings it back")
    return row


def _view(store, run_id: int) -> dict:
    return run_view(store.session(run_id, with_shoe=True))


def manual_start_time(day: date) -> str:
    """A run logged by hand has no clock time: noon on its day, local time, as UTC."""
    noon = datetime.combine(day, time(12, 0)).astimezone()
    return noon.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def delete_runs(store, run_ids: list[int]) -> list[tuple[str, dict]]:
    """Delete runs: one logged by hand is forgotten; one from a file is hidden (its file
    stays known, so importing it again does not bring it back). All ids are checked
    before anything changes. Returns (what was done, the run) for each."""
    rows = [_run(store, run_id, hidden=None) for run_id in dict.fromkeys(run_ids)]
    for row in rows:
        if row["hidden_at"] is not None and row["source"] != MANUAL:
            raise InvalidInput(f"run {row['id']} is already deleted; "
                               f"`shoetrack runs restore {row['id']}` brings it back")
    done = []
    for row in rows:
        view = _view(store, row["id"])
        if row["source"] == MANUAL:
            store.delete_session(row["id"])
            done.append(("deleted", view))
        else:
            store.hide_session(row["id"])
            done.append(("hidden", view))
    return done


def restore_runs(store, run_ids: list[int]) -> list[dict]:
    """Bring back runs hidden by `runs delete`, attributed again."""
    from .shoes import reattribute

    rows = [_run(store, run_id, hidden=True) for run_id in dict.fromkeys(run_ids)]
    for row in rows:
        store.unhide_session(row["id"])
    reattribute(store, [row["id"] for row in rows])
    return [_view(store, row["id"]) for row in rows]


def edit_run(store, run_id: int, *, day=None, km=None, minutes=None, sport=None, sub_sport=None,
             note=None) -> tuple[dict, dict]:
    """Change a run (values already checked at the edge). Returns (before, after).

    A run logged by hand can change in every way; a run from a file keeps the
    device's figures (day, distance, time) and can change its sport and note: a GPX
    file often says nothing of the sport."""
    from .shoes import reattribute

    row = _run(store, run_id)
    if row["source"] != MANUAL and (day is not None or km is not None or minutes is not None):
        raise InvalidInput(f"run {run_id} came from {row['source']}: its day, distance and time are the "
                           f"device's. Only --sport, --sub-sport and --note change it; use "
                           f"`shoetrack assign {run_id} PAIR` for its pair, or `shoetrack runs delete {run_id}`")
    changes = {}
    if day is not None:
        changes.update(local_date=day.isoformat(), start_time=manual_start_time(day))
    if km is not None:
        changes["distance_m"] = km * 1000
    if minutes is not None:
        changes.update(timer_s=minutes * 60, elapsed_s=minutes * 60)
    if sport is not None:
        if sport not in ON_FOOT and store.pins().get(run_id) is not None:
            raise InvalidInput(f"run {run_id} is pinned to a pair and {sport} wears none; "
                               f"`shoetrack assign {run_id} --auto` first")
        changes["sport"] = sport
        if sub_sport is None:
            changes["sub_sport"] = "generic"
    if sub_sport is not None:
        changes["sub_sport"] = sub_sport
    if note is not None:
        changes["note"] = note or None
    if not changes:
        raise InvalidInput("nothing to change: give at least one option (see `shoetrack runs edit --help`)")
    before = _view(store, run_id)
    store.update_session(run_id, changes)
    reattribute(store, [run_id])
    return before, _view(store, run_id)
