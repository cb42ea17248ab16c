"""`mlcicd smoke`: against a real MLflow scoring server (slow) and against local servers that each break one thing.

Each faulty server (tests/servers.py) differs from the `correct` one in exactly one behaviour, and the `correct`
one passes, so every expected FAIL is caused by the fault under test.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from typer.testing import CliRunner

from runtime.cli.main import app
from runtime.config.checks import SmokeConfig
from runtime.local.processes import ManagedProcess, free_port
from runtime.report import EXIT_CODES, EXIT_FAIL, EXIT_INCONCLUSIVE, EXIT_PASS, EXIT_USAGE, Report, Verdict
from runtime.serving import command as serving
from runtime.smoke import PayloadError, load_test, resolve_payloads, smoke_test
from runtime.smoke.latency import Sample, min_samples, percentile_check, quantile
from runtime.smoke.load import LoadStats, rate_check
from runtime.smoke.payloads import count_rows, from_config, from_model, schema_violations
from runtime.smoke.protocol import predictions_problem
from tests.servers import COLUMNS, payload, refusing_port, serve, serve_process

ROOT = Path(__file__).resolve().parents[1]

# Short budgets so a faulty server costs well under a second per test.
FAST: dict[str, Any] = {"requests": 20, "concurrency": 4, "readinessTimeoutSeconds": 1.0,
                        "requestTimeoutSeconds": 0.3, "p50Ms": 200, "p95Ms": 400, "p99Ms": 800}


def config(**overrides: Any) -> SmokeConfig:
    load = overrides.pop("load", {})
    return SmokeConfig.model_validate({**FAST, **overrides, "load": load})


def check(report: Report, name: str) -> Any:
    found = [c for c in report.checks if c.name == name]
    assert found, f"no check {name!r} in {[c.name for c in report.checks]}"
    return found[0]


PAYLOADS = from_config([payload(3)])


# Payloads ------------------------------------------------------------------------------------------------------

def test_sample_data_takes_precedence_over_config_payloads(tmp_path: Path) -> None:
    csv = tmp_path / "rows.csv"
    csv.write_text("x1,x2,x3\n1,2,3\n4,5,6\n,8,9\n10,11,12\n", encoding="utf-8")
    chosen = resolve_payloads(samples=[payload(2)], sample_data=csv, rows=5)
    assert chosen is not None
    assert chosen.source == f"sample-data:{csv}"
    # The row with a missing value is skipped; the batch and its first row alone are both sent.
    assert [(p.name, p.rows) for p in chosen.valid] == [("sample-data", 3), ("sample-data-single-row", 1)]
    assert chosen.valid[0].body == {"dataframe_split": {"columns": COLUMNS, "data": [[1, 2, 3], [4, 5, 6],
                                                                                     [10, 11, 12]]}}


def test_config_payloads_are_used_when_no_sample_data_is_given() -> None:
    chosen = resolve_payloads(samples=[payload(2), payload(1)])
    assert chosen is not None
    assert chosen.source == "config (smoke.samplePayloads)"
    assert [(p.name, p.rows) for p in chosen.valid] == [("config[0]", 2), ("config[1]", 1)]


def test_no_payload_source_gives_none() -> None:
    assert resolve_payloads(samples=[]) is None


@pytest.mark.parametrize(("name", "text", "message"), [
    ("missing.csv", None, "no such file"),
    ("rows.json", "{}", "unsupported file type '.json'"),
    ("holes.csv", "x1,x2\n1,\n,2\n", "no row without missing values"),
])
def test_unusable_sample_data_is_a_usage_error(tmp_path: Path, name: str, text: str | None, message: str) -> None:
    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(PayloadError, match=message):
        resolve_payloads(samples=[], sample_data=path)


def test_schema_violations_rename_columns_replace_numbers_and_leave_the_protocol() -> None:
    invalid, notes = schema_violations(PAYLOADS.valid[0])
    by_name = {r.name: r.body for r in invalid}
    assert by_name["unknown-columns"]["dataframe_split"]["columns"] == ["not_a_feature_0", "not_a_feature_1",
                                                                        "not_a_feature_2"]
    assert by_name["wrong-types"]["dataframe_split"]["data"][0] == ["not-a-number"] * 3
    assert by_name["not-a-scoring-request"] == {"not_a_scoring_field": [[1, 2, 3]]}
    assert notes == []


def test_strings_only_payload_has_no_wrong_types_request() -> None:
    strings = from_config([{"dataframe_records": [{"city": "Oslo"}, {"city": "Lima"}]}])
    assert [r.name for r in strings.invalid] == ["unknown-columns", "not-a-scoring-request"]
    assert strings.invalid[0].body == {"dataframe_records": [{"not_a_feature_0": "Oslo"},
                                                             {"not_a_feature_0": "Lima"}]}
    assert strings.notes == ["no wrong-types request: the first payload has no numeric values to replace"]


@pytest.mark.parametrize(("body", "rows"), [
    ({"dataframe_split": {"columns": ["a"], "data": [[1], [2]]}}, 2),
    ({"dataframe_records": [{"a": 1}, {"a": 2}, {"a": 3}]}, 3),
    ({"instances": [[1, 2], [3, 4]]}, 2),
    ({"inputs": {"a": [1, 2, 3, 4], "b": [5, 6, 7, 8]}}, 4),
    ({"inputs": {"a": [1, 2], "b": [5]}}, None),
])
def test_rows_in_a_scoring_request(body: dict[str, Any], rows: int | None) -> None:
    assert count_rows(body) == rows


@pytest.mark.parametrize(("body", "rows", "problem"), [
    ({"predictions": [0, 1, 1]}, 3, None),
    ({"predictions": {"label": [0, 1], "score": [0.2, 0.9]}}, 2, None),
    ({"predictions": [0, 1]}, 3, "wrong number of predictions: 3 rows in, 2 predictions out"),
    ({"predictions": [[0.1, 0.9], 1]}, 2, "mixed shapes"),
    ({"predictions": [0.5, None]}, 2, "1 of 2 predictions are null or NaN"),
    ({"predictions": [float("nan")]}, 1, "null or NaN"),
    ({"result": [0]}, 1, "not MLflow's"),
    ([0, 1], 2, "a JSON list"),
])
def test_predictions_must_be_one_per_row_in_mlflow_shape(body: Any, rows: int, problem: str | None) -> None:
    found = predictions_problem(body, rows)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_percentiles_are_nearest_rank_and_need_enough_samples() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (quantile(values, 0.5), quantile(values, 0.95), quantile(values, 0.99)) == (50.0, 95.0, 99.0)
    assert (min_samples(0.5), min_samples(0.95), min_samples(0.99)) == (2, 20, 100)
    too_few = percentile_check("latency p99", values[:99], 0.99, 1000)
    assert too_few.verdict is Verdict.INCONCLUSIVE
    assert "p99 needs at least 100" in too_few.reason
    assert percentile_check("latency p99", values, 0.99, 98).verdict is Verdict.FAIL


def test_config_rejects_a_sample_payload_outside_the_scoring_protocol() -> None:
    from runtime.config import ConfigError, validate_config

    raw = {"environment": "staging", "region": "eu-west-1", "model": {"name": "m"},
           "smoke": {"samplePayloads": [{"columns": ["a"], "data": [[1]]}]}}
    with pytest.raises(ConfigError) as caught:
        validate_config(raw, "test")
    assert "ml-cicd:smoke.samplePayloads" in str(caught.value)
    assert "must have exactly one of dataframe_split, dataframe_records, instances, inputs" in str(caught.value)


# Smoke against local servers -----------------------------------------------------------------------------------

def test_correct_server_passes_every_check() -> None:
    with serve_process("correct") as server:
        report = smoke_test(server.url, config=config(requests=100), payloads=PAYLOADS)
    assert report.verdict is Verdict.PASS, report.summary_lines()
    assert [c.name for c in report.checks] == [
        "readiness", "endpoint /ping", "endpoint /health", "endpoint /version", "invocations config[0]",
        "rejects unknown-columns", "rejects wrong-types", "rejects not-a-scoring-request", "error rate",
        "latency p50", "latency p95", "latency p99"]
    assert report.details["latency"]["requests"] == 100


@pytest.mark.parametrize(("behaviour", "expected"), [
    ("hang", {"invocations config[0]": "timed out after 0.3 s", "error rate": "timeout"}),
    ("error-5xx", {"invocations config[0]": "HTTP 500", "rejects unknown-columns": "answered HTTP 500 instead of "
                   "rejecting", "error rate": "HTTP 500"}),
    ("truncated", {"invocations config[0]": "truncated body", "error rate": "truncated"}),
    ("non-json", {"invocations config[0]": "non-JSON body with HTTP 200: '<html>OK</html>'",
                  "error rate": "non-JSON body"}),
    ("accepts-garbage", {"rejects unknown-columns": "accepted a schema-violating request with 200",
                         "rejects wrong-types": "accepted a schema-violating request with 200",
                         "rejects not-a-scoring-request": "accepted a schema-violating request with 200"}),
    ("wrong-count", {"invocations config[0]": "wrong number of predictions: 3 rows in, 2 predictions out",
                     "error rate": "bad predictions"}),
    ("never-ready", {"readiness": "not ready after 1 s", "protocol and latency checks": "never became ready"}),
    ("slow", {"latency p50": "above 20 ms", "latency p95": "above 40 ms"}),
])
def test_faulty_server_fails_with_the_reason(behaviour: str, expected: dict[str, str]) -> None:
    cfg = config(p50Ms=20, p95Ms=40) if behaviour == "slow" else config()
    t0 = time.monotonic()
    with serve(behaviour, delay_s=0.06) as server:
        report = smoke_test(server.url, config=cfg, payloads=PAYLOADS)
    assert report.verdict is Verdict.FAIL
    for name, fragment in expected.items():
        found = check(report, name)
        assert found.verdict is (Verdict.INCONCLUSIVE if name == "protocol and latency checks" else Verdict.FAIL)
        assert fragment in found.reason
    assert time.monotonic() - t0 < 5, "every fault is bounded by the timeouts"


def test_faulty_server_never_passes_a_check_it_broke() -> None:
    with serve("wrong-count") as server:
        report = smoke_test(server.url, config=config(), payloads=PAYLOADS)
    # The run stops once the error budget is spent: far fewer than 20 requests go out.
    assert report.details["latency"]["requests"] < 20
    assert check(report, "latency p50").verdict is Verdict.INCONCLUSIVE
    assert "stopped early on errors" in check(report, "latency p50").reason


def test_connection_refused_fails_readiness_after_the_budget() -> None:
    t0 = time.monotonic()
    with refusing_port() as port:
        report = smoke_test(f"http://127.0.0.1:{port}", config=config(), payloads=PAYLOADS)
    elapsed = time.monotonic() - t0
    ready = check(report, "readiness")
    assert ready.verdict is Verdict.FAIL
    assert "not ready after 1 s" in ready.reason
    assert "connection refused" in ready.reason
    assert 0.9 < elapsed < 3, "polls for the whole budget, then stops"


def test_tls_error_fails_at_once_without_waiting_for_the_budget() -> None:
    with serve("correct") as server:
        t0 = time.monotonic()
        report = smoke_test(server.url.replace("http://", "https://"),
                            config=config(readinessTimeoutSeconds=60), payloads=PAYLOADS)
        elapsed = time.monotonic() - t0
    ready = check(report, "readiness")
    assert ready.verdict is Verdict.FAIL
    assert ready.reason.startswith("TLS error")
    assert "not retried" in ready.reason
    assert elapsed < 5


def test_too_few_requests_for_p99_is_inconclusive() -> None:
    with serve_process("correct") as server:
        report = smoke_test(server.url, config=config(requests=30), payloads=PAYLOADS)
    assert report.verdict is Verdict.INCONCLUSIVE
    assert check(report, "latency p95").verdict is Verdict.PASS
    p99 = check(report, "latency p99")
    assert p99.verdict is Verdict.INCONCLUSIVE
    assert "only 30 successful requests; p99 needs at least 100 (raise --requests)" in p99.reason


def test_no_payload_is_inconclusive_and_says_where_payloads_come_from() -> None:
    with serve("correct") as server:
        report = smoke_test(server.url, config=config(), payloads=None)
    assert report.verdict is Verdict.INCONCLUSIVE
    reason = check(report, "invocations").reason
    assert "smoke.samplePayloads" in reason
    assert "--sample-data" in reason
    assert "--model-uri" in reason


# Load against local servers ------------------------------------------------------------------------------------

def test_load_at_a_fixed_rate_passes_and_reports_the_achieved_rate() -> None:
    with serve_process("correct") as server:
        report = load_test(server.url, config=config(load={"rps": 40, "durationSeconds": 1}), payloads=PAYLOADS)
    assert report.verdict is Verdict.PASS, report.summary_lines()
    load = report.details["load"]
    assert (load["scheduled"], load["sent"], load["dropped"]) == (40, 40, 0)
    assert load["achieved_rps"] >= 36


def test_load_aborts_once_the_error_budget_for_the_whole_run_is_spent() -> None:
    cfg = config(load={"rps": 50, "durationSeconds": 10, "maxErrorRate": 0.1})
    t0 = time.monotonic()
    with serve("error-5xx") as server:
        report = load_test(server.url, config=cfg, payloads=PAYLOADS)
    assert time.monotonic() - t0 < 3, "aborted long before the 10 s duration"
    errors = check(report, "load error rate")
    assert errors.verdict is Verdict.FAIL
    assert "51 failed, more than the 50 that maxErrorRate 0.1 allows over 500 requests" in errors.reason
    assert check(report, "load throughput").verdict is Verdict.INCONCLUSIVE


def test_load_aborts_once_p95_is_lost_for_the_whole_run() -> None:
    cfg = config(requestTimeoutSeconds=5, load={"rps": 50, "durationSeconds": 10, "p95Ms": 20})
    t0 = time.monotonic()
    with serve("slow", delay_s=0.05) as server:
        report = load_test(server.url, config=cfg, payloads=PAYLOADS)
    assert time.monotonic() - t0 < 4, "aborted long before the 10 s duration"
    p95 = check(report, "load latency p95")
    assert p95.verdict is Verdict.FAIL
    assert "26 slower than 20 ms, more than the 25 a p95 allows over 500 requests" in p95.reason


def test_server_that_cannot_keep_up_shows_dropped_requests() -> None:
    cfg = config(requestTimeoutSeconds=2, load={"rps": 40, "durationSeconds": 1, "p95Ms": 2000, "maxInFlight": 2})
    with serve("slow", delay_s=0.5) as server:
        report = load_test(server.url, config=cfg, payloads=PAYLOADS)
    rate = check(report, "load throughput")
    assert rate.verdict is Verdict.FAIL
    assert rate.reason.startswith("the server is not keeping up")
    assert report.details["load"]["dropped"] >= 30


def test_a_client_that_cannot_keep_the_schedule_makes_throughput_inconclusive() -> None:
    cfg = config(load={"rps": 100, "durationSeconds": 1}).load
    stats = LoadStats(planned=100, sent=100, late=60, arrivals_s=2.0)
    for _ in range(100):
        stats.samples.append(Sample(0.005, None))
    rate = rate_check(stats, cfg)
    assert rate.verdict is Verdict.INCONCLUSIVE
    assert rate.reason.startswith("the client could not keep the schedule: 50.0 rps answered of 100 offered")
    assert "60 dispatched late" in rate.reason


def test_load_is_capped_by_max_requests() -> None:
    cfg = config(load={"rps": 100, "durationSeconds": 600, "maxRequests": 25})
    t0 = time.monotonic()
    with serve("correct") as server:
        report = load_test(server.url, config=cfg, payloads=PAYLOADS)
    assert time.monotonic() - t0 < 3
    assert report.details["load"]["scheduled"] == 25
    assert report.details["load"]["capped_by_max_requests"] is True


# CLI -----------------------------------------------------------------------------------------------------------

def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["smoke", *args])
    return result.exit_code, result.output


@pytest.fixture
def rows_csv(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text("x1,x2,x3\n" + "".join(f"{i},{i + 1},{i + 2}\n" for i in range(5)), encoding="utf-8")
    return path


def test_cli_exit_0_and_the_report_contract(tmp_path: Path) -> None:
    csv = tmp_path / "rows.csv"
    csv.write_text("x1,x2,x3\n1,2,3\n4,5,6\n", encoding="utf-8")
    out = tmp_path / "smoke.json"
    with serve_process("correct") as server:
        code, output = run_cli("--endpoint", server.url, "--sample-data", str(csv), "--report", str(out))
    assert code == EXIT_PASS, output
    data = json.loads(out.read_text())
    assert (data["kind"], data["verdict"], data["subject"]) == ("smoke", "PASS", {"endpoint": server.url})
    assert set(data["checks"][0]) == {"name", "verdict", "observed", "threshold", "reason"}
    assert data["details"]["payloads"]["source"] == f"sample-data:{csv}"


def test_cli_exit_1_on_an_unreachable_endpoint(tmp_path: Path, rows_csv: Path) -> None:
    # The port stays bound while the command runs: no other process can start listening on it meanwhile.
    with refusing_port() as port:
        code, output = run_cli("--endpoint", f"http://127.0.0.1:{port}", "--readiness-timeout", "0.5",
                               "--sample-data", str(rows_csv), "--report", str(tmp_path / "r.json"))
    assert code == EXIT_FAIL
    assert "connection refused" in output


def test_a_slow_last_attempt_still_reports_what_the_endpoint_did(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a loaded machine one attempt can take a few hundred milliseconds to connect. The last attempt used to get
    only what was left of the budget (0.2 s of 0.5 s here) and then "timed out", so the report blamed a timeout the
    endpoint never caused: the reason this test's CLI twin once failed. Every attempt now gets MIN_ATTEMPT_S."""
    import httpx

    real_request = httpx.AsyncClient.request
    calls: list[str] = []

    async def slow_third_call(self: httpx.AsyncClient, method: str, url: Any, **kwargs: Any) -> httpx.Response:
        calls.append(str(url))
        if len(calls) == 3:
            await asyncio.sleep(0.25)  # the connect of the late attempt is slow, as on a busy machine
        return await real_request(self, method, url, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "request", slow_third_call)
    with refusing_port() as port:
        report = smoke_test(f"http://127.0.0.1:{port}", payloads=PAYLOADS,
                            config=config(readinessTimeoutSeconds=0.5, requestTimeoutSeconds=10))
    ready = check(report, "readiness")
    assert ready.verdict is Verdict.FAIL
    assert len(calls) >= 3
    assert "last: connection refused" in ready.reason, ready.reason


