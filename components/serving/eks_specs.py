"""Pure builders of the Kubernetes objects the EKS backend deploys (`eks.py` registers them).

Kept free of resources so each promise (kubeconfig, canary steps, pod security) is a plain function with its own
tests.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import defaults as d
from runtime import metrics
from runtime.canary.probe_window import longest_probed_bake_seconds
from runtime.config.checks import CanaryJudgeConfig, CanaryProbeConfig
from runtime.config.platform import EksConfig
from runtime.config.stack import StackConfig
from runtime.serving import command as serving

#: Argo Rollouts API of the Rollout and AnalysisTemplate objects.
ARGO_API = "argoproj.io/v1alpha1"
#: Where the canary judge finds `Pulumi.yaml` and `Pulumi.<stack>.yaml` (its working directory).
JUDGE_CONFIG_DIR = "/etc/mlcicd"
#: Seconds the judge job may need besides probing (pod start, image pull, reading CloudWatch, computing).
JUDGE_OVERHEAD_SECONDS = 300
#: Downward-API files of the model pods (read-only): `labels` tells the capture layer the pod's variant.
PODINFO_DIR = "/etc/podinfo"
#: Pod label carrying the variant; Argo Rollouts sets it per ReplicaSet (`canaryMetadata`/`stableMetadata`) and
#: relabels the canary's pods stable when it promotes them.
VARIANT_LABEL = "mlcicd.io/variant"
#: Pod Security Standard the namespace enforces.
POD_SECURITY_LEVEL = "restricted"


def k8s_name(value: str, limit: int = 63) -> str:
    """A DNS-1035 label (lowercase letters, digits, hyphens; starts with a letter) derived from `value`."""
    name = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", value.lower())).strip("-")
    if not name or not name[0].isalpha():
        name = f"m-{name}"
    return name[:limit].rstrip("-")


def kubeconfig(eks: EksConfig, region: str) -> str:
    """A kubeconfig for exactly this cluster: its endpoint and CA, and a token from `aws eks get-token` (with the
    configured role, if any). No ambient kubeconfig, context or static credential is ever used."""
    get_token = ["eks", "get-token", "--cluster-name", eks.cluster_name, "--region", region, "--output", "json"]
    if eks.role_arn:
        get_token += ["--role-arn", eks.role_arn]
    return json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": eks.cluster_name, "cluster": {
            "server": eks.endpoint, "certificate-authority-data": "".join(eks.certificate_authority_data.split())}}],
        "users": [{"name": "aws-eks-get-token", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws", "args": get_token,
            "interactiveMode": "Never"}}}],
        "contexts": [{"name": eks.cluster_name, "context": {"cluster": eks.cluster_name,
                                                             "user": "aws-eks-get-token"}}],
        "current-context": eks.cluster_name,
    }, sort_keys=True)


def pod_security_labels(level: str = POD_SECURITY_LEVEL) -> dict[str, str]:
    return {f"pod-security.kubernetes.io/{mode}": level for mode in ("enforce", "audit", "warn")} | {
        "pod-security.kubernetes.io/enforce-version": "latest"}


def canary_steps(strategy: str, percent: float, step_percent: float, bake_minutes: int,
                 analysis: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Argo Rollouts canary steps: per weight, `setWeight`, `pause` for the bake, then the judge's analysis.

    `canary`: one weight (`percent`). `linear`: `step_percent`, 2x, ... below 100. `rolling`: no steps (Argo
    replaces pods like a rolling update, with no analysis). After the last step the Rollout promotes to 100 %.
    """
    if strategy == "rolling":
        return []
    if strategy == "canary":
        weights = [round(percent)]
    elif strategy == "linear":
        step = round(step_percent)
        weights = list(range(step, 100, step))
    else:
        raise ValueError(f"strategy `{strategy}` has no Argo Rollouts form; use canary, linear or rolling")
    steps: list[dict[str, Any]] = []
    for weight in weights:
        steps.append({"setWeight": weight})
        if bake_minutes > 0:
            steps.append({"pause": {"duration": f"{bake_minutes}m"}})
        if analysis is not None:
            steps.append({"analysis": analysis})
    return steps


