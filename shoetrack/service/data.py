"""Giving the runner their data: a backup of the database, an export of the runs."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

from ..errors import ShoetrackError
from .runs import run_view
from .shoes import list_shoes

RUN_COLUMNS = ("id", "start_time", "date", "sport", "sub_sport", "distance_km", "duration_s",
               "shoe", "shoe_reason", "source", "note")


def backup(store, target: Path) -> Path:
    """Copy the database, consistently even while the daemon writes, to a new file."""
    target = target.expanduser()
    if target.exists():
        raise ShoetrackError(f"{target} already exists; give a new file name for the backup")
    if not target.parent.is_dir():
        raise ShoetrackError(f"folder {target.parent} does not exist; create it or choose another path")
    store.backup_to(target)  # verified, or removed with a one-line reason
    return target


def export(store, fmt: str) -> str:
    """Every session (all sports) as CSV, or runs, pairs and the pain log as JSON."""
    runs = [run_view(row) for row in store.sessions()]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=RUN_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(runs)
        return out.getvalue()
    document = {
        "runs": runs,
        "shoes": list_shoes(store, date.today(), include_retired=True),
        "pain": store.pain_log(),
    }
    try:  # distances are rounded to the metre by the views; an infinite one is not JSON
        return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except ValueError:
        raise ShoetrackError(
            "the database holds an infinite or undefined number, which JSON cannot carry "
            "(saved by an earlier shoetrack); export --format csv shows it"
        ) from None