def test_cli_exit_3_without_a_payload(tmp_path: Path) -> None:
    with serve("correct") as server:
        code, output = run_cli("--endpoint", server.url, "--report", str(tmp_path / "r.json"))
    assert code == EXIT_INCONCLUSIVE
    assert "no payload to send" in output


@pytest.mark.parametrize(("args", "message"), [
    (["--endpoint", "ftp://127.0.0.1:1"], "must be an absolute http:// or https:// URL"),
    (["--endpoint", "http://127.0.0.1:1", "--rps", "5"], "add --load"),
    (["--endpoint", "http://127.0.0.1:1", "--load", "--requests", "5"], "with --load use --rps and --duration"),
    (["--endpoint", "http://127.0.0.1:1", "--requests", "0"], "--requests 0: Input should be greater than or "
                                                              "equal to 1"),
    (["--endpoint", "http://127.0.0.1:1", "--load", "--rps", "-1"], "--rps -1.0: Input should be greater than 0"),
    (["--endpoint", "http://127.0.0.1:1", "--sample-data", "nowhere.parquet"], "--sample-data nowhere.parquet: "
                                                                                "no such file"),
    (["--endpoint", "http://127.0.0.1:1", "--stack", "nonexistent"], "Pulumi.nonexistent.yaml"),
])
def test_cli_exit_2_on_bad_usage(tmp_path: Path, args: list[str], message: str) -> None:
    code, output = run_cli(*args, "--report", str(tmp_path / "r.json"), "--project-dir", str(ROOT))
    assert code == EXIT_USAGE, output
    assert message in " ".join(output.split())
    assert not (tmp_path / "r.json").exists()


