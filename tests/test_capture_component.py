"""InferenceCapture and the serving side's capture wiring, asserted on the recorded inputs of the real stack files
(+ overrides) and the `eks` fixture."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime import metrics
from runtime import stack_outputs as out
from runtime.config import ConfigError, load_stack, validate_config
from runtime.graph import MOCK_ACCOUNT, Graph, Resource
from runtime.serving.settings import ENV_CAPTURE, CaptureSettings
from tests.harness import ROOT, graph, policy, stack_config

STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
TABLE = "aws:glue/catalogTable:CatalogTable"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
NAME = "ml-cicd-production-inference"
CAPTURE_OFF = {"monitoring": {"capture": {"enabled": False}, "quality": {"enabled": False}}}
EKS_CAPTURE = {"monitoring": {"capture": {"enabled": True, "inputSchema": [
    {"name": "tenure_months", "type": "long"}, {"name": "monthly_charges", "type": "double"},
    {"name": "contract", "type": "string"}, {"name": "age_band", "type": "string"}], "predictionType": "long"}}}


def _kids(g: Graph, type_token: str) -> list[Resource]:
    component = g.one("mlcicd:capture:InferenceCapture")
    return [r for r in g.children(component) if r.type == type_token]


def _settings(g: Graph, stack: str = "production") -> CaptureSettings:
    task = g.one("aws:ecs/taskDefinition:TaskDefinition", "model")
    [container] = json.loads(task.inputs["containerDefinitions"])
    env = {e["name"]: e["value"] for e in container["environment"]}
    found = CaptureSettings.from_env(env)
    assert found is not None, f"{stack}: no {ENV_CAPTURE} in the task definition"
    return found


def test_the_stream_is_direct_put_encrypted_and_converts_to_parquet(production: Graph) -> None:
    stream = production.one(STREAM).inputs
    key = production.outputs[out.KMS_KEY_ARN]
    assert stream["name"] == NAME
    assert stream["destination"] == "extended_s3"
    assert "kinesisSourceConfiguration" not in stream  # direct put
    assert stream["serverSideEncryption"] == {"enabled": True, "keyType": "CUSTOMER_MANAGED_CMK", "keyArn": key}
    s3 = stream["extendedS3Configuration"]
    assert s3["kmsKeyArn"] == key
    assert s3["prefix"] == "inference/model=churn-classifier/dt=!{timestamp:yyyy-MM-dd}/"
    assert s3["errorOutputPrefix"] == ("inference-errors/model=churn-classifier/!{firehose:error-output-type}/"
                                       "dt=!{timestamp:yyyy-MM-dd}/")
    assert s3["compressionFormat"] == "UNCOMPRESSED"
    assert s3["bufferingSize"] >= 64  # Parquet conversion's minimum
    conversion = s3["dataFormatConversionConfiguration"]
    assert conversion["enabled"] is True
    assert conversion["inputFormatConfiguration"]["deserializer"] == {"hiveJsonSerDe": {"timestampFormats": ["millis"]}}
    assert conversion["outputFormatConfiguration"]["serializer"] == {"parquetSerDe": {"compression": "SNAPPY"}}
    table = production.one(TABLE)
    assert conversion["schemaConfiguration"]["tableName"] == table.inputs["name"]
    assert conversion["schemaConfiguration"]["databaseName"] == table.inputs["databaseName"]
    assert s3["cloudwatchLoggingOptions"]["enabled"] is True


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_the_glue_table_is_what_the_servers_write(stack: str) -> None:
    """Firehose drops JSON fields the table lacks: the table and the servers' records come from one schema."""
    g = graph(stack)
    columns = [(c["name"], c["type"]) for c in g.one(TABLE).inputs["storageDescriptor"]["columns"]]
    settings = _settings(g, stack)
    assert columns == settings.schema(salt="churn-classifier").glue_columns()
    capture = load_stack(stack, ROOT).config.monitoring.capture
    assert settings.features == tuple((f.name, f.type) for f in capture.input_schema)
    assert settings.sample_percent == capture.sample_percent
    assert settings.stream == f"ml-cicd-{stack}-inference"
    assert [k["name"] for k in g.one(TABLE).inputs["partitionKeys"]] == ["model", "dt"]


def test_the_table_drops_and_hashes_as_configured() -> None:
    g = graph("production", {"monitoring": {"capture": {"dropFields": ["mean radius"], "hashFields": ["clinic"]}}})
    columns = {c["name"]: c["type"] for c in g.one(TABLE).inputs["storageDescriptor"]["columns"]}
    assert "mean_radius" not in columns
    assert "mean radius" not in columns
    assert columns["clinic"] == "string"
    assert _settings(g).drop_fields == ("mean radius",)


