"""`mlcicd promote`: on a temporary copy of the repository's real stack files, one test per promise.

The expected diffs are built by hand from the original lines (not by difflib), so a reformatting round trip or a
stray change anywhere in the file fails the comparison.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from runtime.cli.main import app
from runtime.config import load_stack
from runtime.evidence import digest_tag, evidence_key, report_tag, verdict_tag
from runtime.promote import PromotionError, promote
from runtime.report import Check, Report, Verdict
from tests.harness import ROOT, use_fake_aws

MODEL = "churn-classifier"
OTHER_DIGEST = "sha256:" + "ab" * 32


# Fixtures and helpers ----------------------------------------------------------------------------------------
@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's real Pulumi.yaml and both stack files."""
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.staging.yaml", "Pulumi.production.yaml"):
        shutil.copy2(ROOT / name, root / name)
    return root


@pytest.fixture
def staged() -> tuple[str, str]:
    """The version and image digest the real staging stack pins (what promote copies by default)."""
    model = load_stack("staging", ROOT).config.model
    assert model.version is not None
    assert model.image_digest is not None
    assert model.version != load_stack("production", ROOT).config.model.version, "staging must differ from prod"
    return model.version, model.image_digest


def gate_report(kind: str, version: str, digest: str | None = None, *, verdicts: tuple[Verdict, ...] = (
        Verdict.PASS,), model: str = MODEL, details: dict[str, Any] | None = None) -> Report:
    subject: dict[str, Any] = {"model": model, "version": version}
    if digest is not None:
        subject["imageDigest"] = digest
    report = Report(kind=kind, subject=subject, details=details or {})
    for i, verdict in enumerate(verdicts):
        report.add(Check(f"{kind} check {i}", verdict, 0.5 + i, f"<= {i + 1}", f"{verdict.value.lower()} {i}"))
    return report.finish()


def model_gate(version: str) -> Report:
    report = Report(kind="model-gate", subject={"model": MODEL, "version": version, "champion": "12"},
                    details={"candidate": {"version": version, "metrics_from": "run",
                                           "metrics": {"accuracy": 0.912, "log_loss": 0.335}},
                             "champion": {"version": "12", "metrics_from": "run",
                                          "metrics": {"accuracy": 0.905, "log_loss": 0.31}}})
    report.add(Check("accuracy >= min", Verdict.PASS, 0.912, ">= 0.85", "0.912 meets the minimum 0.85"))
    report.add(Check("log_loss regression", Verdict.PASS, 0.025, "<= 0.01 worse than champion",
                     "log_loss worsened by 0.025 | allowed 0.01"))
    return report.finish()


def smoke(version: str, digest: str, *, verdicts: tuple[Verdict, ...] = (Verdict.PASS,)) -> Report:
    report = Report(kind="smoke", subject={"endpoint": "http://127.0.0.1:8080", "stack": "staging", "model": MODEL,
                                           "version": version, "imageDigest": digest},
                    details={"latency": {"requests": 500, "errors": 0, "p50_ms": 18.2, "p95_ms": 41.5,
                                         "p99_ms": 77.25, "throughput_rps": 402.5}})
    report.add(Check("latency p95", verdicts[0], 41.5, "<= 200 ms", "p95 41.5 ms"))
    report.add(Check("error rate", Verdict.PASS, 0.0, "<= 0", "no errors in 500 requests"))
    report.add(Check("invocations schema", Verdict.PASS, 2, None, "2 payloads answered"))
    for verdict in verdicts[1:]:
        report.add(Check("readiness", verdict, None, "/ping 200 within 120 s", "no answer"))
    return report.finish()


def put(directory: Path, report: Report | dict[str, Any], layout: str = "flat") -> Path:
    data = report.to_dict() if isinstance(report, Report) else report
    kind, subject = data["kind"], data["subject"]
    key = Path(evidence_key(subject["model"], str(subject["version"]), kind))
    relative = {"flat": Path(f"{kind}.json"), "bucket": key, "model-dir": Path(*key.parts[1:])}[layout]
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def evidence(tmp_path: Path, staged: tuple[str, str]) -> Path:
    """Passing model-gate and smoke reports for the staged version and digest."""
    version, digest = staged
    directory = tmp_path / "evidence"
    put(directory, model_gate(version))
    put(directory, smoke(version, digest))
    return directory


def model_lines(text: str) -> tuple[int, int]:
    """Indexes of the `version:` and `imageDigest:` lines of the model block."""
    lines = text.splitlines()
    start = lines.index("  ml-cicd:model:")
    block = lines[start + 1:]
    end = next(i for i, line in enumerate(block) if not line.startswith("    "))
    version = next(start + 1 + i for i, line in enumerate(block[:end]) if line.startswith("    version: "))
    digest = next(start + 1 + i for i, line in enumerate(block[:end]) if line.startswith("    imageDigest: "))
    return version, digest


