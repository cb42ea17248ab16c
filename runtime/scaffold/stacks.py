"""The two stack files of a new project, commented, valid as generated (`mlcicd config validate` passes) and
pointed at the example project in `training/`. Values that only the team's AWS account can supply (connection,
roles, secrets, cluster) are well-formed placeholders marked `CHANGE`; the local rehearsal needs none of them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from runtime.config.regions import region_partition

ACCOUNT = "123456789012"


@dataclass(frozen=True)
class StackOptions:
    model_name: str
    backend: Literal["ecs", "eks"]
    tracking: Literal["self-hosted", "sagemaker"]
    """Staging's tracking server (the pipeline's registry); production uses it (`tracking.mode: external`)."""
    region: str
    repository: str
    sample_rows: tuple[tuple[str, ...], tuple[tuple[object, ...], ...]]
    """Columns and a few rows of the evaluation data (EKS canary probes send them)."""


def _judge_effects(production: bool) -> str:
    """The canary judge's effects: production's defaults; staging sized to the pipeline's own test traffic."""
    if production:
        return """        # Judged on real traffic with the default effects (docs/canary.md): a doubled 5xx rate, +10 %
        # latency, p99 +20 %, a 0.05 class-share change; at most a 1 % chance of failing a good canary.
"""
    return """        # Staging's canary sees only the pipeline's own test traffic: in `mlcicd local run` 700 requests,
        # ~140 of them to the candidate. The effects are what that many can rule out at the judge's alpha and
        # power (a 5xx rate +5 points, a class share +20 points); the p99 and live quality of ~140 requests
        # decide nothing, so they carry no weight. Production keeps the strict default effects.
        errorRateTolerance: 0.05
        predictionShareChange: 0.2
        weights: {tail: 0, quality: 0}
"""


def _serving(o: StackOptions, production: bool) -> str:
    percent, bake = (10, 15) if production else (20, 5)
    head = f"""  ml-cicd:serving:
    backend: {o.backend}
    cpu: 1024
    memory: 2048
    autoscaling:
      minCapacity: {3 if production else 1}
      maxCapacity: {6 if production else 3}
    canary:
      # {percent} % of traffic for {bake} minutes, watched by the alarms and the judge; rollback is automatic.
      strategy: canary
      percent: {percent}
      bakeMinutes: {bake}
      judge:
        windowMinutes: {bake}
        minRequests: {500 if production else 100}
{_judge_effects(production)}"""
    if o.backend == "ecs":
        return head + """    loadBalancer:
      internal: true
      protocol: HTTP
      ingressCidrs:
        - 10.40.0.0/16   # the stack's VPC (network.cidr)
"""
    return head + f"""    eks:
      # CHANGE: the existing cluster this stack deploys into (`aws eks describe-cluster`).
      clusterName: ml-{'production' if production else 'staging'}
      endpoint: https://0A1B2C3D4E5F60718293A4B5C6D7E8F9.gr7.{o.region}.eks.amazonaws.com
      certificateAuthorityData: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNIQU5HRS1NRQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==
      namespace: {o.model_name.lower().replace('_', '-').replace('.', '-')}
      installArgoRollouts: true
      # CHANGE: the runtime image (the `mlcicd` CLI) that runs the canary judge, pinned by digest.
      judgeImage: {ACCOUNT}.dkr.ecr.{o.region}.amazonaws.com/mlcicd-runtime:0.1.0@sha256:{'0' * 64}
"""