def test_cli_stack_gives_thresholds_and_the_subject(tmp_path: Path, rows_csv: Path) -> None:
    from runtime.config import load_stack

    pinned = load_stack("staging", ROOT).config
    out = tmp_path / "smoke.json"
    with serve_process("correct") as server:
        code, output = run_cli("--endpoint", server.url, "--stack", "staging", "--project-dir", str(ROOT),
                               "--sample-data", str(rows_csv), "--report", str(out))
    data = json.loads(out.read_text())
    assert code == EXIT_CODES[Verdict(data["verdict"])], output
    assert data["subject"] == {"endpoint": server.url, "stack": "staging", "model": pinned.model.name,
                               "version": pinned.model.version, "imageDigest": pinned.model.image_digest}
    assert data["details"]["latency"]["requests"] == pinned.smoke.requests
    thresholds = {c["name"]: c["threshold"] for c in data["checks"]}
    assert thresholds["latency p95"] == f"<= {pinned.smoke.p95_ms:g} ms"
    assert thresholds["latency p99"] == f"<= {pinned.smoke.p99_ms:g} ms"
    # Whatever this machine's load does to latency, the protocol checks pass.
    assert all(c["verdict"] == "PASS" for c in data["checks"] if not c["name"].startswith("latency")), output


def test_cli_load_mode_writes_a_load_report(tmp_path: Path, rows_csv: Path) -> None:
    out = tmp_path / "load.json"
    with serve_process("correct") as server:
        code, output = run_cli("--endpoint", server.url, "--load", "--rps", "30", "--duration", "1",
                               "--sample-data", str(rows_csv), "--report", str(out))
    assert code == EXIT_PASS, output
    data = json.loads(out.read_text())
    assert data["kind"] == "load"
    assert data["details"]["load"]["target_rps"] == 30


