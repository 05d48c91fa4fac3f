"""Training load, the pain log, alerts and "why": the runner's health questions.

`check` is the one evaluation the CLI and the daemon share: it works out which
alert conditions hold on a day and records the episodes (an alert fires the
day its condition starts, stays active while it holds, re-arms when it clears).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..core import advice, training, wear, why
from ..core.alerts import KINDS, SHOE_KINDS, Condition, Pain, Thresholds, evaluate, other_pair
from ..core.sports import ON_FOOT
from ..errors import InvalidInput, NotFound
from .shoes import shoe_view, usages

HISTORY_DAYS = 70  # enough for 28-day load, and rest weeks 2 to 8 weeks back
PAIN_SIDES = ("left", "right", "both")


def thresholds(config) -> Thresholds:
    return Thresholds(
        streak_days=config.get("alerts.streak_days"),
        acwr=config.get("alerts.acwr"),
        weekly_jump_pct=config.get("alerts.weekly_jump_pct"),
        monotony=config.get("alerts.monotony"),
        shoe_warn_pct=config.get("alerts.shoe_warn_pct"),
        shoe_max_age_days=config.get("alerts.shoe_max_age_days"),
        long_run_km=config.get("training.long_run_km"),
    )


@dataclass
class Situation:
    """Everything the alerts and `why` look at on one day."""

    as_of: date
    load: training.Load
    rows: list[tuple[dict, wear.Usage]]  # every pair: its stored row and usage
    pairs: list[wear.Usage]  # in service on as_of
    pains: list[Pain]
    conditions: list[Condition]
    next_pair: dict[str, str]
    thresholds: Thresholds


def _days(store, as_of: date) -> dict[date, training.Day]:
    first = as_of - timedelta(days=HISTORY_DAYS - 1)
    return {
        date.fromisoformat(row["day"]): training.Day(
            foot_km=row["foot_km"], foot_minutes=row["foot_minutes"], cross_minutes=row["cross_minutes"],
            longest_km=row["longest_km"], on_foot=bool(row["on_foot"]),
        )
        for row in store.day_totals(first.isoformat(), as_of.isoformat(), sorted(ON_FOOT))
    }


def _steps(days: dict[date, training.Day], all_pairs: list[wear.Usage], as_of: date,
           first_day: date | None) -> list[tuple[date, str]]:
    """Corrective steps the data shows: a pair put in service, a week without running
    (only once the history has begun: the weeks before it say nothing)."""
    steps = [((p.since or p.first_run), f"switching to {p.name} on {p.since or p.first_run}")
             for p in all_pairs if p.since or p.first_run]
    if first_day is not None:
        start = max(as_of - timedelta(days=HISTORY_DAYS - 7), first_day + timedelta(days=7))
        steps += [(d, f"a week without running up to {d}") for d in training.rest_weeks_ended(days, start, as_of)]
    return steps


def situation(store, config, as_of: date) -> Situation:
    t = thresholds(config)
    days = _days(store, as_of)
    first = store.first_day(sorted(ON_FOOT))
    first_day = date.fromisoformat(first) if first else None
    load = training.load(days, as_of, first_day=first_day, long_run_km=t.long_run_km)
    rows = usages(store, as_of)
    every_pair = [u for _, u in rows]
    in_service = [u for u in every_pair if wear.in_service(u, as_of)]
    pains = [Pain(date.fromisoformat(p["day"]), p["level"], p["side"])
             for p in store.pain_log((as_of - timedelta(days=HISTORY_DAYS)).isoformat(), as_of.isoformat())]
    next_pair = wear.next_pair(in_service)
    conditions = evaluate(as_of, load=load, pairs=in_service, pains=pains,
                          steps=_steps(days, every_pair, as_of, first_day), thresholds=t, next_pair=next_pair)
    return Situation(as_of, load, rows, in_service, pains, conditions, next_pair, t)


def is_snoozed(snoozes: list[dict], kind: str, subject: str, as_of: date) -> bool:
    return any(s["kind"] == kind and s["subject"] in ("", subject) and as_of.isoformat() < s["until"]
               for s in snoozes)


def alert_view(row: dict) -> dict:
    """The public shape of an alert."""
    return {"kind": row["kind"], "subject": row["subject"] or None, "since": row["started"],
            "message": row["message"], "advice": row["advice"]}


def check(store, config, as_of: date) -> dict:
    """Evaluate the alerts on `as_of` and record which episodes started, held or ended,
    all in one transaction.

    Returns {"as_of", "new": alerts first raised now, "active": every active alert};
    snoozed alerts are neither new nor active until their snooze ends.
    """
    now = situation(store, config, as_of)
    day = as_of.isoformat()
    snoozes = store.snoozes()

    def silent(kind: str, subject: str) -> bool:
        return is_snoozed(snoozes, kind, subject, as_of)

    holding = {(c.kind, c.subject or ""): c for c in now.conditions}
    open_rows = {(r["kind"], r["subject"]): r for r in store.open_alerts()}
    held = [dict(row, message=holding[key].message, advice=holding[key].advice)
            for key, row in open_rows.items() if key in holding]
    started = [{"kind": c.kind, "subject": key[1], "started": day, "message": c.message, "advice": c.advice,
                "announced_on": None if silent(*key) else day}
               for key, c in holding.items() if key not in open_rows]
    # Held but never reported (it began while snoozed): reported now, if no longer silent.
    due = [row for row in held if row["announced_on"] is None and not silent(row["kind"], row["subject"])]
    store.apply_alert_changes(
        close=[(day, row["id"]) for key, row in open_rows.items() if key not in holding],
        open_=started,
        refresh=[(row["message"], row["advice"], row["id"]) for row in held],
        announce=[(day, row["id"]) for row in due],
    )
    new = due + [row for row in started if row["announced_on"] == day]
    active = [row for row in held + started if not silent(row["kind"], row["subject"])]
    return {"as_of": day, "new": [alert_view(r) for r in new], "active": [alert_view(r) for r in active]}


def current_alerts(store, now: Situation) -> list[dict]:
    """The alerts holding on a day, without recording anything (for status)."""
    started = {(r["kind"], r["subject"]): r["started"] for r in store.open_alerts()}
    snoozes = store.snoozes()
    return [
        {"kind": c.kind, "subject": c.subject, "since": started.get((c.kind, c.subject or ""), now.as_of.isoformat()),
         "message": c.message, "advice": c.advice}
        for c in now.conditions if not is_snoozed(snoozes, c.kind, c.subject or "", now.as_of)
    ]


def status(store, config, as_of: date) -> dict:
    """Pairs in service on `as_of` with their wear, which to retire first and wear next,
    the alerts holding that day and the training load."""
    now = situation(store, config, as_of)
    return {
        "as_of": as_of.isoformat(),
        "shoes": [shoe_view(row, u, as_of) for row, u in now.rows if wear.in_service(u, as_of)],
        "next_pair": now.next_pair,
        "retire_first": [u.name for u in wear.retire_first(now.pairs, now.thresholds.shoe_warn_pct)],
        "alerts": current_alerts(store, now),
        "load": load_view(now.load),
    }


def load_view(load: training.Load) -> dict:
    return {
        "streak_days": load.streak_days,
        "rest_days_7": load.rest_days_7,
        "idle_days_7": load.idle_days_7,
        "back_to_back_long_km": list(load.back_to_back_km) if load.back_to_back_km else None,
        "week_km": round(load.week_km, 3),
        "last_week_km": round(load.last_week_km, 3),
        "weekly_jump_pct": None if load.weekly_jump_pct is None else round(load.weekly_jump_pct, 1),
        "acwr": None if load.acwr is None else round(load.acwr, 3),
        "monotony": None if load.monotony is None else round(load.monotony, 3),
        "cross_minutes_7": round(load.cross_minutes_7, 1),
    }


def snooze(store, kind: str, subject: str | None, days: int, today: date) -> date:
    """Silence one alert kind (for one pair, or all) for `days` days. Returns the day it wakes."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown alert kind {kind!r}; use one of {', '.join(KINDS)}")
    if days < 1:
        raise InvalidInput(f"--days must be a whole number >= 1, not {days}")
    if subject and kind not in SHOE_KINDS:
        raise InvalidInput(f"{kind} is not about a pair of shoes: give no SUBJECT")
    if subject:
        row = store.shoe_by_name(subject)
        if row is None:
            raise NotFound(f"no pair named {subject!r}; see `shoetrack shoes list --all`")
        subject = row["name"]
    until = today + timedelta(days=days)
    store.snooze(kind, subject or "", until.isoformat())
    return until


