"""Which sports wear running shoes, and which count as low-impact cross-training."""

# FIT sport names of activities done on foot. Only these can wear a pair of
# running shoes; walking and hiking only where a pair names them.
ON_FOOT = frozenset({"running", "walking", "hiking"})
RUNNING = "running"


def is_on_foot(sport: str | None) -> bool:
    return sport in ON_FOOT
