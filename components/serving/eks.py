"""Backend `eks` of `serving:ModelService`: Argo Rollouts on an existing EKS cluster.

Creates, all parented to the ModelService and all through one explicit `kubernetes.Provider` built from
`serving.eks` (endpoint, CA, `aws eks get-token`; the ambient kubeconfig is never read):
- the namespace, labelled to enforce the `restricted` Pod Security Standard (unless `createNamespace: false`);
- optionally the Argo Rollouts controller (Helm chart, pinned version);
- a `Rollout` with the canary steps from config (setWeight, pause for the bake, analysis) and stable/canary
  Services; an `AnalysisTemplate` whose Job runs `mlcicd canary judge --stack <stack> --probe-*` (the same judge
  as on ECS) in the runtime image `serving.eks.judgeImage`, with the stack file from a ConfigMap: it sends probe
  traffic to the stable and canary Services for the judge's window, publishes what each served into the model
  namespace, and judges that window (nothing else publishes per-variant metrics on EKS);
- a HorizontalPodAutoscaler on the Rollout and a PodDisruptionBudget;
- for the judge, its own ServiceAccount and (EKS Pod Identity) an IAM role that can read CloudWatch metrics and
  publish into the model namespace only.
- with inference capture, the model pods' own IAM role (EKS Pod Identity): put records to the capture stream only
  and publish the capture counters into the model namespace; pods label their variant (downward-API file).

Security decisions (see docs/security.md): every container runs as a non-root UID with a read-only root filesystem
(an emptyDir at /tmp for scratch), no capabilities, no privilege escalation, seccomp RuntimeDefault; no service
account token is mounted; requests equal limits; the image is pinned by digest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.capture.policies import producer_statements
from components.iam import allow, document
from components.serving import eks_specs as spec
from components.serving.args import ModelServiceArgs, pinned_image
from runtime import metrics
from runtime.config.checks import CanaryProbeConfig
from runtime.config.platform import EksConfig
from runtime.serving import command as serving

ARGO_ROLLOUTS_REPO = "https://argoproj.github.io/argo-helm"
ARGO_ROLLOUTS_NAMESPACE = "argo-rollouts"
#: CloudWatch's metric read APIs have no resource-level permissions: AWS requires Resource "*".
JUDGE_ACTIONS = ("cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics")
#: The probe publishes what stable and canary served; PutMetricData has no resource type either (Resource "*"),
#: so the `cloudwatch:namespace` condition scopes it to the model namespace.
PROBE_ACTIONS = ("cloudwatch:PutMetricData",)


class EksServiceOutputs(NamedTuple):
    endpoint: pulumi.Output[str]
    """In-cluster URL of the stable Service (`http://<name>.<namespace>.svc.cluster.local`)."""
    cluster_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    """Name of the Rollout (and of its stable Service)."""


@dataclass(frozen=True)
class _Objects:
    """What every Kubernetes object of one service shares: names, labels, namespace and resource options."""

    name: str
    """The ModelService's name (prefix of the Pulumi resource names)."""
    app: str
    """The model's Kubernetes name (Rollout, Services, ServiceAccount)."""
    namespace: str
    selector: dict[str, str]
    labels: dict[str, str]
    opts: pulumi.ResourceOptions
    """Parent, provider, and what the objects wait for (namespace, controller)."""

    def meta(self, object_name: str) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=self.namespace, labels=self.labels)


