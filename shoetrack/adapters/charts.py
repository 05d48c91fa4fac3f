"""The report's charts, drawn by pygal: plain numbers in, inline SVG markup out.

The only module that imports pygal, and only when a report is written (the
service imports this module inside write_report), so neither the CLI's other
commands nor the daemon load it otherwise.

The SVG is made for a page that must work offline and without JavaScript:
pygal's scripts (its tooltips, which it would fetch from a CDN) are turned off
and removed, as are its comments (which name its web site) and the XML
namespace declarations (inline SVG in HTML needs none), so no URL is left.
Colours are CSS custom properties (`var(--fg)`, `var(--pair-3)`...) that the
page defines for light and dark mode; tooltips are native `<title>` elements.
Elements carry stable classes and `data-*` attributes for tests and styling.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, timedelta

import pygal
from pygal.style import Style

FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
PALETTE_SIZE = 10  # --pair-0 .. --pair-9, defined by the page


@dataclass(frozen=True)
class WearLine:
    """One pair's line, in the runner's units; `final_km` and `limit_km` in km for the data attributes."""

    name: str
    points: list[tuple[date, float]]
    projection: list[tuple[date, float]] | None
    retired: bool
    final: float
    final_km: float
    limit_km: float
    wear_pct: float
    color: int  # index into the page's pair palette


def _style(colors: list[str], **extra) -> Style:
    return Style(
        background="transparent", plot_background="transparent",
        foreground="var(--fg)", foreground_strong="var(--fg-strong)", foreground_subtle="var(--fg-subtle)",
        guide_stroke_color="var(--grid)", major_guide_stroke_color="var(--grid)",
        font_family=FONT, label_font_size=12, major_label_font_size=12, legend_font_size=13,
        title_font_size=15, value_font_size=12, tooltip_font_size=13, no_data_font_size=18,
        opacity=".85", opacity_hover=".95", stroke_opacity="1", stroke_opacity_hover="1",
        stroke_width="inherit", stroke_width_hover="inherit", transition="0s",  # a series's own width
        colors=tuple(colors), value_colors=tuple("var(--fg-strong)" for _ in colors), **extra)


def _config(name: str, colors: list[str], **options) -> dict:
    return {"style": _style(colors), "js": [], "disable_xml_declaration": True, "explicit_size": False,
            "no_prefix": False, "show_x_guides": False, "show_y_guides": True, "truncate_legend": -1,
            "truncate_label": -1, "margin": 8, "spacing": 10, "pretty_print": False,
            "classes": ["pygal-chart", name], **options}


def _svg(chart, name: str, label: str, annotate=None) -> str:
    """The chart as inline SVG: no scripts, comments or namespace declarations."""
    chart.uuid = name  # stable ids: #chart-wear instead of a random uuid

    def clean(root):
        for parent in root.iter():
            for child in list(parent):
                if not isinstance(child.tag, str) or _local(child.tag) == "script":
                    parent.remove(child)  # scripts, comments and processing instructions
        root.set("role", "img")
        root.set("aria-label", label)
        for child in root:
            if _local(child.tag) == "title":
                child.text = label  # pygal's is "Pygal"
        if annotate:
            annotate(root)
        return root

    chart.add_xml_filter(clean)
    text = chart.render(is_unicode=True)
    # Inline SVG in HTML needs no namespace declarations: leave no URL in the page.
    for declaration in (' xmlns="http://www.w3.org/2000/svg"', ' xmlns:xlink="http://www.w3.org/1999/xlink"'):
        text = text.replace(declaration, "")
    return text


def _series_groups(root) -> dict[int, ET.Element]:
    """The plot group of each series, by its index."""
    found = {}
    for group in root.iter():
        if _local(group.tag) != "g":
            continue
        classes = group.get("class", "").split()
        if "series" in classes:
            index = next((int(c[6:]) for c in classes if c.startswith("serie-")), None)
            if index is not None and index not in found:
                found[index] = group  # the plot's (lines, bars); the overlays' (dots) come later
    return found


def _local(tag) -> str:
    """An element's name without its namespace (pygal builds with lxml when it is there)."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _add_class(element, name: str) -> None:
    element.set("class", (element.get("class", "") + " " + name).strip())


def _date_ticks(first: date, last: date, most: int = 9) -> list[date]:
    """First days of months (every month, quarter, half or year) between two days."""
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    step = next((s for s in (1, 2, 3, 6, 12, 24, 60, 120) if months / s <= most), 240)
    ticks, year, month = [], first.year, first.month
    while date(year, month, 1) <= last:
        if (year * 12 + month - 1) % step == 0 and date(year, month, 1) >= first:
            ticks.append(date(year, month, 1))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return ticks or [first]


def _date_format(ticks: list[date]):
    spans_years = ticks[0].year != ticks[-1].year
    return (lambda d: d.strftime("%b %Y")) if spans_years else (lambda d: d.strftime("%b %-d"))


