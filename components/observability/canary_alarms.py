"""`mlcicd:observability:CanaryAlarms`: the alarms every deployment of the model rolls back on.

Creates four metric alarms (the rollback alarms), one composite alarm that pages once when any of them fires, an
SNS topic (with optional email subscriptions) and a KMS key for that topic:
- `5xx-rate`: target 5xx as percent of requests, computed per target group with metric math and the worst group
  taken, so a canary holding 10 % of traffic cannot hide its errors in the baseline's volume. A group with fewer
  than `min_requests` requests in a period counts as 0 %: low traffic does not judge.
- `p99-latency`: p99 TargetResponseTime per target group (same low-traffic guard), worst group.
- `model-quality`: the quality metric the runtime publishes for the canary variant (namespace, name, threshold,
  comparison from config).
- `canary-verdict`: `mlcicd canary judge --act` publishes 1 (pass) or 0 (fail); the alarm fires on 0.
Without a load balancer (EKS) only the two model-metric alarms exist.

Security decisions (see docs/security.md):
- Every alarm sets `treat_missing_data` on purpose (the reason is beside each) and has actions enabled.
- The topic is encrypted with a customer-managed key of its own. CloudWatch can publish to an encrypted topic only
  if the key policy lets `cloudwatch.amazonaws.com` use the key (an AWS-managed `alias/aws/sns` key cannot be
  given that), and the stack key's policy belongs to the ArtifactStore (or to the user, when given in config):
  a dedicated key keeps that grant narrow. Both the key grant and the topic policy (`policies.py`) are pinned to
  this account and to alarms named with this stack's prefix (confused-deputy conditions); the topic refuses
  non-TLS publishes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from components import defaults as d
from components.aws_common import partition_of
from components.observability.policies import stack_alarm_prefix, topic_key_policy, topic_policy
from runtime import metrics as m
from runtime.config import defaults as cfg_defaults

TYPE = "mlcicd:observability:CanaryAlarms"

#: ALB metrics are published once a minute: shorter alarm periods would see no data.
ALB_MIN_PERIOD_SECONDS = 60

#: Rollback alarms, in the order they are created and listed.
ALARMS = ("5xx-rate", "p99-latency", "model-quality", "canary-verdict")


@dataclass(frozen=True, kw_only=True)
class CanaryAlarmsArgs:
    """What the alarms are built from: each default beside its field; a field without one is required."""

    model_name: str
    """Registered model name (dimension `ModelName` of the model metrics). Required."""
    account_id: pulumi.Input[str]
    """This account: the key and topic grants to CloudWatch are pinned to it. Required."""
    region: str
    """Region of the alarms (their ARNs in the grants' conditions). Required."""
    load_balancer_arn_suffix: pulumi.Input[str] | None = None
    """The serving ALB's ARN suffix. Default None: no load balancer alarms (EKS)."""
    target_group_arn_suffixes: Sequence[pulumi.Input[str]] = field(default_factory=list)
    """The serving target groups' ARN suffixes (one for rolling, two for canary/linear/blue-green). Default []."""
    error_rate_percent: float = cfg_defaults.ALARM_5XX_PERCENT
    """5xx alarm threshold, percent of requests. Default 1."""
    min_requests: int = cfg_defaults.ALARM_MIN_REQUESTS
    """Requests per period a target group needs before its error rate and p99 count. Default 50."""
    p99_latency_ms: float = cfg_defaults.ALARM_P99_MS
    """p99 target response time threshold (ms). Default 500."""
    period_seconds: int = cfg_defaults.ALARM_PERIOD_SECONDS
    """Alarm period (load balancer alarms use at least 60 s). Default 60."""
    evaluation_periods: int = cfg_defaults.ALARM_EVALUATION_PERIODS
    """Periods evaluated. Default 3."""
    datapoints_to_alarm: int = cfg_defaults.ALARM_DATAPOINTS
    """Breaching periods (of `evaluation_periods`) that raise the alarm. Default 2."""
    quality_namespace: str = cfg_defaults.MODEL_METRICS_NAMESPACE
    """Namespace of the model metrics (quality and verdict). Default `MLCICD/Model`."""
    quality_metric_name: str = cfg_defaults.MODEL_QUALITY_METRIC
    """Model-quality metric name. Default `PredictionQuality`."""
    quality_threshold: float = cfg_defaults.MODEL_QUALITY_THRESHOLD
    """Model-quality threshold. Default 0.8."""
    quality_comparison: Literal["LessThanThreshold", "GreaterThanThreshold"] = cfg_defaults.MODEL_QUALITY_COMPARISON
    """Alarm below (a score) or above (an error-like metric) the threshold. Default `LessThanThreshold`."""
    emails: Sequence[str] = field(default_factory=list)
    """Email subscriptions to the topic. Default []."""


class CanaryAlarms(pulumi.ComponentResource):
    rollback_alarm_names: pulumi.Output[list[str]]
    rollback_alarm_arns: pulumi.Output[list[str]]
    composite_alarm_name: pulumi.Output[str]
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CanaryAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        topic, topic_grants = _topic(name, args, self)
        alarms = [*_load_balancer_alarms(name, args, child), *_model_alarms(name, args, child)]

        # Composite: one page for "a rollback alarm fired", and one for "all clear" -------------------------------
        composite = aws.cloudwatch.CompositeAlarm(
            f"{name}-rollback", alarm_name=f"{alarm_prefix(name)}-rollback",
            alarm_description="Any rollback alarm of the model service is in ALARM: the deployment is rolled back.",
            alarm_rule=pulumi.Output.all(*[a.name for a in alarms]).apply(
                lambda names: " OR ".join(f'ALARM("{n}")' for n in names)),
            actions_enabled=True, alarm_actions=[topic.arn], ok_actions=[topic.arn], opts=child)

        self.rollback_alarm_names = pulumi.Output.all(*[a.name for a in alarms]).apply(list)
        self.rollback_alarm_arns = pulumi.Output.all(*[a.arn for a in alarms]).apply(list)
        self.composite_alarm_name = composite.alarm_name
        # Whatever notifies the topic (notification rules, the drift alarm) waits for its policy: CodeStar
        # notification rules check at creation that the topic lets them publish.
        self.topic_arn = pulumi.Output.all(topic.arn, topic_grants.id).apply(lambda a: a[0])
        self.register_outputs({"rollbackAlarmNames": self.rollback_alarm_names, "topicArn": self.topic_arn,
                               "compositeAlarmName": self.composite_alarm_name})


def _topic(name: str, args: CanaryAlarmsArgs,
           parent: pulumi.Resource) -> tuple[aws.sns.Topic, aws.sns.TopicPolicy]:
    """The alarm topic, encrypted with a key of its own, its policy and its email subscriptions."""
    child = pulumi.ResourceOptions(parent=parent)
    region, account = args.region, args.account_id
    partition, _ = partition_of(parent)
    key = aws.kms.Key(f"{name}-topic-key", description=f"ml-cicd {name}: alarm topic encryption",
                      enable_key_rotation=True, deletion_window_in_days=d.KMS_DELETION_WINDOW_DAYS,
                      policy=pulumi.Output.from_input(account).apply(
                          lambda acct: topic_key_policy(acct, region, stack_alarm_prefix(), partition)),
                      opts=child)
    topic = aws.sns.Topic(f"{name}-topic", kms_master_key_id=key.arn, opts=child)
    grants = aws.sns.TopicPolicy(f"{name}-topic-policy", arn=topic.arn,
                                 policy=pulumi.Output.all(topic.arn, account).apply(
                                     lambda a: topic_policy(a[0], a[1], region, stack_alarm_prefix(), partition)),
                                 opts=child)
    for i, email in enumerate(args.emails):
        aws.sns.TopicSubscription(f"{name}-email-{i}", topic=topic.arn, protocol="email", endpoint=email, opts=child)
    return topic, grants


def _load_balancer_alarms(name: str, args: CanaryAlarmsArgs,
                          child: pulumi.ResourceOptions) -> list[aws.cloudwatch.MetricAlarm]:
    """5xx rate and p99 latency of the worst target group; none without our load balancer (EKS)."""
    lb, groups = args.load_balancer_arn_suffix, list(args.target_group_arn_suffixes)
    if lb is None or not groups:
        return []
    prefix = alarm_prefix(name)
    period, min_requests = max(args.period_seconds, ALB_MIN_PERIOD_SECONDS), args.min_requests
    return [
        aws.cloudwatch.MetricAlarm(
            f"{name}-5xx-rate", name=f"{prefix}-5xx-rate",
            alarm_description="Worst target group's 5xx share of requests (percent); groups below the "
                              f"minimum of {min_requests} requests per period count as 0.",
            comparison_operator="GreaterThanThreshold", threshold=args.error_rate_percent,
            metric_queries=error_rate_queries(lb, groups, period, min_requests),
            # No data means no requests reached any target group: nothing to judge, and the deployment
            # circuit breaker and the canary judge (INCONCLUSIVE below its minimum) cover a silent service.
            treat_missing_data="notBreaching", actions_enabled=True, evaluation_periods=args.evaluation_periods,
            datapoints_to_alarm=args.datapoints_to_alarm, opts=child),
        aws.cloudwatch.MetricAlarm(
            f"{name}-p99-latency", name=f"{prefix}-p99-latency",
            alarm_description="Worst target group's p99 target response time (seconds); groups below the "
                              "minimum requests per period count as 0.",
            comparison_operator="GreaterThanThreshold", threshold=args.p99_latency_ms / 1000.0,
            metric_queries=latency_queries(lb, groups, period, min_requests),
            # Missing latency data means no traffic, not slow traffic (same reasoning as the error rate).
            treat_missing_data="notBreaching", actions_enabled=True, evaluation_periods=args.evaluation_periods,
            datapoints_to_alarm=args.datapoints_to_alarm, opts=child),
    ]


def _model_alarms(name: str, args: CanaryAlarmsArgs, child: pulumi.ResourceOptions) -> list[aws.cloudwatch.MetricAlarm]:
    """Model quality of the canary variant and the canary judge's verdict (the metrics the runtime publishes)."""
    prefix = alarm_prefix(name)
    period, namespace, metric = args.period_seconds, args.quality_namespace, args.quality_metric_name
    return [
        aws.cloudwatch.MetricAlarm(
            f"{name}-model-quality", name=f"{prefix}-model-quality",
            alarm_description=f"Model quality of the canary variant ({namespace} {metric}).",
            namespace=namespace, metric_name=metric,
            dimensions={m.DIMENSION_MODEL: args.model_name, m.DIMENSION_VARIANT: m.VARIANT_CANARY},
            statistic="Average", period=period, comparison_operator=args.quality_comparison,
            threshold=args.quality_threshold,
            # Quality is published only while a canary runs and only once labels arrive: its absence is no
            # evidence of harm. Judging thin evidence is the canary judge's job (INCONCLUSIVE, never PASS).
            treat_missing_data="notBreaching", actions_enabled=True, evaluation_periods=args.evaluation_periods,
            datapoints_to_alarm=args.datapoints_to_alarm, opts=child),
        aws.cloudwatch.MetricAlarm(
            f"{name}-canary-verdict", name=f"{prefix}-canary-verdict",
            alarm_description="Canary judge verdict: 1 pass, 0 fail (published by `mlcicd canary judge --act`).",
            namespace=namespace, metric_name=m.CANARY_VERDICT, dimensions={m.DIMENSION_MODEL: args.model_name},
            statistic="Minimum", period=period, comparison_operator="LessThanThreshold", threshold=1,
            # A single failing verdict is decisive: one period, one datapoint.
            evaluation_periods=1, datapoints_to_alarm=1,
            # No datapoint means no verdict yet, which is not a failed one: the judge publishes nothing while an
            # INCONCLUSIVE canary is still within its maximum bake (`extend`, the bake goes on); once the bake is
            # over it publishes 0 for INCONCLUSIVE too (unless --on-inconclusive hold), so thin evidence rolls back.
            treat_missing_data="notBreaching", actions_enabled=True, opts=child),
    ]


def alarm_prefix(name: str) -> str:
    """Every alarm of the component starts with this; the CloudWatch grants are limited to it."""
    return f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}"