def expected_diff(original: str, version: str, digest: str) -> str:
    """The unified diff of exactly two replaced lines, built by hand (3 lines of context)."""
    lines = original.splitlines(keepends=True)
    v, d = model_lines(original)
    assert d == v + 1, "the real production file keeps version and imageDigest on adjacent lines"
    start, end = max(v - 3, 0), min(d + 4, len(lines))
    before, after = lines[start:v], lines[d + 1:end]
    body = [" " + line for line in before]
    body += ["-" + lines[v], "-" + lines[d], f'+    version: "{version}"\n', f"+    imageDigest: {digest}\n"]
    body += [" " + line for line in after]
    count = end - start
    header = ["--- a/Pulumi.production.yaml\n", "+++ b/Pulumi.production.yaml\n",
              f"@@ -{start + 1},{count} +{start + 1},{count} @@\n"]
    return "".join(header + body)


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def check(result_report: Report, name: str) -> Check:
    return next(c for c in result_report.checks if c.name == name)


# The edit ----------------------------------------------------------------------------------------------------
def test_diff_is_exactly_the_two_model_lines(project: Path, evidence: Path, staged: tuple[str, str]) -> None:
    original = (project / "Pulumi.production.yaml").read_text()
    result = promote(project_dir=project, evidence_dir=evidence)
    assert result.exit_code == 0, result.report.summary_lines()
    assert result.written
    assert result.diff == expected_diff(original, *staged)


def test_everything_else_is_kept_byte_for_byte(project: Path, evidence: Path, staged: tuple[str, str]) -> None:
    path = project / "Pulumi.production.yaml"
    before = path.read_bytes()
    staging_before = (project / "Pulumi.staging.yaml").read_bytes()
    promote(project_dir=project, evidence_dir=evidence)
    old_lines, new_lines = before.decode().splitlines(keepends=True), path.read_text().splitlines(keepends=True)
    v, d = model_lines(before.decode())
    assert len(new_lines) == len(old_lines)
    # Comments, blank lines, flow mappings, trailing comments: identical everywhere but the two lines.
    assert [line for i, line in enumerate(new_lines) if i not in (v, d)] == \
           [line for i, line in enumerate(old_lines) if i not in (v, d)]
    version, digest = staged
    assert (new_lines[v], new_lines[d]) == (f'    version: "{version}"\n', f"    imageDigest: {digest}\n")
    assert sum(1 for line in old_lines if line.lstrip().startswith("#")) > 3  # the file really has comments
    assert (project / "Pulumi.staging.yaml").read_bytes() == staging_before


def test_key_order_and_quoting_kept(project: Path, evidence: Path) -> None:
    path = project / "Pulumi.production.yaml"
    top_keys = re.compile(r"^  (ml-cicd:[A-Za-z]+):", re.M)
    before = path.read_text()
    flow_lines = [line for line in before.splitlines() if re.search(r": [{\[].*[}\]]", line)]
    assert flow_lines, "the real production file has flow mappings/sequences"
    promote(project_dir=project, evidence_dir=evidence)
    text = path.read_text()
    assert top_keys.findall(text) == top_keys.findall(before)
    assert re.search(r'^    version: "\d+"$', text, re.M), "version stays a double-quoted string"
    assert all(line in text.splitlines() for line in flow_lines)  # flow collections stay flow collections
    assert load_stack("production", project).config.model.version == load_stack("staging", project).config.model.version


def test_written_file_validates_and_pins_staging(project: Path, evidence: Path, staged: tuple[str, str]) -> None:
    promote(project_dir=project, evidence_dir=evidence)
    model = load_stack("production", project).config.model
    assert (model.version, model.image_digest) == staged
    assert model.alias is None


def test_single_quotes_trailing_comments_and_crlf_survive(project: Path, evidence: Path,
                                                          staged: tuple[str, str]) -> None:
    path = project / "Pulumi.production.yaml"
    text = path.read_text()
    v, _ = model_lines(text)
    lines = text.splitlines()
    lines[v] = "    version: '12'   # pinned by the last promotion"
    crlf = ("\r\n".join(lines) + "\r\n").encode()
    path.write_bytes(crlf)
    promote(project_dir=project, evidence_dir=evidence)
    after = path.read_bytes()
    version, digest = staged
    assert after.count(b"\r\n") == crlf.count(b"\r\n")
    assert b"\n" not in after.replace(b"\r\n", b"")
    new_lines = after.decode().split("\r\n")
    assert new_lines[v] == f"    version: '{version}'   # pinned by the last promotion"
    assert new_lines[v + 1] == f"    imageDigest: {digest}"
    assert [x for i, x in enumerate(new_lines) if i not in (v, v + 1)] == \
           [x for i, x in enumerate(crlf.decode().split("\r\n")) if i not in (v, v + 1)]