def build_eks_service(parent: pulumi.ComponentResource, name: str, args: ModelServiceArgs) -> EksServiceOutputs:
    eks, region, strategy = args.eks, args.region, args.strategy
    if eks is None:
        raise ValueError(f"ModelService {name}: backend `eks` requires args.eks (cluster access)")
    judged = strategy != "rolling"
    if judged and eks.judge_image is None:
        raise ValueError(f"ModelService {name}: strategy `{strategy}` requires eks.judge_image")
    if judged and args.judge_stack_files is None:
        raise ValueError(f"ModelService {name}: strategy `{strategy}` requires args.judge_stack_files (the stack "
                         "files the judge reads; see eks_specs.judge_stack_files)")
    app = spec.k8s_name(args.model_name)
    probe = args.probe
    urls = spec.service_url(app, eks.namespace), spec.service_url(f"{app}-canary", eks.namespace)
    if judged:
        _check_probe_hosts(name, probe, *urls)
    provider = k8s.Provider(f"{name}-k8s", kubeconfig=spec.kubeconfig(eks, region),
                            cluster_identifier=eks.cluster_name, enable_server_side_apply=True,
                            delete_unreachable=False, opts=pulumi.ResourceOptions(parent=parent))
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    waits = _prerequisites(name, eks, opts)
    # Selectors are immutable: only the two labels that identify the model's pods; objects carry one more.
    selector = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "ml-cicd"}
    objects = _Objects(name=name, app=app, namespace=eks.namespace, selector=selector,
                       labels={**selector, "app.kubernetes.io/managed-by": "pulumi"},
                       opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=waits)))

    # The model's pods: own ServiceAccount without a token, stable and canary Services --------------------------
    k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=objects.meta(app), automount_service_account_token=False,
                               opts=objects.opts)
    for suffix in ("", "-canary"):
        k8s.core.v1.Service(f"{name}-svc{suffix}", metadata=objects.meta(f"{app}{suffix}"),
                            spec=k8s.core.v1.ServiceSpecArgs(
                                type="ClusterIP", selector=selector,
                                ports=[k8s.core.v1.ServicePortArgs(name="http", port=80, target_port="http")]),
                            opts=objects.opts)
    analysis = _judge(parent, objects, args, eks=eks, region=region, probe=probe, urls=urls) if judged else None
    capture, stream = args.capture, args.capture_stream_arn
    model_identity: list[pulumi.Resource] = []
    if capture is not None and stream is not None:
        model_identity.append(_model_role(
            parent, name, cluster=eks.cluster_name, namespace=eks.namespace, service_account=app,
            account_id=args.account_id, stream_arn=stream, metrics_namespace=args.metrics_namespace))
    _rollout(objects, args, eks=eks, strategy=strategy, analysis=analysis, model_identity=model_identity)
    return EksServiceOutputs(endpoint=pulumi.Output.from_input(f"http://{app}.{eks.namespace}.svc.cluster.local"),
                             cluster_name=pulumi.Output.from_input(eks.cluster_name),
                             service_name=pulumi.Output.from_input(app))