# Against a real MLflow scoring server ------------------------------------------------------------------------

@dataclass(frozen=True)
class Served:
    url: str
    tracking_uri: str
    model_uri: str
    """`models:/iris-smoke@candidate`: logged with signature and input example, version 1."""
    signature_only_uri: str
    """Same columns, logged with a signature but no input example."""
    workdir: Path



@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    workdir = tmp_path_factory.mktemp("mlflow-smoke")
    tracking_uri = f"sqlite:///{workdir}/mlflow.db"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    server: ManagedProcess | None = None
    try:
        frame = cast(Any, load_iris(as_frame=True)).frame
        features, target = frame.drop(columns="target"), frame["target"]
        model = LogisticRegression(max_iter=500).fit(features, target)
        signature = infer_signature(features, model.predict(features))
        # Artifacts under the tmp dir: MLflow's default root is ./mlruns relative to the working directory.
        experiment = mlflow.create_experiment("smoke", artifact_location=(workdir / "artifacts").as_uri())
        mlflow.set_experiment(experiment_id=experiment)
        with mlflow.start_run():
            mlflow.sklearn.log_model(model, name="model", signature=signature, input_example=features.head(3),
                                     pip_requirements=["scikit-learn"], registered_model_name="iris-smoke")
        mlflow.MlflowClient().set_registered_model_alias("iris-smoke", "candidate", "1")
        port = free_port()
        # The one serving command (what the image, ECS and EKS run), on loopback.
        env = {**serving.serving_environment(model_name="iris-smoke", model_version="1", image_digest=None,
                                             variant="baseline"),
               "MLFLOW_TRACKING_URI": tracking_uri, "HOME": str(workdir), "TMPDIR": str(workdir)}
        server = ManagedProcess("scoring server", serving.serve_argv("models:/iris-smoke@candidate", port=port,
                                                                     host="127.0.0.1", python=sys.executable),
                                port, workdir / "serve.log", env=env, cwd=workdir).start()
        # While the server starts (~15 s): the second model and the sample rows.
        with mlflow.start_run():
            bare = mlflow.sklearn.log_model(model, name="bare", signature=signature,
                                            pip_requirements=["scikit-learn"])
        frame.sample(20, random_state=0).to_csv(workdir / "iris.csv", index=False)
        mlflow.set_tracking_uri(previous)
        server.wait_ready("/ping", 90)
        url = server.url
        yield Served(url, tracking_uri, "models:/iris-smoke@candidate", bare.model_uri, workdir)
    finally:
        mlflow.set_tracking_uri(previous)
        if server is not None:
            server.stop()