def test_hand_aligned_file_is_spliced_not_reformatted(project: Path, evidence: Path,
                                                      staged: tuple[str, str]) -> None:
    """ruamel.yaml would normalise `cpu:    2048`; then the values are spliced into the original text."""
    path = project / "Pulumi.production.yaml"
    text = path.read_text().replace("    cpu: 2048\n", "    cpu:    2048\n", 1)
    assert "cpu:    2048" in text
    path.write_text(text)
    result = promote(project_dir=project, evidence_dir=evidence)
    assert result.exit_code == 0
    assert result.diff == expected_diff(text, *staged)
    assert "    cpu:    2048\n" in path.read_text()


def test_missing_image_digest_is_inserted_after_version(project: Path, evidence: Path,
                                                        staged: tuple[str, str]) -> None:
    path = project / "Pulumi.production.yaml"
    text = path.read_text()
    v, d = model_lines(text)
    lines = text.splitlines(keepends=True)
    del lines[d]
    path.write_text("".join(lines))
    promote(project_dir=project, evidence_dir=evidence)
    new_lines = path.read_text().splitlines(keepends=True)
    version, digest = staged
    assert new_lines[v:v + 2] == [f'    version: "{version}"\n', f"    imageDigest: {digest}\n"]
    assert new_lines[:v] + new_lines[v + 2:] == lines[:v] + lines[v + 1:]


def test_dry_run_writes_nothing(project: Path, evidence: Path, staged: tuple[str, str]) -> None:
    before = files(project)
    original = before["Pulumi.production.yaml"].decode()
    result = promote(project_dir=project, evidence_dir=evidence, dry_run=True)
    assert result.exit_code == 0
    assert not result.written
    assert result.diff == expected_diff(original, *staged)
    assert files(project) == before  # no temp file either
    assert result.report.details["dryRun"] is True
    assert result.report.details["written"] is False


def test_already_pinned_is_a_pass_without_a_write(project: Path, evidence: Path) -> None:
    promote(project_dir=project, evidence_dir=evidence)
    after_first = files(project)
    again = promote(project_dir=project, evidence_dir=evidence)
    assert again.exit_code == 0
    assert not again.written
    assert again.diff == ""
    assert "nothing to change" in check(again.report, "stack file").reason
    assert files(project) == after_first


def test_explicit_version_and_digest(project: Path, tmp_path: Path) -> None:
    directory = tmp_path / "explicit"
    put(directory, model_gate("14"), "bucket")
    put(directory, smoke("14", OTHER_DIGEST), "bucket")
    result = promote(project_dir=project, evidence_dir=directory, version="14", image_digest=OTHER_DIGEST)
    assert result.exit_code == 0
    model = load_stack("production", project).config.model
    assert (model.version, model.image_digest) == ("14", OTHER_DIGEST)


@pytest.mark.parametrize("layout", ["flat", "bucket", "model-dir"])
def test_evidence_layouts(project: Path, tmp_path: Path, staged: tuple[str, str], layout: str) -> None:
    version, digest = staged
    directory = tmp_path / layout
    put(directory, model_gate(version), layout)
    put(directory, smoke(version, digest), layout)
    assert promote(project_dir=project, evidence_dir=directory).exit_code == 0


# Refusals: evidence (exit 1) -------------------------------------------------------------------------------------
def _refused(project: Path, directory: Path, **kwargs: Any) -> Report:
    before = files(project)
    result = promote(project_dir=project, evidence_dir=directory, **kwargs)
    assert result.exit_code == 1, result.report.summary_lines()
    assert result.report.verdict is Verdict.FAIL
    assert not result.written
    assert result.diff == ""
    assert result.pr_body is None
    assert files(project) == before
    return result.report


def test_refuses_without_evidence(project: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    report = _refused(project, empty)
    for kind in ("model-gate", "smoke"):
        assert check(report, f"evidence {kind}").observed == "missing"
        assert "run the" in check(report, f"evidence {kind}").reason


def test_a_pipeline_with_a_replay_stage_requires_its_passing_report(project: Path, evidence: Path,
                                                                    staged: tuple[str, str]) -> None:
    """The source stack's pipeline runs the Replay stage (`gates.replay`): its report is required evidence."""
    import yaml

    path = project / "Pulumi.staging.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"]["ml-cicd:gates"]["replay"] = {"windowHours": 24}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    missing = check(_refused(project, evidence), "evidence replay-gate")
    assert missing.observed == "missing"
    put(evidence, gate_report("replay-gate", staged[0], verdicts=(Verdict.INCONCLUSIVE,)))
    assert "verdict INCONCLUSIVE" in check(_refused(project, evidence), "evidence replay-gate").reason
    put(evidence, gate_report("replay-gate", staged[0]))
    result = promote(project_dir=project, evidence_dir=evidence)
    assert result.exit_code == 0, result.report.summary_lines()
    assert check(result.report, "evidence replay-gate").verdict is Verdict.PASS


