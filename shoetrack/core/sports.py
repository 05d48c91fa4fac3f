"""Which sports wear running shoes; every other sport counts as low-impact cross-training."""

# FIT sport names of activities done on foot. Only these can wear a pair of
# running shoes; walking and hiking only where a pair names them.
ON_FOOT = frozenset({"running", "walking", "hiking"})
RUNNING = "running"
