"""The runtime's one error hierarchy. Each class carries its exit code and a hint; `classify` turns any exception
(ours, a library's, a bug) into one of them, and the CLI entry point (`runtime/cli/main.py`) prints it as one
paragraph and exits with its code. Nothing else in the runtime maps errors to exit codes.

Exit codes (the CLI contract): 0 PASS, 1 FAIL, 2 usage or configuration error, 3 INCONCLUSIVE. Only a report's
FAIL verdict exits 1: no exception ever does, so a crash or an outage can never read as "the model is bad".

    MlcicdError
    ├── UsageError (2)             a bad argument, file or reference; the message names it and the fix
    │   └── InvalidValue (2)       ... raised where a ValueError used to be (still a ValueError)
    ├── ConfigurationError (2)     the stack config or the environment (region, memory)
    │   ├── CredentialsError (2)   no usable AWS credentials, or access denied
    │   └── OutOfMemory (2)
    ├── ServiceUnavailable (3)     a service did not answer in time: the check could not decide
    │   ├── TrackingUnavailable    MLflow
    │   ├── AwsUnavailable         S3, CloudWatch, ECR, ECS, STS
    │   └── EndpointUnavailable    a scoring server
    ├── NotEnoughEvidence (3)      the evidence cannot decide (nothing to publish, scan not finished)
    └── InternalError (2)          a bug: anything not recognised here

An outage is an outage whatever wraps it: a usage error raised *because* a connection failed (S3 refused the
connection while reading `--current s3://...`) is classified by that cause (exit 3), and an error caused by
missing credentials becomes a `CredentialsError`. Library exceptions are recognised by type (botocore, requests,
urllib3, httpx, MLflow) without importing those libraries: an exception of a library that was never imported
cannot occur.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

#: Process exit codes of every `mlcicd` command.
EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_INCONCLUSIVE = 3
#: Ctrl-C (128 + SIGINT): neither a verdict nor an error.
EXIT_INTERRUPTED = 130

DEBUG_HINT = "rerun with --debug (or MLCICD_DEBUG=1) for the traceback"


class MlcicdError(Exception):
    """Base of every error the runtime raises on purpose. `str()` is the message (it names the bad value and the
    fix); `hint` is what to do next, the class's default unless one is given."""

    exit_code: ClassVar[int] = EXIT_USAGE
    default_hint: ClassVar[str] = ""

    def __init__(self, message: str = "", *, hint: str | None = None) -> None:
        super().__init__(message)
        self._hint = hint

    @property
    def hint(self) -> str:
        return self.default_hint if self._hint is None else self._hint

    def render(self) -> str:
        """One paragraph for stderr: the message, then the hint."""
        text = str(self).strip() or type(self).__name__
        return f"error: {text}" + (f"\nhint: {self.hint}" if self.hint else "")


class UsageError(MlcicdError):
    """Bad input (argument, file, reference): exit 2. The message names the bad value and the fix."""

    default_hint = "fix the value named above and rerun; --help lists the options (exit 2, usage error)"


class InvalidValue(UsageError, ValueError):
    """A bad value given to a library function that callers may still catch as ValueError."""


class ConfigurationError(MlcicdError):
    """The stack config or the environment the command runs in is wrong: exit 2."""

    default_hint = ("`mlcicd config validate --stack S` lists every problem of a stack file (exit 2, configuration "
                    "error)")


class CredentialsError(ConfigurationError):
    """No usable AWS credentials (none found, expired, rejected) or access denied: exit 2, not an outage."""

    default_hint = ("configure AWS credentials (the job's IAM role, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY); `aws sts get-caller-identity` must succeed (exit 2, configuration "
                    "error, not an outage)")


class OutOfMemory(ConfigurationError):
    default_hint = ("give the job more memory, or compare against a profile of the reference "
                    "(`mlcicd data profile`) instead of the reference data (exit 2, configuration error)")


class ServiceUnavailable(MlcicdError):
    """A service the command needs did not answer (refused, timed out, 5xx): the check could not decide, exit 3."""

    exit_code = EXIT_INCONCLUSIVE
    default_hint = "the check could not decide; rerun once the service answers (exit 3, INCONCLUSIVE)"


class TrackingUnavailable(ServiceUnavailable):
    """The MLflow tracking server or registry could not be asked (unreachable, timed out, answered with an error)."""

    default_hint = ("MLflow did not answer: check --tracking-uri / MLFLOW_TRACKING_URI and that the server is up "
                    "(exit 3, INCONCLUSIVE)")


class AwsUnavailable(ServiceUnavailable):
    """An AWS API (S3, CloudWatch, ECR, ECS, STS) could not be asked."""

    default_hint = ("AWS did not answer: check the network, the region and --endpoint-url / AWS_ENDPOINT_URL "
                    "(exit 3, INCONCLUSIVE)")


class EndpointUnavailable(ServiceUnavailable):
    """A scoring server (baseline, canary, smoke target) could not be reached."""

    default_hint = "the scoring server did not answer: check the URL and that it is up (exit 3, INCONCLUSIVE)"


class NotEnoughEvidence(MlcicdError):
    """The evidence cannot decide (no drift score to publish, a scan not finished): INCONCLUSIVE, exit 3."""

    exit_code = EXIT_INCONCLUSIVE
    default_hint = "not enough evidence to decide (exit 3, INCONCLUSIVE)"


class InternalError(MlcicdError):
    """A bug in mlcicd. Exit 2, never 1: a crash is not a verdict about the model, and rerunning will not help,
    so it must not read as FAIL (1) nor as "wait for more evidence" (3)."""

    default_hint = f"this is a bug in mlcicd: {DEBUG_HINT} and report it (exit 2, never FAIL)"


