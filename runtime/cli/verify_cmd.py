"""`mlcicd verify rollout`: what is live matches what the stack pins, and nothing was rolled back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import UsageError, finish, load_config, usage_errors

app = typer.Typer(help="Verify what is deployed against the stack config.", no_args_is_help=True)


@app.command()
def rollout(
    *,
    stack: Annotated[str, typer.Option(help="Stack: the pinned model version and image digest in "
                                            "Pulumi.<stack>.yaml.")],
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    project_dir: Annotated[Path | None, typer.Option(help="Directory with Pulumi.yaml (default: nearest).")] = None,
    cluster: Annotated[str | None, typer.Option(help="ECS cluster (default: stack output servingCluster).")] = None,
    service: Annotated[str | None, typer.Option(help="ECS service, or the Argo Rollout's name for backend eks "
                                                     "(default: stack output servingService).")] = None,
    stack_outputs: Annotated[Path | None, typer.Option(help="JSON from `pulumi stack output --json`.")] = None,
    container: Annotated[str | None, typer.Option(help="Serving container name (default: model).")] = None,
    alarm_prefix: Annotated[str | None, typer.Option(help="Also watch alarms whose names start with this.")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region (default: the stack's).")] = None,
    endpoint_url: Annotated[str | None, typer.Option(help="AWS endpoint (e.g. a moto server).")] = None,
) -> None:
    """Compare the live deployment with the stack's pins; FAIL with guidance when the platform rolled back
    (exit 0 PASS, 1 FAIL, 2 usage, 3 INCONCLUSIVE)."""
    with usage_errors():
        from runtime import stack_outputs as out
        from runtime.canary.run import boto3_clients
        from runtime.cli.canary_cmd import read_stack_outputs
        from runtime.verify.rollout import Expected, fetch_argo_rollout, verify_argo_rollout, verify_ecs_rollout

        cfg = load_config(stack, project_dir).config
        outputs = read_stack_outputs(stack_outputs)
        expected = Expected(stack=stack, model_name=cfg.model.name, version=cfg.model.version,
                            image_digest=cfg.model.image_digest)
        if expected.image_digest is None:
            raise UsageError(f"Pulumi.{stack}.yaml pins no model.imageDigest: the stack serves nothing to verify")
        service = service or outputs.get(out.SERVING_SERVICE)
        if cfg.serving.backend == "eks":
            if not service or cfg.serving.eks is None:
                raise UsageError("backend eks: pass --service ROLLOUT_NAME (or --stack-outputs)")
            result = verify_argo_rollout(fetch_argo_rollout(cfg.serving.eks.namespace, service), expected,
                                         container=container)
        else:
            cluster = cluster or outputs.get(out.SERVING_CLUSTER)
            if not cluster or not service:
                raise UsageError("pass --cluster and --service, or --stack-outputs FILE with servingCluster and "
                                 "servingService (`pulumi stack output --json --stack S > FILE`)")
            alarms = outputs.get(out.ROLLBACK_ALARMS) or []
            composite = outputs.get(out.ROLLBACK_COMPOSITE_ALARM)
            names = [*alarms, *([composite] if composite else [])]
            clients = boto3_clients(region or cfg.region, endpoint_url)
            result = verify_ecs_rollout(clients("ecs"), clients("cloudwatch"), cluster=cluster, service=service,
                                        expected=expected, container=container, alarm_names=names,
                                        alarm_prefix=alarm_prefix)
    finish(result, report)