# Generous latency thresholds: these tests are about the protocol, not about how busy this machine is.
REAL = {"readinessTimeoutSeconds": 30, "requestTimeoutSeconds": 10, "p50Ms": 1000, "p95Ms": 2000, "p99Ms": 4000,
        "requests": 100, "concurrency": 4}


@pytest.fixture(scope="module")
def mlflow_report(mlflow_server: Served) -> Report:
    import mlflow

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(mlflow_server.tracking_uri)
    try:
        payloads = from_model(mlflow_server.model_uri)
    finally:
        mlflow.set_tracking_uri(previous)
    return smoke_test(mlflow_server.url, config=config(**REAL), payloads=payloads)


@pytest.mark.slow
def test_mlflow_scoring_server_passes_the_smoke_test(mlflow_report: Report) -> None:
    import mlflow

    assert mlflow_report.verdict is Verdict.PASS, mlflow_report.summary_lines()
    assert mlflow_report.details["payloads"]["source"] == "model-example:models:/iris-smoke@candidate"
    assert check(mlflow_report, "endpoint /version").reason.endswith(mlflow.__version__)
    assert check(mlflow_report, "latency p99").observed is not None


@pytest.mark.slow
def test_mlflow_scoring_server_rejects_schema_violations_with_4xx(mlflow_report: Report) -> None:
    for name in ("rejects unknown-columns", "rejects wrong-types", "rejects not-a-scoring-request"):
        found = check(mlflow_report, name)
        assert (found.verdict, found.observed) == (Verdict.PASS, 400), found


