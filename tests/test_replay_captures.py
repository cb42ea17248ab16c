"""Reading a window of captures and drawing the replay sample (runtime/replay/captures.py, sample.py), on Parquet
partitions written as Firehose writes them (tests/capture_files.py), locally and from moto S3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from runtime.errors import ConfigurationError, UsageError
from runtime.replay import captures, sample
from tests.capture_aws import client
from tests.capture_files import traffic, write_partitions

END = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def window(hours: float = 72) -> captures.Window:
    return captures.Window.last_hours(hours, END)


def test_every_object_of_every_day_in_the_window_is_read_and_records_outside_are_dropped(tmp_path: Path) -> None:
    records = traffic(900, model="m", end=END, days=5)
    written = write_partitions(records, tmp_path, per_object=100)
    table, objects = captures.read_window(str(tmp_path), "m", window(72))
    stamps = table.column("timestamp").to_pylist()
    inside = [r for r in records if window(72).start_ms <= r["timestamp"] < window(72).end_ms]
    assert objects < len(written)  # days outside the window are not even listed
    assert len(stamps) == len(inside)
    assert min(stamps) >= window(72).start_ms


def test_timestamps_as_int96_and_as_epoch_milliseconds_read_alike(tmp_path: Path) -> None:
    records = traffic(10, model="m", end=END, days=1, multi_row_every=0)
    write_partitions(records, tmp_path)
    day = datetime.fromtimestamp(records[0]["timestamp"] / 1000, UTC).date().isoformat()
    plain = pa.table({k: [r[k] for r in records] for k in records[0]})  # timestamp stays int64 ms
    pq.write_table(plain, tmp_path / "model=m" / f"dt={day}" / "late.parquet")
    table, _ = captures.read_window(str(tmp_path), "m", window(48))
    assert sorted(table.column("timestamp").to_pylist()) == sorted(r["timestamp"] for r in records * 2)


def test_a_column_added_later_reads_as_null_in_older_objects(tmp_path: Path) -> None:
    old = traffic(5, model="m", end=END, days=1, multi_row_every=0)
    new = [{**r, "inference_id": r["inference_id"] + "-n", "discount": 0.1} for r in old]
    write_partitions(old, tmp_path)
    write_partitions(new, tmp_path)
    table, _ = captures.read_window(str(tmp_path), "m", window(48))
    assert table.column("discount").null_count == 5


def test_a_non_parquet_object_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    write_partitions(traffic(3, model="m", end=END, days=1), tmp_path)
    day = next((tmp_path / "model=m").iterdir())
    (day / "stray.json").write_text("{}")
    with pytest.raises(UsageError, match=r"stray\.json is not a Parquet capture object"):
        captures.read_window(str(tmp_path), "m", window(48))


def test_allocation_is_proportional_with_at_least_one_per_stratum() -> None:
    sizes = {"a": 1000, "b": 10, "c": 1}
    quota = sample.allocate(sizes, 100)
    assert sum(quota.values()) == 100
    assert quota["c"] == 1
    assert quota["a"] > 90
    assert sample.allocate(sizes, 5000) == sizes


def test_the_sample_covers_every_day_and_variant_and_is_reproducible(tmp_path: Path) -> None:
    write_partitions(traffic(600, model="m", end=END, days=3), tmp_path)
    table, _ = captures.read_window(str(tmp_path), "m", window(72))
    rows, drawn = sample.draw(table, 50, ["day", "variant"], seed=4)
    again, _ = sample.draw(table, 50, ["day", "variant"], seed=4)
    assert len(set(rows["inference_id"])) == 50
    assert list(rows["inference_id"]) == list(again["inference_id"])
    assert {k for k, (_, d) in drawn.strata.items() if d > 0} == set(drawn.strata)
    assert len({k.split("/")[1] for k in drawn.strata}) == 2
    assert drawn.available == 600


def test_failed_requests_are_not_replayed(tmp_path: Path) -> None:
    records = traffic(40, model="m", end=END, days=1, multi_row_every=0)
    for record in records[:10]:
        record["status"] = 400
    write_partitions(records, tmp_path)
    table, _ = captures.read_window(str(tmp_path), "m", window(48))
    rows, drawn = sample.draw(table, 100, ["day"], seed=0)
    assert drawn.available == 30
    assert set(rows["status"]) == {200}


def test_requests_are_rebuilt_row_by_row_under_the_model_s_feature_names() -> None:
    rows = pd.DataFrame({"inference_id": ["b", "a", "a"], "row": [0, 1, 0], "tenure_months": [3, 2, 1],
                         "monthly_charges": [9.5, float("nan"), 7.5], "region": ["x", "y", "z"]})
    columns = sample.feature_columns(rows, ["tenure_months", "monthly_charges", "region"], None)
    requests = sample.build_requests(rows.sort_values(["inference_id", "row"]), columns, segment="region")
    assert [r.inference_id for r in requests] == ["a", "b"]
    assert requests[0].rows == ((1, 7.5, "z"), (2, None, "y"))
    assert requests[0].segments == ("z", "y")
    assert b'"data": [[1, 7.5, "z"], [2, null, "y"]]' in requests[0].body()


def test_features_missing_from_the_captures_are_a_config_error() -> None:
    rows = pd.DataFrame({"inference_id": ["a"], "row": [0], "tenure_months": [1]})
    with pytest.raises(ConfigurationError, match="region"):
        sample.feature_columns(rows, ["tenure_months", "region"], None)
    with pytest.raises(ConfigurationError, match="hashFields"):
        sample.feature_columns(rows, ["tenure_months"], None, unusable=["customer_id"])


def test_labels_join_per_request_or_per_row_and_the_later_file_wins(tmp_path: Path) -> None:
    (tmp_path / "2025-03-01.csv").write_text("inference_id,label\na,0\nb,1\n")
    (tmp_path / "2025-03-02.csv").write_text("inference_id,label\na,1\n")
    rows = pd.DataFrame({"inference_id": ["a", "a", "b", "c"], "row": [0, 1, 0, 0]})
    labels = sample.label_map(captures.read_labels(str(tmp_path)), rows, None)
    assert labels == {("a", 0): 1, ("a", 1): 1, ("b", 0): 1}
    per_row = pd.DataFrame({"inference_id": ["a"], "row": [1], "label": [7]})
    assert sample.label_map(per_row, rows, None) == {("a", 1): 7}


def test_captures_and_labels_read_from_s3(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.harness import use_fake_aws

    use_fake_aws(monkeypatch, "eu-west-1", moto_url)
    s3 = client(moto_url, "s3")
    s3.create_bucket(Bucket="replay-data", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    records = traffic(50, model="m", end=END, days=2)
    for path in write_partitions(records, tmp_path / "local"):
        s3.upload_file(str(path), "replay-data", f"inference/{path.relative_to(tmp_path / 'local').as_posix()}")
    s3.put_object(Bucket="replay-data", Key="labels/day1.csv", Body=b"inference_id,label\nx,1\n")
    table, objects = captures.read_window("s3://replay-data/inference/", "m", window(72))
    local, _ = captures.read_window(str(tmp_path / "local"), "m", window(72))
    assert objects >= 2
    assert table.num_rows == local.num_rows == len(records)
    assert captures.read_labels("s3://replay-data/labels/").to_dict("records") == [{"inference_id": "x", "label": 1}]


def test_window_days_span_midnight() -> None:
    w = captures.Window(END - timedelta(hours=13), END)
    assert [d.isoformat() for d in w.days()] == ["2025-03-09", "2025-03-10"]
