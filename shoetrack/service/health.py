"""Training load, the pain log, alerts and "why": the runner's health questions.

Which alerts hold on a day, and the day each episode began, are derived from
the history every time (core/episodes.py): evaluating any day, in any order,
gives the same answer. Only what cannot be derived is stored: which episodes
were announced (by the check of the real today) and whether their notification
was shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

from ..core import advice, training, wear, why
from ..core.alerts import KINDS, SHOE_KINDS, Condition, Pain, Thresholds, other_pair
from ..core.episodes import (HISTORY_DAYS, Episode, History, PairHistory, day_view, episode_start,
                             first_unsnoozed)
from ..core.sports import ON_FOOT
from ..errors import InvalidInput, NotFound
from .shoes import shoe_view

WINDOW_DAYS = 180  # day totals read at first; the whole history only when an episode is older


def thresholds(config) -> Thresholds:
    return Thresholds(
        streak_days=config.get("alerts.streak_days"),
        acwr=config.get("alerts.acwr"),
        weekly_jump_pct=config.get("alerts.weekly_jump_pct"),
        monotony=config.get("alerts.monotony"),
        shoe_warn_pct=config.get("alerts.shoe_warn_pct"),
        shoe_max_age_days=config.get("alerts.shoe_max_age_days"),
        long_run_km=config.get("training.long_run_km"),
        units=config.units,
    )


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _settings(row: dict) -> wear.Usage:
    return wear.Usage(name=row["name"], limit_km=row["limit_km"], start_km=row["start_km"],
                      since=_day(row["since"]), retired_on=_day(row["retired_on"]),
                      default_for=tuple(json.loads(row["default_for"])))


def history(store, as_of: date, *, whole: bool = False) -> tuple[History, list[dict]]:
    """The history the alerts read on `as_of` (day totals of the last WINDOW_DAYS, or
    all of them), and the pairs' stored rows in the same order as its pairs."""
    loaded_from = None if whole else as_of - timedelta(days=WINDOW_DAYS)
    days = {
        date.fromisoformat(row["day"]): training.Day(
            foot_km=row["foot_km"], foot_minutes=row["foot_minutes"], cross_minutes=row["cross_minutes"],
            longest_km=row["longest_km"], on_foot=bool(row["on_foot"]),
        )
        for row in store.day_totals((loaded_from or date.min).isoformat(), as_of.isoformat(), sorted(ON_FOOT))
    }
    per_pair: dict[int, list] = {}
    for shoe_id, day, runs, km in store.pair_days():
        per_pair.setdefault(shoe_id, []).append((date.fromisoformat(day), runs, km))
    rows = store.shoes()
    pairs = tuple(PairHistory.build(_settings(row), per_pair.get(row["id"], [])) for row in rows)
    pains = tuple(Pain(date.fromisoformat(p["day"]), p["level"], p["side"]) for p in store.pain_log())
    known = [_day(store.first_session_day()), *(p.day for p in pains[:1]),
             *(p.settings.since for p in pairs if p.settings.since)]
    known = [d for d in known if d is not None]
    return History(days=days, loaded_from=loaded_from, first_day=_day(store.first_day(sorted(ON_FOOT))),
                   origin=min(known) if known else None, pairs=pairs, pains=pains), rows


@dataclass
class Situation:
    """Everything the alerts and `why` look at on one day, and the episodes holding."""

    as_of: date
    load: training.Load
    rows: list[tuple[dict, wear.Usage]]  # every pair: its stored row and usage
    pairs: list[wear.Usage]  # in service on as_of
    pains: list[Pain]
    conditions: list[Condition]
    next_pair: dict[str, str]
    thresholds: Thresholds
    episodes: list[Episode]


def situation(store, config, as_of: date) -> Situation:
    t = thresholds(config)
    past, rows = history(store, as_of)
    view = day_view(past, as_of, t)
    starts = [episode_start(past, c.kind, c.subject, as_of, t) for c in view.conditions]
    if None in starts:  # an episode older than the window: read the whole history
        past, rows = history(store, as_of, whole=True)
        starts = [episode_start(past, c.kind, c.subject, as_of, t) for c in view.conditions]
    pains = [p for p in past.pains if as_of - timedelta(days=HISTORY_DAYS) <= p.day <= as_of]
    return Situation(as_of, view.load, list(zip(rows, view.every_pair)), view.pairs, pains, view.conditions,
                     view.next_pair, t, [Episode(c, s) for c, s in zip(view.conditions, starts)])


def silent_until(snoozes: list[dict], kind: str, subject: str) -> date | None:
    """The end of the latest snooze covering (kind, subject), if any."""
    ends = [date.fromisoformat(s["until"]) for s in snoozes if s["kind"] == kind and s["subject"] in ("", subject)]
    return max(ends) if ends else None


def is_snoozed(snoozes: list[dict], kind: str, subject: str, day: date) -> bool:
    until = silent_until(snoozes, kind, subject)
    return until is not None and day < until