@pytest.mark.slow
def test_mlflow_scoring_server_returns_one_prediction_per_row(mlflow_report: Report) -> None:
    batch = check(mlflow_report, "invocations model-example")
    single = check(mlflow_report, "invocations model-example-single-row")
    assert (batch.verdict, batch.observed, single.verdict, single.observed) == (Verdict.PASS, 3, Verdict.PASS, 1)


@pytest.mark.slow
def test_sample_data_columns_follow_the_signature(mlflow_server: Served) -> None:
    import mlflow

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(mlflow_server.tracking_uri)
    try:  # the CSV also holds the label column; the signature drops it
        payloads = resolve_payloads(samples=[], sample_data=mlflow_server.workdir / "iris.csv",
                                    model_uri=mlflow_server.model_uri, rows=7)
        synthetic = from_model(mlflow_server.signature_only_uri)
    finally:
        mlflow.set_tracking_uri(previous)
    assert payloads is not None
    assert "target" not in payloads.valid[0].body["dataframe_split"]["columns"]
    assert synthetic.source.startswith("model-signature:")
    for chosen, rows in ((payloads, 7), (synthetic, 5)):
        report = smoke_test(mlflow_server.url, config=config(**{**REAL, "requests": 20}), payloads=chosen)
        invocations = [c for c in report.checks if c.name.startswith(("invocations", "rejects"))]
        assert all(c.verdict is Verdict.PASS for c in invocations), report.summary_lines()
        assert invocations[0].observed == rows


