"""`mlcicd:capture:InferenceCapture`: where the serving processes' capture records go, and the alarm on losing them.

Creates:
- a Glue database and table whose columns are the capture fields, the model's input features and the prediction
  (`runtime.serving.records.CaptureSchema.glue_columns`, from `monitoring.capture.inputSchema`): the schema
  Firehose converts records against (it silently drops JSON fields the table lacks);
- an Amazon Data Firehose delivery stream, direct put, to the data bucket: JSON records converted to Parquet
  (Hive JSON SerDe with epoch-millisecond timestamps, Snappy), under
  `<prefix>model=<model>/dt=!{timestamp:yyyy-MM-dd}/`, failures under
  `<error prefix>model=<model>/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/`;
- its delivery role (objects under those two prefixes only, the stack key through S3 only, the Glue table, its
  own log stream) and a log group for delivery errors (retention, encrypted with the stack key);
- two alarms: sampled requests the serving processes dropped (`CaptureRequestsDropped`, published by them) and
  records Firehose failed to convert (`FailedConversion.Records`: a schema mismatch), to the alarm topic.

Security decisions (see docs/security.md): the stream is encrypted at rest with the stack's KMS key
(CUSTOMER_MANAGED_CMK) and objects with SSE-KMS under the same key; the delivery error log group is encrypted with
it too; the delivery role is trusted by Firehose for this account only, and its ARNs and KMS via-service condition
take the provider's partition and DNS suffix (GovCloud, China); the stream waits for the role's policy; the
serving side's permission (put to this stream only) is `components.capture.policies.producer_statements`, granted
by the ModelService to its task role or service account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components import defaults as d
from components.aws_common import log_group as encrypted_log_group
from components.aws_common import partition_of
from components.capture import policies
from components.iam import account_trust_policy, output_document
from runtime import metrics as m
from runtime.config import defaults as cfg_defaults

TYPE = "mlcicd:capture:InferenceCapture"
K = aws.kinesis
_CONVERSION = K.FirehoseDeliveryStreamExtendedS3ConfigurationDataFormatConversionConfigurationArgs
_INPUT = K.FirehoseDeliveryStreamExtendedS3ConfigurationDataFormatConversionConfigurationInputFormatConfigurationArgs
_OUTPUT = K.FirehoseDeliveryStreamExtendedS3ConfigurationDataFormatConversionConfigurationOutputFormatConfigurationArgs
_SCHEMA = K.FirehoseDeliveryStreamExtendedS3ConfigurationDataFormatConversionConfigurationSchemaConfigurationArgs
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
#: Hive-style partitions of the prefix (the readers take them as columns).
PARTITION_KEYS = ("model", "dt")
#: Seconds of the dropped-requests alarm's period (the serving processes publish every 60 s and at shutdown).
ALARM_PERIOD_SECONDS = 300


def data_prefix(prefix: str, model_name: str) -> str:
    return f"{prefix}model={model_name}/dt=!{{timestamp:yyyy-MM-dd}}/"


def error_prefix(prefix: str, model_name: str) -> str:
    return f"{prefix}model={model_name}/!{{firehose:error-output-type}}/dt=!{{timestamp:yyyy-MM-dd}}/"


def glue_name(value: str) -> str:
    """Glue database and table names: lowercase letters, digits, underscores."""
    return re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_")[:255]


@dataclass(frozen=True, kw_only=True)
class InferenceCaptureArgs:
    """What the capture is built from. Each default is set here, once, beside its field; a field without one is
    required (the constructor names a missing one)."""

    stream_name: str
    """Delivery stream name (deterministic, so the ModelService can be granted it before it exists). Required."""
    model_name: str
    """Registered model name: the `model=` partition and the alarm dimension. Required."""
    columns: list[tuple[str, str]]
    """Glue columns (name, Hive type) of the table: `CaptureSchema.glue_columns()`. Required."""
    region: str
    """Region of the stack (Glue schema lookup, KMS via-service condition). Required."""
    account_id: pulumi.Input[str]
    """This account: the delivery role's trust is pinned to it. Required."""
    data_bucket: pulumi.Input[str]
    """Bucket name the captures land in (the stack's data bucket). Required."""
    data_bucket_arn: pulumi.Input[str]
    """Its ARN (the delivery role may write under the two prefixes only). Required."""
    kms_key_arn: pulumi.Input[str]
    """Stack KMS key: stream encryption at rest and SSE-KMS of the objects. Required."""
    prefix: str = cfg_defaults.DRIFT_INFERENCE_PREFIX
    """Key prefix of the captures. Default `inference/` (`monitoring.drift.inferencePrefix`)."""
    error_prefix: str = d.CAPTURE_ERROR_PREFIX
    """Key prefix of records Firehose could not convert or deliver. Default `inference-errors/`."""
    buffer_seconds: int = cfg_defaults.CAPTURE_DELIVERY_BUFFER_SECONDS
    """Firehose buffering interval. Default 300 (`monitoring.capture.deliveryBufferSeconds`)."""
    buffer_mib: int = cfg_defaults.CAPTURE_DELIVERY_BUFFER_MIB
    """Firehose buffering size (at least 64 with Parquet conversion). Default 128."""
    log_retention_days: int = cfg_defaults.LOG_RETENTION_DAYS_OTHER
    """Retention of the delivery error log group (encrypted with the stack key). Default 30."""
    metrics_namespace: str = cfg_defaults.MODEL_METRICS_NAMESPACE
    """Namespace of `CaptureRequestsDropped`. Default `MLCICD/Model`."""
    alarm_topic_arn: pulumi.Input[str] | None = None
    """Topic notified when an alarm fires and clears. Default None (no notification)."""


