"""Pipeline health: the metrics of metrics.md (and, next to them, stale-deal flags)."""