def test_refuses_a_failing_gate(project: Path, evidence: Path, staged: tuple[str, str]) -> None:
    put(evidence, gate_report("model-gate", staged[0], verdicts=(Verdict.PASS, Verdict.FAIL)))
    reason = check(_refused(project, evidence), "evidence model-gate").reason
    assert "verdict FAIL; promotion needs PASS" in reason
    assert "model-gate check 1: fail 1" in reason


def test_refuses_evidence_for_another_version(project: Path, evidence: Path, staged: tuple[str, str]) -> None:
    put(evidence, model_gate("12"))
    assert f"is for version 12, not {staged[0]}" in check(_refused(project, evidence), "evidence model-gate").reason


def test_refuses_evidence_for_another_digest(project: Path, evidence: Path, staged: tuple[str, str]) -> None:
    put(evidence, smoke(staged[0], OTHER_DIGEST))
    reason = check(_refused(project, evidence), "evidence smoke").reason
    assert f"was taken on image {OTHER_DIGEST}, not {staged[1]}" in reason


def test_refuses_evidence_for_another_model(project: Path, evidence: Path, staged: tuple[str, str]) -> None:
    put(evidence, gate_report("model-gate", staged[0], model="fraud-detector"))
    assert "is for model 'fraud-detector'" in check(_refused(project, evidence), "evidence model-gate").reason


def test_refuses_an_inconclusive_smoke(project: Path, evidence: Path, staged: tuple[str, str]) -> None:
    put(evidence, smoke(*staged, verdicts=(Verdict.PASS, Verdict.INCONCLUSIVE)))
    report = _refused(project, evidence)
    assert "verdict INCONCLUSIVE; promotion needs PASS (readiness: no answer)" in check(report, "evidence smoke").reason
    assert check(report, "evidence model-gate").verdict is Verdict.PASS


def test_refuses_a_failing_optional_report(project: Path, evidence: Path, staged: tuple[str, str]) -> None:
    """Load and data validation are optional, but a failing one blocks like a failing smoke test."""
    put(evidence, gate_report("load", staged[0], staged[1], verdicts=(Verdict.FAIL,)))
    assert check(_refused(project, evidence), "evidence load").verdict is Verdict.FAIL


def test_refuses_a_report_whose_checks_contradict_its_verdict(project: Path, evidence: Path,
                                                             staged: tuple[str, str]) -> None:
    data = smoke(*staged).to_dict()
    data["checks"][0]["verdict"] = "FAIL"
    put(evidence, data)
    assert "says PASS but its checks say FAIL" in check(_refused(project, evidence), "evidence smoke").reason


def test_refuses_a_corrupt_report(project: Path, evidence: Path) -> None:
    (evidence / "smoke.json").write_text("{not json")
    assert "not a readable report" in check(_refused(project, evidence), "evidence smoke").reason


def test_data_validation_is_bound_to_the_version_by_its_location(project: Path, evidence: Path,
                                                                  staged: tuple[str, str]) -> None:
    """Data validation runs before training, so its report names no model version: only a keyed location may
    bind it to one; a flat `data-validation.json` without a subject does not count."""
    data = Report(kind="data-validation", subject={"reference": "ref.parquet", "current": "cur.parquet"})
    data.add(Check("drift age", Verdict.PASS, 0.01, "<= 0.2", "no drift"))
    flat = evidence / "data-validation.json"
    flat.write_text(data.finish().to_json())
    assert "does not name its subject" in check(_refused(project, evidence), "evidence data-validation").reason
    flat.unlink()
    keyed = evidence / evidence_key(MODEL, staged[0], "data-validation")
    keyed.parent.mkdir(parents=True)
    keyed.write_text(data.to_json())
    result = promote(project_dir=project, evidence_dir=evidence, dry_run=True)
    assert check(result.report, "evidence data-validation").verdict is Verdict.PASS
    assert result.pr_body is not None
    assert "Verdict **PASS**: 1 checks (1 PASS)." in result.pr_body
    assert "| drift age | PASS | 0.01 | <= 0.2 |" in result.pr_body


# Refusals: input and files (exit 2) ------------------------------------------------------------------------------
def _usage(project: Path, evidence: Path, match: str, **kwargs: Any) -> None:
    before = files(project)
    with pytest.raises(PromotionError, match=match):
        promote(project_dir=project, evidence_dir=evidence, **kwargs)
    assert files(project) == before


def _edit_target(project: Path, old: str, new: str, count: int = -1) -> None:
    """Replace `old` by `new` in the project's Pulumi.production.yaml (the first `count` times; -1: all)."""
    path = project / "Pulumi.production.yaml"
    path.write_text(path.read_text().replace(old, new, count))