def test_the_delivery_role_writes_its_prefixes_only(production: Graph) -> None:
    [role_policy] = _kids(production, "aws:iam/rolePolicy:RolePolicy")
    statements = {s["Sid"]: s for s in policy(role_policy)["Statement"]}
    assert statements["WriteCaptures"]["Resource"] == ["arn:aws:s3:::artifacts-data/inference/*",
                                                       "arn:aws:s3:::artifacts-data/inference-errors/*"]
    assert statements["EncryptCaptures"]["Condition"]["StringEquals"] == {
        "kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    assert statements["ReadCaptureSchema"]["Resource"][0] == f"arn:aws:glue:eu-west-1:{MOCK_ACCOUNT}:catalog"
    assert all("*" not in a for s in statements.values() for a in s["Action"])
    assert all(r != "*" for s in statements.values() for r in s["Resource"])
    [role] = _kids(production, "aws:iam/role:Role")
    [trust] = policy(role, "assumeRolePolicy")["Statement"]
    assert trust["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT}}
    # Firehose validates the destination at creation: the stream waits for the role's policy.
    assert role_policy.urn in production.one(STREAM).dependencies


def test_dropped_captures_and_failed_conversions_alarm(production: Graph) -> None:
    alarms = {a.inputs["metricName"]: a.inputs for a in _kids(production, ALARM)}
    dropped = alarms[metrics.CAPTURE_DROPPED]
    assert dropped["namespace"] == load_stack("production", ROOT).config.alarms.model_quality.namespace
    assert dropped["dimensions"] == {"ModelName": "churn-classifier"}
    assert (dropped["statistic"], dropped["threshold"], dropped["treatMissingData"]) == ("Sum", 1, "notBreaching")
    topic = production.outputs[out.ALARM_TOPIC_ARN]
    assert dropped["alarmActions"] == dropped["okActions"] == [topic]
    assert alarms["FailedConversion.Records"]["dimensions"] == {"DeliveryStreamName": NAME}
    assert production.outputs[out.CAPTURE_ALARMS] == [f"{NAME}-dropped", f"{NAME}-failed-conversion"]


def test_capture_off_creates_nothing_and_tells_the_servers_nothing() -> None:
    g = graph("production", CAPTURE_OFF)
    assert g.of_type("mlcicd:capture:InferenceCapture") == []
    assert g.of_type(STREAM) == []
    [container] = json.loads(g.one("aws:ecs/taskDefinition:TaskDefinition", "model").inputs["containerDefinitions"])
    assert ENV_CAPTURE not in {e["name"] for e in container["environment"]}


# EKS: the model pods' own role, and the variant label ---------------------------------------------------------
def test_eks_pods_get_a_role_to_put_to_the_stream_and_their_variant() -> None:
    g = graph("eks", EKS_CAPTURE)
    role = next(r for r in g.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "model-model-capture")
    statements = {s["Sid"]: s for s in policy(role)["Statement"]}
    assert statements["PutInferenceCaptures"]["Action"] == ["firehose:PutRecord", "firehose:PutRecordBatch"]
    assert statements["PutInferenceCaptures"]["Resource"] == [
        f"arn:aws:firehose:eu-west-1:{MOCK_ACCOUNT}:deliverystream/ml-cicd-eks-inference"]
    association = next(r for r in g.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                       if r.name == "model-model")
    assert association.inputs["serviceAccount"] == "churn-classifier"
    rollout = g.one("kubernetes:argoproj.io/v1alpha1:Rollout").inputs["spec"]
    assert rollout["strategy"]["canary"]["canaryMetadata"] == {"labels": {"mlcicd.io/variant": "canary"}}
    assert rollout["strategy"]["canary"]["stableMetadata"] == {"labels": {"mlcicd.io/variant": "baseline"}}
    pod: dict[str, Any] = rollout["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["MLCICD_VARIANT_FILE"] == "/etc/podinfo/labels"
    assert CaptureSettings.from_env(env) is not None
    assert {"name": "podinfo", "mountPath": "/etc/podinfo", "readOnly": True} in container["volumeMounts"]
    without = graph("eks")
    assert not any(r.name == "model-model" for r in without.of_type("aws:iam/role:Role"))


# Config --------------------------------------------------------------------------------------------------------
def _problems(capture: dict[str, Any]) -> str:
    raw = stack_config("staging", {"monitoring": {"capture": capture}})
    with pytest.raises(ConfigError) as caught:
        validate_config(raw, "test")
    return str(caught.value)


def test_config_requires_a_usable_schema() -> None:
    assert "ml-cicd:monitoring.capture.inputSchema" in _problems({"inputSchema": []})
    assert "mlcicd capture schema" in _problems({"inputSchema": []})
    assert "dropFields lists 'postcode', which is not an input feature" in _problems({"dropFields": ["postcode"]})
    assert "a capture field" in _problems({"inputSchema": [{"name": "status", "type": "long"}]})
    assert "samplePercent" in _problems({"samplePercent": 101})
