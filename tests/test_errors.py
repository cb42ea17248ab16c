"""runtime/errors.py: the one hierarchy, the classification of library exceptions by their cause, and the
tracking-URI check every MLflow access goes through (runtime/tracking.py)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import botocore.exceptions as boto
import pytest
import requests
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, TEMPORARILY_UNAVAILABLE

import runtime
from runtime import errors
from runtime.config.gates import ModelGateConfig
from runtime.errors import (
    EXIT_INCONCLUSIVE,
    EXIT_USAGE,
    AwsUnavailable,
    ConfigurationError,
    CredentialsError,
    InternalError,
    InvalidValue,
    MlcicdError,
    OutOfMemory,
    TrackingUnavailable,
    UsageError,
    classify,
)
from runtime.tracking import DEFAULT_RETRIES, DEFAULT_TIMEOUT_S, check_tracking_uri


def _raised(exc: BaseException, cause: BaseException | None = None) -> BaseException:
    """`exc` raised (from `cause`), so it carries a traceback and a chain like a real one."""
    try:
        try:
            if cause is not None:
                raise cause
        except BaseException as inner:
            raise exc from inner
        raise exc
    except BaseException as caught:
        return caught


def _client_error(code: str, status: int = 400) -> boto.ClientError:
    return boto.ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                            "GetObject")


REFUSED = ConnectionRefusedError(111, "Connection refused")


@pytest.mark.parametrize(("exc", "expected", "code"), [
    (UsageError("--x 1: bad"), UsageError, EXIT_USAGE),
    (_raised(UsageError("s3://b/k: cannot read"), boto.EndpointConnectionError(endpoint_url="http://x")),
     AwsUnavailable, EXIT_INCONCLUSIVE),
    (_raised(UsageError("s3://b/k: cannot read"), boto.NoCredentialsError()), CredentialsError, EXIT_USAGE),
    (_raised(UsageError("--model-uri m: cannot read"),
             _raised(MlflowException("API request failed"), _raised(requests.ConnectionError("pool"), REFUSED))),
     TrackingUnavailable, EXIT_INCONCLUSIVE),
    (boto.NoRegionError(), ConfigurationError, EXIT_USAGE),
    (_client_error("InvalidClientTokenId", 403), CredentialsError, EXIT_USAGE),
    (_client_error("AccessDenied", 403), CredentialsError, EXIT_USAGE),
    (_client_error("SlowDown", 503), AwsUnavailable, EXIT_INCONCLUSIVE),
    (_client_error("InternalFailure", 500), AwsUnavailable, EXIT_INCONCLUSIVE),
    (_client_error("NoSuchBucket", 404), UsageError, EXIT_USAGE),
    (MlflowException("no such model", error_code=RESOURCE_DOES_NOT_EXIST), UsageError, EXIT_USAGE),
    (MlflowException("down", error_code=TEMPORARILY_UNAVAILABLE), TrackingUnavailable, EXIT_INCONCLUSIVE),
    (FileNotFoundError(2, "No such file or directory", "x.csv"), UsageError, EXIT_USAGE),
    (MemoryError(), OutOfMemory, EXIT_USAGE),
    (_raised(KeyError("oops")), InternalError, EXIT_USAGE),
    (_raised(RuntimeError("wrapped"), REFUSED), errors.ServiceUnavailable, EXIT_INCONCLUSIVE),
    (_raised(requests.ConnectionError("pool"), REFUSED), errors.ServiceUnavailable, EXIT_INCONCLUSIVE),
])
def test_classify_by_type_and_cause(exc: BaseException, expected: type[MlcicdError], code: int) -> None:
    error = classify(exc)
    assert type(error) is expected
    assert error.exit_code == code
    assert error.exit_code != 1  # no error is ever a FAIL


def test_an_outage_keeps_the_message_that_names_the_value() -> None:
    error = classify(_raised(UsageError("s3://bucket/current.parquet: cannot read from S3"),
                             boto.EndpointConnectionError(endpoint_url="http://127.0.0.1:9")))
    assert str(error) == "s3://bucket/current.parquet: cannot read from S3"
    assert "(exit 3, INCONCLUSIVE)" in error.hint


def test_raise_from_none_hides_the_cause_on_purpose() -> None:
    try:
        try:
            raise REFUSED
        except OSError:
            raise UsageError("--model m: no such model") from None
    except UsageError as caught:
        error = classify(caught)
    assert type(error) is UsageError


def test_internal_error_names_the_place_and_asks_for_debug() -> None:
    from runtime.tracking import redact

    with pytest.raises(Exception) as caught:  # whatever a bug raises
        redact(42)  # type: ignore[arg-type]  # a bug: not a string
    error = classify(caught.value)
    rendered = error.render()
    assert type(error) is InternalError
    assert rendered.startswith("error: internal error: ")
    assert "(at runtime/tracking.py:" in rendered
    assert "in redact)" in rendered
    assert "--debug" in error.hint
    assert "report it" in error.hint


def test_render_is_one_paragraph() -> None:
    text = CredentialsError("verify rollout: no usable AWS credentials").render()
    assert text.splitlines()[0] == "error: verify rollout: no usable AWS credentials"
    assert text.splitlines()[1].startswith("hint: configure AWS credentials")
    assert "\n\n" not in text


def test_invalid_value_is_still_a_value_error() -> None:
    assert issubclass(InvalidValue, ValueError)
    assert issubclass(InvalidValue, UsageError)


def _exception_classes() -> list[type[BaseException]]:
    found = []
    for info in pkgutil.walk_packages(runtime.__path__, "runtime."):
        if info.name.startswith(("runtime.local", "runtime.cli")):
            continue  # local mode's own control flow (out of this hierarchy's scope); the CLI defines none
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == info.name:
                found.append(obj)
    return found


def test_every_runtime_exception_is_in_the_hierarchy() -> None:
    classes = _exception_classes()
    assert len(classes) >= 15
    outside = [f"{c.__module__}.{c.__name__}" for c in classes if not issubclass(c, MlcicdError)]
    assert outside == []


def test_old_names_still_import_and_mean_the_same() -> None:
    from runtime.canary.metrics_source import MetricsUnavailable
    from runtime.candidate import CandidateError
    from runtime.config import ConfigError
    from runtime.gates.model_gate import EvaluationUnavailable
    from runtime.gates.model_gate import TrackingUnavailable as GateTrackingUnavailable
    from runtime.image_scan import ScanPending
    from runtime.promote import PromotionError
    from runtime.promote.registry import RegistryUnavailable
    from runtime.publish import NoDriftScore
    from runtime.smoke import PayloadError

    assert GateTrackingUnavailable is RegistryUnavailable is TrackingUnavailable
    for cls, code in ((MetricsUnavailable, 3), (EvaluationUnavailable, 3), (NoDriftScore, 3), (ScanPending, 3),
                      (CandidateError, 2), (ConfigError, 2), (PromotionError, 2), (PayloadError, 2)):
        assert cls.exit_code == code, cls


@pytest.mark.parametrize(("uri", "message"), [
    ("htp://localhost:5000", "unknown scheme 'htp'; did you mean http://localhost:5000?"),
    ("localhost:5000", "no scheme; use http(s)://HOST:PORT (an MLflow server) or sqlite:///PATH/mlflow.db, e.g. "
                       "http://localhost:5000"),
    ("mlruns", "no scheme;"),
    ("http://", "no host; use http://HOST:PORT"),
    ("sqllite:///tmp/x.db", "did you mean sqlite:///tmp/x.db?"),
    ("sqlite:///nowhere/mlflow.db", "no MLflow database at nowhere/mlflow.db"),
])
def test_bad_tracking_uris_name_the_value_and_the_fix(uri: str, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        check_tracking_uri(uri)
    assert str(caught.value).startswith(f"--tracking-uri {uri!r}" if "sqlite:///nowhere" not in uri
                                        else f"--tracking-uri {uri}")
    assert message in str(caught.value)


@pytest.mark.parametrize("uri", ["http://127.0.0.1:5000", "https://mlflow.example.com",
                                 "postgresql+psycopg2://u@db/mlflow", "databricks"])
def test_good_tracking_uris_pass(uri: str) -> None:
    assert check_tracking_uri(uri) == uri


def test_existing_sqlite_registry_passes(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    db.write_bytes(b"")
    assert check_tracking_uri(f"sqlite:///{db}") == f"sqlite:///{db}"


def test_one_mlflow_budget_matches_the_gate_defaults() -> None:
    defaults = ModelGateConfig()
    assert defaults.tracking_retries == DEFAULT_RETRIES
    assert defaults.tracking_timeout_seconds == DEFAULT_TIMEOUT_S
