"""Rules of the AWS platform sections `ml-cicd:model`, `network`, `storage`, `registry`, `tracking` and `alarms`,
the certificates' region, and the Fargate task sizes the serving and tracking services share (listed in
`rules.RULES`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from runtime import stack_outputs as out
from runtime.config.defaults import MLFLOW_PREFIX
from runtime.config.findings import Advice, Finding, Problem, bad_value, needs
from runtime.config.regions import region_partition
from runtime.config.tracking import ExternalTrackingConfig


@needs("environment", "model")
def production_pins_the_model(s: dict[str, Any]) -> Iterator[Finding]:
    if s["environment"] != "production":
        return
    model = s["model"]
    if model.version is None:
        yield Problem("model.version", "production must pin an exact registered-model version; set it with "
                      "`mlcicd promote --from staging --to production` or `pulumi config set --path model.version N`")
    if model.image_digest is None:
        yield Problem("model.imageDigest", "production must pin the serving image by digest (sha256:<64 hex>); "
                      "`mlcicd promote` copies it from staging")
    if model.alias is not None:
        yield bad_value("model.alias", "production serves an exact version, not an alias; remove `alias`",
                        model.alias)


@needs("network")
def network_settings(s: dict[str, Any]) -> Iterator[Finding]:
    net = s["network"]
    if net.mode == "existing":
        if net.vpc_id is None:
            yield Problem("network.vpcId", "mode `existing` requires the VPC id (vpc-...); or use `mode: create`")
        if len(net.private_subnet_ids) < 2:
            yield bad_value("network.privateSubnetIds", "mode `existing` requires at least two private subnets in "
                            "different availability zones", net.private_subnet_ids)
    elif net.vpc_id is not None or net.private_subnet_ids or net.public_subnet_ids:
        yield Problem("network.vpcId", "mode `create` builds its own VPC; remove vpcId and the subnet ids, or "
                      "use `mode: existing`")
    public_lb = "serving" in s and not s["serving"].load_balancer.internal
    if public_lb and net.mode == "existing" and len(net.public_subnet_ids) < 2:
        yield bad_value("network.publicSubnetIds", "an internet-facing load balancer needs at least two "
                        "public subnets", net.public_subnet_ids)


@needs("storage", "environment")
def storage_safety(s: dict[str, Any]) -> Iterator[Finding]:
    if s["storage"].force_destroy:
        if s["environment"] == "production":
            yield bad_value("storage.forceDestroy", "is not allowed in production (it deletes model and data "
                            "history on `pulumi destroy`); remove it", True)
        else:
            yield Advice("storage.forceDestroy", "default false; true lets `pulumi destroy` delete non-empty "
                         "buckets")


@needs("registry")
def registry_safety(s: dict[str, Any]) -> Iterator[Finding]:
    if s["registry"].mutable_tags:
        yield Advice("registry.mutableTags", "default false (IMMUTABLE); true lets a tag point at a new image")
    if not s["registry"].scan_on_push:
        yield Advice("registry.scanOnPush", "default true; false skips the vulnerability scan of pushed images")


#: The `registry` keys that configure a repository this stack creates (none with `imageRepositoryArn`).
_OWN_REPOSITORY_KEYS = {"untagged_expiry_days": "untaggedExpiryDays", "max_tagged_images": "maxTaggedImages",
                        "mutable_tags": "mutableTags", "scan_on_push": "scanOnPush"}


@needs("environment", "region", "registry", "model", "pipeline")
def registry_source(s: dict[str, Any]) -> Iterator[Finding]:
    """Production serves what the pipeline pushed: its own repository when it hosts the pipeline, else the
    pipeline stack's (`imageRepositoryArn`). Another stack without the pipeline may push to its own repository
    by other means, so only production must name the pipeline's."""
    registry, hosts_pipeline = s["registry"], s["pipeline"] is not None
    arn = registry.image_repository_arn
    if arn is None:
        if s["environment"] == "production" and not hosts_pipeline and s["model"].image_digest is not None:
            yield Problem("registry.imageRepositoryArn", "production serves model.imageDigest but does not host the "
                          "pipeline, so nothing pushes to a repository it would create: set it to the pipeline "
                          "stack's repository (`pulumi stack output imageRepositoryArn --stack <that stack>`)")
        return
    if hosts_pipeline:
        yield bad_value("registry.imageRepositoryArn", "this stack hosts the pipeline, which pushes to this stack's "
                        "own repository; remove `imageRepositoryArn`", arn)
    _, partition, _, region = arn.split(":")[:4]
    expected = region_partition(s["region"])
    if region != s["region"] or partition != expected:
        # ECR tokens, VPC endpoints and IAM resources are per region and partition: the pull would be refused.
        yield bad_value("registry.imageRepositoryArn", f"names a repository in {region} (partition {partition}), "
                        f"this stack deploys to {s['region']} (partition {expected}): the pipeline stack and this "
                        "one must share a region (copy `pulumi stack output imageRepositoryArn --stack <that "
                        "stack>`)", arn)
    defaults = type(registry)()
    for field, key in _OWN_REPOSITORY_KEYS.items():
        value = getattr(registry, field)
        if value != getattr(defaults, field):
            yield bad_value(f"registry.{key}", "configures a repository this stack creates, and with "
                            "`imageRepositoryArn` it creates none: set it in the pipeline stack", value)