def alert_view(episode: Episode) -> dict:
    """The public shape of an alert."""
    c = episode.condition
    return {"kind": c.kind, "subject": c.subject, "since": episode.started.isoformat(),
            "message": c.message, "advice": c.advice}


def active_episodes(store, now: Situation) -> list[Episode]:
    """The episodes holding on the day that no snooze silences."""
    snoozes = store.snoozes()
    return [e for e in now.episodes if not is_snoozed(snoozes, *e.key, now.as_of)]


def announcement_of(episode: Episode, announcements: list[dict]) -> dict | None:
    """The latest announcement made during the episode (on or after its first day)."""
    kind, subject = episode.key
    started = episode.started.isoformat()
    found = [a for a in announcements if a["kind"] == kind and a["subject"] == subject
             and a["announced_on"] >= started]
    return found[-1] if found else None


def check(store, config, as_of: date, *, today: date) -> dict:
    """The alerts holding on `as_of`, and which of them are new.

    On the real today, an active episode never announced before is new, and is
    recorded as announced (so it is notified once). On any other day nothing is
    recorded, and an episode is new on its first day that no snooze silenced.
    Returns {"as_of", "new", "active"}.

    Which episodes are new is decided again under the write lock: of several
    checks at once, one announces an episode and the others see it announced.
    """
    now = situation(store, config, as_of)
    active = active_episodes(store, now)
    if as_of == today:
        since = min(e.started for e in active).isoformat() if active else ""

        def unannounced(announced: list[dict]) -> list[dict]:
            return [{"kind": e.key[0], "subject": e.key[1], "started": e.started.isoformat(),
                     "announced_on": today.isoformat()} for e in active if announcement_of(e, announced) is None]

        # Announcements are never taken back, so a check that finds every episode announced
        # needs no lock; otherwise the write lock is taken and the choice made again under it.
        added = []
        if active and unannounced(store.announcements(since)):
            added = store.announce_new(since, unannounced)
        recorded = {(row["kind"], row["subject"]) for row in added}
        new = [e for e in active if e.key in recorded]
    else:
        snoozes = store.snoozes()
        new = [e for e in active if first_unsnoozed(e.started, silent_until(snoozes, *e.key)) == as_of]
    return {"as_of": as_of.isoformat(), "new": [alert_view(e) for e in new],
            "active": [alert_view(e) for e in active]}


def due_alerts(store, config, today: date) -> list[tuple[dict, dict]]:
    """(announcement, alert) for every episode announced, still active today and not yet shown."""
    if not store.has_undelivered():
        return []
    now = situation(store, config, today)
    active = active_episodes(store, now)
    if not active:
        return []
    announced = store.announcements(min(e.started for e in active).isoformat())
    due = []
    for episode in active:
        row = announcement_of(episode, announced)
        if row is not None and row["delivered_at"] is None:
            due.append((row, alert_view(episode)))
    return due


def status(store, config, as_of: date, now: Situation | None = None) -> dict:
    """Pairs in service on `as_of` with their wear, which to retire first and wear next,
    the alerts holding that day and the training load (`now`: the situation that day,
    when the caller has it already)."""
    now = now or situation(store, config, as_of)
    return {
        "as_of": as_of.isoformat(),
        "shoes": [shoe_view(row, u, as_of) for row, u in now.rows if wear.in_service(u, as_of)],
        "next_pair": now.next_pair,
        "retire_first": [u.name for u in wear.retire_first(now.pairs, now.thresholds.shoe_warn_pct)],
        "alerts": [alert_view(e) for e in active_episodes(store, now)],
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
    """Silence one alert kind (for one pair, or all) for `days` days (1 or more, checked at
    the edge). Returns the day it wakes."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown alert kind {kind!r}; use one of {', '.join(KINDS)}")
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


def log_pain(store, config, level: int, day: date, *, side: str | None = None, note: str | None = None) -> str:
    """Record ankle pain after a run (level 0-10, a past day and a side, checked at
    the edge). Returns the advice that fits right now."""
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


def delete_pain(store, pain_id: int) -> dict:
    """Remove one pain entry; returns it. The alerts follow the corrected log."""
    entry = store.pain_entry(pain_id)
    if entry is None:
        raise NotFound(f"no pain entry with id {pain_id}; see `shoetrack pain --list` for ids")
    store.delete_pain(pain_id)
    return entry


def why_report(store, config, as_of: date, now: Situation | None = None) -> dict:
    now = now or situation(store, config, as_of)
    other = {p.name: other_pair(p, now.pairs, now.next_pair) for p in now.pairs}
    causes = why.rank(as_of, load=now.load, pairs=now.pairs, pains=now.pains, conditions=now.conditions,
                      thresholds=now.thresholds, other_pair=other)
    return {"as_of": as_of.isoformat(), "causes": [c.as_dict() for c in causes]}

