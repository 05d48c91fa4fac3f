"""Pairs of shoes: add, edit, retire, delete, assign runs, and their wear.

Attribution is derived from the pairs and pins, never typed in per run: any
change to a pair re-derives every run in one pass, and new runs are attributed
as they are stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from ..core import wear
from ..core.attribution import (
    Attribution, Attributor, Choices, ExportChoice, Pair, Pin, RuleError, RunFacts, parse_default, parse_rule,
)
from ..core.sports import ON_FOOT
from ..errors import InvalidInput, NotFound, ShoetrackError


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def pair_from_row(row: dict) -> Pair:
    return Pair(
        id=row["id"],
        name=row["name"],
        since=_day(row["since"]),
        retired_on=_day(row["retired_on"]),
        default_for=tuple(json.loads(row["default_for"])),
        rules=tuple(parse_rule(r, stored=True) for r in json.loads(row["rules"])),
    )


def facts_from_row(row: dict) -> RunFacts:
    seconds = row["timer_s"] if row["timer_s"] is not None else row["elapsed_s"]
    return RunFacts(
        id=row["id"],
        day=date.fromisoformat(row["local_date"]),
        sport=row["sport"],
        sub_sport=row["sub_sport"],
        distance_km=None if row["distance_m"] is None else row["distance_m"] / 1000,
        duration_min=None if seconds is None else seconds / 60,
        device_serial=row["device_serial"],
        foot_pod_serial=row["foot_pod_serial"],
    )


def attributor(store) -> Attributor:
    return Attributor(pair_from_row(row) for row in store.shoes())


def export_choices(store) -> Choices:
    """What exports said about each activity's pair, ready to be looked up by run."""
    return Choices(ExportChoice(datetime.fromisoformat(row["start_time"]), row["sport"], row["shoe_id"], row["source"])
                   for row in store.gear_choices())


def choice_for(choices: Choices, row: dict) -> ExportChoice | None:
    if not choices.starts:  # no export was ever imported: the usual case
        return None
    return choices.for_run(datetime.fromisoformat(row["start_time"]), row["sport"])


def attribution_columns(result: Attribution) -> dict:
    return {"shoe_id": result.shoe_id, "shoe_reason": result.reason, "shoe_why": result.why}


def reattribute(store, session_ids=None) -> None:
    """Derive the pair of every session (or of the ids given) again, in one pass."""
    attribute = attributor(store)
    pins = store.pins()
    choices = export_choices(store)
    updates = []
    for row in store.attribution_facts(session_ids):
        pin = Pin(pins[row["id"]]) if row["id"] in pins else None
        result = attribute(facts_from_row(row), pin, choice_for(choices, row))
        updates.append((result.shoe_id, result.reason, result.why, row["id"]))
    store.set_attributions(updates)


# -- what only the database can tell ---------------------------------------------
# Each value typed was checked once, at the edge (shoetrack/cli/values.py): distances,
# days, names, sports, rules. Here: the rules in their plain form, and what needs the
# stored pairs.

def rule_text(rule) -> str:
    """A rule in its plain form ('distance_km >= 21'), its number to the last digit:
    str() of a rule keeps six, which made 'duration_min < 1234567' 1234570."""
    text = str(rule)
    if isinstance(rule.value, float) and parse_rule(text, stored=True) != rule:
        text = f"{rule.field} {rule.op} {rule.value!r}"
    return text


def _checked_lists(default_for, rules) -> tuple[list[str] | None, list[str] | None]:
    try:
        defaults = None if default_for is None else sorted({parse_default(d) for d in default_for})
        parsed = None if rules is None else [rule_text(parse_rule(r)) for r in rules]
    except RuleError as exc:
        raise InvalidInput(str(exc)) from None
    return defaults, parsed


def _shoe(store, name: str) -> dict:
    row = store.shoe_by_name(name)
    if row is None:
        known = ", ".join(r["name"] for r in store.shoes()) or "none yet"
        raise NotFound(f"no pair named {name!r} (pairs: {known}); see `shoetrack shoes list --all`")
    return row


def _check_name(store, name: str, current_id: int | None = None) -> str:
    existing = store.shoe_by_name(name)
    if existing and existing["id"] != current_id:
        raise ShoetrackError(f"a pair named {existing['name']!r} already exists; choose another name")
    return name


