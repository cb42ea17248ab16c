"""Judge 1b: values that AWS enumerates, against the enumerations in botocore's service models.

The provider SDK types these inputs as plain strings, so neither the SDK nor pyright catches `"FARGATEX"`; AWS
rejects it at `pulumi up`. The table maps each enumerated input the program sets (dotted path, `[]` for list items)
to the botocore shape AWS validates it against. `test_graph_schema.py` also checks that every shape named here
exists in botocore with an enumeration, and that each entry matches at least one value in the judged graphs (so
the table cannot silently go stale).
"""

from __future__ import annotations

from runtime.graph import Graph, Resource
from tests.judges.schema import Finding, _at, botocore_model

#: (resource type, input path) -> (botocore service, enum shape).
ENUMS: dict[tuple[str, str], tuple[str, str]] = {
    ("aws:ecs/service:Service", "launchType"): ("ecs", "LaunchType"),
    ("aws:ecs/service:Service", "propagateTags"): ("ecs", "PropagateTags"),
    ("aws:ecs/service:Service", "deploymentConfiguration.strategy"): ("ecs", "DeploymentStrategy"),
    ("aws:ecs/service:Service", "deploymentController.type"): ("ecs", "DeploymentControllerType"),
    ("aws:ecs/taskDefinition:TaskDefinition", "networkMode"): ("ecs", "NetworkMode"),
    ("aws:ecs/taskDefinition:TaskDefinition", "requiresCompatibilities[]"): ("ecs", "Compatibility"),
    ("aws:ecs/taskDefinition:TaskDefinition", "runtimePlatform.operatingSystemFamily"): ("ecs", "OSFamily"),
    ("aws:ecs/taskDefinition:TaskDefinition", "runtimePlatform.cpuArchitecture"): ("ecs", "CPUArchitecture"),
    ("aws:ecs/cluster:Cluster", "settings[].name"): ("ecs", "ClusterSettingName"),
    ("aws:lb/loadBalancer:LoadBalancer", "loadBalancerType"): ("elbv2", "LoadBalancerTypeEnum"),
    ("aws:lb/targetGroup:TargetGroup", "protocol"): ("elbv2", "ProtocolEnum"),
    ("aws:lb/targetGroup:TargetGroup", "targetType"): ("elbv2", "TargetTypeEnum"),
    ("aws:lb/listener:Listener", "protocol"): ("elbv2", "ProtocolEnum"),
    ("aws:lb/listener:Listener", "defaultActions[].type"): ("elbv2", "ActionTypeEnum"),
    ("aws:lb/listener:Listener", "defaultActions[].redirect.statusCode"): ("elbv2", "RedirectActionStatusCodeEnum"),
    ("aws:lb/listener:Listener", "defaultActions[].authenticateOidc.onUnauthenticatedRequest"):
        ("elbv2", "AuthenticateOidcActionConditionalBehaviorEnum"),
    ("aws:lb/listenerRule:ListenerRule", "actions[].type"): ("elbv2", "ActionTypeEnum"),
    ("aws:codebuild/project:Project", "environment.computeType"): ("codebuild", "ComputeType"),
    ("aws:codebuild/project:Project", "environment.type"): ("codebuild", "EnvironmentType"),
    ("aws:codebuild/project:Project", "environment.imagePullCredentialsType"):
        ("codebuild", "ImagePullCredentialsType"),
    ("aws:codebuild/project:Project", "environment.environmentVariables[].type"):
        ("codebuild", "EnvironmentVariableType"),
    ("aws:codebuild/project:Project", "source.type"): ("codebuild", "SourceType"),
    ("aws:codebuild/project:Project", "source.auth.type"): ("codebuild", "SourceAuthType"),
    ("aws:codebuild/project:Project", "artifacts.type"): ("codebuild", "ArtifactsType"),
    ("aws:codebuild/project:Project", "cache.type"): ("codebuild", "CacheType"),
    ("aws:codebuild/project:Project", "logsConfig.cloudwatchLogs.status"): ("codebuild", "LogsConfigStatusType"),
    ("aws:codebuild/project:Project", "logsConfig.s3Logs.status"): ("codebuild", "LogsConfigStatusType"),
    ("aws:codepipeline/pipeline:Pipeline", "pipelineType"): ("codepipeline", "PipelineType"),
    ("aws:codepipeline/pipeline:Pipeline", "executionMode"): ("codepipeline", "ExecutionMode"),
    ("aws:codepipeline/pipeline:Pipeline", "stages[].actions[].category"): ("codepipeline", "ActionCategory"),
    ("aws:codepipeline/pipeline:Pipeline", "stages[].actions[].owner"): ("codepipeline", "ActionOwner"),
    ("aws:codepipeline/pipeline:Pipeline", "artifactStores[].type"): ("codepipeline", "ArtifactStoreType"),
    ("aws:codepipeline/pipeline:Pipeline", "artifactStores[].encryptionKey.type"):
        ("codepipeline", "EncryptionKeyType"),
    ("aws:codepipeline/pipeline:Pipeline", "triggers[].providerType"):
        ("codepipeline", "PipelineTriggerProviderType"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "comparisonOperator"): ("cloudwatch", "ComparisonOperator"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "statistic"): ("cloudwatch", "Statistic"),
    ("aws:scheduler/schedule:Schedule", "flexibleTimeWindow.mode"): ("scheduler", "FlexibleTimeWindowMode"),
    ("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "rule.objectOwnership"): ("s3", "ObjectOwnership"),
    ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
     "rules[].applyServerSideEncryptionByDefault.sseAlgorithm"): ("s3", "ServerSideEncryption"),
    ("aws:s3/bucketVersioning:BucketVersioning", "versioningConfiguration.status"): ("s3", "BucketVersioningStatus"),
    ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "rules[].status"):
        ("s3", "ExpirationStatus"),
    ("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer", "trackingServerSize"):
        ("sagemaker", "TrackingServerSize"),
    ("aws:codedeploy/application:Application", "computePlatform"): ("codedeploy", "ComputePlatform"),
    ("aws:codedeploy/deploymentConfig:DeploymentConfig", "computePlatform"): ("codedeploy", "ComputePlatform"),
    ("aws:codedeploy/deploymentConfig:DeploymentConfig", "trafficRoutingConfig.type"):
        ("codedeploy", "TrafficRoutingType"),
    ("aws:codedeploy/deploymentGroup:DeploymentGroup", "deploymentStyle.deploymentOption"):
        ("codedeploy", "DeploymentOption"),
    ("aws:codedeploy/deploymentGroup:DeploymentGroup", "deploymentStyle.deploymentType"):
        ("codedeploy", "DeploymentType"),
    ("aws:codedeploy/deploymentGroup:DeploymentGroup", "autoRollbackConfiguration.events[]"):
        ("codedeploy", "AutoRollbackEvent"),
    ("aws:codedeploy/deploymentGroup:DeploymentGroup",
     "blueGreenDeploymentConfig.deploymentReadyOption.actionOnTimeout"): ("codedeploy", "DeploymentReadyAction"),
    ("aws:codedeploy/deploymentGroup:DeploymentGroup",
     "blueGreenDeploymentConfig.terminateBlueInstancesOnDeploymentSuccess.action"): ("codedeploy", "InstanceAction"),
    ("aws:appautoscaling/target:Target", "serviceNamespace"): ("application-autoscaling", "ServiceNamespace"),
    ("aws:appautoscaling/target:Target", "scalableDimension"): ("application-autoscaling", "ScalableDimension"),
    ("aws:appautoscaling/policy:Policy", "policyType"): ("application-autoscaling", "PolicyType"),
    ("aws:appautoscaling/policy:Policy",
     "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType"):
        ("application-autoscaling", "MetricType"),
    ("aws:codestarnotifications/notificationRule:NotificationRule", "detailType"):
        ("codestar-notifications", "DetailType"),
    ("aws:ecr/repository:Repository", "imageTagMutability"): ("ecr", "ImageTagMutability"),
    ("aws:ecr/repository:Repository", "encryptionConfigurations[].encryptionType"): ("ecr", "EncryptionType"),
    ("aws:ec2/vpcEndpoint:VpcEndpoint", "vpcEndpointType"): ("ec2", "VpcEndpointType"),
}


def enum_values(service: str, shape: str) -> list[str]:
    return list(botocore_model(service).shape_for(shape).enum or [])


def enum_findings(resource: Resource) -> tuple[list[Finding], set[tuple[str, str]]]:
    """Findings for the resource, and which table entries it exercised."""
    findings: list[Finding] = []
    used: set[tuple[str, str]] = set()
    for (token, path), (service, shape) in ENUMS.items():
        if resource.type != token:
            continue
        allowed = enum_values(service, shape)
        for where, value in _at(resource.inputs, path):
            used.add((token, path))
            if isinstance(value, str) and value not in allowed:
                findings.append(Finding(resource.name, where,
                                        f"{value!r} is not one of botocore {service} {shape}: {allowed}"))
    return findings, used


def graph_enum_findings(g: Graph) -> tuple[list[Finding], set[tuple[str, str]]]:
    findings: list[Finding] = []
    used: set[tuple[str, str]] = set()
    for resource in g.resources:
        found, touched = enum_findings(resource)
        findings += found
        used |= touched
    return findings, used