@needs("tracking")
def tracking_settings(s: dict[str, Any]) -> Iterator[Finding]:
    tracking = s["tracking"]
    if tracking.mode == "external":
        yield from external_tracking(tracking.external)
    if tracking.mode == "self-hosted":
        hosted = tracking.self_hosted
        if hosted is None:
            yield Problem("tracking.selfHosted", "mode `self-hosted` requires `selfHosted: {image: "
                          "<repo>:<tag>@sha256:<digest>}`")
            return
        yield from fargate_size("tracking.selfHosted", hosted.cpu, hosted.memory)
        if hosted.auth.mode == "oidc" and hosted.auth.oidc is None:
            yield Problem("tracking.selfHosted.auth.oidc", "auth mode `oidc` requires the identity provider "
                          "settings (issuer, endpoints, clientId, clientSecret)")
        if hosted.certificate_arn is None:
            what = ("basic auth sends the MLflow username and password with every request"
                    if hosted.auth.mode == "basic" else "OIDC puts session cookies and tokens on the wire")
            yield Problem("tracking.selfHosted.certificateArn", f"is required: {what}, and credentials never travel "
                          "over plain HTTP (not even inside the VPC). Set an ACM certificate ARN of the stack's "
                          "region (`arn:aws:acm:<region>:<account>:certificate/<id>`); the load balancer then serves "
                          "HTTPS with TLS 1.3 and port 80 only redirects")
        yield from https_hostname("tracking.selfHosted.hostname", hosted.hostname, "every MLflow client",
                                out.TRACKING_LOAD_BALANCER_DNS_NAME, "mlflow.ml.example.com")
    if s.get("environment") == "production" and tracking.mode == "self-hosted":
        db = tracking.self_hosted.database if tracking.self_hosted else None
        if db is not None and db.deletion_protection is False:
            yield Advice("tracking.selfHosted.database.deletionProtection", "default true in production; false "
                         "allows deleting the registry database without a final snapshot")
        if db is not None and db.multi_az is False:
            yield Advice("tracking.selfHosted.database.multiAz", "default true in production; false leaves the "
                         "model registry without a standby when its availability zone fails")


#: DNS suffixes of AWS's own load balancer names, which no ACM certificate can cover.
_LOAD_BALANCER_DNS_SUFFIXES = (".elb.amazonaws.com", ".elb.amazonaws.com.cn")


def is_load_balancer_dns_name(host: str) -> bool:
    """A load balancer's own DNS name (`*.elb.amazonaws.com`): ACM issues certificates only for domains you control,
    so HTTPS to this name fails TLS verification."""
    return host.lower().rstrip(".").endswith(_LOAD_BALANCER_DNS_SUFFIXES)


def https_hostname(key: str, hostname: str | None, clients: str, output: str, example: str) -> Iterator[Finding]:
    """An HTTPS load balancer's `hostname`: required, and a name of the team's domain, because the certificate cannot
    cover the load balancer's own DNS name and `clients` would fail TLS verification on it. The fix names the stack
    output to point the DNS record at."""
    why = (f"the load balancer serves HTTPS, and no ACM certificate can cover its own DNS name "
           f"(`*.elb.amazonaws.com`), so {clients} would fail TLS verification on it")
    fix = (f"the DNS name your certificate covers (e.g. `{example}`), and create a DNS record (Route 53 alias or "
           f"CNAME) pointing it at the load balancer, `pulumi stack output {output}`")
    if hostname is None:
        yield Problem(key, f"is required: {why}. Set {fix}")
    elif is_load_balancer_dns_name(hostname):
        yield bad_value(key, f"is the load balancer's own DNS name: {why}. Use {fix}", hostname)


def external_tracking(external: ExternalTrackingConfig | None) -> Iterator[Finding]:
    """Mode `external`: its section, and a URL over HTTPS (what the other modes serve)."""
    if external is None:
        yield Problem("tracking.external", "mode `external` requires `external: {uri: https://...}`, the URL of the "
                      "pipeline stack's MLflow (`pulumi stack output trackingUri --stack <that stack>`)")
        return
    if not _is_https_url(external.uri):
        yield bad_value("tracking.external.uri", "must be an `https://` URL: the pipeline stack's MLflow serves "
                        "HTTPS only, and MLflow credentials never travel over plain HTTP. Copy `pulumi stack output "
                        "trackingUri --stack <that stack>`", external.uri)
    elif is_load_balancer_dns_name(urlsplit(external.uri).hostname or ""):
        yield bad_value("tracking.external.uri", "names the pipeline stack's load balancer by its own DNS name, "
                        "which no ACM certificate can cover: every MLflow client would fail TLS verification. Use "
                        "`https://<its tracking.selfHosted.hostname>` (its `trackingUri` output once it sets one)",
                        external.uri)