def test_malformed_target_yaml(project: Path, evidence: Path) -> None:
    _edit_target(project, "  ml-cicd:region: eu-west-1\n", "  ml-cicd:region: [eu-west-1\n")
    _usage(project, evidence, r"Pulumi\.production\.yaml: not valid YAML")


def test_target_without_config(project: Path, evidence: Path) -> None:
    (project / "Pulumi.production.yaml").write_text("# emptied by mistake\nencryptionsalt: v1:abc\n")
    _usage(project, evidence, r"expected a mapping with a `config:` mapping")


def test_target_without_model_block(project: Path, evidence: Path) -> None:
    _edit_target(project, "ml-cicd:model:", "ml-cicd:modle:")
    _usage(project, evidence, r"no `ml-cicd:model` mapping")


def test_validation_failure_after_edit_names_the_key(project: Path, evidence: Path) -> None:
    _edit_target(project, "      percent: 10\n", "      percent: 80\n", 1)
    _usage(project, evidence, r"(?s)would be invalid after promotion.*ml-cicd:serving\.canary\.percent = 80")


def test_alias_in_production_is_refused(project: Path, evidence: Path) -> None:
    _edit_target(project, "    name: churn-classifier\n", "    name: churn-classifier\n    alias: champion\n", 1)
    _usage(project, evidence, r"model\.alias = 'champion' is not allowed in production")


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"version": "v13"}, r"--version 'v13': a registered-model version is a positive integer"),
    ({"version": "0"}, r"positive integer"),
    ({"image_digest": "sha256:XYZ"}, r"--image-digest 'sha256:XYZ': expected sha256:<64 lowercase hex>"),
    ({"version": "14"}, r"--version 14 differs from Pulumi\.staging\.yaml's version"),
    ({"source": "production"}, r"--from and --to are both 'production'"),
])
def test_bad_arguments(project: Path, evidence: Path, kwargs: dict[str, Any], match: str) -> None:
    _usage(project, evidence, match, **kwargs)


def test_no_evidence_source_is_a_usage_error(project: Path) -> None:
    with pytest.raises(PromotionError, match="pass --evidence DIR"):
        promote(project_dir=project)
    with pytest.raises(PromotionError, match="not a directory"):
        promote(project_dir=project, evidence_dir=project / "nope")


def test_flow_style_model_block_is_refused_not_reformatted(project: Path, evidence: Path) -> None:
    path = project / "Pulumi.production.yaml"
    text = path.read_text()
    flow = re.sub(r'  ml-cicd:model:\n    name: (\S+)\n    version: "(\d+)"\n    imageDigest: (\S+)\n',
                  r'  ml-cicd:model: {name: \1, version: "\2", imageDigest: \3}\n', text)
    assert flow != text
    path.write_text(flow)
    _usage(project, evidence, r"(?s)editing the model reference would also change:\n  ml-cicd:model: \{name.*by hand")


def test_model_name_mismatch(project: Path, evidence: Path) -> None:
    _edit_target(project, "    name: churn-classifier\n", "    name: churn-model\n", 1)
    _usage(project, evidence, r"model names differ")


# Concurrent modification ------------------------------------------------------------------------------------
def test_file_changed_between_read_and_write(project: Path, evidence: Path) -> None:
    path = project / "Pulumi.production.yaml"
    edited = path.read_text() + "# a reviewer's edit, saved while promote ran\n"
    seen: list[Path] = []

    def concurrent_edit(target: Path) -> None:
        seen.append(target)
        target.write_text(edited)

    with pytest.raises(PromotionError, match=r"Pulumi\.production\.yaml changed while promoting; rerun"):
        promote(project_dir=project, evidence_dir=evidence, before_write=concurrent_edit)
    assert seen == [path]
    assert path.read_text() == edited  # the other edit survives untouched
    assert sorted(p.name for p in project.iterdir()) == ["Pulumi.production.yaml", "Pulumi.staging.yaml",
                                                         "Pulumi.yaml"]  # temp file removed


def test_unchanged_file_is_replaced_atomically_with_its_mode(project: Path, evidence: Path) -> None:
    path = project / "Pulumi.production.yaml"
    path.chmod(0o640)
    inode_before = path.stat().st_ino
    promote(project_dir=project, evidence_dir=evidence, before_write=lambda _: None)
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.stat().st_ino != inode_before  # renamed into place, not rewritten in place
    assert sorted(p.name for p in project.iterdir()) == ["Pulumi.production.yaml", "Pulumi.staging.yaml",
                                                         "Pulumi.yaml"]