class InferenceCapture(pulumi.ComponentResource):
    stream_name: pulumi.Output[str]
    stream_arn: pulumi.Output[str]
    database_name: pulumi.Output[str]
    table_name: pulumi.Output[str]
    alarm_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: InferenceCaptureArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        if args.buffer_mib < 64:
            raise ValueError(f"InferenceCapture {name}: args.buffer_mib must be >= 64 (Parquet conversion)")
        prefixes = (args.prefix, args.error_prefix)
        schema = _glue_schema(self, name, args, prefix=prefixes[0])
        delivery = _delivery_role(self, name, args, prefixes=prefixes, schema=schema)
        stream = _stream(self, name, args, prefixes=prefixes, schema=schema, delivery=delivery)
        dropped, conversion = _alarms(self, name, args)

        self.stream_name = stream.name
        self.stream_arn = stream.arn
        self.database_name = schema.database.name
        self.table_name = schema.table.name
        self.alarm_names = pulumi.Output.all(dropped.name, conversion.name)
        self.register_outputs({"streamName": self.stream_name, "streamArn": self.stream_arn,
                               "databaseName": self.database_name, "tableName": self.table_name,
                               "alarmNames": self.alarm_names})


class _Schema(NamedTuple):
    database: aws.glue.CatalogDatabase
    table: aws.glue.CatalogTable


class _Delivery(NamedTuple):
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    """The role's policy: the stream waits for it."""
    log_group: aws.cloudwatch.LogGroup
    log_stream: aws.cloudwatch.LogStream


