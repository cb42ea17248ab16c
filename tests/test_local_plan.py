"""The local run's parts that need no servers: the plan it prints, the stand-in table against the step list, and
the faults on data frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runtime.config import load_stack
from runtime.errors import UsageError
from runtime.local.faults import Faults
from runtime.local.plan import load_plan
from runtime.local.standins import cloud_lines_without_stand_in, find
from runtime.pipeline.model import Mlcicd, PipelineSpec
from runtime.pipeline.steps import delivery_stages
from tests.harness import ROOT


def test_no_line_of_the_step_list_reaches_the_cloud_without_a_stand_in() -> None:
    """Staging hosts the one pipeline (production has none)."""
    spec = PipelineSpec.from_config(load_stack("staging", ROOT).config, "staging")
    assert cloud_lines_without_stand_in(delivery_stages(spec)) == []


def test_a_new_cloud_line_is_reported() -> None:
    from dataclasses import replace

    spec = PipelineSpec.from_config(load_stack("staging", ROOT).config, "staging")
    stages = delivery_stages(spec)
    train = stages[2].actions[0]
    changed = replace(stages[2], actions=(replace(train, commands=(*train.commands, "docker run x")),))
    assert cloud_lines_without_stand_in((changed,)) == ["Train: docker run x"]


def test_only_mlcicd_commands_without_a_local_service_are_stood_in() -> None:
    assert find(Mlcicd(("verify", "rollout", "--stack", "s"))) is not None
    assert find(Mlcicd(("pipeline", "image-scan"))) is not None
    for argv in (("gate", "model"), ("smoke", "--endpoint"), ("data", "validate"), ("promote", "--from"),
                 ("pipeline", "candidate-version")):
        assert find(Mlcicd(argv)) is None
    assert find('aws s3 cp a "s3://$B/k"') is None  # runs against moto with the real AWS CLI


def test_the_plan_lists_every_replaced_value_and_reads_flags_over_the_section() -> None:
    plan = load_plan(ROOT, "staging", {"loadTestSeconds": 5, "minRows": 200})
    shown = [r.render() for r in plan.replacements]
    assert "smoke.load.durationSeconds of Pulumi.staging.yaml: 60.0 -> 5.0 (local.loadTestSeconds)" in shown
    assert "data.quality.minRows of Pulumi.production.yaml: 300 -> 200 (local.minRows)" in shown
    assert plan.target_column == "benign"
    banner = "\n".join(plan.banner())
    assert "python -m training.train" in banner
    assert all(r.render() in banner for r in plan.replacements)


def test_a_stack_without_pipeline_or_with_bad_flags_is_a_usage_error(tmp_path: Path) -> None:
    text = (ROOT / "Pulumi.staging.yaml").read_text()
    (tmp_path / "Pulumi.yaml").write_text("name: x\n")
    (tmp_path / "Pulumi.staging.yaml").write_text(text.split("  ml-cicd:pipeline:")[0])
    with pytest.raises(UsageError, match="no `ml-cicd:pipeline` section"):
        load_plan(tmp_path, "staging", {})
    with pytest.raises(UsageError, match="canarySeconds"):
        load_plan(ROOT, "staging", {"canarySeconds": -1})


# Faults ---------------------------------------------------------------------------------------------------------
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    data = {f"x{i}": rng.normal(size=400) for i in range(7)}
    return pd.DataFrame({"group": rng.choice(["a", "b"], 400), **data, "label": rng.integers(0, 2, 400)})


def faults(scenario: str, tmp_path: Path, **kw: object) -> tuple[Faults, Path]:
    path = tmp_path / "data" / "train.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame().to_parquet(path, index=False)
    options = {"target": "label", "sensitive": "group", **kw}
    return Faults(scenario, "data/train.parquet", **options), path  # type: ignore[arg-type]


def test_drift_shifts_five_numeric_features_never_the_label_or_group(tmp_path: Path) -> None:
    f, path = faults("drifted", tmp_path, untested=("x0",))
    note = f.on_source(tmp_path)
    after, before = pd.read_parquet(path), frame()
    changed = [c for c in before.columns if not before[c].equals(after[c])]
    assert changed == ["x1", "x2", "x3", "x4", "x5"]
    assert note is not None
    assert "x1" in note


def test_shuffled_labels_keep_their_counts(tmp_path: Path) -> None:
    f, path = faults("degraded", tmp_path)
    assert f.on_source(tmp_path) is None
    f.before_training(tmp_path)
    after, before = pd.read_parquet(path)["label"].to_numpy(), frame()["label"].to_numpy()
    assert sorted(after) == sorted(before)
    assert float(np.mean(after != before)) > 0.3


def test_unfair_erases_positives_of_one_group_only(tmp_path: Path) -> None:
    f, path = faults("unfair", tmp_path)
    f.before_training(tmp_path)
    after, before = pd.read_parquet(path), frame()
    flipped = after["label"].to_numpy() != before["label"].to_numpy()
    assert set(before["group"].to_numpy()[flipped]) == {"b"}
    assert set(before["label"].to_numpy()[flipped]) == {1}
    eligible = int(np.sum((before["group"].to_numpy() == "b") & (before["label"].to_numpy() == 1)))
    assert 0.3 < int(flipped.sum()) / eligible < 0.7


def test_broken_schema_drops_one_column_and_turns_one_into_text(tmp_path: Path) -> None:
    f, path = faults("broken-schema", tmp_path)
    f.on_source(tmp_path)
    after = pd.read_parquet(path)
    assert "x6" not in after.columns
    assert not pd.api.types.is_numeric_dtype(after["x0"])


def test_label_faults_need_the_label_column_configured(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"gates\.evaluation\.targetColumn"):
        Faults("degraded", "data/train.parquet", None).check()
    with pytest.raises(UsageError, match=r"gates\.fairness\.sensitiveColumn"):
        Faults("unfair", "data/train.parquet", "label").check()