# Pull-request body and report ------------------------------------------------------------------------------------
def test_pr_body_has_gate_table_deltas_and_canary_plan(project: Path, evidence: Path,
                                                       staged: tuple[str, str]) -> None:
    version, digest = staged
    put(evidence, gate_report("data-validation", version, verdicts=(Verdict.PASS, Verdict.PASS)))
    put(evidence, gate_report("load", version, digest, details={"load": {
        "requests": 6000, "errors": 3, "p50_ms": 20.0, "p95_ms": 88.0, "p99_ms": 140.0, "achieved_rps": 99.8}}))
    body = promote(project_dir=project, evidence_dir=evidence).pr_body
    assert body is not None
    production = load_stack("production", ROOT).config
    canary = production.serving.canary
    expected = [
        f"## Promote {MODEL} version {version} to production",
        # the model gate's checks, and the metrics against the champion (production: log_loss lower is better)
        "| Check | Verdict | Observed | Threshold |",
        "| accuracy >= min | PASS | 0.912 | >= 0.85 |",
        "| log_loss regression | PASS | 0.025 | <= 0.01 worse than champion |",
        "| Metric | Champion (version 12) | Candidate | Delta | |",
        "| accuracy | 0.905 | 0.912 | +0.007 | better |",
        "| log_loss | 0.31 | 0.335 | +0.025 | worse |",
        "Verdict **PASS**: 2 checks (2 PASS).",
        "| smoke | latency p95 | PASS | 41.5 | <= 200 ms |",
        "| smoke | error rate | PASS | 0 | <= 0 |",
        # the canary plan production will follow
        f"canary: {canary.percent:g} % of traffic for {canary.bake_minutes} min, then 100 %",
        f"score >= {canary.judge.pass_score:g} PASS, >= {canary.judge.marginal_score:g} MARGINAL",
        f"p99 latency > {production.alarms.p99_latency_ms:g} ms",
        "`pulumi preview --stack production --diff`",
        # the traffic tests and the optional evidence
        "| smoke | 500 | 0 | 18.2 | 41.5 | 77.25 | 402.5 |",
        "| load | 6000 | 3 | 20 | 88 | 140 | 99.8 |",
        "| data-validation | if present | PASS |",
        "| load | if present | PASS |",
        f"`{digest}`",
        "```diff\n--- a/Pulumi.production.yaml",
    ]
    assert [line for line in expected if line not in body] == []


def test_pr_body_without_a_champion(project: Path, evidence: Path, staged: tuple[str, str]) -> None:
    first = Report(kind="model-gate", subject={"model": MODEL, "version": staged[0], "champion": None},
                   details={"candidate": {"version": staged[0], "metrics": {"accuracy": 0.9}}, "champion": None})
    first.add(Check("accuracy >= min", Verdict.PASS, 0.9, ">= 0.85", "ok"))
    put(evidence, first.finish())
    body = promote(project_dir=project, evidence_dir=evidence, dry_run=True).pr_body
    assert body is not None
    table = ("| Metric | Champion (none yet) | Candidate | Delta | |\n|---|---|---|---|---|\n"
             "| accuracy | - | 0.9 | - |  |")
    assert table in body


def test_promotion_report(project: Path, evidence: Path, staged: tuple[str, str]) -> None:
    result = promote(project_dir=project, evidence_dir=evidence)
    data = json.loads(result.report.to_json())
    assert data["kind"] == "promotion"
    assert data["verdict"] == "PASS"
    assert data["subject"] == {"model": MODEL, "version": staged[0], "imageDigest": staged[1],
                               "from": "staging", "to": "production"}
    assert [c["name"] for c in data["checks"]] == ["evidence model-gate", "evidence smoke"]
    assert data["details"]["written"] is True
    assert data["details"]["diff"] == result.diff
    assert data["details"]["previous"]["version"] == load_stack("production", ROOT).config.model.version


# CLI ----------------------------------------------------------------------------------------------------------
def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["promote", *args], env={"MLFLOW_TRACKING_URI": ""})


def test_cli_prints_diff_writes_pr_body_and_report(project: Path, evidence: Path, tmp_path: Path,
                                                   staged: tuple[str, str]) -> None:
    original = (project / "Pulumi.production.yaml").read_text()
    out = _cli("--from", "staging", "--to", "production", "--evidence", str(evidence), "--project-dir",
               str(project), "--pr-body", str(tmp_path / "pr.md"), "--report", str(tmp_path / "promotion.json"))
    assert out.exit_code == 0, out.stderr
    assert out.stdout == expected_diff(original, *staged)
    assert "| Check | Verdict | Observed | Threshold |" in (tmp_path / "pr.md").read_text()
    assert json.loads((tmp_path / "promotion.json").read_text())["verdict"] == "PASS"
    assert "Pulumi.production.yaml updated" in out.stderr