def _prerequisites(name: str, eks: EksConfig, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """The namespace (enforcing `restricted`) and the Argo Rollouts controller, when the stack owns them."""
    waits: list[pulumi.Resource] = []
    if eks.create_namespace:
        waits.append(k8s.core.v1.Namespace(f"{name}-namespace", metadata=k8s.meta.v1.ObjectMetaArgs(
            name=eks.namespace, labels=spec.pod_security_labels()), opts=opts))
    if eks.install_argo_rollouts:
        waits.append(_argo_rollouts(name, eks.argo_rollouts_chart_version, opts))
    return waits


def _judge(parent: pulumi.Resource, objects: _Objects, args: ModelServiceArgs, *, eks: EksConfig, region: str,
           probe: CanaryProbeConfig, urls: tuple[str, str]) -> dict[str, Any]:
    """The judge: ServiceAccount, IAM role (Pod Identity), stack files, AnalysisTemplate. Returns the analysis step
    the Rollout's canary steps run."""
    name, after = objects.name, objects.opts
    judge_name = f"{objects.app}-canary-judge"
    k8s.core.v1.ServiceAccount(f"{name}-judge-sa", metadata=objects.meta(judge_name),
                               automount_service_account_token=False, opts=after)
    if eks.judge_pod_identity:
        _judge_role(parent, name, cluster=eks.cluster_name, namespace=eks.namespace, service_account=judge_name,
                    account_id=args.account_id, metrics_namespace=args.metrics_namespace)
    k8s.core.v1.ConfigMap(f"{name}-judge-config", metadata=objects.meta(judge_name), data=args.judge_stack_files,
                          immutable=False, opts=after)
    job = spec.judge_job(
        labels={**objects.labels, "app.kubernetes.io/name": judge_name, "app.kubernetes.io/component": "canary-judge"},
        service_account=judge_name, image=eks.judge_image or "", stack=pulumi.get_stack(), region=region,
        config_map=judge_name, eks=eks, stable_url=urls[0], canary_url=urls[1],
        deadline_seconds=spec.judge_deadline_seconds(args.judge, probe, args.bake_minutes))
    k8s.apiextensions.CustomResource(
        f"{name}-analysis", api_version=spec.ARGO_API, kind="AnalysisTemplate", metadata=objects.meta(judge_name),
        spec={"args": [{"name": "canary-hash"}, {"name": "stable-hash"}], "metrics": [{
            "name": "canary-judge", "count": 1, "failureLimit": 0, "provider": {"job": job}}]},
        opts=after)
    return spec.analysis_step(judge_name)


def _rollout(objects: _Objects, args: ModelServiceArgs, *, eks: EksConfig, strategy: str,
             analysis: dict[str, Any] | None, model_identity: list[pulumi.Resource]) -> None:
    """The Rollout (canary steps from config), its autoscaler and its disruption budget. With inference capture
    (`model_identity`: the pods' role association, which the Rollout waits for) the server gets the capture
    settings and its variant label as a downward-API file."""
    name, app, after = objects.name, objects.app, objects.opts
    capture = args.capture
    capturing = capture is not None and bool(model_identity)
    environment = serving.serving_environment(
        model_name=args.model_name, model_version=args.model_version, image_digest=args.image_digest,
        variant=metrics.VARIANT_BASELINE,
        extra={**args.environment, **(capture.to_env() if capture is not None and capturing else {})})
    template = spec.model_pod_template(
        labels=objects.labels, service_account=app,
        image=pinned_image(args.image_repository_url, args.image_digest),
        port=args.port, cpu=args.cpu, memory=args.memory, environment=environment, eks=eks, podinfo=capturing)
    steps = spec.canary_steps(strategy, args.canary_percent, args.linear_step_percent, args.bake_minutes, analysis)
    rollout = k8s.apiextensions.CustomResource(
        f"{name}-rollout", api_version=spec.ARGO_API, kind="Rollout", metadata=objects.meta(app),
        # No `replicas`: the HorizontalPodAutoscaler owns the count (a fixed value would fight it on every update).
        spec={"revisionHistoryLimit": 3, "selector": {"matchLabels": objects.selector}, "template": template,
              "strategy": {"canary": {"canaryService": f"{app}-canary", "stableService": app, "maxSurge": "25%",
                                      "maxUnavailable": 0, "steps": steps,
                                      **(spec.variant_metadata() if capturing else {})}}},
        opts=pulumi.ResourceOptions.merge(after, pulumi.ResourceOptions(depends_on=model_identity)))
    hpa = k8s.autoscaling.v2
    cpu_target = round(args.target_cpu_percent)
    hpa.HorizontalPodAutoscaler(
        f"{name}-hpa", metadata=objects.meta(app), spec=hpa.HorizontalPodAutoscalerSpecArgs(
            scale_target_ref=hpa.CrossVersionObjectReferenceArgs(api_version=spec.ARGO_API, kind="Rollout", name=app),
            min_replicas=args.min_capacity, max_replicas=args.max_capacity,
            metrics=[hpa.MetricSpecArgs(type="Resource", resource=hpa.ResourceMetricSourceArgs(
                name="cpu", target=hpa.MetricTargetArgs(type="Utilization", average_utilization=cpu_target)))]),
        opts=pulumi.ResourceOptions.merge(after, pulumi.ResourceOptions(depends_on=[rollout])))
    k8s.policy.v1.PodDisruptionBudget(
        f"{name}-pdb", metadata=objects.meta(app), spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
            max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=objects.selector)), opts=after)