# -- use cases ---------------------------------------------------------------

@dataclass(frozen=True)
class Moved:
    """How a change to the pairs moved runs: one pair's runs before and after."""

    name: str
    runs: int
    km: float
    first_run: str | None
    was_runs: int
    was_km: float


def _runs_per_pair(store) -> dict[int, dict]:
    return store.shoe_usage("9999-12-31", "9999-12-31")


def _moved(store, before: dict[int, dict], changed: str) -> list[Moved]:
    """The pairs whose runs changed since `before`: the pair `changed` first, then the
    one with the most runs."""
    after = _runs_per_pair(store)
    names = {row["id"]: row["name"] for row in store.shoes()}
    moved = []
    for shoe_id in set(before) | set(after):
        old, new = before.get(shoe_id, {}), after.get(shoe_id, {})
        if (old.get("runs", 0), old.get("metres", 0)) != (new.get("runs", 0), new.get("metres", 0)) \
                and shoe_id in names:
            moved.append(Moved(names[shoe_id], new.get("runs", 0), round(new.get("metres", 0) / 1000, 3),
                               new.get("first_run"), old.get("runs", 0), round(old.get("metres", 0) / 1000, 3)))
    return sorted(moved, key=lambda m: (m.name != changed, -m.runs, m.name))


def add_shoe(store, config, name: str, *, brand=None, model=None, limit_km=None, start_km=None,
             since: date | None = None, from_first_run: bool = False, default_for=(), rules=(),
             today: date | None = None) -> tuple[date | None, list[Moved]]:
    """Add a pair and attribute past runs to it where it now fits best.

    Without `since`, a pair added to an existing history starts `today`, so it
    never silently takes years of past runs; `from_first_run` gives it the whole
    history. Returns the day it starts (None: from the first run) and the runs moved.
    """
    if since is not None and from_first_run:
        raise InvalidInput("give either --since DATE or --from-first-run, not both")
    defaults, parsed = _checked_lists(list(default_for), list(rules))
    if since is None and not from_first_run and today is not None and store.first_day(sorted(ON_FOOT)):
        since = today
    row = {
        "name": _check_name(store, name),
        "brand": brand,
        "model": model,
        "limit_km": limit_km or config.shoe_limit_km,
        "start_km": start_km or 0.0,
        "since": since.isoformat() if since else None,
        "retired_on": None,
        "default_for": json.dumps(defaults),
        "rules": json.dumps(parsed),
    }
    before = _runs_per_pair(store)
    store.add_shoe(row)
    reattribute(store)
    return since, _moved(store, before, row["name"])


