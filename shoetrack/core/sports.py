"""Sport names: FIT's, which sports wear running shoes; every other sport counts as
low-impact cross-training."""

from __future__ import annotations

# FIT sport names of activities done on foot. Only these can wear a pair of
# running shoes; walking and hiking only where a pair names them.
ON_FOOT = frozenset({"running", "walking", "hiking"})
RUNNING = "running"

# The FIT profile's names (fitparse 1.2.0's `profile.FIELD_TYPES`), in the order
# of their numbers, without "all" (254), which is a wildcard, not a sport.
# tests/test_values.py compares them with fitparse's profile so they cannot drift.
SPORTS = (
    "generic", "running", "cycling", "transition", "fitness_equipment", "swimming", "basketball",
    "soccer", "tennis", "american_football", "training", "walking", "cross_country_skiing",
    "alpine_skiing", "snowboarding", "rowing", "mountaineering", "hiking", "multisport",
    "paddling", "flying", "e_biking", "motorcycling", "boating", "driving", "golf", "hang_gliding",
    "horseback_riding", "hunting", "fishing", "inline_skating", "rock_climbing", "sailing",
    "ice_skating", "sky_diving", "snowshoeing", "snowmobiling", "stand_up_paddleboarding",
    "surfing", "wakeboarding", "water_skiing", "kayaking", "rafting", "windsurfing", "kitesurfing",
    "tactical", "jumpmaster", "boxing", "floor_climbing",
)
SUB_SPORTS = (
    "generic", "treadmill", "street", "trail", "track", "spin", "indoor_cycling", "road",
    "mountain", "downhill", "recumbent", "cyclocross", "hand_cycling", "track_cycling",
    "indoor_rowing", "elliptical", "stair_climbing", "lap_swimming", "open_water",
    "flexibility_training", "strength_training", "warm_up", "match", "exercise", "challenge",
    "indoor_skiing", "cardio_training", "indoor_walking", "e_bike_fitness", "bmx",
    "casual_walking", "speed_walking", "bike_to_run_transition", "run_to_bike_transition",
    "swim_to_bike_transition", "atv", "motocross", "backcountry", "resort", "rc_drone", "wingsuit",
    "whitewater", "skate_skiing", "yoga", "pilates", "indoor_running", "gravel_cycling",
    "e_bike_mountain", "commuting", "mixed_surface", "navigate", "track_me", "map",
    "single_gas_diving", "multi_gas_diving", "gauge_diving", "apnea_diving", "apnea_hunting",
    "virtual_activity", "obstacle",
)


def fit_spelling(text: str) -> str:
    """How FIT writes a name typed by a person: 'Trail' -> 'trail', 'e-biking' -> 'e_biking'."""
    return "_".join(text.strip().lower().replace("-", " ").replace("_", " ").split())


def known(text: str, names: tuple[str, ...]) -> str | None:
    """The FIT name `text` stands for (see fit_spelling), or None when `names` has none."""
    name = fit_spelling(text)
    return name if name in names else None