def _glue_schema(parent: pulumi.Resource, name: str, args: InferenceCaptureArgs, *, prefix: str) -> _Schema:
    """The Glue database and the Parquet table at `prefix`, partitioned by model and day: the schema Firehose
    converts records against."""
    child = pulumi.ResourceOptions(parent=parent)
    stream, model = args.stream_name, args.model_name
    database = aws.glue.CatalogDatabase(f"{name}-database", name=glue_name(f"{stream}_db"),
                                        description=f"Inference captures of {stream}", opts=child)
    table = aws.glue.CatalogTable(
        f"{name}-table", name=glue_name(model), database_name=database.name, table_type="EXTERNAL_TABLE",
        description=f"Inference captures of {model}: capture fields, input features, prediction",
        parameters={"classification": "parquet", "EXTERNAL": "TRUE"},
        partition_keys=[aws.glue.CatalogTablePartitionKeyArgs(name=k, type="string") for k in PARTITION_KEYS],
        storage_descriptor=aws.glue.CatalogTableStorageDescriptorArgs(
            location=pulumi.Output.concat("s3://", args.data_bucket, "/", prefix),
            input_format=PARQUET_INPUT, output_format=PARQUET_OUTPUT,
            ser_de_info=aws.glue.CatalogTableStorageDescriptorSerDeInfoArgs(
                serialization_library=PARQUET_SERDE, parameters={"serialization.format": "1"}),
            columns=[aws.glue.CatalogTableStorageDescriptorColumnArgs(name=n, type=t) for n, t in args.columns]),
        opts=child)
    return _Schema(database, table)


def _delivery_role(parent: pulumi.Resource, name: str, args: InferenceCaptureArgs, *, prefixes: tuple[str, str],
                   schema: _Schema) -> _Delivery:
    """The error log (encrypted, retained) and the delivery role, trusted by Firehose for this account only,
    writing under the data and error `prefixes` only, reading the Glue `schema`."""
    child = pulumi.ResourceOptions(parent=parent)
    stream, model, region, key_arn = args.stream_name, args.model_name, args.region, args.kms_key_arn
    partition, dns_suffix = partition_of(parent)
    log_group = encrypted_log_group(
        f"{name}-errors", retention_days=args.log_retention_days, kms_key_arn=key_arn, parent=parent)
    log_stream = aws.cloudwatch.LogStream(f"{name}-errors", name="DestinationDelivery",
                                          log_group_name=log_group.name, opts=child)
    trust = account_trust_policy("firehose.amazonaws.com", args.account_id)
    role = aws.iam.Role(f"{name}-delivery", assume_role_policy=trust,
                        description=f"Firehose {stream}: write captures of {model}, read their Glue schema", opts=child)
    policy = aws.iam.RolePolicy(f"{name}-delivery", role=role.id, policy=output_document(
        pulumi.Output.all(args.data_bucket_arn, key_arn, schema.database.arn, schema.table.arn, log_group.arn,
                          args.account_id).apply(
            lambda a: policies.delivery_statements(
                bucket_arn=a[0], prefixes=list(prefixes), kms_key_arn=a[1], region=region, dns_suffix=dns_suffix,
                glue=[policies.catalog_arn(partition, region, a[5]), a[2], a[3]],
                log_stream_arn=f"{a[4]}:log-stream:DestinationDelivery"))),
        opts=child)
    return _Delivery(role, policy, log_group, log_stream)


