"""The runtime's one way to AWS: a client factory with bounded retries and timeouts, the region, and a preflight
that finds missing credentials and an unreachable endpoint in seconds, before a command spends its window.

Faults keep one meaning everywhere (runtime/errors.py): no usable credentials or access denied is a
`CredentialsError` (exit 2, configuration), an endpoint that does not answer an `AwsUnavailable` (exit 3).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runtime.errors import AwsUnavailable, CredentialsError, ServiceUnavailable, UsageError, classify

if TYPE_CHECKING:
    from runtime.config import StackConfig

ClientFactory = Callable[[str], Any]
"""Returns a boto3 client for a service name ("cloudwatch", "ecs", "codedeploy", "sts")."""


def boto3_clients(region: str | None, endpoint_url: str | None = None, *,
                  credentials: tuple[str, str] | None = None, max_attempts: int = 3) -> ClientFactory:
    """Clients with bounded retries and timeouts (an unreachable endpoint is an INCONCLUSIVE, not a hang), one per
    service. `credentials` (key id, secret) replace the ambient chain: a moto server's dummy pair, never real keys."""
    from boto3.session import Session
    from botocore.config import Config

    session = Session(region_name=region) if credentials is None else Session(
        aws_access_key_id=credentials[0], aws_secret_access_key=credentials[1], region_name=region)
    config = Config(retries={"max_attempts": max_attempts, "mode": "standard"}, connect_timeout=5, read_timeout=30)
    cache: dict[str, Any] = {}

    def factory(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(service, endpoint_url=endpoint_url, config=config)  # type: ignore[call-overload]
        return cache[service]

    return factory


def resolve_region(flag: str | None, cfg: StackConfig | None = None) -> str:
    """--region, else the stack's, else AWS_REGION / AWS_DEFAULT_REGION; UsageError when there is none."""
    region = flag or (cfg.region if cfg else None) or os.environ.get("AWS_REGION") or \
        os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise UsageError("no AWS region: pass --region, --stack S, or set AWS_REGION")
    return region


def require_credentials(what: str) -> None:
    """Without a network call: CredentialsError (exit 2) when the default credential chain finds nothing, so a
    command that will need AWS later says so now instead of reporting the gap as an outage."""
    from botocore.session import Session

    if Session().get_credentials() is None:
        raise CredentialsError(f"{what} needs AWS credentials and found none")


def check_aws_access(clients: ClientFactory, what: str, *, metrics_namespace: str | None = None) -> None:
    """Fail fast: STS GetCallerIdentity through the same factory (same endpoint, credentials and retry budget),
    then, with `metrics_namespace`, one ListMetrics call in it (CloudWatch's endpoint and read permission).
    CredentialsError (exit 2) when the credentials are missing, rejected or lack the permission; AwsUnavailable
    (exit 3) when the endpoint does not answer."""
    asks: list[tuple[str, Callable[[], Any]]] = [
        ("STS GetCallerIdentity", lambda: clients("sts").get_caller_identity())]
    if metrics_namespace is not None:
        asks.append((f"CloudWatch ListMetrics in {metrics_namespace}",
                     lambda: clients("cloudwatch").list_metrics(Namespace=metrics_namespace,
                                                                MetricName="RequestCount")))
    for call, ask in asks:
        try:
            ask()
        except Exception as exc:
            fault = classify(exc)
            if isinstance(fault, CredentialsError):
                raise CredentialsError(f"{what}: no usable AWS credentials for {call} ({_one_line(exc)})") from exc
            if isinstance(fault, ServiceUnavailable):
                raise AwsUnavailable(f"{what}: AWS did not answer {call} ({_one_line(exc)})") from exc
            raise


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