def _per_group(lb: pulumi.Input[str], groups: Sequence[pulumi.Input[str]], period: int, *,
               metric: str, stat: str, letter: str) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    return [aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id=f"{letter}{i}", return_data=False,
        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace=m.ALB_NAMESPACE, metric_name=metric, stat=stat, period=period,
            dimensions={m.ALB_DIMENSION_LB: lb, m.ALB_DIMENSION_TG: group}))
        for i, group in enumerate(groups)]


def _worst(ids: list[str]) -> str:
    return ids[0] if len(ids) == 1 else f"MAX([{', '.join(ids)}])"


def _guarded_worst(lb: pulumi.Input[str], groups: Sequence[pulumi.Input[str]], period: int, *, min_requests: int,
                   signal: tuple[str, str, str], expression: str, id_prefix: str, label: str
                   ) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """Per target group i: requests r_i and the signal metric (metric, statistic, query letter x: x_i);
    `expression` (with {i}) when r_i >= min_requests else 0 (low traffic does not mislead); the alarm sees the
    worst group."""
    metric, stat, letter = signal
    queries = _per_group(lb, groups, period, metric=m.ALB_REQUESTS, stat="Sum", letter="r")
    queries += _per_group(lb, groups, period, metric=metric, stat=stat, letter=letter)
    ids = [f"{id_prefix}{i}" for i in range(len(groups))]
    for i, query_id in enumerate(ids):
        queries.append(aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=query_id, return_data=False, label=f"{label}, target group {i}",
            expression=f"IF(FILL(r{i}, 0) >= {min_requests}, {expression.format(i=i)}, 0)"))
    queries.append(aws.cloudwatch.MetricAlarmMetricQueryArgs(
        id="worst", return_data=True, label=f"{label}, worst target group", expression=_worst(ids)))
    return queries


def error_rate_queries(lb: pulumi.Input[str], groups: Sequence[pulumi.Input[str]], period: int,
                       min_requests: int) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """rate_i = 100 x 5xx_i / requests_i (0 below min_requests); the alarm sees max rate_i."""
    return _guarded_worst(lb, groups, period, min_requests=min_requests, signal=(m.ALB_TARGET_5XX, "Sum", "e"),
                          expression="100 * FILL(e{i}, 0) / FILL(r{i}, 0)", id_prefix="rate", label="5xx percent")


def latency_queries(lb: pulumi.Input[str], groups: Sequence[pulumi.Input[str]], period: int,
                    min_requests: int) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """p_i = p99 response time (0 below min_requests); the alarm sees max p_i."""
    return _guarded_worst(lb, groups, period, min_requests=min_requests, signal=(m.ALB_RESPONSE_TIME, "p99", "t"),
                          expression="t{i}", id_prefix="p", label="p99 seconds")
