"""Run the Pulumi program in-process under recording mocks and capture the resource graph (design.md section 5).

No credentials and no Pulumi CLI are needed: Pulumi's own mock monitor stands in for the engine, and a subclass
records every `RegisterResource` request (parent, dependencies, per-property dependencies, inputs as Pulumi
serialises them). The same capture drives `mlcicd graph`, the unit tests and the snapshot files.

Secure config values (`{secure: ...}`) cannot be decrypted here: they read as "[secret]", are marked secret,
and every input that carries a secret is written as "[secret]".
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.config.base import NAMESPACE

PROJECT = "ml-cicd"
MOCK_ACCOUNT = "123456789012"
#: CIDR of an existing VPC looked up under mocks (`aws.ec2.get_vpc`).
MOCK_VPC_CIDR = "10.0.0.0/16"
SECRET = "[secret]"
UNKNOWN = "[unknown]"

# Pulumi's wire-format signatures (pulumi/runtime/rpc.py).
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270"
_SIG_RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e"
_SIG_ASSET = "c44067f5952c0a294b673a41bacd8c17"
_SIG_ARCHIVE = "0def7320c3a5731c473e5ecbe6d01bc7"
_UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass(frozen=True)
class Resource:
    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str | None = None
    custom: bool = True
    protect: bool = False
    """Resource options are not part of the graph format but tests assert on them."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "inputs": self.inputs,
            "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies,
        }


