"""`mlcicd verify rollout`: what is live matches what the stack pins, and nothing was rolled back (the work is in
runtime/verify/run.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from runtime.cli.common import finish, load_config

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
    from runtime.verify.run import RolloutOptions, verify_stack_rollout

    cfg = load_config(stack, project_dir).config
    options = RolloutOptions(cluster=cluster, service=service, stack_outputs=stack_outputs, container=container,
                             alarm_prefix=alarm_prefix, region=region, endpoint_url=endpoint_url)
    finish(verify_stack_rollout(stack, cfg, options), report)