def _is_https_url(value: str) -> bool:
    """An `https://` URL with a host and no whitespace."""
    try:
        url = urlsplit(value)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return False
    return url.scheme == "https" and bool(url.hostname) and not any(c.isspace() for c in value)


@needs("tracking", "pipeline")
def tracking_of_the_pipeline_stack(s: dict[str, Any]) -> Iterator[Finding]:
    """The stack hosting the pipeline runs the MLflow its actions use: they log to it as its own stage users
    (self-hosted) or with IAM on its server ARN (sagemaker), neither of which an external server gives them."""
    if s["tracking"].mode == "external" and s["pipeline"] is not None:
        yield bad_value("tracking.mode", "this stack hosts the pipeline, whose actions train, register, gate and "
                        "promote in this stack's own MLflow (as its stage users, or with IAM on its SageMaker "
                        "server): set `mode: self-hosted` or `mode: sagemaker` here, and use `external` in the stacks "
                        "the pipeline promotes to", "external")


#: Mode -> (field, key) of the section only that mode reads.
_MODE_SECTIONS = {"self-hosted": ("self_hosted", "selfHosted"), "sagemaker": ("sagemaker", "sagemaker"),
                  "external": ("external", "external")}


@needs("tracking")
def tracking_mode_sections(s: dict[str, Any]) -> Iterator[Finding]:
    tracking = s["tracking"]
    for mode, (field, key) in _MODE_SECTIONS.items():
        if tracking.mode != mode and getattr(tracking, field) is not None:
            yield Problem(f"tracking.{key}", f"is only used with `mode: {mode}`; remove it or change `mode`")
    if tracking.mode == "external" and tracking.artifact_prefix != MLFLOW_PREFIX:
        yield bad_value("tracking.artifactPrefix", "places the artifacts of a server this stack runs, and mode "
                        "`external` runs none: remove it (the pipeline stack's `tracking.artifactPrefix` applies)",
                        tracking.artifact_prefix)
    hosted = tracking.self_hosted
    if hosted is not None and hosted.auth.mode == "basic" and hosted.auth.oidc is not None:
        yield Problem("tracking.selfHosted.auth.oidc", "is only used with auth `mode: oidc`; remove it or set "
                      "`mode: oidc`")


@needs("alarms")
def alarm_periods(s: dict[str, Any]) -> Iterator[Finding]:
    alarms = s["alarms"]
    if alarms.datapoints_to_alarm > alarms.evaluation_periods:
        yield bad_value("alarms.datapointsToAlarm",
                        f"must not exceed evaluationPeriods ({alarms.evaluation_periods})", alarms.datapoints_to_alarm)


@needs("region")
def certificates_in_the_stack_region(s: dict[str, Any]) -> Iterator[Finding]:
    """A load balancer can only use an ACM certificate of its own region."""
    found: list[tuple[str, str | None]] = []
    if "serving" in s:
        found.append(("serving.loadBalancer.certificateArn", s["serving"].load_balancer.certificate_arn))
    if "tracking" in s and s["tracking"].self_hosted is not None:
        found.append(("tracking.selfHosted.certificateArn", s["tracking"].self_hosted.certificate_arn))
    for path, arn in found:
        if arn is not None and arn.split(":")[3] != s["region"]:
            yield bad_value(path, f"is a certificate of region {arn.split(':')[3]}; the load balancer is in "
                            f"{s['region']} and can only use a certificate of its own region (import or request it "
                            "there)", arn)


# Fargate accepts only these CPU/memory pairs (MiB): https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html
_FARGATE_MEMORY: dict[int, tuple[int, int, int]] = {
    256: (512, 2048, 1024),
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}


def fargate_size(prefix: str, cpu: int, memory: int) -> Iterator[Finding]:
    """Problems of a Fargate task size (`<prefix>.cpu`, `<prefix>.memory`): a CPU and memory pair Fargate runs."""
    if cpu not in _FARGATE_MEMORY:
        yield bad_value(f"{prefix}.cpu", f"Fargate CPU must be one of {sorted(_FARGATE_MEMORY)}", cpu)
        return
    low, high, step = _FARGATE_MEMORY[cpu]
    special = cpu == 256 and memory == 512
    if not special and not (low <= memory <= high and memory % step == 0):
        yield bad_value(f"{prefix}.memory", f"with cpu {cpu}, Fargate memory must be {low}..{high} MiB in steps "
                        f"of {step}", memory)