def _tracking(o: StackOptions, production: bool) -> str:
    """Staging runs the MLflow of `o.tracking` (the pipeline's registry); production runs none and uses staging's."""
    if production:
        return """  # Production runs no MLflow of its own: the pipeline registers, gates and promotes every version
  # in staging's, and the champion moves there.
  # CHANGE once staging is up: `pulumi stack output trackingUri --stack staging` (a placeholder until then;
  # this stack exports it as its own `trackingUri`).
  ml-cicd:tracking:
    mode: external
    external:
      uri: https://staging-mlflow.invalid
"""
    if o.tracking == "sagemaker":
        return """  # SageMaker runs MLflow; every call is signed with IAM. Artifacts: s3://<models bucket>/mlflow/.
  ml-cicd:tracking:
    mode: sagemaker
    sagemaker:
      serverSize: Small
"""
    return f"""  ml-cicd:tracking:
    mode: self-hosted
    selfHosted:
      # CHANGE: MLflow server image with psycopg2 and boto3 (the platform's docker/tracking/Dockerfile), by digest.
      image: {ACCOUNT}.dkr.ecr.{o.region}.amazonaws.com/mlflow-server:3.17.2@sha256:{'0' * 64}
      database:
        instanceClass: db.t4g.micro
        backupRetentionDays: 7
        # The registry production's versions and champion live in: kept against deletion (and a final snapshot).
        deletionProtection: true
      auth:
        mode: basic
      # Basic auth sends the MLflow password with every request: only over HTTPS (TLS 1.3; port 80 redirects).
      # CHANGE: an ACM certificate for the tracking server's name, in this region.
      certificateArn: arn:aws:acm:{o.region}:{ACCOUNT}:certificate/00000000-0000-0000-0000-000000000000
      # CHANGE: the name that certificate covers (`trackingUri` is https://<hostname>). Once staging is up, point
      # it at the load balancer with a DNS record (Route 53 alias or CNAME) to `pulumi stack output
      # trackingLoadBalancerDnsName --stack staging`.
      hostname: staging-mlflow.invalid
"""


def _samples(o: StackOptions) -> str:
    if o.backend != "eks":
        return ""
    columns, rows = o.sample_rows
    data = "\n".join(f"            - {json.dumps(list(r))}" for r in rows)
    return f"""    # The EKS canary analysis sends these rows to the stable and canary pods (nothing else reaches
    # the canary).
    samplePayloads:
      - dataframe_split:
          columns: {json.dumps(list(columns))}
          data:
{data}
"""


def _connection(o: StackOptions) -> str:
    return f"arn:aws:codeconnections:{o.region}:{ACCOUNT}:connection/00000000-0000-0000-0000-000000000000"


def _source(o: StackOptions) -> str:
    return f"""  # No `pipeline` here: staging hosts the one delivery pipeline and promotes to this file by pull
  # request. The scheduled monitoring jobs check the repository out themselves.
  ml-cicd:monitoring:
    source:
      repository: {o.repository}
      branch: main
      # CHANGE: the CodeConnections connection to GitHub (the one the pipeline uses).
      connectionArn: {_connection(o)}

"""


def _pipeline(o: StackOptions) -> str:
    return f"""  # The ONE delivery pipeline: hosted by staging, deploys candidates there, opens promotion pull
  # requests against production.
  ml-cicd:pipeline:
    repository: {o.repository}
    branch: main
    # CHANGE: the CodeConnections connection to GitHub (created once in the console).
    connectionArn: {_connection(o)}
    manualApproval: false
    # The training contract (the platform's docs/training-contract.md): command, data, tests, linter.
    trainCommand: python -m training.train
    trainingDataPath: data/train.parquet
    testCommand: python -m pytest -q training
    lintCommand: ruff check training
    # CHANGE: the role `pulumi up --stack staging` runs as, and the secrets with the GitHub and Pulumi tokens.
    deployRoleArn: arn:aws:iam::{ACCOUNT}:role/{o.model_name}-staging-deploy
    githubTokenSecretArn: arn:aws:secretsmanager:{o.region}:{ACCOUNT}:secret:{o.model_name}/github-token-AbCdEf
    pulumiAccessTokenSecretArn: arn:aws:secretsmanager:{o.region}:{ACCOUNT}:secret:{o.model_name}/pulumi-token-AbCdEf

"""


def render_stack(o: StackOptions, environment: Literal["staging", "production"]) -> str:
    """The stack file `Pulumi.<environment>.yaml` of a new project: the platform (network, model, serving, tracking,
    alarms), then the pipeline (staging) or the monitoring jobs' source (production), then the checks."""
    production = environment == "production"
    hosting = _source(o) if production else _pipeline(o)
    return _platform(o, environment) + hosting + _checks(o, production)