@dataclass
class Graph:
    project: str
    stack: str
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"project": self.project, "stack": self.stack, "resources": [r.to_dict() for r in self.resources]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"

    # Queries used by tests and tools ------------------------------------------------------------------------
    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name_contains: str = "") -> Resource:
        found = [r for r in self.of_type(type_token) if name_contains in r.name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_token)]
            raise LookupError(f"expected one {type_token} named *{name_contains}*, found {len(found)}: {names}")
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise LookupError(urn)

    def children(self, parent: Resource) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def types(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.resources:
            counts[r.type] = counts.get(r.type, 0) + 1
        return dict(sorted(counts.items()))


def _plain(value: Any) -> Any:
    """Pulumi's serialised property value -> plain JSON: secrets masked, references as URNs, floats tidied."""
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SIG_SECRET:
            return SECRET
        if sig == _SIG_RESOURCE:
            return value.get("urn")
        if sig == _SIG_ASSET:
            return {"asset": value.get("path") or value.get("uri") or "<text>"}
        if sig == _SIG_ARCHIVE:
            return {"archive": value.get("path") or value.get("uri") or "<assets>"}
        return {k: _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == _UNKNOWN_VALUE:
        return UNKNOWN
    return value


def _service(type_token: str) -> str:
    module = type_token.split(":")[1].split("/", maxsplit=1)[0]
    return {"cloudwatch": "logs", "appautoscaling": "application-autoscaling", "lb": "elasticloadbalancing",
            "alb": "elasticloadbalancing", "codestarconnections": "codeconnections"}.get(module, module.lower())


def mock_outputs(type_token: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """Deterministic outputs a real provider would compute, so ARNs and URLs flow into policies and exports."""
    acct = MOCK_ACCOUNT
    state = dict(inputs)
    resource_name = inputs.get("name") or name
    state.setdefault("name", resource_name)
    kind = type_token.rsplit(":", 1)[-1]
    service = _service(type_token)
    arn = f"arn:aws:{service}:{region}:{acct}:{kind[0].lower()}{kind[1:]}/{resource_name}"
    if type_token == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or name
        state.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}", bucketRegionalDomainName=f"{bucket}.s3.{region}"
                     ".amazonaws.com")
        return state
    if type_token.startswith("aws:iam/"):
        arn = f"arn:aws:iam::{acct}:{kind[0].lower()}{kind[1:]}/{resource_name}"
    extras: dict[str, dict[str, Any]] = {
        "aws:ecr/repository:Repository": {"repositoryUrl": f"{acct}.dkr.ecr.{region}.amazonaws.com/{resource_name}",
                                          "registryId": acct},
        "aws:kms/key:Key": {"keyId": f"{name}-key-id", "arn": f"arn:aws:kms:{region}:{acct}:key/{name}-key-id"},
        "aws:lb/loadBalancer:LoadBalancer": {"dnsName": f"{resource_name}.{region}.elb.amazonaws.com",
                                             "arnSuffix": f"app/{resource_name}/0123456789abcdef",
                                             "zoneId": "Z0MOCKZONE"},
        "aws:lb/targetGroup:TargetGroup": {"arnSuffix": f"targetgroup/{resource_name}/0123456789abcdef"},
        "aws:rds/instance:Instance": {"address": f"{resource_name}.mock.{region}.rds.amazonaws.com",
                                      "endpoint": f"{resource_name}.mock.{region}.rds.amazonaws.com:5432",
                                      "masterUserSecrets": [{"secretArn": f"arn:aws:secretsmanager:{region}:{acct}"
                                                             f":secret:rds!{resource_name}-AbCdEf",
                                                             "kmsKeyId": "", "secretStatus": "active"}]},
        "aws:secretsmanager/secret:Secret": {"arn": f"arn:aws:secretsmanager:{region}:{acct}:secret:"
                                                    f"{resource_name}-AbCdEf"},
        "aws:cloudwatch/logGroup:LogGroup": {"arn": f"arn:aws:logs:{region}:{acct}:log-group:{resource_name}"},
        "aws:sns/topic:Topic": {"arn": f"arn:aws:sns:{region}:{acct}:{resource_name}"},
        "aws:ecs/cluster:Cluster": {"arn": f"arn:aws:ecs:{region}:{acct}:cluster/{resource_name}"},
        "aws:ecs/taskDefinition:TaskDefinition": {"arn": f"arn:aws:ecs:{region}:{acct}:task-definition/"
                                                         f"{inputs.get('family', name)}:1", "revision": 1},
        "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": {
            "trackingServerUrl": f"https://{resource_name}.mlflow.sagemaker.{region}.app.aws"},
        "aws:codebuild/project:Project": {"arn": f"arn:aws:codebuild:{region}:{acct}:project/{resource_name}"},
        "aws:codepipeline/pipeline:Pipeline": {"arn": f"arn:aws:codepipeline:{region}:{acct}:{resource_name}"},
        "aws:ec2/vpc:Vpc": {"cidrBlock": inputs.get("cidrBlock", "10.0.0.0/16")},
        "aws:cloudwatch/metricAlarm:MetricAlarm": {"arn": f"arn:aws:cloudwatch:{region}:{acct}:alarm:{resource_name}"},
        "aws:cloudwatch/compositeAlarm:CompositeAlarm": {
            "arn": f"arn:aws:cloudwatch:{region}:{acct}:alarm:{inputs.get('alarmName', name)}"},
        "aws:lb/listener:Listener": {"arn": f"arn:aws:elasticloadbalancing:{region}:{acct}:listener/app/{name}/"
                                            "0123456789abcdef/0123456789abcdef"},
        "aws:lb/listenerRule:ListenerRule": {"arn": f"arn:aws:elasticloadbalancing:{region}:{acct}:listener-rule/"
                                                    f"app/{name}/0123456789abcdef/0123456789abcdef/0123456789abcdef"},
        "aws:ecs/service:Service": {"arn": f"arn:aws:ecs:{region}:{acct}:service/{resource_name}"},
        "aws:cloudwatch/eventRule:EventRule": {"arn": f"arn:aws:events:{region}:{acct}:rule/{resource_name}"},
        "aws:scheduler/schedule:Schedule": {"arn": f"arn:aws:scheduler:{region}:{acct}:schedule/default/"
                                                   f"{resource_name}"},
        "aws:glue/catalogDatabase:CatalogDatabase": {"arn": f"arn:aws:glue:{region}:{acct}:database/{resource_name}"},
        "aws:glue/catalogTable:CatalogTable": {
            "arn": f"arn:aws:glue:{region}:{acct}:table/{inputs.get('databaseName')}/{resource_name}"},
        "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": {
            "arn": f"arn:aws:firehose:{region}:{acct}:deliverystream/{resource_name}"},
        "aws:codestarnotifications/notificationRule:NotificationRule": {
            "arn": f"arn:aws:codestar-notifications:{region}:{acct}:notificationrule/{resource_name}"},
    }
    state["arn"] = arn
    state.update(extras.get(type_token, {}))
    return state


def _mock_call(token: str, args: dict[str, Any], region: str) -> dict[str, Any]:
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": MOCK_ACCOUNT, "arn": f"arn:aws:iam::{MOCK_ACCOUNT}:user/mock", "userId": "MOCK"}
    if token == "aws:index/getRegion:getRegion":
        return {"name": region, "region": region, "id": region}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        return {"names": [f"{region}{z}" for z in "abc"], "zoneIds": [f"z{z}" for z in "abc"]}
    if token == "aws:elb/getServiceAccount:getServiceAccount":
        return {"arn": "arn:aws:iam::156460612806:root", "id": "156460612806"}
    if token == "aws:secretsmanager/getRandomPassword:getRandomPassword":
        return {"randomPassword": "mock-random-password"}
    if token == "aws:ec2/getVpc:getVpc":
        # An existing VPC looked up by id: a fixed, recognisable CIDR stands in for the real one.
        return {"id": args.get("id", "vpc-mock"), "cidrBlock": MOCK_VPC_CIDR, "state": "available"}
    return {}


_LOOP: asyncio.AbstractEventLoop | None = None


def _use_graph_loop() -> None:
    """Pulumi's SDK needs a current event loop on this thread; `asyncio.run` elsewhere in the process (the smoke
    test, a server fixture) leaves none. One loop, reused for every graph, so none is ever leaked."""
    global _LOOP  # noqa: PLW0603 - one loop per process, created on first use
    if _LOOP is None or _LOOP.is_closed():
        _LOOP = asyncio.new_event_loop()
    asyncio.set_event_loop(_LOOP)


def _is_root(urn: str) -> bool:
    return "::pulumi:pulumi:Stack::" in urn


def _config_values(raw: dict[str, Any]) -> dict[str, str]:
    """Stack-file values as Pulumi hands them to a program: objects as JSON strings, scalars as strings."""
    out: dict[str, str] = {}
    for key, value in raw.items():
        full = f"{NAMESPACE}:{key}"
        out[full] = json.dumps(value) if isinstance(value, dict | list) else str(value)
    return out


def build_graph(stack: str, root: Path | None = None, raw_config: dict[str, Any] | None = None,
                secret_keys: frozenset[str] = frozenset()) -> Graph:
    """Run the program for `stack` under recording mocks. `raw_config` overrides the stack file (tests).

    Raises ConfigError when the config is invalid (the program validates before registering anything).
    """
    import pulumi
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime import settings as pulumi_settings

    from runtime.config.loader import ConfigError, read_stack_file, stack_file

    if raw_config is None:
        raw_config, secret_keys = read_stack_file(stack_file(stack, root))
    region = str(raw_config.get("region", "us-east-1"))
    records: list[Resource] = []
    warnings: list[str] = []
    outputs: dict[str, Any] = {}

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
            return f"{args.name}-id", mock_outputs(args.typ, args.name, args.inputs, region)

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
            return _mock_call(args.token, args.args, region), []

    class Monitor(pulumi_mocks.MockMonitor):
        def make_urn(self, parent: str, type_: str, name: str) -> str:
            """Like the engine: the qualified type carries the whole parent chain; the root stack is no parent."""
            if parent and not _is_root(parent):
                type_ = parent.split("::")[2] + "$" + type_
            return "urn:pulumi:" + "::".join([stack, PROJECT, type_, name])

        def RegisterResource(self, request: Any) -> Any:
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                from google.protobuf import json_format

                parent = None if not request.parent or _is_root(request.parent) else request.parent
                records.append(Resource(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    parent=parent,
                    inputs=_plain(json_format.MessageToDict(request.object)),
                    dependencies=sorted(set(request.dependencies)),
                    property_dependencies={k: sorted(set(v.urns)) for k, v in
                                           sorted(request.propertyDependencies.items()) if v.urns},
                    provider=request.provider.rsplit("::", 1)[0] if request.provider else None,
                    custom=bool(request.custom),
                    protect=bool(request.protect),
                ))
            return response

        def RegisterResourceOutputs(self, request: Any) -> Any:
            from google.protobuf import json_format

            if _is_root(request.urn):
                outputs.update(_plain(json_format.MessageToDict(request.outputs)))
            return super().RegisterResourceOutputs(request)

    class Logger:
        def warning(self, message: str, *args: Any) -> None:
            warnings.append(message)

        def debug(self, *args: Any) -> None: ...
        def info(self, *args: Any) -> None: ...
        def error(self, message: str, *args: Any) -> None:
            warnings.append(message)

    pulumi_settings.ROOT.set(None)
    _use_graph_loop()
    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=Monitor(mocks),
                             logger=Logger())  # type: ignore[arg-type]
    pulumi.runtime.set_all_config(_config_values(raw_config),
                                  secret_keys=[f"{NAMESPACE}:{k}" for k in sorted(secret_keys)])

    from infra.program import run as run_program

    async def collect_exports() -> None:
        root = pulumi_settings.get_root_resource()
        for key, value in dict(getattr(root, "outputs", {})).items():
            output = pulumi.Output.from_input(value)
            outputs[key] = SECRET if await output.is_secret() else _plain(await output.future())

    def program() -> Any:
        run_program()
        return collect_exports()

    try:
        pulumi.runtime.test(program)()
    except pulumi.RunError as exc:
        # The program validates config before registering anything; surface the ConfigError itself.
        if isinstance(exc.__cause__, ConfigError):
            exc.__cause__.registered_resources = len(records)
            raise exc.__cause__ from None
        raise
    records.sort(key=lambda r: r.urn)
    return Graph(project=PROJECT, stack=stack, resources=records, outputs=dict(sorted(outputs.items())),
                 warnings=warnings)