def _stream(parent: pulumi.Resource, name: str, args: InferenceCaptureArgs, *, prefixes: tuple[str, str],
            schema: _Schema, delivery: _Delivery) -> K.FirehoseDeliveryStream:
    """The direct-put stream, encrypted with the stack key, delivering Parquet under the data prefix and failures
    under the error prefix; created once its role's policy exists."""
    key_arn, model = args.kms_key_arn, args.model_name
    return K.FirehoseDeliveryStream(
        f"{name}-stream", name=args.stream_name, destination="extended_s3",
        server_side_encryption=K.FirehoseDeliveryStreamServerSideEncryptionArgs(
            enabled=True, key_type="CUSTOMER_MANAGED_CMK", key_arn=key_arn),
        extended_s3_configuration=K.FirehoseDeliveryStreamExtendedS3ConfigurationArgs(
            role_arn=delivery.role.arn, bucket_arn=args.data_bucket_arn, kms_key_arn=key_arn,
            prefix=data_prefix(prefixes[0], model), error_output_prefix=error_prefix(prefixes[1], model),
            buffering_interval=args.buffer_seconds, buffering_size=args.buffer_mib,
            compression_format="UNCOMPRESSED",  # Parquet compresses itself (Snappy); required with conversion
            cloudwatch_logging_options=K.FirehoseDeliveryStreamExtendedS3ConfigurationCloudwatchLoggingOptionsArgs(
                enabled=True, log_group_name=delivery.log_group.name, log_stream_name=delivery.log_stream.name),
            data_format_conversion_configuration=_parquet_conversion(schema, role=delivery.role,
                                                                     region=args.region)),
        # The role must be able to read the schema and write before Firehose validates the destination.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[delivery.policy]))


def _parquet_conversion(schema: _Schema, *, role: aws.iam.Role, region: str) -> _CONVERSION:
    """JSON records (epoch-millisecond timestamps) to Snappy Parquet, against the Glue table's latest version."""
    return _CONVERSION(
        enabled=True,
        input_format_configuration=_INPUT(deserializer=K.FirehoseDeliveryStreamExtendedS3ConfigurationDataFormatConversionConfigurationInputFormatConfigurationDeserializerArgs(
            hive_json_ser_de=K.FirehoseDeliveryStreamExtendedS3ConfigurationDataFormatConversionConfigurationInputFormatConfigurationDeserializerHiveJsonSerDeArgs(
                timestamp_formats=["millis"]))),
        output_format_configuration=_OUTPUT(serializer=K.FirehoseDeliveryStreamExtendedS3ConfigurationDataFormatConversionConfigurationOutputFormatConfigurationSerializerArgs(
            parquet_ser_de=K.FirehoseDeliveryStreamExtendedS3ConfigurationDataFormatConversionConfigurationOutputFormatConfigurationSerializerParquetSerDeArgs(
                compression="SNAPPY"))),
        schema_configuration=_SCHEMA(database_name=schema.database.name, table_name=schema.table.name,
                                     role_arn=role.arn, region=region, version_id="LATEST"))


def _alarms(parent: pulumi.Resource, name: str,
            args: InferenceCaptureArgs) -> tuple[aws.cloudwatch.MetricAlarm, aws.cloudwatch.MetricAlarm]:
    """Sampled requests the serving processes dropped, and records Firehose failed to convert; to the topic."""
    child = pulumi.ResourceOptions(parent=parent)
    stream, model = args.stream_name, args.model_name
    topic = args.alarm_topic_arn
    actions = [topic] if topic is not None else []
    dropped = aws.cloudwatch.MetricAlarm(
        f"{name}-dropped", name=f"{stream}-dropped",
        alarm_description=f"Serving processes of {model} dropped sampled requests instead of capturing them "
                          "(buffer full, Firehose unreachable or throttling, or not delivered at shutdown).",
        namespace=args.metrics_namespace, metric_name=m.CAPTURE_DROPPED,
        dimensions={m.DIMENSION_MODEL: model},
        statistic="Sum", period=ALARM_PERIOD_SECONDS, evaluation_periods=1, datapoints_to_alarm=1,
        comparison_operator="GreaterThanOrEqualToThreshold", threshold=1,
        # No datapoint: no process published a drop (they publish only when a count changed).
        treat_missing_data="notBreaching", actions_enabled=True, alarm_actions=actions, ok_actions=actions,
        opts=child)
    conversion = aws.cloudwatch.MetricAlarm(
        f"{name}-conversion", name=f"{stream}-failed-conversion",
        alarm_description=f"Firehose could not convert captures of {model} to Parquet (the Glue table and the "
                          "records disagree); the records are under the error prefix.",
        namespace="AWS/Firehose", metric_name="FailedConversion.Records",
        dimensions={"DeliveryStreamName": stream}, statistic="Sum", period=ALARM_PERIOD_SECONDS,
        evaluation_periods=1, datapoints_to_alarm=1, comparison_operator="GreaterThanOrEqualToThreshold",
        threshold=1, treat_missing_data="notBreaching", actions_enabled=True, alarm_actions=actions,
        ok_actions=actions, opts=child)
    return dropped, conversion