def test_cli_exit_codes(project: Path, evidence: Path, tmp_path: Path, staged: tuple[str, str]) -> None:
    common = ("--evidence", str(evidence), "--project-dir", str(project))
    dry = _cli(*common, "--dry-run")
    assert dry.exit_code == 0
    assert "dry run: Pulumi.production.yaml not written" in dry.stderr
    put(evidence, smoke(staged[0], OTHER_DIGEST))
    refused = _cli(*common, "--report", str(tmp_path / "refused.json"))
    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert json.loads((tmp_path / "refused.json").read_text())["verdict"] == "FAIL"
    bad = _cli(*common, "--version", "latest")
    assert bad.exit_code == 2
    assert "error: --version 'latest'" in bad.stderr


# MLflow registry (real sqlite store) ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def registry_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A sqlite registry holding versions 1..N of the model, N being the version staging pins."""
    from mlflow.tracking import MlflowClient

    staged_version = int(load_stack("staging", ROOT).config.model.version or "0")
    directory = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{directory / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(MODEL)
    for i in range(1, staged_version + 1):
        client.create_model_version(MODEL, source=(directory / f"model-{i}").as_uri())
    return uri


@pytest.fixture
def registry(registry_db: str, staged: tuple[str, str]) -> Iterator[Any]:
    """The registry client, with the staged version's mlcicd.* tags cleared before and after each test."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=registry_db, registry_uri=registry_db)

    def clear() -> None:
        for key in client.get_model_version(MODEL, staged[0]).tags:
            if key.startswith("mlcicd."):
                client.delete_model_version_tag(MODEL, staged[0], key)

    clear()
    yield client
    clear()


def test_unknown_version_in_registry(project: Path, evidence: Path, registry_db: str,
                                    staged: tuple[str, str]) -> None:
    put(evidence, model_gate("99"))
    newest = int(staged[0])
    with pytest.raises(PromotionError, match=r"unknown model version: churn-classifier version 99 is not in the "
                                             rf"registry .*\(known versions: {newest}, {newest - 1}, "):
        promote(project_dir=project, evidence_dir=evidence, tracking_uri=registry_db, version="99",
                image_digest=OTHER_DIGEST)


def test_unknown_model_in_registry(project: Path, evidence: Path, registry_db: str) -> None:
    for name in ("Pulumi.staging.yaml", "Pulumi.production.yaml"):
        path = project / name
        path.write_text(path.read_text().replace("name: churn-classifier", "name: fraud-detector", 1))
    with pytest.raises(PromotionError, match=r"no registered model named 'fraud-detector'"):
        promote(project_dir=project, evidence_dir=evidence, tracking_uri=registry_db)


def test_missing_sqlite_database_is_not_an_empty_registry(project: Path, evidence: Path, tmp_path: Path) -> None:
    with pytest.raises(PromotionError, match="no MLflow database at"):
        promote(project_dir=project, evidence_dir=evidence, tracking_uri=f"sqlite:///{tmp_path / 'nope.db'}")
    assert not (tmp_path / "nope.db").exists()


def test_registry_confirms_version_with_directory_evidence(project: Path, evidence: Path, registry: Any,
                                                           registry_db: str) -> None:
    result = promote(project_dir=project, evidence_dir=evidence, tracking_uri=registry_db)
    assert result.exit_code == 0
    assert check(result.report, "registry").verdict is Verdict.PASS


def test_tags_as_evidence(project: Path, tmp_path: Path, registry: Any, registry_db: str,
                          staged: tuple[str, str]) -> None:
    version, digest = staged
    reports = tmp_path / "bucket"
    gate_path = put(reports, model_gate(version), "bucket")
    smoke_path = put(reports, smoke(version, digest), "bucket")
    registry.set_model_version_tag(MODEL, version, verdict_tag("model-gate"), "PASS")
    registry.set_model_version_tag(MODEL, version, report_tag("model-gate"), gate_path.as_uri())
    registry.set_model_version_tag(MODEL, version, verdict_tag("smoke"), "PASS")
    registry.set_model_version_tag(MODEL, version, report_tag("smoke"), str(smoke_path))
    assert verdict_tag("model-gate") == "mlcicd.gate.verdict"
    assert verdict_tag("smoke") == "mlcicd.smoke.verdict"
    result = promote(project_dir=project, tracking_uri=registry_db)
    assert result.exit_code == 0, result.report.summary_lines()
    assert "MLflow tag mlcicd.gate.verdict" in check(result.report, "evidence model-gate").reason
    assert result.pr_body is not None
    assert "| accuracy >= min | PASS | 0.912 | >= 0.85 |" in result.pr_body


def test_tags_without_reports_and_failing_tags(project: Path, registry: Any, registry_db: str,
                                               staged: tuple[str, str]) -> None:
    version = staged[0]
    registry.set_model_version_tag(MODEL, version, verdict_tag("model-gate"), "PASS")
    before = files(project)
    missing_smoke = promote(project_dir=project, tracking_uri=registry_db)
    assert missing_smoke.exit_code == 1
    assert "MLflow tag mlcicd.smoke.verdict on the version" in check(missing_smoke.report, "evidence smoke").reason
    registry.set_model_version_tag(MODEL, version, verdict_tag("smoke"), "INCONCLUSIVE")
    inconclusive_smoke = promote(project_dir=project, tracking_uri=registry_db)
    assert "mlcicd.smoke.verdict = INCONCLUSIVE; promotion needs PASS" in \
           check(inconclusive_smoke.report, "evidence smoke").reason
    assert files(project) == before
    registry.set_model_version_tag(MODEL, version, verdict_tag("smoke"), "PASS")
    assert promote(project_dir=project, tracking_uri=registry_db, dry_run=True).exit_code == 0


def test_tag_pointing_at_a_report_for_another_digest(project: Path, tmp_path: Path, registry: Any,
                                                     registry_db: str, staged: tuple[str, str]) -> None:
    version = staged[0]
    wrong = put(tmp_path / "r", smoke(version, OTHER_DIGEST))
    registry.set_model_version_tag(MODEL, version, verdict_tag("model-gate"), "PASS")
    registry.set_model_version_tag(MODEL, version, verdict_tag("smoke"), "PASS")
    registry.set_model_version_tag(MODEL, version, report_tag("smoke"), str(wrong))
    result = promote(project_dir=project, tracking_uri=registry_db)
    assert result.exit_code == 1
    assert f"was taken on image {OTHER_DIGEST}" in check(result.report, "evidence smoke").reason


def test_digest_tag_for_another_image(project: Path, registry: Any, registry_db: str,
                                      staged: tuple[str, str]) -> None:
    version = staged[0]
    for kind in ("model-gate", "smoke"):
        registry.set_model_version_tag(MODEL, version, verdict_tag(kind), "PASS")
    registry.set_model_version_tag(MODEL, version, digest_tag("smoke"), OTHER_DIGEST)
    result = promote(project_dir=project, tracking_uri=registry_db)
    assert result.exit_code == 1
    assert f"mlcicd.smoke.digest = {OTHER_DIGEST}: taken on another image" in \
           check(result.report, "evidence smoke").reason
    registry.set_model_version_tag(MODEL, version, digest_tag("smoke"), staged[1])
    assert promote(project_dir=project, tracking_uri=registry_db, dry_run=True).exit_code == 0


def test_directory_evidence_wins_over_tags(project: Path, evidence: Path, registry: Any, registry_db: str,
                                           staged: tuple[str, str]) -> None:
    registry.set_model_version_tag(MODEL, staged[0], verdict_tag("smoke"), "FAIL")
    result = promote(project_dir=project, evidence_dir=evidence, tracking_uri=registry_db, dry_run=True)
    assert check(result.report, "evidence smoke").verdict is Verdict.PASS


def test_unreachable_registry_is_inconclusive_and_bounded(project: Path, evidence: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    before = files(project)
    t0 = time.perf_counter()
    result = promote(project_dir=project, evidence_dir=evidence, tracking_uri=f"http://127.0.0.1:{port}")
    elapsed = time.perf_counter() - t0
    assert result.exit_code == 3
    assert result.report.verdict is Verdict.INCONCLUSIVE
    assert "cannot confirm churn-classifier version" in check(result.report, "registry").reason
    assert files(project) == before
    assert elapsed < 30


def test_s3_report_location(project: Path, registry: Any, registry_db: str, staged: tuple[str, str],
                            moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports in the artifacts bucket (s3:// in the tag), read through moto in server mode."""
    import boto3

    use_fake_aws(monkeypatch, "eu-west-1", moto_url)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="artifacts", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    version, digest = staged
    for kind, report in (("model-gate", model_gate(version)), ("smoke", smoke(version, digest))):
        key = evidence_key(MODEL, version, kind)
        s3.put_object(Bucket="artifacts", Key=key, Body=report.to_json().encode())
        registry.set_model_version_tag(MODEL, version, verdict_tag(kind), "PASS")
        registry.set_model_version_tag(MODEL, version, report_tag(kind), f"s3://artifacts/{key}")
    ok = promote(project_dir=project, tracking_uri=registry_db, dry_run=True)
    assert ok.exit_code == 0, ok.report.summary_lines()
    registry.set_model_version_tag(MODEL, version, report_tag("smoke"), "s3://artifacts/reports/missing.json")
    missing = promote(project_dir=project, tracking_uri=registry_db, dry_run=True)
    assert missing.exit_code == 1
    assert "s3://artifacts/reports/missing.json: not a readable report" in \
           check(missing.report, "evidence smoke").reason
