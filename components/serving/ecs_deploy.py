"""Parts of the ECS model service that act after the service exists: CodeDeploy blue-green and autoscaling.

- CodeDeploy (strategy `blue-green`): application, a custom ECS deployment config (`TimeBasedCanary`: the canary
  percent for the bake minutes, then all traffic), and a deployment group that rolls back on failure and on the
  canary alarms. Its service role is scoped to this service's task sets, listener and alarms.
- Autoscaling: target tracking on CPU, and (when configured) on requests per task. Requests per task are computed
  with metric math over every target group of the service (RequestCount summed / RunningTaskCount), because
  canary-style deployments move production traffic between the two groups: the predefined
  `ALBRequestCountPerTarget` metric follows one group and would scale on an idle one after the first deployment.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components import defaults as d
from components.iam import assume_role_policy, output_document
from components.serving import ecs_policies
from components.serving.args import ModelServiceArgs, RollbackAlarms
from runtime import metrics as m

# The SDK's nested argument classes, shortened.
_cd = aws.codedeploy
_tt = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs
_custom = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationArgs
_query = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricArgs
_stat = (aws.appautoscaling
         .PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatArgs)
_metric = (aws.appautoscaling
           .PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatMetricArgs)
_dim = (aws.appautoscaling
        .PolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricMetricStatMetricDimensionArgs)
_predefined = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs


def build_codedeploy(name: str, args: ModelServiceArgs, *, cluster: aws.ecs.Cluster, service: aws.ecs.Service,
                     groups: Sequence[aws.lb.TargetGroup], listener: aws.lb.Listener, alarms: RollbackAlarms,
                     pass_roles: Sequence[aws.iam.Role], child: pulumi.ResourceOptions) -> pulumi.Output[str]:
    """CodeDeploy blue-green for the service; returns the deployment group name (the pipeline deploys to it)."""
    prefix = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"
    percent = int(args.canary_percent)
    bake = args.bake_minutes
    app = _cd.Application(name, compute_platform="ECS", name=prefix, opts=child)
    config = _cd.DeploymentConfig(
        name, deployment_config_name=f"{prefix}-canary-{percent}pct-{bake}min", compute_platform="ECS",
        traffic_routing_config=_cd.DeploymentConfigTrafficRoutingConfigArgs(
            type="TimeBasedCanary",
            time_based_canary=_cd.DeploymentConfigTrafficRoutingConfigTimeBasedCanaryArgs(percentage=percent,
                                                                                          interval=bake)),
        opts=child)
    role = aws.iam.Role(f"{name}-codedeploy", assume_role_policy=assume_role_policy("codedeploy.amazonaws.com"),
                        description=f"CodeDeploy blue-green deployments of {prefix}", opts=child)
    service_arn = pulumi.Output.all(cluster.arn, service.name).apply(
        lambda a: a[0].replace(":cluster/", ":service/") + f"/{a[1]}")
    task_sets = pulumi.Output.all(cluster.arn, service.name).apply(
        lambda a: a[0].replace(":cluster/", ":task-set/") + f"/{a[1]}/*")
    policy = aws.iam.RolePolicy(f"{name}-codedeploy", role=role.id, policy=output_document(
        pulumi.Output.all(service_arn, task_sets, listener.arn, alarms.rollback_alarm_arns,
                          *[r.arn for r in pass_roles]).apply(
            lambda a: ecs_policies.codedeploy_statements(a[0], a[1], [a[2]], a[3], a[4:]))), opts=child)
    group = _cd.DeploymentGroup(
        name, app_name=app.name, deployment_group_name=prefix, service_role_arn=role.arn,
        deployment_config_name=config.deployment_config_name,
        deployment_style=_cd.DeploymentGroupDeploymentStyleArgs(deployment_option="WITH_TRAFFIC_CONTROL",
                                                                deployment_type="BLUE_GREEN"),
        blue_green_deployment_config=_cd.DeploymentGroupBlueGreenDeploymentConfigArgs(
            deployment_ready_option=_cd.DeploymentGroupBlueGreenDeploymentConfigDeploymentReadyOptionArgs(
                action_on_timeout="CONTINUE_DEPLOYMENT"),
            # Keep the old (blue) tasks for the bake time after the shift: a late alarm still rolls back.
            terminate_blue_instances_on_deployment_success=_cd
            .DeploymentGroupBlueGreenDeploymentConfigTerminateBlueInstancesOnDeploymentSuccessArgs(
                action="TERMINATE", termination_wait_time_in_minutes=bake)),
        ecs_service=_cd.DeploymentGroupEcsServiceArgs(cluster_name=cluster.name, service_name=service.name),
        load_balancer_info=_cd.DeploymentGroupLoadBalancerInfoArgs(
            target_group_pair_info=_cd.DeploymentGroupLoadBalancerInfoTargetGroupPairInfoArgs(
                prod_traffic_route=_cd.DeploymentGroupLoadBalancerInfoTargetGroupPairInfoProdTrafficRouteArgs(
                    listener_arns=[listener.arn]),
                target_groups=[_cd.DeploymentGroupLoadBalancerInfoTargetGroupPairInfoTargetGroupArgs(name=g.name)
                               for g in groups])),
        alarm_configuration=_cd.DeploymentGroupAlarmConfigurationArgs(alarms=alarms.rollback_alarm_names,
                                                                      enabled=True),
        auto_rollback_configuration=_cd.DeploymentGroupAutoRollbackConfigurationArgs(
            enabled=True, events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]),
        # CodeDeploy checks its service role's permissions when the group is created (IAM propagation).
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[policy])))
    return group.deployment_group_name


def build_autoscaling(name: str, args: ModelServiceArgs, *, cluster: aws.ecs.Cluster, service: aws.ecs.Service,
                      alb: aws.lb.LoadBalancer, groups: Sequence[aws.lb.TargetGroup],
                      child: pulumi.ResourceOptions) -> None:
    target = aws.appautoscaling.Target(
        f"{name}-capacity", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
        resource_id=pulumi.Output.all(cluster.name, service.name).apply(lambda a: f"service/{a[0]}/{a[1]}"),
        min_capacity=args.min_capacity, max_capacity=args.max_capacity, opts=child)
    aws.appautoscaling.Policy(
        f"{name}-cpu", policy_type="TargetTrackingScaling", resource_id=target.resource_id,
        scalable_dimension=target.scalable_dimension, service_namespace=target.service_namespace,
        target_tracking_scaling_policy_configuration=_tt(
            target_value=args.target_cpu_percent,
            predefined_metric_specification=_predefined(predefined_metric_type="ECSServiceAverageCPUUtilization"),
            scale_out_cooldown=d.SCALE_OUT_COOLDOWN_SECONDS, scale_in_cooldown=d.SCALE_IN_COOLDOWN_SECONDS),
        opts=child)
    per_task = args.target_requests_per_target
    if per_task is None:
        return
    queries = [_query(id=f"r{i}", return_data=False, metric_stat=_stat(stat="Sum", metric=_metric(
        namespace=m.ALB_NAMESPACE, metric_name=m.ALB_REQUESTS,
        dimensions=[_dim(name=m.ALB_DIMENSION_LB, value=alb.arn_suffix),
                    _dim(name=m.ALB_DIMENSION_TG, value=group.arn_suffix)])))
        for i, group in enumerate(groups)]
    # Container Insights (on for every cluster here) publishes the running task count.
    queries.append(_query(id="tasks", return_data=False, metric_stat=_stat(stat="Average", metric=_metric(
        namespace="ECS/ContainerInsights", metric_name="RunningTaskCount",
        dimensions=[_dim(name="ClusterName", value=cluster.name), _dim(name="ServiceName", value=service.name)]))))
    total = " + ".join(f"FILL(r{i}, 0)" for i in range(len(groups)))
    queries.append(_query(id="per_task", return_data=True, label="requests per task per minute",
                          expression=f"({total}) / tasks"))
    aws.appautoscaling.Policy(
        f"{name}-requests", policy_type="TargetTrackingScaling", resource_id=target.resource_id,
        scalable_dimension=target.scalable_dimension, service_namespace=target.service_namespace,
        target_tracking_scaling_policy_configuration=_tt(
            target_value=float(per_task), customized_metric_specification=_custom(metrics=queries),
            scale_out_cooldown=d.SCALE_OUT_COOLDOWN_SECONDS, scale_in_cooldown=d.SCALE_IN_COOLDOWN_SECONDS),
        opts=child)
