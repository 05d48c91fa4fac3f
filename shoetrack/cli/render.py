"""Text for the terminal: distances in the runner's units, durations, wear bars."""

from __future__ import annotations

KM_PER_MILE = 1.609344


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
    filled = min(width, max(0, round(width * pct / 100)))
    return "[" + "#" * filled + "-" * (width - filled) + "]" + ("!" if pct >= 100 else " ")
