"""Reading the canary window from CloudWatch: one batched GetMetricData call (paginated) for both variants.

Two sources for the traffic metrics (requests, 5xx, response time):
- `AlbTargets`: AWS/ApplicationELB per target group (dimensions LoadBalancer + TargetGroup, arn suffixes);
- a custom namespace with dimensions ModelName + Variant (what `runtime.canary.publish` writes; local mode).
Model metrics (quality, prediction histogram and mean) always come from the model namespace with dimensions
ModelName + Variant (+ Bin); the histogram's bins are discovered with ListMetrics.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime import metrics as m
from runtime.canary.judge import CanaryData, VariantMetrics
from runtime.config.defaults import MODEL_METRICS_NAMESPACE, MODEL_QUALITY_METRIC
from runtime.errors import AwsUnavailable

#: GetMetricData accepts at most 500 queries per call.
MAX_QUERIES = 500
#: Bounded pagination: more pages than this means something is wrong with the request.
MAX_PAGES = 100
SIDES = (("b", "baseline"), ("c", "canary"))


class MetricsUnavailable(AwsUnavailable):
    """CloudWatch could not be read (permissions, network, unsupported statistic): the judge is INCONCLUSIVE."""


@dataclass(frozen=True)
class AlbTargets:
    load_balancer: str
    """The load balancer's arn suffix, `app/<name>/<id>`."""
    baseline_target_group: str
    """Arn suffix `targetgroup/<name>/<id>` of the target group serving the baseline."""
    canary_target_group: str


@dataclass(frozen=True)
class MetricSource:
    model_name: str
    model_namespace: str = MODEL_METRICS_NAMESPACE
    """Namespace of the model metrics (quality, predictions); in namespace mode also of the traffic metrics."""
    quality_metric: str = MODEL_QUALITY_METRIC
    albs: AlbTargets | None = None
    """Traffic metrics from the load balancer; None: from `model_namespace` with Variant dimensions."""
    percentiles: bool = True
    """Ask for the p99 response time (CloudWatch computes it; moto fails on percentile statistics)."""
    baseline_variant: str = m.VARIANT_BASELINE
    canary_variant: str = m.VARIANT_CANARY
    bins: tuple[str, ...] | None = None
    """Prediction histogram bins, when the caller published them itself (the probe); None: discovered with
    ListMetrics (which can take up to 15 minutes to list a metric CloudWatch has just created)."""

    def variant(self, side: str) -> str:
        return self.baseline_variant if side == "baseline" else self.canary_variant

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model_name": self.model_name, "model_namespace": self.model_namespace,
                               "quality_metric": self.quality_metric, "percentiles": self.percentiles,
                               "variants": [self.baseline_variant, self.canary_variant]}
        if self.albs is not None:
            out["traffic"] = {"namespace": m.ALB_NAMESPACE, "load_balancer": self.albs.load_balancer,
                              "baseline_target_group": self.albs.baseline_target_group,
                              "canary_target_group": self.albs.canary_target_group}
        else:
            out["traffic"] = {"namespace": self.model_namespace, "dimensions": [m.DIMENSION_MODEL,
                                                                                m.DIMENSION_VARIANT]}
        out["bins"] = "ListMetrics" if self.bins is None else list(self.bins)
        return out


def window(end: datetime | None, minutes: int, period_seconds: int) -> tuple[datetime, datetime]:
    """[start, end) of the observation window; end defaults to now, both aligned down to the period."""
    end = end or datetime.now(UTC)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    epoch = int(end.timestamp())
    aligned = datetime.fromtimestamp(epoch - epoch % period_seconds, tz=UTC)
    return aligned - timedelta(minutes=minutes), aligned


