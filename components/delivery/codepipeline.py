"""The CodePipeline side of the delivery pipeline, rendered from the step list (pure functions of it): the trigger,
each stage's actions, the variables a build action reads, and the pipeline role's policy."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi_aws as aws

from components.delivery.policies import artifact_prefix
from components.iam import allow, connection_statements, document
from runtime.pipeline.model import Action, PipelineSpec, Stage

#: The source action's output artifact (every build action's primary input).
SOURCE_ARTIFACT = "source"


def trigger(spec: PipelineSpec) -> aws.codepipeline.PipelineTriggerArgs:
    """One trigger, two push filters (alternatives): data paths or code paths on the pipeline branch."""
    gc = aws.codepipeline

    def push(paths: Sequence[str]) -> aws.codepipeline.PipelineTriggerGitConfigurationPushArgs:
        return gc.PipelineTriggerGitConfigurationPushArgs(
            branches=gc.PipelineTriggerGitConfigurationPushBranchesArgs(includes=[spec.branch]),
            file_paths=gc.PipelineTriggerGitConfigurationPushFilePathsArgs(includes=list(paths)))

    return gc.PipelineTriggerArgs(provider_type="CodeStarSourceConnection",
                                  git_configuration=gc.PipelineTriggerGitConfigurationArgs(
                                      source_action_name="Source",
                                      pushes=[push(spec.data_paths), push(spec.code_paths)]))


def action_variables(action: Action) -> str:
    """CodePipeline `EnvironmentVariables` of a build action: the execution id and earlier actions' outputs."""
    pairs = [("PIPELINE_EXECUTION_ID", "#{codepipeline.PipelineExecutionId}"), *action.variables]
    return json.dumps([{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in pairs])


def stage_args(stage: Stage, projects: Mapping[str, aws.codebuild.Project],
                spec: PipelineSpec) -> aws.codepipeline.PipelineStageArgs:
    actions = []
    for action in stage.actions:
        common: dict[str, Any] = {"name": action.name, "owner": "AWS", "version": "1", "run_order": action.run_order}
        if action.namespace:
            common["namespace"] = action.namespace
        if action.category == "Source":
            actions.append(aws.codepipeline.PipelineStageActionArgs(
                category="Source", provider="CodeStarSourceConnection", output_artifacts=[SOURCE_ARTIFACT],
                configuration=dict(action.configuration), **common))
        elif action.category == "Approval":
            actions.append(aws.codepipeline.PipelineStageActionArgs(
                category="Approval", provider="Manual", configuration=dict(action.configuration),
                timeout_in_minutes=spec.approval_timeout_minutes, **common))
        else:
            configuration: dict[str, Any] = {"ProjectName": projects[action.name].name,
                                             "EnvironmentVariables": action_variables(action)}
            if len(action.inputs) > 1:
                configuration["PrimarySource"] = action.inputs[0]
            actions.append(aws.codepipeline.PipelineStageActionArgs(
                category="Build", provider="CodeBuild", input_artifacts=list(action.inputs),
                output_artifacts=[action.output] if action.output else None, configuration=configuration,
                **common))
    return aws.codepipeline.PipelineStageArgs(name=stage.name, actions=actions)


def pipeline_policy(bucket_arn: str, kms_key_arn: str, project_arns: list[str], *, connection_arn: str,
                    pipeline_name: str, region: str, dns_suffix: str) -> str:
    """The pipeline's own role: its artifacts, its key via S3, its connection, its projects."""
    prefix = artifact_prefix(pipeline_name)
    return document([
        allow("Artifacts", ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], [f"{bucket_arn}/{prefix}*"]),
        allow("ArtifactBucket", ["s3:GetBucketLocation", "s3:GetBucketVersioning"], [bucket_arn]),
        allow("ArtifactKeyViaS3", ["kms:Decrypt", "kms:GenerateDataKey"], [kms_key_arn],
              {"StringEquals": {"kms:ViaService": f"s3.{region}.{dns_suffix}"}}),
        *connection_statements("UseConnection", ["UseConnection"], connection_arn),
        allow("RunBuilds", ["codebuild:BatchGetBuilds", "codebuild:StartBuild"], sorted(project_arns)),
    ])