IRIS_COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
PAYLOADS_FOR_IRIS = from_config([{"dataframe_split": {"columns": IRIS_COLUMNS,
                                                      "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}}])


@pytest.mark.slow
def test_mlflow_scoring_server_holds_a_low_fixed_rate(mlflow_server: Served) -> None:
    cfg = config(**REAL, load={"rps": 10, "durationSeconds": 3, "p95Ms": 2000})
    report = load_test(mlflow_server.url, config=cfg, payloads=PAYLOADS_FOR_IRIS)
    assert report.verdict is Verdict.PASS, report.summary_lines()
    assert report.details["load"]["scheduled"] == 30
    assert report.details["load"]["achieved_rps"] >= 9


@pytest.mark.slow
def test_cli_resolves_the_alias_into_the_reports_subject(mlflow_server: Served, tmp_path: Path) -> None:
    import mlflow

    out = tmp_path / "smoke.json"
    previous = mlflow.get_tracking_uri()
    try:  # the command sets MLflow's process-wide tracking URI from --tracking-uri
        code, output = run_cli("--endpoint", mlflow_server.url, "--model-uri", mlflow_server.model_uri,
                               "--tracking-uri", mlflow_server.tracking_uri, "--requests", "20", "--report",
                               str(out))
    finally:
        mlflow.set_tracking_uri(previous)
    data = json.loads(out.read_text())
    assert data["subject"] == {"endpoint": mlflow_server.url, "modelUri": mlflow_server.model_uri,
                               "model": "iris-smoke", "version": "1"}
    # 20 requests cannot estimate a p99: INCONCLUSIVE (exit 3) with everything else passing.
    assert code == EXIT_INCONCLUSIVE, output
    assert [c["name"] for c in data["checks"] if c["verdict"] != "PASS"] == ["latency p99"]