# Recognising library exceptions --------------------------------------------------------------------------------
_CREDENTIAL_CODES = frozenset({
    "InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException",
    "SignatureDoesNotMatch", "InvalidAccessKeyId", "AuthFailure", "AccessDenied", "AccessDeniedException",
    "UnauthorizedOperation", "InvalidToken"})
_THROTTLE_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "SlowDown",
                             "ServiceUnavailable", "InternalFailure", "InternalError", "RequestTimeout"})
_MLFLOW_USAGE_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "RESOURCE_ALREADY_EXISTS",
                                 "BAD_REQUEST", "INVALID_STATE", "NOT_FOUND"})
_MLFLOW_AUTH_CODES = frozenset({"PERMISSION_DENIED", "UNAUTHENTICATED", "UNAUTHORIZED"})
_MLFLOW_OUTAGE_CODES = frozenset({"TEMPORARILY_UNAVAILABLE", "SERVICE_UNDER_MAINTENANCE", "DEADLINE_EXCEEDED",
                                  "REQUEST_LIMIT_EXCEEDED", "ENDPOINT_NOT_FOUND"})


def _module_class(module: str, name: str) -> type | None:
    """A class of an already imported module (None when the module was never imported: none of its exceptions
    can exist then)."""
    found = getattr(sys.modules.get(module), name, None)
    return found if isinstance(found, type) else None


def _is(exc: BaseException, module: str, *names: str) -> bool:
    classes = tuple(c for c in (_module_class(module, n) for n in names) if c is not None)
    return bool(classes) and isinstance(exc, classes)


def chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and its causes, outermost first (`raise ... from None` ends the chain on purpose)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ if current.__cause__ is not None or current.__suppress_context__ \
            else current.__context__


def _fault(exc: BaseException) -> type[MlcicdError] | None:
    """What one exception of a library (or the OS) means, judged on it alone; None when it says nothing."""
    if _is(exc, "botocore.exceptions", "NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"):
        return CredentialsError
    if _is(exc, "botocore.exceptions", "NoRegionError"):
        return ConfigurationError
    if _is(exc, "botocore.exceptions", "ConnectionError", "HTTPClientError"):
        return AwsUnavailable
    if _is(exc, "botocore.exceptions", "ClientError"):
        error = getattr(exc, "response", {}).get("Error", {})
        status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if error.get("Code") in _CREDENTIAL_CODES:
            return CredentialsError
        return AwsUnavailable if error.get("Code") in _THROTTLE_CODES or status >= 500 else UsageError
    if _is(exc, "mlflow.exceptions", "MlflowException"):
        code = str(getattr(exc, "error_code", ""))
        if code in _MLFLOW_AUTH_CODES:
            return ConfigurationError
        if code in _MLFLOW_OUTAGE_CODES:
            return TrackingUnavailable
        return UsageError if code in _MLFLOW_USAGE_CODES else None
    if _is(exc, "requests.exceptions", "ConnectionError", "Timeout", "RetryError") or \
            _is(exc, "urllib3.exceptions", "HTTPError"):
        return ServiceUnavailable  # MLflow's transport (TrackingUnavailable when MLflow is in the chain)
    if _is(exc, "httpx", "TransportError"):
        return EndpointUnavailable
    if isinstance(exc, ConnectionError | TimeoutError) or _is(exc, "socket", "gaierror"):
        return ServiceUnavailable
    if isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError | PermissionError):
        return UsageError
    if isinstance(exc, MemoryError):
        return OutOfMemory
    return None


_DECISIVE = (CredentialsError, ServiceUnavailable)


def _cause_fault(exc: BaseException) -> type[MlcicdError] | None:
    """The most telling fault in the chain: credentials or an outage anywhere decide; otherwise the outermost
    recognised one."""
    links = list(chain(exc))
    faults = [f for f in (_fault(e) for e in links) if f is not None]
    decisive = [f for f in faults if issubclass(f, _DECISIVE)]
    found = (decisive or faults or [None])[0]
    if found is ServiceUnavailable and any(_is(e, "mlflow.exceptions", "MlflowException") for e in links):
        return TrackingUnavailable
    return found


def classify(exc: BaseException) -> MlcicdError:
    """The error to report for `exc`. Our own errors keep their class unless a credentials problem or an outage
    caused them; library errors get the class of what they mean; anything else is an `InternalError`."""
    if isinstance(exc, ServiceUnavailable | NotEnoughEvidence | ConfigurationError | InternalError):
        return exc
    fault = _cause_fault(exc)
    if isinstance(exc, MlcicdError):
        if fault is None or not issubclass(fault, _DECISIVE):
            return exc
        return _wrap(fault, str(exc), exc)
    if fault is not None:
        return _wrap(fault, _one_line(exc), exc)
    return _wrap(InternalError, f"internal error: {type(exc).__name__}: {_one_line(exc)}{_where(exc)}", exc)


def _wrap(cls: type[MlcicdError], message: str, cause: BaseException) -> MlcicdError:
    error = cls(message)
    error.__cause__ = cause
    return error


def _one_line(exc: BaseException, limit: int = 600) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _where(exc: BaseException) -> str:
    """` (at runtime/x.py:12 in f)`: the innermost frame of our own code, for the bug report."""
    package = Path(__file__).resolve().parent
    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(package):
            found = f" (at runtime/{path.relative_to(package).as_posix()}:{frame.lineno} in {frame.name})"
    return found


def format_traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))