def analysis_step(template_name: str) -> dict[str, Any]:
    """The analysis step: the judge template, told which pods are canary and which are stable."""
    return {"templates": [{"templateName": template_name}], "args": [
        {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
        {"name": "stable-hash", "valueFrom": {"podTemplateHashValue": "Stable"}},
    ]}


def pod_security_context(uid: int) -> k8s.core.v1.PodSecurityContextArgs:
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True, run_as_user=uid, run_as_group=uid, fs_group=uid,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"))


def container_security_context() -> k8s.core.v1.SecurityContextArgs:
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False, read_only_root_filesystem=True, run_as_non_root=True, privileged=False,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"))


def scratch_volume(eks: EksConfig, name: str = "scratch") -> k8s.core.v1.VolumeArgs:
    return k8s.core.v1.VolumeArgs(name=name, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
        size_limit=f"{eks.scratch_mib}Mi"))


def resources(cpu_units: int, memory_mib: int) -> k8s.core.v1.ResourceRequirementsArgs:
    """Requests equal limits (Guaranteed QoS): 1024 CPU units = 1 vCPU = 1000m."""
    amounts = {"cpu": f"{cpu_units * 1000 // 1024}m", "memory": f"{memory_mib}Mi"}
    return k8s.core.v1.ResourceRequirementsArgs(requests=amounts, limits=dict(amounts))


def variant_metadata() -> dict[str, Any]:
    """Rollout `canaryMetadata`/`stableMetadata`: the variant label of each side's pods."""
    return {"canaryMetadata": {"labels": {VARIANT_LABEL: metrics.VARIANT_CANARY}},
            "stableMetadata": {"labels": {VARIANT_LABEL: metrics.VARIANT_BASELINE}}}


def model_pod_template(*, labels: dict[str, str], service_account: str, image: pulumi.Input[str], port: int,
                       cpu: int, memory: int, environment: dict[str, str],
                       eks: EksConfig, podinfo: bool = False) -> k8s.core.v1.PodTemplateSpecArgs:
    """The scoring server's pod: the serving command (runtime/serving/command.py: argv, writable paths as
    emptyDirs), non-root, read-only root, no capabilities, probes on `/ping`. `environment` is the full server
    environment (`serving.serving_environment`)."""
    env = dict(environment)
    mounts = [k8s.core.v1.VolumeMountArgs(name=w.volume, mount_path=w.path) for w in serving.WRITABLE_PATHS]
    volumes = [scratch_volume(eks, w.volume) for w in serving.WRITABLE_PATHS]
    if podinfo:  # the variant label as a file the kubelet updates when Argo relabels the pod
        env[serving.ENV_VARIANT_FILE] = f"{PODINFO_DIR}/labels"
        mounts.append(k8s.core.v1.VolumeMountArgs(name="podinfo", mount_path=PODINFO_DIR, read_only=True))
        volumes.append(k8s.core.v1.VolumeArgs(name="podinfo", downward_api=k8s.core.v1.DownwardAPIVolumeSourceArgs(
            items=[k8s.core.v1.DownwardAPIVolumeFileArgs(
                path="labels", field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="metadata.labels"))])))
    ping = k8s.core.v1.HTTPGetActionArgs(path="/ping", port="http")
    return k8s.core.v1.PodTemplateSpecArgs(
        metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
        spec=k8s.core.v1.PodSpecArgs(
            service_account_name=service_account, automount_service_account_token=False, enable_service_links=False,
            security_context=pod_security_context(eks.run_as_user), termination_grace_period_seconds=30,
            topology_spread_constraints=[k8s.core.v1.TopologySpreadConstraintArgs(
                max_skew=1, topology_key="topology.kubernetes.io/zone", when_unsatisfiable="ScheduleAnyway",
                label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels))],
            containers=[k8s.core.v1.ContainerArgs(
                name="model", image=image, image_pull_policy="IfNotPresent",
                command=serving.serve_argv(port=port, workers=serving.workers_for(cpu)),
                ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=port)],
                env=[k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in sorted(env.items())],
                resources=resources(cpu, memory),
                # Startup allows 150 s for the model to load; then readiness gates traffic and liveness restarts.
                startup_probe=k8s.core.v1.ProbeArgs(http_get=ping, period_seconds=5, failure_threshold=30),
                readiness_probe=k8s.core.v1.ProbeArgs(http_get=ping, period_seconds=10, failure_threshold=3,
                                                      timeout_seconds=2),
                liveness_probe=k8s.core.v1.ProbeArgs(http_get=ping, period_seconds=20, failure_threshold=3,
                                                     timeout_seconds=2),
                security_context=container_security_context(),
                volume_mounts=mounts)],
            volumes=volumes))


def service_url(service: str, namespace: str) -> str:
    """In-cluster URL of a Service on port 80."""
    return f"http://{service}.{namespace}.svc.cluster.local"


