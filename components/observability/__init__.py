"""Observability: `mlcicd:observability:CanaryAlarms` (rollback alarms, composite alarm, encrypted topic)."""