def _nice_step(raw: float, least: float = 1, mantissas=(1, 1.5, 2, 2.5, 3, 4, 5, 6, 8)) -> float:
    """The smallest round step (a mantissa times a power of ten) that is at least `raw` and `least`."""
    raw = max(raw, least)
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (*mantissas, 10) if m * power >= raw - 1e-9)


def _ticks(top: float, most: int = 6) -> tuple[int, float]:
    """How many divisions of which round step reach `top` (at least one division)."""
    step = _nice_step(top / most, 1, (1, 2, 2.5, 5)) if top > 0 else 1
    return max(1, -int(-top // step)), step


def _band(first: date, last: date, low: float, high: float) -> list[tuple[date, float]]:
    """A rectangle traced as one filled line: pygal closes the fill down to the axis along
    the left edge, which adds no area."""
    return [(first, low), (last, low), (last, high), (first, high), (first, low)]


def wear_chart(lines: list[WearLine], limits: list[float], warn_share: float, today: date, unit: str) -> str:
    """Distance over time for every pair, the limits as lines, the warn band below each
    limit, today's distance as a dot and the projection to the limit as a dashed line."""
    pairs = [line for line in lines if line.points]
    xs = [d for line in pairs for d, _ in line.points + (line.projection or [])] + [today]
    first, last = min(xs), max(xs) + timedelta(days=7)
    top = max([*limits, *(v for line in pairs for _, v in line.points)], default=1) * 1.06
    ticks = _date_ticks(first, last)
    series: list[tuple[str, dict, str, list, dict]] = []  # role, data attributes, colour, values, options

    for limit in limits:
        series.append(("warn-band", {"data-from": f"{limit * warn_share:.3f}", "data-to": f"{limit:.3f}"},
                       "var(--warn-band)", _band(first, last, limit * warn_share, limit),
                       {"fill": True, "stroke_style": {"width": "0"}}))
    for limit in limits:
        series.append(("limit", {"data-limit": f"{limit:.3f}"}, "var(--limit)",
                       [{"value": (first, limit), "tooltip": f"limit {limit:.0f} {unit}"}, (last, limit)],
                       {"stroke_style": {"width": 2, "dasharray": "6,4"}}))
    for line in pairs:
        attrs = {"data-pair": line.name, "data-final-km": f"{line.final_km:.3f}",
                 "data-limit-km": f"{line.limit_km:.3f}", "data-wear-pct": f"{line.wear_pct:.1f}",
                 "data-retired": "true" if line.retired else "false"}
        series.append(("wear-line", attrs, f"var(--pair-{line.color % PALETTE_SIZE})", line.points,
                       {"stroke_style": {"width": 1.5 if line.retired else 2.5, "linejoin": "round"},
                        "show_dots": len(line.points) == 1}))
    for line in pairs:
        if line.projection:
            series.append(("projection", {"data-pair": line.name,
                                          "data-limit-day": line.projection[-1][0].isoformat()},
                           f"var(--pair-{line.color % PALETTE_SIZE})", line.projection,
                           {"stroke_style": {"width": 2, "dasharray": "3,4"}}))
    current = [line for line in pairs if not line.retired]
    if current:
        series.append(("today", {}, "var(--fg-strong)", [
            {"value": (today, line.final), "tooltip": f"{line.name}: {line.final:.0f} {unit} "
             f"({line.wear_pct:.0f} %) on {today}", "node": {"data-pair": line.name}} for line in current],
            {"stroke": False, "show_dots": True, "dots_size": 4}))
    chart = pygal.DateLine(**_config("wear-chart", [color for _, _, color, _, _ in series] or ["var(--fg)"],
                                     height=440, width=1000, show_legend=False, show_dots=False,
                                     x_labels=ticks, x_value_formatter=_date_format(ticks), range=(0, top),
                                     include_x_axis=True, allow_interruptions=True, y_title=unit,
                                     value_formatter=lambda v: f"{v:.0f}"))
    for _, _, _, values, options in series:
        chart.add(None, values, **options)
    roles = [(role, attrs) for role, attrs, _, _, _ in series]

    def annotate(root):
        for index, group in _series_groups(root).items():
            role, attrs = roles[index]
            _add_class(group, role)
            if role == "wear-line" and attrs["data-retired"] == "true":
                _add_class(group, "retired")
            for key, value in attrs.items():
                group.set(key, value)

    return _svg(chart, "wear", "Distance on each pair over time, with its limit", annotate)


def weekly_chart(weeks: list[dict], unit: str) -> str:
    """On-foot distance per week (left axis) with cross-training minutes beside it
    (right axis); a week in which load_spike fired is marked."""
    labels = [w["label"] for w in weeks]
    # Both axes share their ticks: round distances on the left, round minutes on the right.
    divisions, km_step = _ticks(max((w["distance"] for w in weeks), default=0))
    minutes_step = _nice_step(max((w["cross_minutes"] for w in weeks), default=0) / divisions, 10)
    chart = pygal.Bar(**_config("weekly-chart", ["var(--run)", "var(--cross)"], height=330, width=1000,
                                x_labels=labels, x_label_rotation=-40 if len(weeks) > 14 else 0,
                                x_labels_major_every=math.ceil(len(weeks) / 26) or None,
                                show_minor_x_labels=len(weeks) <= 26, legend_at_bottom=True,
                                legend_at_bottom_columns=2,
                                y_labels=[i * km_step for i in range(divisions + 1)], range=(0, divisions * km_step),
                                secondary_range=(0, divisions * minutes_step), y_title=unit,
                                value_formatter=lambda v: f"{v:g}"))
    chart.add(f"on foot ({unit})", [
        {"value": w["distance"], "tooltip": f"{w['first']} to {w['last']}: {w['distance']:.1f} {unit}"
         + (" - load_spike fired" if w["spike_fired"] else ""),
         "node": {"class": "rect reactive week-bar" + (" spike" if w["spike_fired"] else ""),
                  "data-week": w["last"], "data-km": f"{w['km']:.3f}",
                  "data-spike": "true" if w["spike_fired"] else "false"}}
        for w in weeks])
    chart.add("cross-training (min)", [
        {"value": w["cross_minutes"], "tooltip": f"{w['first']} to {w['last']}: {w['cross_minutes']:.0f} min",
         "node": {"class": "rect reactive cross-bar", "data-week": w["last"]}}
        for w in weeks], secondary=True)
    return _svg(chart, "weekly", "On-foot distance and cross-training per week")


def acwr_chart(weeks: list[dict], caution: float) -> str:
    """The acute:chronic ratio at the end of each week, the caution band from its
    threshold up, and the weeks in which load_spike fired."""
    n = len(weeks)
    ratios = [w["acwr"] for w in weeks]
    top = max([caution * 1.25, 2.0, *(r * 1.1 for r in ratios if r is not None)])
    step = max(1, round(n / 13))
    labels = [{"label": w["label"], "value": i + 0.5} for i, w in enumerate(weeks) if (n - 1 - i) % step == 0]
    chart = pygal.XY(**_config("acwr-chart", ["var(--caution-band)", "var(--acwr)", "var(--spike)"],
                               height=260, width=1000, x_labels=labels, xrange=(0, n), range=(0, top),
                               include_x_axis=True, allow_interruptions=True, legend_at_bottom=True,
                               legend_at_bottom_columns=3, show_dots=False,
                               value_formatter=lambda v: f"{v:.1f}"))
    chart.add(f"caution (from {caution:g})", _band(0, n, caution, top), fill=True, stroke_style={"width": "0"})
    chart.add("acute:chronic ratio", [
        {"value": (i + 0.5, r), "tooltip": f"{w['last']}: {r:.2f}" if r is not None else None,
         "node": {"data-week": w["last"]}} if r is not None else (i + 0.5, None)
        for i, (w, r) in enumerate(zip(weeks, ratios))], show_dots=True, dots_size=3,
        stroke_style={"width": 2.5})
    spikes = [(i, w) for i, w in enumerate(weeks) if w["spike_fired"]]
    chart.add("load_spike fired", [
        {"value": (i + 0.5, w["acwr"] if w["acwr"] is not None else top * 0.95),
         "tooltip": f"load_spike fired in the week to {w['last']}",
         "node": {"class": "dot reactive spike-mark", "data-week": w["last"]}} for i, w in spikes]
        or [(None, None)], stroke=False, show_dots=True, dots_size=6)
    return _svg(chart, "acwr", "Acute:chronic workload ratio per week")


def timeline_chart(rows: list[str], spans: list[dict], first: date, last: date) -> str:
    """Alert episodes as bars on a time line: one row per alert (and pair)."""
    ticks = _date_ticks(first, last + timedelta(days=1), most=8)
    height = len(rows)  # the first row on top

    def level(i: int) -> int:
        return height - i

    chart = pygal.DateLine(**_config(
        "timeline-chart", ["var(--episode)"] * max(1, len(rows)), height=70 + 34 * max(1, len(rows)), width=1000,
        show_legend=False, show_dots=False, allow_interruptions=True, x_labels=ticks,
        x_value_formatter=_date_format(ticks), xrange=(first, last + timedelta(days=1)),
        y_labels=[{"label": row, "value": level(i)} for i, row in enumerate(rows)] or [0],
        range=(0.4, len(rows) + 0.6), show_y_guides=False, show_x_guides=True, value_formatter=lambda v: ""))
    for i, row in enumerate(rows):
        values: list = []
        for span in (s for s in spans if s["row"] == i):
            end = span["end"] + timedelta(days=1)
            tip = f"{row}: {span['start']} to {span['end']} ({span['days']} days)"
            values += [{"value": (max(span["start"], first), level(i)), "tooltip": tip},
                       {"value": (end, level(i)), "tooltip": tip}, (end, None)]
        chart.add(None, values or [(first, None)], stroke_style={"width": 16, "linecap": "butt"})

    def annotate(root):
        for index, group in _series_groups(root).items():
            _add_class(group, "episode-row")
            group.set("data-row", rows[index])

    return _svg(chart, "timeline", "Alert episodes over time", annotate)
