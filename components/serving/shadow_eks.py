"""EKS side of `serving:ShadowService`: a Deployment and a ClusterIP Service for the shadow, in the model's namespace,
through its own explicit provider (the cluster access of `serving.eks`; no ambient kubeconfig).

The pods reuse the model pod template (`eks_specs.model_pod_template`: non-root, read-only root, no capabilities,
probes on /ping) with `app.kubernetes.io/name: <model>-shadow`, so the model's stable and canary Services, its HPA
and its PDB never select them, and a fixed replica count (no autoscaler: the mirror is a fixed share).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.capture.policies import producer_statements
from components.iam import allow, document
from components.serving import eks_specs as spec
from components.serving.args import pinned_image
from components.serving.shadow_args import ShadowServiceArgs


def build_eks_shadow(parent: pulumi.ComponentResource, name: str, args: ShadowServiceArgs,
                     environment: dict[str, str]) -> pulumi.Output[str]:
    eks = args.eks
    if eks is None:
        raise ValueError(f"ShadowService {name}: backend `eks` requires args.eks (cluster access)")
    app = f"{spec.k8s_name(args.model_name)}-shadow"
    provider = k8s.Provider(f"{name}-k8s", kubeconfig=spec.kubeconfig(eks, args.region),
                            cluster_identifier=eks.cluster_name, enable_server_side_apply=True,
                            delete_unreachable=False, opts=pulumi.ResourceOptions(parent=parent))
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    selector = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "ml-cicd"}
    labels = {**selector, "app.kubernetes.io/managed-by": "pulumi", spec.VARIANT_LABEL: "shadow"}
    meta = k8s.meta.v1.ObjectMetaArgs(name=app, namespace=eks.namespace, labels=labels)
    pod_role(parent, name, cluster=eks.cluster_name, namespace=eks.namespace, service_account=app,
             account_id=args.account_id, stream_arn=args.capture_stream_arn, metrics_namespace=args.metrics_namespace)
    k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta, automount_service_account_token=False, opts=opts)
    template = spec.model_pod_template(
        labels=labels, service_account=app, image=pinned_image(args.image_repository_url, args.image_digest),
        port=args.port, cpu=args.cpu, memory=args.memory, environment=environment, eks=eks)
    deployment = k8s.apps.v1.Deployment(
        f"{name}-deployment", metadata=meta, spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=args.desired_count, revision_history_limit=2,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector), template=template),
        opts=opts)
    k8s.core.v1.Service(f"{name}-svc", metadata=meta, spec=k8s.core.v1.ServiceSpecArgs(
        type="ClusterIP", selector=selector,
        ports=[k8s.core.v1.ServicePortArgs(name="http", port=80, target_port="http")]), opts=opts)
    return deployment.metadata.apply(lambda m: m.name or app)


def pod_role(parent: pulumi.Resource, name: str, *, cluster: str, namespace: str, service_account: str,
             account_id: pulumi.Input[str], stream_arn: pulumi.Input[str], metrics_namespace: str) -> None:
    """The shadow pods' IAM role (EKS Pod Identity): put capture records to the one stream, publish counters into
    the model namespace (PutMetricData has no resource type: Resource "*" with the namespace condition)."""
    child = pulumi.ResourceOptions(parent=parent)
    trust = pulumi.Output.from_input(account_id).apply(lambda acct: json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:SourceAccount": acct}}}]}, sort_keys=True))
    role = aws.iam.Role(f"{name}-pods", assume_role_policy=trust, opts=child)
    aws.iam.RolePolicy(f"{name}-pods-capture", role=role.id, policy=pulumi.Output.from_input(stream_arn).apply(
        lambda arn: document([*producer_statements(arn), allow(
            "PublishCaptureCounters", ["cloudwatch:PutMetricData"], ["*"],
            {"StringEquals": {"cloudwatch:namespace": metrics_namespace}})])), opts=child)
    aws.eks.PodIdentityAssociation(f"{name}-pods", cluster_name=cluster, namespace=namespace,
                                   service_account=service_account, role_arn=role.arn, opts=child)
