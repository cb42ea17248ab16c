"""`mlcicd:serving:ShadowService`: the shadow variant of a model service, fed only by the baseline's mirror.

Creates, on the model service's backend:
- ECS: its own log group, execution and task roles (pull the image; publish model metrics, put capture records to
  the one stream), a task definition running THE serving command with `variant=shadow`,
  a security group admitting the model port from the baseline tasks' group only (and the matching egress rule on
  the baseline's group), a Cloud Map private DNS name (`shadow.<namespace>`), and an ECS service with the
  circuit breaker and no load balancer: no caller can reach it.
- EKS: a Deployment (not a Rollout: a shadow is replaced, never canaried) whose pods carry
  `app.kubernetes.io/name: <model>-shadow`, so the model's Services, HPA and PDB never select them; a ClusterIP
  Service for the mirror; its own ServiceAccount without a token and a Pod Identity role for capture only.

`mirror_url` gives the address before anything exists, so the baseline's environment (`MLCICD_MIRROR`) can carry
it. Security decisions are the model service's: image by digest, non-root, read-only root filesystem, no
capabilities, private subnets without public IP, roles scoped to this stack's ARNs.
"""

from __future__ import annotations

import re

import pulumi
import pulumi_aws as aws

from components.aws_common import allow_in, allow_out, security_group
from components.required import checked, missing
from components.serving import eks_specs as spec
from components.serving.ecs_task import build_task
from components.serving.shadow_args import ShadowServiceArgs
from runtime import metrics
from runtime.config.platform import EksConfig
from runtime.serving import command as serving

TYPE = "mlcicd:serving:ShadowService"
#: Arguments the ECS shadow also needs (`checked` by its builders).
ECS_REQUIRED = ("image_repository_arn", "cluster_name", "vpc_id", "private_subnet_ids", "baseline_security_group_id",
                "kms_key_arn")
#: Host name of the shadow in its Cloud Map namespace (ECS).
ECS_HOST = "shadow"


def dns_namespace() -> str:
    """The stack's private Cloud Map namespace (a DNS name derived from project and stack)."""
    label = re.sub(r"[^a-z0-9-]+", "-", f"{pulumi.get_project()}-{pulumi.get_stack()}".lower()).strip("-")
    return f"{label[:60]}.mlcicd.internal"


def mirror_url(backend: str, model_name: str, port: int, eks: EksConfig | None = None) -> str:
    """Where the baseline sends its copies, known before the shadow exists."""
    if backend == "eks":
        if eks is None:
            raise ValueError("mirror_url: backend `eks` needs the EKS config (namespace)")
        return spec.service_url(f"{spec.k8s_name(model_name)}-shadow", eks.namespace)
    return f"http://{ECS_HOST}.{dns_namespace()}:{port}"