def log_pain(store, config, level: int, day: date, *, today: date, side: str | None = None,
             note: str | None = None) -> str:
    """Record ankle pain (0-10) after a run. Returns the advice that fits right now."""
    if not 0 <= level <= 10:
        raise InvalidInput(f"pain LEVEL must be between 0 and 10, not {level}")
    if day > today:
        raise InvalidInput(f"{day} is in the future; log pain on the day you felt it")
    if side is not None and side not in PAIN_SIDES:
        raise InvalidInput(f"--side must be one of {', '.join(PAIN_SIDES)}")
    store.add_pain(day.isoformat(), level, side, note)
    if level == 0:
        return "Logged: no pain. Good."
    now = situation(store, config, day)
    caused = next((c for c in now.conditions if c.kind == "pain_with_cause"), None)
    persists = next((c for c in now.conditions if c.kind == "pain_persists"), None)
    parts = [c.message + ". " + c.advice for c in (persists, caused) if c]
    return " ".join(parts) if parts else advice.pain_without_cause_advice()


def pain_list(store) -> list[dict]:
    return store.pain_log()


def why_report(store, config, as_of: date) -> dict:
    now = situation(store, config, as_of)
    other = {p.name: other_pair(p, now.pairs, now.next_pair) for p in now.pairs}
    causes = why.rank(as_of, load=now.load, pairs=now.pairs, pains=now.pains, conditions=now.conditions,
                      thresholds=now.thresholds, other_pair=other)
    return {"as_of": as_of.isoformat(), "causes": [c.as_dict() for c in causes]}

