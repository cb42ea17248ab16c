"""What the canary-probe tests share (tests/test_canary_probe.py, tests/test_canary_probe_bake.py) besides the
server fixtures of tests/conftest.py: the labelled sample the test servers accept, and the probe and judge
requests pointed at a moto server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from runtime.canary.judge import QualityRule
from runtime.canary.metrics_source import MetricSource
from runtime.canary.probe import ProbeRequest, read_sample
from runtime.canary.run import ClientFactory, JudgeRequest, boto3_clients
from runtime.config.checks import CanaryJudgeConfig, CanaryProbeConfig
from tests.servers import COLUMNS

REGION = "eu-west-1"


def labelled_sample(path: Path) -> Path:
    frame = pd.DataFrame({c: [float(i + k) for i in range(40)] for k, c in enumerate(COLUMNS)})
    frame["label"] = 0.5
    frame.to_csv(path, index=False)
    return path


def clients(moto_url: str) -> ClientFactory:
    return boto3_clients(REGION, moto_url, credentials=("testing", "testing"), max_attempts=1)


@dataclass(frozen=True)
class ProbeTests:
    """One test module's probe and judge requests: its metric namespace, window and configs."""

    namespace: str
    seconds: int
    """The probe's window (1 s periods)."""
    probe: CanaryProbeConfig
    judge: CanaryJudgeConfig

    def probe_request(self, baseline: str, canary: str, model: str, sample_file: Path, **extra: Any) -> ProbeRequest:
        return ProbeRequest(baseline_url=baseline, canary_url=canary, sample=read_sample(sample_file, "label"),
                            model_name=model, namespace=self.namespace, duration_seconds=self.seconds,
                            period_seconds=1, config=self.probe, subject={"model": model}, **extra)

    def judge_request(self, model: str, config: CanaryJudgeConfig | None = None, **extra: Any) -> JudgeRequest:
        source = MetricSource(model_name=model, model_namespace=self.namespace, percentiles=False)
        return JudgeRequest(source=source, config=config or self.judge, quality=QualityRule(),
                            subject={"model": model}, **extra)