class ShadowService(pulumi.ComponentResource):
    service_name: pulumi.Output[str]
    """ECS service or Kubernetes Deployment name."""

    def __init__(self, name: str, args: ShadowServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        if not args.image_digest.startswith("sha256:"):
            raise ValueError(f"ShadowService {name}: image_digest must be `sha256:<hex>`, got {args.image_digest!r}")
        environment = serving.serving_environment(
            model_name=args.model_name, model_version=args.model_version, image_digest=args.image_digest,
            variant=metrics.VARIANT_SHADOW, metrics_namespace=args.metrics_namespace, extra=args.capture.to_env())
        if args.backend == "eks":
            from components.serving.shadow_eks import build_eks_shadow

            self.service_name = build_eks_shadow(self, name, args, environment)
        else:
            self.service_name = _ecs(self, name, args, environment)
        self.register_outputs({"serviceName": self.service_name})


def _ecs(parent: ShadowService, name: str, args: ShadowServiceArgs, environment: dict[str, str]) -> pulumi.Output[str]:
    """The ECS shadow: its own log group, roles and task definition (built as the baseline's: nothing shared with
    it), reachable only from the baseline tasks, by a private DNS name; returns the service name."""
    absent = missing(args, ECS_REQUIRED)
    if absent:
        raise ValueError(f"ShadowService {name} (ecs): missing args {', '.join(absent)}")
    port = args.port
    prefix = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"
    task = build_task(parent, name, args, prefix=prefix, port=port, environment=environment,
                      descriptions=(f"ECS agent of {prefix}: pull the shadow image, write its logs",
                                    f"Shadow model server of {prefix}: metrics, capture"),
                      keep_revisions=False)
    group = _ecs_security_group(parent, name, args, prefix=prefix, port=port)
    registry = _ecs_dns_name(parent, name, args, prefix=prefix)
    return _ecs_service(parent, name, args, task=task.task_definition, group=group, registry=registry,
                        role_policies=task.role_policies).name


def _ecs_security_group(parent: ShadowService, name: str, args: ShadowServiceArgs, *, prefix: str,
                        port: int) -> aws.ec2.SecurityGroup:
    """The shadow tasks' group: the model port from the baseline tasks' group only (with the matching egress
    rule on that group), HTTPS out to AWS APIs."""
    baseline = checked(args.baseline_security_group_id)
    group = security_group(f"{name}-tasks", vpc_id=checked(args.vpc_id), parent=parent,
                           description=f"{prefix} shadow tasks: the baseline's mirror in, AWS APIs out")
    allow_in(f"{name}-from-baseline", group=group, port=port, sources=[baseline],
             description="mirrored requests from the baseline tasks", parent=parent)
    allow_out(f"{name}-https-out", group=group, port=443, cidr="0.0.0.0/0", description="AWS APIs over HTTPS",
              parent=parent)
    aws.vpc.SecurityGroupEgressRule(f"{name}-baseline-to-shadow", security_group_id=baseline,
                                    referenced_security_group_id=group.id, ip_protocol="tcp", from_port=port,
                                    to_port=port, description="mirror copies to the shadow tasks",
                                    opts=pulumi.ResourceOptions(parent=parent))
    return group


def _ecs_dns_name(parent: ShadowService, name: str, args: ShadowServiceArgs, *,
                  prefix: str) -> aws.servicediscovery.Service:
    """The stack's private Cloud Map namespace and the shadow's name in it (`ECS_HOST`, A records of its tasks)."""
    child = pulumi.ResourceOptions(parent=parent)
    dns = aws.servicediscovery.PrivateDnsNamespace(f"{name}-dns", name=dns_namespace(), vpc=checked(args.vpc_id),
                                                   description=f"{prefix}: the shadow's private name", opts=child)
    return aws.servicediscovery.Service(
        f"{name}-dns", name=ECS_HOST, dns_config=aws.servicediscovery.ServiceDnsConfigArgs(
            namespace_id=dns.id, routing_policy="MULTIVALUE",
            dns_records=[aws.servicediscovery.ServiceDnsConfigDnsRecordArgs(ttl=10, type="A")]),
        health_check_custom_config=aws.servicediscovery.ServiceHealthCheckCustomConfigArgs(failure_threshold=1),
        opts=child)


def _ecs_service(parent: ShadowService, name: str, args: ShadowServiceArgs, *, task: aws.ecs.TaskDefinition,
                 group: aws.ec2.SecurityGroup, registry: aws.servicediscovery.Service,
                 role_policies: list[aws.iam.RolePolicy]) -> aws.ecs.Service:
    """The shadow's service in the model service's cluster: private subnets, no load balancer, registered under
    its DNS name, the circuit breaker rolling back a failed deployment."""
    return aws.ecs.Service(
        name, cluster=checked(args.cluster_name), task_definition=task.arn, desired_count=args.desired_count,
        launch_type="FARGATE", network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=checked(args.private_subnet_ids), security_groups=[group.id], assign_public_ip=False),
        service_registries=aws.ecs.ServiceServiceRegistriesArgs(registry_arn=registry.arn),
        deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
        enable_execute_command=False, propagate_tags="SERVICE", enable_ecs_managed_tags=True,
        # Its tasks start only once their roles' policies exist (IAM propagation).
        opts=pulumi.ResourceOptions(parent=parent, depends_on=role_policies))
