"""Smoke and load tests of an MLflow-compatible scoring endpoint (`mlcicd smoke`).

Library first: `smoke_test(...)` and `load_test(...)` return a `runtime.report.Report`; `resolve_payloads(...)`
decides what to send to `/invocations` (precedence in `runtime.smoke.payloads`).
"""

from runtime.smoke.payloads import PayloadError, Payloads, ScoringRequest, resolve_payloads
from runtime.smoke.runner import load_test, smoke_test

__all__ = ["PayloadError", "Payloads", "ScoringRequest", "load_test", "resolve_payloads", "smoke_test"]
