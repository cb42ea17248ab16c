"""`mlcicd:serving:ModelService`: the model endpoint, on ECS Fargate (`ecs.py`) or EKS (`eks.py`).

The backend modules build the resources with this component as their parent; this class only checks the
arguments, dispatches, and publishes the outputs. The arguments live in `components/serving/args.py` (shared by
both backends) and are re-exported here.

Every deployment rolls back automatically: the ECS backend requires `rollback_alarms` and ties the service's
alarm-based rollback (or CodeDeploy's) to exactly the alarms that factory creates.
"""

from __future__ import annotations

import pulumi

from components.serving.args import AlarmFactory, ModelServiceArgs, RollbackAlarms, Strategy, pinned_image

TYPE = "mlcicd:serving:ModelService"

__all__ = ["TYPE", "AlarmFactory", "ModelService", "ModelServiceArgs", "RollbackAlarms", "Strategy", "pinned_image"]


class ModelService(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    """Base URL of the scoring endpoint (`/ping`, `/invocations`)."""
    cluster_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    load_balancer_arn_suffix: pulumi.Output[str] | None
    """ALB dimension of the serving metrics (ECS); None for EKS."""
    target_group_arn_suffixes: pulumi.Output[dict[str, str]] | None
    """Target group dimensions (ECS): `primary` (and `alternate` for canary, linear, blue-green). The two swap
    roles at every canary deployment: the canary is whichever group the production rule weights less."""
    log_group_name: pulumi.Output[str] | None
    load_balancer_dns_name: pulumi.Output[str] | None
    """The load balancer's own DNS name (ECS), the target of the DNS record for `hostname`; None for EKS."""
    deployment_group_name: pulumi.Output[str] | None
    """CodeDeploy deployment group (strategy `blue-green`), else None."""
    alarms: RollbackAlarms | None
    task_security_group_id: pulumi.Output[str] | None
    """Security group of the ECS tasks (None for EKS): what a shadow service admits mirrored requests from."""

    def __init__(self, name: str, args: ModelServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        if not args.image_digest.startswith("sha256:"):
            raise ValueError(f"ModelService {name}: args.image_digest must be `sha256:<hex>` (the image is pinned "
                             f"by digest), got {args.image_digest!r}")
        self.load_balancer_arn_suffix = None
        self.target_group_arn_suffixes = None
        self.log_group_name = None
        self.load_balancer_dns_name = None
        self.deployment_group_name = None
        self.task_security_group_id = None
        self.alarms: RollbackAlarms | None = None
        if args.backend == "eks":
            from components.serving.eks import build_eks_service

            eks = build_eks_service(self, name, args)
            if args.rollback_alarms is not None:
                # No load balancer of ours: the model-metric alarms only (Argo Rollouts' analysis step runs the
                # canary judge; the alarms page through the topic).
                self.alarms = args.rollback_alarms(None, [])
            self.endpoint = eks.endpoint
            self.cluster_name = eks.cluster_name
            self.service_name = eks.service_name
        else:
            if args.rollback_alarms is None:
                raise ValueError(f"ModelService {name}: args.rollback_alarms is required (every deployment rolls "
                                 "back on the canary alarms)")
            from components.serving.ecs import build_ecs_service

            ecs = build_ecs_service(self, name, args)
            self.endpoint = ecs.endpoint
            self.cluster_name = ecs.cluster_name
            self.service_name = ecs.service_name
            self.load_balancer_arn_suffix = ecs.load_balancer_arn_suffix
            self.target_group_arn_suffixes = ecs.target_group_arn_suffixes
            self.log_group_name = ecs.log_group_name
            self.load_balancer_dns_name = ecs.load_balancer_dns_name
            self.deployment_group_name = ecs.deployment_group_name
            self.task_security_group_id = ecs.task_security_group_id
            self.alarms = ecs.alarms
        outputs: dict[str, object] = {"endpoint": self.endpoint, "clusterName": self.cluster_name,
                                      "serviceName": self.service_name}
        if self.load_balancer_arn_suffix is not None:
            outputs.update(loadBalancerArnSuffix=self.load_balancer_arn_suffix,
                           targetGroupArnSuffixes=self.target_group_arn_suffixes, logGroupName=self.log_group_name,
                           loadBalancerDnsName=self.load_balancer_dns_name)
        self.register_outputs(outputs)