def judge_deadline_seconds(judge: CanaryJudgeConfig, probe: CanaryProbeConfig, bake_minutes: int) -> int:
    """How long the judge job may run: the longest probed bake (up to one period of warm-up, the maximum bake from
    `judge` and the platform's `bake_minutes`, the last requests' timeout, waiting for CloudWatch to show the data:
    `runtime.canary.probe_window.longest_probed_bake_seconds`, what the judge itself plans its windows by) and the
    fixed overhead."""
    return longest_probed_bake_seconds(judge, probe, bake_minutes) + JUDGE_OVERHEAD_SECONDS


def judge_command(stack: str, stable_url: str, canary_url: str) -> list[str]:
    """Probe the stable and canary Services window after window and judge everything probed after each, until the
    data decide or the maximum bake is over (`--until-decided`). One process, so the judge reads exactly the
    probed windows with the bins just published; no shell in the runtime image needed."""
    return ["mlcicd", "canary", "judge", "--stack", stack, "--until-decided",
            "--probe-baseline-url", stable_url, "--probe-canary-url", canary_url,
            "--baseline-variant", metrics.VARIANT_BASELINE, "--canary-variant", metrics.VARIANT_CANARY,
            "--report", f"{d.SCRATCH_PATH}/canary-judge.json"]


def judge_job(*, labels: dict[str, str], service_account: str, image: str, stack: str, region: str,
              config_map: str, eks: EksConfig, stable_url: str, canary_url: str,
              deadline_seconds: int) -> dict[str, Any]:
    """The AnalysisTemplate's job: `mlcicd canary judge --stack S --until-decided --probe-*` (`judge_command`),
    reading the stack file from a ConfigMap. Exit 0 (PASS) lets the Rollout continue; any other exit (FAIL 1, usage
    2, INCONCLUSIVE 3: still undecided once the maximum bake is over) fails the analysis and Argo Rollouts aborts
    the canary: fail closed."""
    container = k8s.core.v1.ContainerArgs(
        name="judge", image=image, working_dir=JUDGE_CONFIG_DIR,
        command=judge_command(stack, stable_url, canary_url),
        env=[k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in sorted({
            "AWS_REGION": region, "HOME": d.SCRATCH_PATH,
            "MLCICD_CANARY_POD_TEMPLATE_HASH": "{{args.canary-hash}}",
            "MLCICD_STABLE_POD_TEMPLATE_HASH": "{{args.stable-hash}}",
        }.items())],
        resources=resources(256, 512), security_context=container_security_context(),
        volume_mounts=[k8s.core.v1.VolumeMountArgs(name="scratch", mount_path=d.SCRATCH_PATH),
                       k8s.core.v1.VolumeMountArgs(name="stack-config", mount_path=JUDGE_CONFIG_DIR,
                                                   read_only=True)])
    template = k8s.core.v1.PodTemplateSpecArgs(
        metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
        spec=k8s.core.v1.PodSpecArgs(
            restart_policy="Never", service_account_name=service_account, automount_service_account_token=False,
            enable_service_links=False, security_context=pod_security_context(eks.run_as_user),
            containers=[container],
            volumes=[scratch_volume(eks), k8s.core.v1.VolumeArgs(
                name="stack-config", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=config_map))]))
    return {"metadata": {"labels": labels}, "spec": {
        "backoffLimit": 0, "activeDeadlineSeconds": deadline_seconds, "ttlSecondsAfterFinished": 3600,
        "template": template}}


def judge_stack_files(cfg: StackConfig, project: str, stack: str) -> dict[str, str]:
    """`Pulumi.yaml` and `Pulumi.<stack>.yaml` for the judge: the validated stack config, serialised, with every
    secret value masked (SecretStr dumps as `**********`), so the judge reads the same thresholds as the program."""
    import yaml

    from runtime.config.base import NAMESPACE

    values = cfg.model_dump(mode="json", by_alias=True)
    stack_file = {"config": {f"{NAMESPACE}:{key}": value for key, value in values.items()}}
    header = (f"# Rendered by the `{stack}` stack for `mlcicd canary judge` (read-only copy; edit "
              f"Pulumi.{stack}.yaml in the repository instead).\n")
    return {"Pulumi.yaml": yaml.safe_dump({"name": project}, sort_keys=True),
            f"Pulumi.{stack}.yaml": header + yaml.safe_dump(stack_file, sort_keys=False)}
