"""`mlcicd verify rollout` from its options: what the stack pins, where it is deployed (the stack outputs or the
command line), a preflight of AWS, then the comparison in `runtime.verify.ecs` or `runtime.verify.eks`. The CLI
only parses, calls, prints and exits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.errors import UsageError
from runtime.stack_outputs import read_stack_outputs

if TYPE_CHECKING:
    from runtime.config import StackConfig
    from runtime.report import Report


@dataclass(frozen=True)
class RolloutOptions:
    """Where the deployment is (None: from the stack outputs or the stack config)."""

    cluster: str | None = None
    service: str | None = None
    stack_outputs: Path | None = None
    container: str | None = None
    alarm_prefix: str | None = None
    region: str | None = None
    endpoint_url: str | None = None


def verify_stack_rollout(stack: str, cfg: StackConfig, options: RolloutOptions) -> Report:
    """Compare the live deployment with the stack's pins. UsageError when the stack pins nothing or the
    deployment cannot be located; CredentialsError / AwsUnavailable from the preflight (exit 2 / 3)."""
    from runtime import stack_outputs as out
    from runtime.verify.ecs import verify_ecs_rollout
    from runtime.verify.eks import fetch_argo_rollout, verify_argo_rollout
    from runtime.verify.pins import Expected

    outputs = read_stack_outputs(options.stack_outputs)
    expected = Expected(stack=stack, model_name=cfg.model.name, version=cfg.model.version,
                        image_digest=cfg.model.image_digest)
    if expected.image_digest is None:
        raise UsageError(f"Pulumi.{stack}.yaml pins no model.imageDigest: the stack serves nothing to verify")
    service = options.service or outputs.get(out.SERVING_SERVICE)
    if cfg.serving.backend == "eks":
        if not service or cfg.serving.eks is None:
            raise UsageError("backend eks: pass --service ROLLOUT_NAME (or --stack-outputs)")
        return verify_argo_rollout(fetch_argo_rollout(cfg.serving.eks.namespace, service), expected,
                                   container=options.container)
    cluster = options.cluster or outputs.get(out.SERVING_CLUSTER)
    if not cluster or not service:
        raise UsageError("pass --cluster and --service, or --stack-outputs FILE with servingCluster and "
                         "servingService (`pulumi stack output --json --stack S > FILE`)")
    alarms = outputs.get(out.ROLLBACK_ALARMS) or []
    composite = outputs.get(out.ROLLBACK_COMPOSITE_ALARM)
    names = [*alarms, *([composite] if composite else [])]
    from runtime.aws import boto3_clients, check_aws_access

    clients = boto3_clients(options.region or cfg.region, options.endpoint_url)
    check_aws_access(clients, "verify rollout")
    return verify_ecs_rollout(clients("ecs"), clients("cloudwatch"), cluster=cluster, service=service,
                              expected=expected, container=options.container, alarm_names=names,
                              alarm_prefix=options.alarm_prefix)