def edit_shoe(store, name: str, *, rename=None, brand=None, model=None, limit_km=None,
              start_km=None, since: date | None = None, from_first_run: bool = False,
              default_for=None, rules=None) -> list[Moved]:
    """Change a pair's details; lists given replace the old ones. Runs are re-attributed.
    `from_first_run` removes the pair's first day. Returns the runs moved."""
    if since is not None and from_first_run:
        raise InvalidInput("give either --since DATE or --from-first-run, not both")
    row = _shoe(store, name)
    defaults, parsed = _checked_lists(default_for, rules)
    changes = {
        "name": _check_name(store, rename, row["id"]) if rename is not None else None,
        "brand": brand,
        "model": model,
        "limit_km": limit_km,
        "start_km": start_km,
        "since": since.isoformat() if since else None,
        "default_for": None if defaults is None else json.dumps(defaults),
        "rules": None if parsed is None else json.dumps(parsed),
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if from_first_run:
        changes["since"] = None
    if not changes:
        raise InvalidInput("nothing to change: give at least one option (see `shoetrack shoes edit --help`)")
    if row["retired_on"] and changes.get("since") and changes["since"] > row["retired_on"]:
        raise InvalidInput(f"{row['name']} retired on {row['retired_on']}; its first day cannot come after that")
    before = _runs_per_pair(store)
    store.update_shoe(row["id"], changes)
    reattribute(store)
    return _moved(store, before, changes.get("name", row["name"]))


def retire_shoe(store, name: str, on: date) -> None:
    row = _shoe(store, name)
    if row["since"] and on < date.fromisoformat(row["since"]):
        raise InvalidInput(f"{row['name']} went into service on {row['since']}; it cannot retire before that")
    store.update_shoe(row["id"], {"retired_on": on.isoformat()})
    reattribute(store)


def unretire_shoe(store, name: str) -> None:
    row = _shoe(store, name)
    store.update_shoe(row["id"], {"retired_on": None})
    reattribute(store)


def delete_shoe(store, name: str, *, force: bool) -> int:
    """Delete a pair. Refused while runs are attributed to it, unless `force`.

    Returns how many runs went back to automatic attribution.
    """
    row = _shoe(store, name)
    runs = store.runs_on_shoe(row["id"])
    if runs and not force:
        raise ShoetrackError(
            f"{row['name']} has {runs} run{'s' if runs != 1 else ''}; "
            "retire it to keep its history, or add --force to delete it anyway"
        )
    store.delete_shoe(row["id"])
    reattribute(store)
    return runs


def assign(store, run_id: int, shoe: str | None = None, *, auto: bool = False, none: bool = False) -> None:
    """Pin a run to a pair, to no pair (`none`), or hand it back to the rules (`auto`)."""
    session = store.session(run_id)
    if session is None:
        raise NotFound(f"no run with id {run_id}; see `shoetrack runs` for ids")
    if session["hidden_at"] is not None:
        raise InvalidInput(f"run {run_id} is deleted; `shoetrack runs restore {run_id}` brings it back first")
    if auto:
        store.clear_pin(run_id)
    elif none:
        store.set_pin(run_id, None)
    else:
        if session["sport"] not in ON_FOOT:
            raise InvalidInput(f"run {run_id} is {session['sport']}: only on-foot sessions wear running shoes")
        store.set_pin(run_id, _shoe(store, shoe)["id"])
    reattribute(store, [run_id])


# -- wear ------------------------------------------------------------------------

def usages(store, as_of: date) -> list[tuple[dict, wear.Usage]]:
    """Every pair with its usage up to `as_of`, in a few queries whatever the history."""
    recent_from = as_of - timedelta(days=wear.PROJECTION_DAYS - 1)
    totals = store.shoe_usage(as_of.isoformat(), recent_from.isoformat())
    result = []
    for row in store.shoes():
        used = totals.get(row["id"], {})
        result.append((row, wear.Usage(
            name=row["name"],
            limit_km=row["limit_km"],
            start_km=row["start_km"],
            run_km=used.get("metres", 0) / 1000,
            runs=used.get("runs", 0),
            first_run=_day(used.get("first_run")),
            last_run=_day(used.get("last_run")),
            recent_km=used.get("recent_metres", 0) / 1000,
            since=_day(row["since"]),
            retired_on=_day(row["retired_on"]),
            default_for=tuple(json.loads(row["default_for"])),
        )))
    return [
        (row, replace(usage, crossed_on=wear.day_limit_reached(
            usage.start_km, usage.limit_km, store.shoe_days(row["id"], as_of.isoformat()))))
        if usage.worn_out else (row, usage)
        for row, usage in result
    ]


def shoe_view(row: dict, usage: wear.Usage, as_of: date) -> dict:
    """The public shape of a pair (what `shoes list --json` prints)."""
    retired = usage.retired_on is not None and usage.retired_on <= as_of
    projected = None if retired else wear.projected_limit_date(usage, as_of)  # a retired pair wears no more
    return {
        "name": row["name"],
        "brand": row["brand"],
        "model": row["model"],
        "distance_km": round(usage.distance_km, 3),  # to the metre
        "limit_km": round(row["limit_km"], 3),
        "wear_pct": usage.wear_pct,
        "runs": usage.runs,
        "since": row["since"],
        "retired_on": row["retired_on"],
        "default_for": json.loads(row["default_for"]),
        "rules": json.loads(row["rules"]),
        "last_run": usage.last_run.isoformat() if usage.last_run else None,
        "projected_limit_date": projected.isoformat() if projected else None,
        "start_km": round(row["start_km"], 3),
        "age_days": wear.age_days(usage, as_of),
    }


def list_shoes(store, as_of: date, *, include_retired: bool = False) -> list[dict]:
    return [
        shoe_view(row, usage, as_of)
        for row, usage in usages(store, as_of)
        if include_retired or usage.retired_on is None or as_of <= usage.retired_on
    ]