@dataclass(frozen=True)
class Query:
    id: str
    side: str
    key: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    bin: str | None = None

    def to_api(self, period: int) -> dict[str, Any]:
        metric = {"Namespace": self.namespace, "MetricName": self.metric,
                  "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions]}
        return {"Id": self.id, "MetricStat": {"Metric": metric, "Period": period, "Stat": self.stat},
                "ReturnData": True}


def _variant_dims(source: MetricSource, side: str) -> tuple[tuple[str, str], ...]:
    return ((m.DIMENSION_MODEL, source.model_name), (m.DIMENSION_VARIANT, source.variant(side)))


def discover_bins(client: Any, source: MetricSource) -> dict[str, list[str]]:
    """Bins of the prediction histogram each variant has published (ListMetrics, paginated)."""
    bins: dict[str, set[str]] = defaultdict(set)
    variants = {source.baseline_variant: "baseline", source.canary_variant: "canary"}
    token: str | None = None
    for _ in range(MAX_PAGES):
        kwargs: dict[str, Any] = {"Namespace": source.model_namespace, "MetricName": m.PREDICTION_COUNT,
                                  "Dimensions": [{"Name": m.DIMENSION_MODEL, "Value": source.model_name}]}
        if token:
            kwargs["NextToken"] = token
        page = client.list_metrics(**kwargs)
        for metric in page.get("Metrics", []):
            dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            side = variants.get(dims.get(m.DIMENSION_VARIANT, ""))
            if side and m.DIMENSION_BIN in dims and set(dims) == {m.DIMENSION_MODEL, m.DIMENSION_VARIANT,
                                                                  m.DIMENSION_BIN}:
                bins[side].add(dims[m.DIMENSION_BIN])
        token = page.get("NextToken")
        if not token:
            break
    else:
        raise MetricsUnavailable(f"ListMetrics returned more than {MAX_PAGES} pages")
    return {side: sorted(values) for side, values in bins.items()}


def build_queries(source: MetricSource, bins: dict[str, list[str]]) -> list[Query]:
    queries: list[Query] = []
    for prefix, side in SIDES:
        if source.albs is not None:
            tg = source.albs.baseline_target_group if side == "baseline" else source.albs.canary_target_group
            traffic_ns = m.ALB_NAMESPACE
            traffic_dims: tuple[tuple[str, str], ...] = ((m.ALB_DIMENSION_LB, source.albs.load_balancer),
                                                         (m.ALB_DIMENSION_TG, tg))
        else:
            traffic_ns, traffic_dims = source.model_namespace, _variant_dims(source, side)
        model_dims = _variant_dims(source, side)
        queries += [
            Query(f"{prefix}_requests", side, "requests", traffic_ns, m.ALB_REQUESTS, traffic_dims, "Sum"),
            Query(f"{prefix}_errors", side, "errors", traffic_ns, m.ALB_TARGET_5XX, traffic_dims, "Sum"),
            Query(f"{prefix}_latency", side, "latency", traffic_ns, m.ALB_RESPONSE_TIME, traffic_dims, "Average"),
            Query(f"{prefix}_quality", side, "quality", source.model_namespace, source.quality_metric, model_dims,
                  "Average"),
            Query(f"{prefix}_pmean", side, "prediction_mean", source.model_namespace, m.PREDICTION_MEAN, model_dims,
                  "Average"),
        ]
        if source.percentiles:
            queries.append(Query(f"{prefix}_p99", side, "latency_p99", traffic_ns, m.ALB_RESPONSE_TIME, traffic_dims,
                                 "p99"))
        for i, label in enumerate(bins.get(side, [])):
            queries.append(Query(f"{prefix}_bin{i}", side, "bin", source.model_namespace, m.PREDICTION_COUNT,
                                 (*model_dims, (m.DIMENSION_BIN, label)), "Sum", bin=label))
    return queries


def fetch_series(client: Any, queries: Sequence[Query], *, start: datetime, end: datetime,
                 period: int) -> tuple[dict[str, list[tuple[datetime, float]]], list[str]]:
    """Run the queries (500 per call, every page), returning values in time order per query id and the
    messages CloudWatch attached."""
    series: dict[str, dict[datetime, float]] = defaultdict(dict)
    messages: list[str] = []
    for offset in range(0, len(queries), MAX_QUERIES):
        batch = [q.to_api(period) for q in queries[offset:offset + MAX_QUERIES]]
        token: str | None = None
        for _ in range(MAX_PAGES):
            kwargs: dict[str, Any] = {"MetricDataQueries": batch, "StartTime": start, "EndTime": end,
                                      "ScanBy": "TimestampAscending"}
            if token:
                kwargs["NextToken"] = token
            page = client.get_metric_data(**kwargs)
            for result in page.get("MetricDataResults", []):
                status = result.get("StatusCode", "Complete")
                if status in ("InternalError", "Forbidden"):
                    raise MetricsUnavailable(f"GetMetricData returned {status} for {result.get('Id')}: "
                                             f"{'; '.join(x.get('Value', '') for x in result.get('Messages', []))}")
                for ts, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                    series[result["Id"]][ts] = float(value)
                messages += [f"{result.get('Id')}: {x.get('Code', '')} {x.get('Value', '')}".strip()
                             for x in result.get("Messages", [])]
            messages += [f"{x.get('Code', '')} {x.get('Value', '')}".strip() for x in page.get("Messages", [])]
            token = page.get("NextToken")
            if not token:
                break
        else:
            raise MetricsUnavailable(f"GetMetricData returned more than {MAX_PAGES} pages")
    return {qid: sorted(points.items()) for qid, points in series.items()}, messages


def assemble(queries: Sequence[Query], series: dict[str, list[tuple[datetime, float]]]) -> dict[str, VariantMetrics]:
    """Turn per-query series into the two sides' metrics (sums for counts, series for the rest)."""
    fields: dict[str, dict[str, Any]] = {"baseline": {"prediction_counts": {}}, "canary": {"prediction_counts": {}}}
    for q in queries:
        values = [v for _, v in series.get(q.id, [])]
        target = fields[q.side]
        if q.key in ("requests", "errors"):
            target[q.key] = sum(values) if values else None
        elif q.key == "bin":
            if values:
                target["prediction_counts"][q.bin] = sum(values)
        else:
            target[q.key] = tuple(values)
    return {side: VariantMetrics(**values) for side, values in fields.items()}


def read_canary_data(client: Any, source: MetricSource, *, start: datetime, end: datetime,
                     period: int) -> CanaryData:
    """Everything the judge needs for the window [start, end), from one batched GetMetricData call."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        bins = discover_bins(client, source) if source.bins is None else {
            side: list(source.bins) for _, side in SIDES}
        queries = build_queries(source, bins)
        series, messages = fetch_series(client, queries, start=start, end=end, period=period)
    except (ClientError, BotoCoreError) as exc:
        hint = ""
        if source.percentiles and "500" in str(exc):
            hint = " (a server without percentile statistics, such as moto, needs --no-percentiles)"
        raise MetricsUnavailable(f"reading CloudWatch failed: {exc}{hint}") from exc
    sides = assemble(queries, series)
    described = source.describe()
    described["queries"] = len(queries)
    if messages:
        described["messages"] = messages
    return CanaryData(sides["baseline"], sides["canary"], start=start, end=end, period_seconds=period,
                      source=described)


def _tg_suffix(arn: str) -> str:
    return arn.split(":", 5)[-1] if arn.startswith("arn:") else arn


def resolve_canary_target_groups(elbv2: Any, target_groups: Sequence[str]) -> tuple[str, str]:
    """(baseline, canary) arn suffixes of a target-group pair: the canary is the one the weighted forward rule
    currently sends less (but some) traffic to. Raises MetricsUnavailable when no canary is in progress."""
    from botocore.exceptions import BotoCoreError, ClientError

    suffixes = [_tg_suffix(t) for t in target_groups]
    if len(suffixes) != 2:
        raise MetricsUnavailable(f"expected two target groups, got {suffixes}")
    try:
        groups = elbv2.describe_target_groups(Names=[s.split("/")[1] for s in suffixes])["TargetGroups"]
        arns = {_tg_suffix(g["TargetGroupArn"]): g["TargetGroupArn"] for g in groups}
        balancers = {lb for g in groups for lb in g.get("LoadBalancerArns", [])}
        weights: dict[str, int] = {}
        for lb in sorted(balancers):
            for listener in elbv2.describe_listeners(LoadBalancerArn=lb)["Listeners"]:
                for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
                    for action in rule.get("Actions", []):
                        forwarded = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
                        found = {_tg_suffix(t["TargetGroupArn"]): int(t.get("Weight", 1)) for t in forwarded}
                        if set(found) == set(arns) and set(arns) == set(suffixes):
                            weights = found
    except (ClientError, BotoCoreError, KeyError, IndexError) as exc:
        raise MetricsUnavailable(f"cannot resolve which target group is the canary: {exc}") from exc
    if len(weights) != 2:
        raise MetricsUnavailable(f"no listener rule forwards to both {suffixes[0]} and {suffixes[1]}: pass "
                                 "--baseline-target-group and --canary-target-group")
    (low, low_w), (high, high_w) = sorted(weights.items(), key=lambda kv: (kv[1], kv[0]))
    if low_w in (0, high_w):
        raise MetricsUnavailable(f"no canary in progress (weights {low}={low_w}, {high}={high_w}): nothing to judge")
    return high, low