def _argo_rollouts(name: str, version: str, opts: pulumi.ResourceOptions) -> k8s.helm.v4.Chart:
    """The Argo Rollouts controller (CRDs included) in its own namespace, chart pinned; the dashboard stays off."""
    namespace = k8s.core.v1.Namespace(f"{name}-argo-rollouts-namespace", metadata=k8s.meta.v1.ObjectMetaArgs(
        name=ARGO_ROLLOUTS_NAMESPACE, labels=spec.pod_security_labels()), opts=opts)
    return k8s.helm.v4.Chart(
        f"{name}-argo-rollouts", chart="argo-rollouts", version=version, namespace=ARGO_ROLLOUTS_NAMESPACE,
        repository_opts=k8s.helm.v4.RepositoryOptsArgs(repo=ARGO_ROLLOUTS_REPO),
        values={"installCRDs": True, "dashboard": {"enabled": False},
                # The chart's defaults already meet `restricted`; pinned here so a chart upgrade cannot relax them.
                "podSecurityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                "containerSecurityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                             "capabilities": {"drop": ["ALL"]},
                                             "seccompProfile": {"type": "RuntimeDefault"}}},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[namespace])))


def _check_probe_hosts(name: str, probe: CanaryProbeConfig, *urls: str) -> None:
    """The analysis step probes the stable and canary Services: the probe's host allow-list must admit them."""
    from runtime.canary.probe import check_url
    from runtime.errors import UsageError

    for url in urls:
        try:
            check_url("the analysis step's probe URL", url, probe.allowed_hosts)
        except UsageError as exc:
            raise ValueError(f"ModelService {name}: serving.canary.probe.allowedHosts must admit the in-cluster "
                             f"Services the analysis step probes: {exc}") from None


def _pod_identity_trust(account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """Trust policy of a role that only EKS Pod Identity of this account may assume."""
    return pulumi.Output.from_input(account_id).apply(lambda acct: json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:SourceAccount": acct}}}]}, sort_keys=True))


def _judge_role(parent: pulumi.Resource, name: str, *, cluster: str, namespace: str, service_account: str,
                account_id: pulumi.Input[str] | None, metrics_namespace: str) -> None:
    """An IAM role only the judge's ServiceAccount assumes (EKS Pod Identity): read CloudWatch metrics, and
    publish the probe's metrics into the model namespace only."""
    if account_id is None:
        raise ValueError(f"ModelService {name}: eks.judge_pod_identity requires args.account_id")
    child = pulumi.ResourceOptions(parent=parent)
    trust = _pod_identity_trust(account_id)
    role = aws.iam.Role(f"{name}-judge", assume_role_policy=trust, opts=child)
    policy = aws.iam.RolePolicy(f"{name}-judge-metrics", role=role.id, policy=document([
        allow("ReadCanaryMetrics", JUDGE_ACTIONS, ["*"]),
        allow("PublishProbeMetrics", PROBE_ACTIONS, ["*"],
              {"StringEquals": {"cloudwatch:namespace": metrics_namespace}})]), opts=child)
    # The judge's pods get the role's credentials as soon as the association exists: its policy first.
    aws.eks.PodIdentityAssociation(f"{name}-judge", cluster_name=cluster, namespace=namespace,
                                   service_account=service_account, role_arn=role.arn,
                                   opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]))


def _model_role(parent: pulumi.Resource, name: str, *, cluster: str, namespace: str, service_account: str,
                account_id: pulumi.Input[str] | None, stream_arn: pulumi.Input[str],
                metrics_namespace: str) -> aws.eks.PodIdentityAssociation:
    """The model pods' IAM role (EKS Pod Identity), with inference capture only: put records to the one capture
    stream, and publish the capture counters into the model namespace. Returns the association (after the policy)."""
    if account_id is None:
        raise ValueError(f"ModelService {name}: inference capture on EKS requires args.account_id")
    child = pulumi.ResourceOptions(parent=parent)
    trust = _pod_identity_trust(account_id)
    role = aws.iam.Role(f"{name}-model", assume_role_policy=trust, opts=child)
    policy = aws.iam.RolePolicy(f"{name}-model-capture", role=role.id, policy=pulumi.Output.from_input(
        stream_arn).apply(lambda arn: document([*producer_statements(arn), allow(
            "PublishCaptureCounters", PROBE_ACTIONS, ["*"],
            {"StringEquals": {"cloudwatch:namespace": metrics_namespace}})])), opts=child)
    # The model's pods get the role's credentials as soon as the association exists: its policy first.
    return aws.eks.PodIdentityAssociation(f"{name}-model", cluster_name=cluster, namespace=namespace,
                                          service_account=service_account, role_arn=role.arn,
                                          opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]))
