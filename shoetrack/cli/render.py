"""Text for the terminal: distances in the runner's units, durations, wear bars,
sport names, and tables whose columns line up whatever the names hold."""

from __future__ import annotations

import math
import unicodedata

KM_PER_MILE = 1.609344
ELLIPSIS = "…"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 run', '2 runs', '0 days'."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


def format_distance(km: float | None, units: str = "km", digits: int = 1) -> str:
    if km is None:
        return "-"
    if units == "mi":
        return f"{km / KM_PER_MILE:.{digits}f} mi"
    return f"{km:.{digits}f} km"


def format_limit(distance_km: float, limit_km: float, units: str) -> str:
    """'512.3 / 700 km' in the runner's units."""
    factor = KM_PER_MILE if units == "mi" else 1.0
    return f"{distance_km / factor:.1f} / {limit_km / factor:.0f} {units}"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def wear_bar(pct: float, width: int = 20) -> str:
    share = pct / 100 if math.isfinite(pct) else (1.0 if pct > 0 else 0.0)  # a value stored by an older version
    filled = min(width, max(0, round(width * share)))
    return "[" + "#" * filled + "-" * (width - filled) + "]" + ("!" if pct >= 100 else " ")


# -- sport names -------------------------------------------------------------------

def _readable(name: str, unknown: str) -> str:
    if name.isdigit():  # a number FIT's profile (as fitparse knows it) has no name for
        return f"{unknown} {name}"
    return name.replace("_", "-")


def sport_label(sport: str | None, sub_sport: str | None = None) -> str:
    """'running', 'running/trail', 'e-biking', 'sport 82': FIT names with hyphens for
    underscores (they can be typed back), numbers FIT has no name for said as such,
    and no '/generic'."""
    label = _readable(sport or "generic", "sport")
    if sub_sport and sub_sport != "generic":
        label += "/" + _readable(sub_sport, "sub-sport")
    return label


# -- tables ------------------------------------------------------------------------

def breaks_a_line(char: str) -> bool:
    """Whether a character cannot be shown inside one line of a table: tabs, line
    breaks and other control or invisible format characters (zero-width joiners,
    which emoji and some scripts need, excepted)."""
    category = unicodedata.category(char)
    return (category[0] == "C" and char not in "\u200c\u200d") or category in ("Zl", "Zp")


def one_line(text: str) -> str:
    """`text` with every character that would break a table row shown as '?'."""
    if text.isprintable():
        return text
    return "".join("?" if breaks_a_line(char) else char for char in text)


def cells(text: str) -> int:
    """How many terminal columns `text` takes: wide (CJK, most emoji) characters two,
    combining marks and joined emoji parts none."""
    if text.isascii():
        return len(text)
    width = 0
    joined = False
    last = 0
    for char in text:
        code = ord(char)
        if joined:  # the character after a zero-width joiner draws into the one before
            joined = False
            continue
        if char == "\u200d":
            joined = True
            continue
        if code == 0xFE0F:  # emoji presentation: a narrow symbol becomes a wide emoji
            if last == 1:
                width += 1
                last = 2
            continue
        if 0x1F3FB <= code <= 0x1F3FF and last:  # skin tone: part of the emoji before it
            continue
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        last = 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        width += last
    return width


def fit(text: str, width: int) -> str:
    """`text` cut to at most `width` columns, with an ellipsis where it was cut."""
    if cells(text) <= width:
        return text
    if text.isascii():
        return text[:width - 1] + ELLIPSIS
    kept = ""
    for char in text:
        if cells(kept + char) > width - 1:
            break
        kept += char
    return kept + ELLIPSIS


def table(header: list[str], rows: list[list[str]], *, right: set[int] = frozenset(),
          most: dict[int, int] | None = None, indent: str = "") -> list[str]:
    """Lines of a table: a header row, then each row, columns two spaces apart and as
    wide as their widest cell; column i is cut to `most[i]` columns, those in `right`
    are aligned right. Cells are made one-line first."""
    most = most or {}
    measured = [[(cell, cells(cell)) for cell in header]]
    for row in rows:
        line = []
        for i, cell in enumerate(row):
            if cell.isascii() and cell.isprintable():  # the common case, measured fast
                width = len(cell)
            else:
                cell = one_line(cell)
                width = cells(cell)
            if i in most and width > most[i]:
                cell = fit(cell, most[i])
                width = cells(cell)
            line.append((cell, width))
        measured.append(line)
    widths = [max(line[i][1] for line in measured) for i in range(len(header))]
    last = len(header) - 1
    lines = []
    for line in measured:
        parts = []
        for i, (cell, width) in enumerate(line):
            space = " " * (widths[i] - width)
            parts.append(space + cell if i in right else cell if i == last else cell + space)
        lines.append((indent + "  ".join(parts)).rstrip())
    return lines