def _header(production: bool) -> str:
    """The file's first lines: who changes this stack, and how."""
    if production:
        return ("# Production: changed only by reviewed pull requests. `mlcicd promote` (the pipeline's Promote "
                "action)\n# edits the model's version and image digest below and nothing else.\n")
    return "# Staging: every candidate is deployed here, canaried, smoke- and load-tested before promotion.\n"


def _model(o: StackOptions, production: bool) -> str:
    """The served model and where its image comes from: production pins an exact version and image digest and
    serves from staging's repository; staging follows the candidate alias and holds the repository."""
    if production:
        return f"""  ml-cicd:model:
    name: {o.model_name}
    # Pinned by promotion: a version that passed every gate, and its image digest. Placeholders until the first
    # promotion pull request replaces them (do not `pulumi up` production before it).
    version: "1"
    imageDigest: sha256:{'0' * 64}

  # Production serves the image the pipeline built, from staging's repository. CHANGE once staging is up:
  # `pulumi stack output imageRepositoryArn --stack staging` (a placeholder until then).
  ml-cicd:registry:
    imageRepositoryArn: arn:{region_partition(o.region) or "aws"}:ecr:{o.region}:{ACCOUNT}:repository/serving-images
"""
    return f"""  ml-cicd:model:
    name: {o.model_name}
    alias: candidate

  # The pipeline pushes every candidate here and production serves the promoted image from here (promoted images
  # are kept by their own lifecycle rule; this caps the other builds' images).
  ml-cicd:registry:
    maxTaggedImages: 200
"""


def _platform(o: StackOptions, environment: Literal["staging", "production"]) -> str:
    """From the header to the alarms: what the stack builds in AWS."""
    production = environment == "production"
    check = f"mlcicd config validate --stack {environment}"
    return f"""{_header(production)}# Every key is documented in the platform's docs/config-reference.md; `{check}`
# checks this file, and `mlcicd config schema` gives editors the schema.
config:
  ml-cicd:environment: {environment}
  ml-cicd:region: {o.region}

  # A minimal private VPC of the stack's own (or `mode: existing` with your vpcId and privateSubnetIds).
  ml-cicd:network:
    mode: create
    cidr: 10.40.0.0/16

{_model(o, production)}
{_serving(o, production)}
{_tracking(o, production)}
  ml-cicd:alarms:
    errorRatePercent: {1 if production else 2}
    p99LatencyMs: 800
    emails:
      - ml-alerts@example.com  # CHANGE: who is told about rollbacks

"""


def _checks(o: StackOptions, production: bool) -> str:
    """The data contract, the model gate and the smoke test each candidate passes."""
    regression = 0.005 if production else 0.01
    return f"""  # Data contract of the training data (checked against the reference profile).
  ml-cicd:data:
    quality:
      maxNullRate: 0.02
      minRows: 300  # the example's training data has 341 rows: set it for your data
    drift:
      # The smallest drift (KS distance) the gate must be able to rule out before it passes; a few hundred rows
      # a side can rule out only large ones (docs/data-validation.md): with 265 reference rows and a dozen
      # columns, 0.2 needs about 480 current rows, 0.3 about 110.
      # Set it for your data: with too few rows for it, the gate is INCONCLUSIVE and names the rows it needs.
      detectableEffect: 0.3

  # Model gate: the metrics your training logs, and the bar each candidate clears.
  ml-cicd:gates:
    metrics:
      accuracy: {{min: 0.85, maxRegression: {regression}}}
      f1_score: {{min: 0.80, maxRegression: {regression * 2:g}}}
    task: classification
    allowNoChampion: {'false' if production else 'true'}
    evaluation:
      path: data/evaluation.parquet
      targetColumn: benign
    fairness:
      sensitiveColumn: clinic
      positiveLabel: 1
    latency:
      p95Ms: 50

  ml-cicd:smoke:
    requests: 200
{_samples(o)}    load:
      rps: 50
      durationSeconds: 60
"""
