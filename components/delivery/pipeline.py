"""`mlcicd:delivery:DeliveryPipeline`: CodePipeline V2 whose CodeBuild actions run the runtime.

Everything is generated from ONE stage list (`runtime.pipeline.steps.delivery_stages`): per build action a
CodeBuild project with its own role and policy (`codebuild.py`, `policies.py`), its own log group with retention,
an S3 build cache and a buildspec rendered from the definition (`buildspec.py`); the CodePipeline stages, trigger
and role policy come from `codepipeline.py`. Later actions read earlier ones' results as pipeline variables
(`#{Train.MODEL_VERSION}`, `#{Package.IMAGE_DIGEST}`). The arguments live in `args.py` and are re-exported here.

Triggers: one pipeline, one trigger on the source action with two push filters, the data paths and the code paths
of `pipeline.branch` (filters of one trigger are alternatives). A push touching neither (docs, workflows, the stack
files, so also a merged promotion pull request) starts nothing; a push touching both starts ONE execution. Two
pipelines would train twice on such a push and race for the deployed stack; and every stage after Validate is the
same for both kinds of change, while the code-only checks (tests, lint) run beside the data check at no cost on the
critical path. Execution mode SUPERSEDED: a newer candidate replaces an older one at the next stage boundary.

Security decisions (see docs/security.md): pipeline type V2 set explicitly; artifacts and build output in the
stack's pipeline bucket under the stack's KMS key; one role per action (policies scoped to the stack's ARNs; `*`
only where AWS requires it); secrets reach builds only as Secrets Manager references; the deploy action holds no
deployment rights itself, it assumes `pipeline.deployRoleArn`; privileged mode only for the image build.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws_common import partition_of
from components.delivery.args import DeliveryPipelineArgs
from components.delivery.codebuild import build_project, build_security_group
from components.delivery.codepipeline import pipeline_policy, stage_args, trigger
from components.iam import account_trust_policy
from runtime.pipeline.model import Stage, build_actions
from runtime.pipeline.steps import delivery_stages

TYPE = "mlcicd:delivery:DeliveryPipeline"

__all__ = ["TYPE", "DeliveryPipeline", "DeliveryPipelineArgs"]

#: CodeStar notification events that reach the alarm topic.
NOTIFY_EVENTS = (
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-manual-approval-needed",
)


class DeliveryPipeline(pulumi.ComponentResource):
    pipeline_name: pulumi.Output[str]
    pipeline_arn: pulumi.Output[str]
    project_names: dict[str, pulumi.Output[str]]
    role_arns: dict[str, pulumi.Output[str]]
    deploy_action_role_arn: pulumi.Output[str]
    """Add this principal to the trust policy of `pipeline.deployRoleArn`."""

    def __init__(self, name: str, args: DeliveryPipelineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        cfg, partition = args, partition_of(self)
        stages = delivery_stages(cfg.spec)
        _check_tracking_secrets(name, cfg, stages)
        pipeline_name = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"
        group = None
        if cfg.vpc_id is not None and cfg.subnet_ids is not None:
            group = build_security_group(name, cfg.vpc_id, cfg.vpc_cidr, pulumi.ResourceOptions(parent=self))

        # One CodeBuild project (and role) per build action, then the pipeline running them
        built = {action.name: build_project(self, name, pipeline_name, action, cfg=cfg, partition=partition,
                                              group=group)
                 for _, action in build_actions(stages)}
        projects = {key: project for key, (project, _) in built.items()}
        self.role_arns = {key: role.arn for key, (_, role) in built.items()}
        self.project_names = {key: project.name for key, project in projects.items()}

        pipeline = _pipeline(self, name, pipeline_name, cfg=cfg, dns_suffix=partition[1], stages=stages,
                             projects=projects)
        if cfg.notification_topic_arn is not None:
            _notifications(self, name, pipeline_name, pipeline=pipeline, topic_arn=cfg.notification_topic_arn)

        self.pipeline_name = pipeline.name
        self.pipeline_arn = pipeline.arn
        self.deploy_action_role_arn = self.role_arns["Deploy"]
        self.register_outputs({"pipelineName": self.pipeline_name, "pipelineArn": self.pipeline_arn,
                               "deployActionRoleArn": self.deploy_action_role_arn})


def _check_tracking_secrets(name: str, cfg: DeliveryPipelineArgs, stages: tuple[Stage, ...]) -> None:
    """With per-action MLflow users, fail on an action that talks to MLflow without its user's secret."""
    missing = [a.name for _, a in build_actions(stages) if a.access.tracking != "none"
               and cfg.tracking_secret_arns and a.name not in cfg.tracking_secret_arns]
    if missing:
        raise ValueError(f"DeliveryPipeline {name}: actions {', '.join(missing)} talk to MLflow but have no "
                         "MLflow user secret in args.tracking_secret_arns")


def _pipeline(parent: pulumi.Resource, name: str, pipeline_name: str, *, cfg: DeliveryPipelineArgs, dns_suffix: str,
              stages: tuple[Stage, ...], projects: dict[str, aws.codebuild.Project]) -> aws.codepipeline.Pipeline:
    """The V2 pipeline (SUPERSEDED, one trigger, artifacts under the stack key) and its role, scoped to the
    pipeline bucket, the key, the connection and the `projects`."""
    child = pulumi.ResourceOptions(parent=parent)
    trust = account_trust_policy("codepipeline.amazonaws.com", cfg.account_id)
    role = aws.iam.Role(f"{name}-pipeline-role", assume_role_policy=trust, opts=child)
    role_policy = aws.iam.RolePolicy(f"{name}-pipeline-policy", role=role.id, policy=pulumi.Output.all(
        cfg.bucket_arns["pipeline"], cfg.kms_key_arn, [p.arn for p in projects.values()]).apply(
        lambda a: pipeline_policy(a[0], a[1], a[2], connection_arn=cfg.spec.connection_arn,
                                  pipeline_name=pipeline_name, region=cfg.region, dns_suffix=dns_suffix)),
        opts=child)
    return aws.codepipeline.Pipeline(
        name, name=pipeline_name, pipeline_type="V2", execution_mode="SUPERSEDED", role_arn=role.arn,
        artifact_stores=[aws.codepipeline.PipelineArtifactStoreArgs(
            location=cfg.buckets["pipeline"], type="S3",
            encryption_key=aws.codepipeline.PipelineArtifactStoreEncryptionKeyArgs(id=cfg.kms_key_arn, type="KMS"))],
        triggers=[trigger(cfg.spec)],
        stages=[stage_args(stage, projects, cfg.spec) for stage in stages],
        # CodePipeline checks at creation that its role can reach the artifact store (IAM propagation).
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[role_policy]))


def _notifications(parent: pulumi.Resource, name: str, pipeline_name: str, *, pipeline: aws.codepipeline.Pipeline,
                   topic_arn: pulumi.Input[str]) -> None:
    """The CodeStar notification rule sending failed executions and pending approvals to `topic_arn`."""
    aws.codestarnotifications.NotificationRule(
        f"{name}-notifications", name=pipeline_name, resource=pipeline.arn, detail_type="FULL",
        event_type_ids=list(NOTIFY_EVENTS),
        targets=[aws.codestarnotifications.NotificationRuleTargetArgs(address=topic_arn, type="SNS")],
        opts=pulumi.ResourceOptions(parent=parent))
