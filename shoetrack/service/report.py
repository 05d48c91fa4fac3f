"""The report page: one self-contained HTML file about the shoes, the load and the alerts.

Its numbers come from the functions `status`, `shoes list` and `why` use
(service/health.py and service/shoes.py), and are embedded in the page as JSON
(`<script type="application/json" id="shoetrack-data">`), so the page and the
commands can be compared. The words of alerts, advice and causes are core/advice.py's.

The page needs no network and no JavaScript: the charts are SVG drawn by pygal
(adapters/charts.py, imported only here, when a page is written), the styles are
inline, and no URL is left in it. It is written atomically: a temp file in the
same folder, then renamed over the old page.

The daemon calls `refresh_report` (or `write_report`) after each import and
evaluation; `status_report` is `status` with the weekly distances of its sparkline.
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from pathlib import Path

from .. import __version__
from ..config import default_report_path
from ..core import advice, series, training
from ..core.alerts import KINDS
from ..core.sports import ON_FOOT
from ..errors import ShoetrackError, StorageError
from . import health
from .shoes import list_shoes

DEFAULT_WEEKS = 26  # the weekly load chart and the episode time line
CALENDAR_WEEKS = 12  # 84 days
SPARK_WEEKS = 12  # the sparkline of `status`


# -- what `status` adds: the weekly distances behind its sparkline ---------------------

def _days(store, first: date, last: date) -> dict[date, training.Day]:
    return {
        date.fromisoformat(row["day"]): training.Day(
            foot_km=row["foot_km"], foot_minutes=row["foot_minutes"], cross_minutes=row["cross_minutes"],
            longest_km=row["longest_km"], on_foot=bool(row["on_foot"]))
        for row in store.day_totals(first.isoformat(), last.isoformat(), sorted(ON_FOOT))
    }


def weekly_km(store, as_of: date, weeks: int = SPARK_WEEKS) -> list[float]:
    """On-foot km of each of the `weeks` 7-day weeks ending on `as_of`, oldest first: the
    last is the "this week" of `status`, the one before it "the week before"."""
    first = as_of - timedelta(days=series.WEEK_DAYS * weeks - 1)
    return series.weekly_km(_days(store, first, as_of), as_of, weeks)


def status_report(store, config, as_of: date, *, with_sources: bool = True, now=None) -> dict:
    """What `status` shows (and `status --json` prints): health.status plus `weekly_km`,
    the last 12 weeks' on-foot distance, oldest first, and `sources`, the places runs are
    read from as `shoetrack sources` lists them (as they are now, whatever `as_of`). The
    page leaves the sources out: it is about the runner, and is written after every
    import, when looking for watches mounted over MTP would only slow it down."""
    report = health.status(store, config, as_of, now)
    report["weekly_km"] = weekly_km(store, as_of)
    if with_sources:
        from .places import sources

        report["sources"] = sources(store, config)
    return report


# -- the data behind the page -----------------------------------------------------------

def report_data(store, config, as_of: date, weeks: int = DEFAULT_WEEKS) -> dict:
    """Everything the page shows, as JSON-ready values (distances in km, to the metre)."""
    t = health.thresholds(config)
    now = health.situation(store, config, as_of)  # read once, for both the status and `why`
    past, _ = health.history(store, as_of, whole=True)
    first = as_of - timedelta(days=series.WEEK_DAYS * weeks - 1)
    spans = series.spans(past, first, as_of, t)
    shoes = list_shoes(store, as_of, include_retired=True)
    views = {view["name"]: view for view in shoes}
    wear = []
    for pair in past.pairs:
        view = views.get(pair.name)
        if view is None:
            continue
        points = series.wear_line(pair, as_of)
        if points:  # the last point is the pair's distance as `shoes list` gives it
            points[-1] = (points[-1][0], view["distance_km"])
        retired = bool(view["retired_on"]) and view["retired_on"] <= as_of.isoformat()
        limit_day = date.fromisoformat(view["projected_limit_date"]) if view["projected_limit_date"] else None
        projection = None if retired else series.projection(view["distance_km"], view["limit_km"], as_of, limit_day)
        wear.append({"pair": pair.name, "retired": retired, "limit_km": view["limit_km"],
                     "points": [[d.isoformat(), round(km, 3)] for d, km in points],
                     "projection": [[d.isoformat(), round(km, 3)] for d, km in projection] if projection else None})
    return {
        "as_of": as_of.isoformat(),
        "units": config.units,
        "weeks": weeks,
        "thresholds": {"shoe_warn_pct": t.shoe_warn_pct, "acwr": t.acwr, "long_run_km": t.long_run_km},
        "status": status_report(store, config, as_of, with_sources=False, now=now),
        "shoes": shoes,
        "why": health.why_report(store, config, as_of, now),
        "wear": wear,
        "weekly": [{"first": w.start.isoformat(), "last": w.end.isoformat(), "foot_km": round(w.foot_km, 3),
                    "cross_minutes": round(w.cross_minutes, 1),
                    "acwr": None if w.acwr is None else round(w.acwr, 3),
                    "load_spike_fired": w.spike_fired, "load_spike_held": w.spike_held}
                   for w in series.weeks_of(past, as_of, weeks, spans)],
        "calendar": [{"day": c.day.isoformat(), "kind": c.kind, "foot_km": round(c.foot_km, 3),
                      "cross_minutes": round(c.cross_minutes, 1), "longest_km": round(c.longest_km, 3),
                      "long_run": c.long_run, "pain": [{"level": p.level, "side": p.side} for p in c.pains]}
                     for c in series.calendar(past.days, list(past.pains), as_of, weeks=CALENDAR_WEEKS,
                                              long_run_km=t.long_run_km)],
        "episodes": [{"kind": s.kind, "subject": s.subject, "start": s.start.isoformat(), "end": s.end.isoformat(),
                      "days": s.days, "began_earlier": s.began_earlier, "ongoing": s.end == as_of,
                      "message": s.message, "advice": s.advice} for s in spans],
    }


# -- the page ------------------------------------------------------------------------------

def _e(value) -> str:
    from html import escape  # imported here: `status` loads this module and stays quick

    return escape(str(value), quote=True)


class _Units:
    def __init__(self, units: str):
        self.name = units
        self.factor = advice.KM_PER_MILE if units == "mi" else 1.0

    def __call__(self, km: float) -> float:
        return km / self.factor

    def text(self, km: float | None, digits: int = 1) -> str:
        return "-" if km is None else f"{km / self.factor:.{digits}f} {self.name}"


def _json_for_html(data: dict) -> str:
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:
        raise ShoetrackError(
            "the database holds an infinite or undefined number, which the report cannot show "
            "(saved by an earlier shoetrack); correct the pair with `shoetrack shoes edit NAME "
            "--limit-km/--start-km`, or see `shoetrack runs` for the run") from None
    # Valid JSON escapes: nothing in a name can close the script element.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _wear_section(data: dict, u: _Units, charts) -> str:
    status, shoes = data["status"], data["shoes"]
    colors = {view["name"]: i for i, view in enumerate(shoes)}
    views = {view["name"]: view for view in shoes}
    as_of = date.fromisoformat(data["as_of"])
    lines = []
    for item in data["wear"]:
        view = views[item["pair"]]
        lines.append(charts.WearLine(
            name=item["pair"], retired=item["retired"], final=u(view["distance_km"]), final_km=view["distance_km"],
            limit_km=view["limit_km"], wear_pct=view["wear_pct"], color=colors[item["pair"]],
            points=[(date.fromisoformat(d), u(km)) for d, km in item["points"]],
            projection=[(date.fromisoformat(d), u(km)) for d, km in item["projection"]] if item["projection"] else None))
    limits = sorted({u(view["limit_km"]) for view in shoes if not (view["retired_on"] and
                                                                  view["retired_on"] <= data["as_of"])}
                    or {u(view["limit_km"]) for view in shoes})
    chart = charts.wear_chart(lines, limits, data["thresholds"]["shoe_warn_pct"] / 100, as_of, u.name) if lines else \
        '<p class="empty">No pairs yet. Add one with: shoetrack shoes add NAME --default-for running</p>'
    says = []
    if status["retire_first"]:
        says.append(f'<p class="says retire-first">{_e(advice.retire_first_line(status["retire_first"]))}</p>')
    if status["next_pair"]:
        says.append(f'<p class="says wear-next">{_e(advice.wear_next_line(status["next_pair"]))}</p>')
    rows = []
    for view in shoes:
        retired = bool(view["retired_on"]) and view["retired_on"] <= data["as_of"]
        limit_by = "-" if view["retired_on"] else (view["projected_limit_date"] or "-")
        rows.append(
            f'<tr class="pair{" retired" if retired else ""}" data-pair="{_e(view["name"])}" '
            f'data-distance-km="{view["distance_km"]:.3f}">'
            f'<td><span class="swatch" style="background:var(--pair-{colors[view["name"]] % charts.PALETTE_SIZE})">'
            f'</span>{_e(view["name"])}</td>'
            f'<td class="num">{view["wear_pct"]:.0f} %</td>'
            f'<td class="num">{u(view["distance_km"]):.1f} / {u(view["limit_km"]):.0f} {u.name}</td>'
            f'<td class="num">{view["runs"]}</td><td class="day">{_e(view["since"] or "-")}</td>'
            f'<td class="day">{_e(limit_by)}</td><td class="day">{_e(view["retired_on"] or "")}</td></tr>')
    table = ('<table class="pairs"><thead><tr><th>pair</th><th>wear</th><th>distance</th><th>runs</th>'
             '<th>since</th><th>limit by</th><th>retired</th></tr></thead><tbody>'
             + "".join(rows) + "</tbody></table>") if rows else ""
    warn = data["thresholds"]["shoe_warn_pct"]
    return (
        '<section id="wear"><h2>Wear per pair</h2>' + "".join(says)
        + f'<figure>{chart}<figcaption>Distance on each pair over time, its start distance included. '
          f'Dashed red: the limit; shaded: from {warn:g} % of it (alerts.shoe_warn_pct); dots: today; '
          f'dotted: toward the day it reaches its limit at the pace of the last 28 days (drawn up to '
          f'{series.PROJECTION_HORIZON_DAYS // 30} months ahead). Faded: retired pairs.'
          '</figcaption></figure>' + table + "</section>")


def _week_label(last: str) -> str:
    return date.fromisoformat(last).strftime("%b %-d")


def _load_section(data: dict, u: _Units, charts) -> str:
    weeks = [{"label": _week_label(w["last"]), "first": w["first"], "last": w["last"], "km": w["foot_km"],
              "distance": round(u(w["foot_km"]), 2), "cross_minutes": w["cross_minutes"], "acwr": w["acwr"],
              "spike_fired": w["load_spike_fired"]} for w in data["weekly"]]
    caution = data["thresholds"]["acwr"]
    load = data["status"]["load"]
    figures = [
        ("running days in a row", str(load["streak_days"])),
        ("days without running, last 7", str(load["rest_days_7"])),
        ("this week (7 days)", u.text(load["week_km"])),
        ("the week before", u.text(load["last_week_km"])),
        ("acute:chronic ratio", "-" if load["acwr"] is None else f'{load["acwr"]:.2f}'),
        ("monotony", "-" if load["monotony"] is None else f'{load["monotony"]:.1f}'),
        ("cross-training, last 7", f'{load["cross_minutes_7"]:.0f} min'),
    ]
    fired = [w for w in data["weekly"] if w["load_spike_fired"]]
    last_day = date.fromisoformat(data["as_of"])
    return (
        '<section id="load"><h2>Weekly load</h2><dl class="figures">'
        + "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in figures) + "</dl>"
        + f'<figure>{charts.weekly_chart(weeks, u.name)}<figcaption>On-foot distance per week (left axis) and '
          f'cross-training minutes beside it (right axis), the last {len(weeks)} weeks of 7 days, each ending on '
          f'a {last_day.strftime("%A")}; the last ends on {_e(data["as_of"])}. Outlined: a week in which '
          'load_spike fired.</figcaption></figure>'
        + f'<figure>{charts.acwr_chart(weeks, caution)}<figcaption>Acute:chronic workload ratio at the end of '
          f'each week (the last 7 days against the 28-day weekly average); shaded: {caution:g} and up '
          f'(alerts.acwr). load_spike fired in {len(fired)} of these weeks'
          + (": " + ", ".join(_e(w["last"]) for w in fired) if fired else "") + ".</figcaption></figure></section>")


def _pain_text(pain: dict) -> str:
    return f'pain {pain["level"]}/10' + (f' {pain["side"]}' if pain["side"] else "")


def _calendar_section(data: dict, u: _Units) -> str:
    cells = data["calendar"]
    top = max((c["foot_km"] for c in cells), default=0) or 1
    long_km = data["thresholds"]["long_run_km"]
    head = "".join(f"<div class=\"cal-head\">{date.fromisoformat(c['day']).strftime('%a')}</div>" for c in cells[:7])
    out = []
    for i, c in enumerate(cells):
        day = date.fromisoformat(c["day"])
        level = 0 if c["foot_km"] <= 0 else min(4, 1 + int(4 * c["foot_km"] / top - 1e-9))
        classes = ["cal-day", c["kind"], f"l{level}"] + (["long"] if c["long_run"] else []) \
            + (["pain"] if c["pain"] else []) + (["today"] if c["day"] == data["as_of"] else [])
        label = day.strftime("%b %-d") if i == 0 or day.day == 1 else str(day.day)
        parts = [f'<span class="date">{label}</span>']
        words = [day.strftime("%a %Y-%m-%d")]
        if c["kind"] == "run":
            parts.append(f'<span class="km">{u(c["foot_km"]):.1f}</span>')
            words.append(u.text(c["foot_km"]))
        elif c["kind"] == "rest":
            parts.append('<span class="what">rest</span>')
            words.append("rest")
        if c["cross_minutes"] > 0:
            parts.append(f'<span class="cross">x-train {c["cross_minutes"]:.0f} min</span>')
            words.append(f'cross-training {c["cross_minutes"]:.0f} min')
        if c["long_run"]:
            parts.append('<span class="badge long-run">long</span>')
            words.append(f"long run ({u.text(c['longest_km'])}; from {u.text(long_km, 0)})")
        for pain in c["pain"]:
            side = f' data-side="{_e(pain["side"])}"' if pain["side"] else ""
            parts.append(f'<span class="badge pain-level" data-level="{pain["level"]}"{side}>{_e(_pain_text(pain))}</span>')
            words.append(_pain_text(pain))
        worst = max((p["level"] for p in c["pain"]), default=None)
        pain_attrs = "" if worst is None else (
            f' data-pain="{worst}" data-pain-side="{_e(",".join(p["side"] or "" for p in c["pain"]))}"')
        out.append(f'<div class="{" ".join(classes)}" data-day="{c["day"]}" data-kind="{c["kind"]}" '
                   f'data-km="{c["foot_km"]:.3f}" data-cross-min="{c["cross_minutes"]:.0f}" '
                   f'data-long="{"true" if c["long_run"] else "false"}"{pain_attrs} '
                   f'title="{_e(", ".join(words))}">{"".join(parts)}</div>')
    legend = ('<p class="cal-legend"><span class="cal-key run l3"></span> running (the stronger the colour, the farther) '
              '<span class="cal-key cross"></span> cross-training only <span class="cal-key rest"></span> rest '
              f'<span class="badge long-run">long</span> a run of {u.text(long_km, 0)} or more '
              '<span class="badge pain-level">pain 4/10 left</span> pain logged (level, side)</p>')
    return ('<section id="calendar"><h2>The last 12 weeks</h2>'
            f'<div class="calendar" role="grid">{head}{"".join(out)}</div>{legend}</section>')


def _alerts_section(data: dict, charts) -> str:
    status, why = data["status"], data["why"]
    active = "".join(
        f'<li class="alert" data-kind="{_e(a["kind"])}" data-subject="{_e(a["subject"] or "")}">'
        f'<p class="message">! {_e(a["message"])} (since {_e(a["since"])})</p><p class="advice">{_e(a["advice"])}</p></li>'
        for a in status["alerts"])
    active = f'<ul class="alerts">{active}</ul>' if active else f'<p class="none">No alerts on {_e(data["as_of"])}.</p>'
    episodes = data["episodes"]
    first = date.fromisoformat(data["weekly"][0]["first"]) if data["weekly"] else date.fromisoformat(data["as_of"])
    last = date.fromisoformat(data["as_of"])
    keys = sorted({(e["kind"], e["subject"] or "") for e in episodes}, key=lambda k: (KINDS.index(k[0]), k[1]))
    row_of = {key: i for i, key in enumerate(keys)}
    rows = [f"{kind}: {subject}" if subject else kind for kind, subject in keys]
    timeline = ""
    if episodes:
        spans = [{"row": row_of[(e["kind"], e["subject"] or "")], "start": date.fromisoformat(e["start"]),
                  "end": date.fromisoformat(e["end"]), "days": e["days"]} for e in episodes]
        timeline = (f'<figure>{charts.timeline_chart(rows, spans, first, last)}<figcaption>Each alert\'s episodes '
                    f'from {_e(first)} to {_e(last)}: the days its condition held.</figcaption></figure>')
    table = "".join(
        f'<tr class="episode{" ongoing" if e["ongoing"] else ""}" data-kind="{_e(e["kind"])}" '
        f'data-subject="{_e(e["subject"] or "")}" data-start="{e["start"]}" data-end="{e["end"]}">'
        f'<td>{_e(e["kind"])}{": " + _e(e["subject"]) if e["subject"] else ""}</td><td class="day">{e["start"]}</td>'
        f'<td class="day">{"holds" if e["ongoing"] else e["end"]}</td><td class="num">{e["days"]}</td>'
        f'<td>{_e(e["message"])}</td></tr>' for e in reversed(episodes))
    table = ('<table class="episodes"><thead><tr><th>alert</th><th>from</th><th>to</th><th>days</th>'
             f'<th>on its last day</th></tr></thead><tbody>{table}</tbody></table>') if table else \
        f'<p class="none">No alert held from {_e(first)} to {_e(last)}.</p>'
    causes = []
    for rank, cause in enumerate(why["causes"], start=1):
        subject = f": {cause['subject']}" if cause["subject"] else ""
        evidence = "".join(f"<li>{_e(item)}</li>" for item in cause["evidence"])
        tip = f'<p class="advice">{_e("Try: " + cause["advice"])}</p>' if rank <= 3 else ""
        causes.append(f'<li class="cause" data-cause="{_e(cause["cause"])}" data-score="{cause["score"]}">'
                      f'<p class="title">{_e(advice.cause_title(cause["cause"]) + subject)} (score {cause["score"]})</p>'
                      f'<ul class="evidence">{evidence}</ul>{tip}</li>')
    return ('<section id="alerts"><h2>Alerts and why</h2><h3>Active now</h3>' + active
            + '<h3>Past episodes</h3>' + timeline + table
            + f'<h3>Why might your ankles hurt? ({_e(why["as_of"])})</h3><ol class="why">{"".join(causes)}</ol>'
            + f'<p class="disclaimer">{_e(advice.NOT_A_DIAGNOSIS)}</p></section>')


STYLE = """
:root{color-scheme:light dark;--bg:#fff;--fg:#333;--fg-strong:#111;--fg-subtle:#6b6b6b;--grid:#e4e4e4;
--card:#f6f7f8;--line:#d8d8d8;--warn-band:rgba(237,160,30,.22);--limit:#c62828;--run:#4e79a7;--cross:#b07aa1;
--caution-band:rgba(214,39,40,.13);--acwr:#333;--spike:#d62728;--episode:#e15759;--pain:#c62828;
--l1:#dbe7f3;--l2:#b3cde6;--l3:#7ea8d3;--l4:#4e79a7;--rest:#fff;--cross-day:#efe3ee;
--pair-0:#4e79a7;--pair-1:#f28e2b;--pair-2:#59a14f;--pair-3:#e15759;--pair-4:#76b7b2;--pair-5:#edc948;
--pair-6:#b07aa1;--pair-7:#ff9da7;--pair-8:#9c755f;--pair-9:#7f7f7f}
@media (prefers-color-scheme:dark){:root{--bg:#15171a;--fg:#d4d4d4;--fg-strong:#f4f4f4;--fg-subtle:#9b9b9b;
--grid:#30343a;--card:#1e2126;--line:#3a3f46;--warn-band:rgba(237,160,30,.20);--limit:#ff6b6b;--run:#6d9bd1;
--cross:#c99bc0;--caution-band:rgba(255,90,90,.16);--acwr:#e6e6e6;--spike:#ff6b6b;--episode:#ff7b7d;--pain:#ff6b6b;
--l1:#1f3550;--l2:#2b4d75;--l3:#3d6c9f;--l4:#5b8fcb;--rest:#15171a;--cross-day:#3a2b39;
--pair-0:#6d9bd1;--pair-1:#f5a05a;--pair-2:#7cc16f;--pair-3:#f07b7d;--pair-4:#8fd0ca;--pair-5:#f1d66b;
--pair-6:#c99bc0;--pair-7:#ffb3bb;--pair-8:#c29a82;--pair-9:#a5a5a5}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1100px;padding:1.2rem 1.5rem 3rem;background:var(--bg);color:var(--fg);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.3rem;margin:2rem 0 .6rem;color:var(--fg-strong)}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
header p{margin:.2rem 0;color:var(--fg-subtle)}
nav a{color:inherit;margin-right:1rem}
section{border-top:1px solid var(--line)}
figure{margin:.6rem 0 1rem}figcaption{font-size:.85rem;color:var(--fg-subtle);margin-top:.2rem}
svg.pygal-chart{width:100%;height:auto;display:block}
.says{margin:.2rem 0;font-weight:600;color:var(--fg-strong)}
.retired{opacity:.4}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
td.day,table.episodes td:first-child{white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.4rem;vertical-align:-1px}
.figures{display:flex;flex-wrap:wrap;gap:.4rem 1.6rem;margin:.4rem 0}
.figures div{display:flex;gap:.4rem}.figures dt{color:var(--fg-subtle)}.figures dd{margin:0;font-weight:600}
.week-bar.spike{stroke:var(--spike)!important;stroke-width:3px!important}
.calendar{display:grid;grid-template-columns:repeat(7,1fr);gap:3px;max-width:760px}
.cal-head{font-size:.8rem;color:var(--fg-subtle);text-align:center}
.cal-day{min-height:3.6rem;border:1px solid var(--line);border-radius:4px;padding:2px 4px;font-size:.75rem;
display:flex;flex-direction:column;gap:1px;background:var(--rest)}
.cal-day .date{color:var(--fg-subtle)}.cal-day .km{font-size:.95rem;font-weight:600;color:var(--fg-strong)}
.cal-day .what{color:var(--fg-subtle);font-style:italic}
.cal-day.cross{background:var(--cross-day)}
.cal-day.l1{background:var(--l1)}.cal-day.l2{background:var(--l2)}.cal-day.l3{background:var(--l3)}
.cal-day.l4{background:var(--l4)}.cal-day.l4 .km,.cal-day.l4 .date,.cal-day.l3 .km{color:#fff}
.cal-day.today{outline:2px solid var(--fg-strong)}
.badge{display:inline-block;border-radius:3px;padding:0 3px;font-size:.7rem;line-height:1.3;width:max-content}
.badge.long-run{background:var(--fg-strong);color:var(--bg)}
.badge.pain-level{background:var(--pain);color:#fff}
.cal-legend{font-size:.8rem;color:var(--fg-subtle)}
.cal-key{display:inline-block;width:.9rem;height:.9rem;border:1px solid var(--line);vertical-align:-2px;
margin-left:.6rem}.cal-key.run{background:var(--l3)}.cal-key.cross{background:var(--cross-day)}
.cal-key.rest{background:var(--rest)}
.alerts{list-style:none;padding:0}.alert{border-left:4px solid var(--spike);padding:.2rem .8rem;margin:.5rem 0;
background:var(--card)}.alert p{margin:.2rem 0}.alert .message{font-weight:600;color:var(--fg-strong)}
.why .title{font-weight:600;margin:.6rem 0 .1rem;color:var(--fg-strong)}.why .evidence{margin:.1rem 0}
.why .advice{margin:.2rem 0 .2rem 1rem}.disclaimer,.none{color:var(--fg-subtle);font-style:italic}
footer{margin-top:2rem;font-size:.8rem;color:var(--fg-subtle)}
@media print{:root{--bg:#fff;--fg:#222;--fg-strong:#000;--fg-subtle:#555;--grid:#ddd;--card:#f4f4f4;--line:#ccc;
--limit:#c62828;--run:#4e79a7;--cross:#b07aa1;--acwr:#222;--spike:#d62728;--episode:#e15759;--pain:#c62828;
--l1:#dbe7f3;--l2:#b3cde6;--l3:#7ea8d3;--l4:#4e79a7;--rest:#fff;--cross-day:#efe3ee;
--pair-0:#4e79a7;--pair-1:#f28e2b;--pair-2:#59a14f;--pair-3:#e15759;--pair-4:#76b7b2;--pair-5:#edc948;
--pair-6:#b07aa1;--pair-7:#ff9da7;--pair-8:#9c755f;--pair-9:#7f7f7f}
body{max-width:none;padding:0;font-size:11pt}nav{display:none}*{print-color-adjust:exact;-webkit-print-color-adjust:exact}
figure,table,.calendar,.cause,.alert{break-inside:avoid}section{break-before:auto}h2{break-after:avoid}}
"""


def render_page(data: dict) -> str:
    """The page for `report_data`'s values."""
    from ..adapters import charts  # pygal: only when a page is made

    u = _Units(data["units"])
    body = (
        _wear_section(data, u, charts) + _load_section(data, u, charts) + _calendar_section(data, u)
        + _alerts_section(data, charts))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f'<meta name="generator" content="shoetrack {__version__}">'
        f'<title>shoetrack report, {_e(data["as_of"])}</title><style>{STYLE}</style></head><body>'
        f'<header><h1>shoetrack report</h1><p>As of {_e(data["as_of"])}: your shoes, your training load and '
        'what they may mean for your ankles. Distances in ' + _e(u.name) + '.</p>'
        '<nav><a href="#wear">Wear</a><a href="#load">Weekly load</a><a href="#calendar">Calendar</a>'
        '<a href="#alerts">Alerts and why</a></nav></header>'
        + body
        + f'<footer>Made by shoetrack {__version__} from your own data, on this machine; charts by pygal. '
          'The page needs no network and no JavaScript.</footer>'
        f'<script type="application/json" id="shoetrack-data">{_json_for_html(data)}</script>'
        '</body></html>\n')


# -- writing it -------------------------------------------------------------------------------

def report_path(config, path: Path | str | None = None, *, database: Path | None = None) -> Path:
    """Where the page goes: `path`, else config report.path, else beside the database
    (by default $XDG_DATA_HOME/shoetrack/report.html): the page stays with the data it
    shows, in the folder the daemon may write."""
    if path is not None:
        return Path(path).expanduser()
    configured = config.path("report.path")
    if configured is not None:
        return configured
    return database.parent / "report.html" if database is not None else default_report_path()


def write_report(store, config, as_of: date, path: Path | str | None = None, *, weeks: int = DEFAULT_WEEKS) -> Path:
    """Write the report page as of `as_of` and return where it is.

    The page replaces the old one atomically (a temp file in the same folder,
    renamed), so a browser or a reader never sees half a page. It is readable by
    the user only, like the database. Raises StorageError when it cannot be written.
    """
    target = report_path(config, path, database=getattr(store, "path", None))
    if path is None and config.path("report.path") is None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StorageError(f"cannot create data folder {target.parent}: {exc.strerror}") from None
    page = render_page(report_data(store, config, as_of, weeks)).encode("utf-8")
    if target.is_dir():
        raise StorageError(f"cannot write the report to {target}: it is a folder; give a file name")
    import tempfile

    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as stream:
            stream.write(page)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise StorageError(f"cannot write the report to {target}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return target


def refresh_report(store, config, today: date) -> Path | None:
    """For the daemon, after each import and evaluation: write the page when config
    report.enabled is true (the default) and return its path; None when it is off."""
    if not config.get("report.enabled"):
        return None
    return write_report(store, config, today)
