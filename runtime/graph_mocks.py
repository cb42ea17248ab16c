"""What the mocked AWS provider answers while `mlcicd graph` runs the program: outputs a real provider would compute
(ARNs, URLs, DNS names) and the invokes the program makes, as deterministic functions of type, name and region, so
two runs produce the same bytes and ARNs flow into policies and exports as they would in a deployment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MOCK_ACCOUNT = "123456789012"
#: CIDR of an existing VPC looked up under mocks (`aws.ec2.get_vpc`).
MOCK_VPC_CIDR = "10.0.0.0/16"
#: The generated id in the ARNs (and ARN suffixes) of load balancers, target groups, listeners and their rules.
_LB_ID = "0123456789abcdef"


def _service(type_token: str) -> str:
    module = type_token.split(":")[1].split("/", maxsplit=1)[0]
    return {"cloudwatch": "logs", "appautoscaling": "application-autoscaling", "lb": "elasticloadbalancing",
            "alb": "elasticloadbalancing", "codestarconnections": "codeconnections"}.get(module, module.lower())


def mock_partition(region: str) -> tuple[str, str]:
    """ARN partition and endpoint DNS suffix of a region, as the provider's `getPartition` answers there."""
    if region.startswith("cn-"):
        return "aws-cn", "amazonaws.com.cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov", "amazonaws.com"
    return "aws", "amazonaws.com"


@dataclass(frozen=True)
class _Mocked:
    """One resource the mocked provider answers for: its Pulumi name, its physical name (`inputs["name"]` when the
    program sets one, else the Pulumi name), its inputs and its region."""

    name: str
    physical: str
    inputs: dict[str, Any]
    region: str

    def arn(self, service: str, resource: str) -> str:
        """`arn:<partition>:<service>:<region>:<account>:<resource>`, in the region's partition."""
        part, _ = mock_partition(self.region)
        return f"arn:{part}:{service}:{self.region}:{MOCK_ACCOUNT}:{resource}"


def mock_outputs(type_token: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """Deterministic outputs a real provider would compute, so ARNs and URLs flow into policies and exports (in the
    region's partition, so a GovCloud or China graph carries no `arn:aws:`)."""
    state = dict(inputs)
    r = _Mocked(name, inputs.get("name") or name, inputs, region)
    state.setdefault("name", r.physical)
    if type_token == "aws:s3/bucket:Bucket":
        state.update(_bucket_outputs(inputs.get("bucket") or name, region))
        return state
    state["arn"] = _arns(r).get(type_token) or _default_arn(type_token, r)
    state.update(_other_outputs(r).get(type_token, {}))
    return state


def _bucket_outputs(bucket: str, region: str) -> dict[str, Any]:
    """An S3 bucket's name, ARN (global: no region, no account) and regional domain name."""
    part, dns = mock_partition(region)
    return {"bucket": bucket, "arn": f"arn:{part}:s3:::{bucket}",
            "bucketRegionalDomainName": f"{bucket}.s3.{region}.{dns}"}


def _default_arn(type_token: str, r: _Mocked) -> str:
    """`<kind>/<physical name>` under the type's service; IAM's ARNs name no region."""
    kind = type_token.rsplit(":", 1)[-1]
    resource = f"{kind[0].lower()}{kind[1:]}/{r.physical}"
    if type_token.startswith("aws:iam/"):
        part, _ = mock_partition(r.region)
        return f"arn:{part}:iam::{MOCK_ACCOUNT}:{resource}"
    return r.arn(_service(type_token), resource)


def _arns(r: _Mocked) -> dict[str, str]:
    """The ARNs of the types whose ARN is not `_default_arn`, by type token."""
    name, res = r.name, r.physical
    return {
        "aws:kms/key:Key": r.arn("kms", f"key/{name}-key-id"),
        "aws:lb/loadBalancer:LoadBalancer": r.arn("elasticloadbalancing", f"loadbalancer/app/{res}/{_LB_ID}"),
        "aws:lb/targetGroup:TargetGroup": r.arn("elasticloadbalancing", f"targetgroup/{res}/{_LB_ID}"),
        "aws:lb/listener:Listener": r.arn("elasticloadbalancing", f"listener/app/{name}/{_LB_ID}/{_LB_ID}"),
        "aws:lb/listenerRule:ListenerRule": r.arn("elasticloadbalancing",
                                                  f"listener-rule/app/{name}/{_LB_ID}/{_LB_ID}/{_LB_ID}"),
        "aws:secretsmanager/secret:Secret": r.arn("secretsmanager", f"secret:{res}-AbCdEf"),
        "aws:cloudwatch/logGroup:LogGroup": r.arn("logs", f"log-group:{res}"),
        "aws:cloudwatch/metricAlarm:MetricAlarm": r.arn("cloudwatch", f"alarm:{res}"),
        "aws:cloudwatch/compositeAlarm:CompositeAlarm": r.arn("cloudwatch", f"alarm:{r.inputs.get('alarmName', name)}"),
        "aws:cloudwatch/eventRule:EventRule": r.arn("events", f"rule/{res}"),
        "aws:sns/topic:Topic": r.arn("sns", res),
        "aws:ecs/taskDefinition:TaskDefinition": r.arn("ecs", f"task-definition/{r.inputs.get('family', name)}:1"),
        "aws:emrserverless/application:Application": r.arn("emr-serverless", f"/applications/{name}-id"),
        "aws:ssm/parameter:Parameter": r.arn("ssm", f"parameter/{str(res).lstrip('/')}"),
        "aws:codepipeline/pipeline:Pipeline": r.arn("codepipeline", res),
        "aws:scheduler/schedule:Schedule": r.arn("scheduler", f"schedule/default/{res}"),
        "aws:glue/catalogDatabase:CatalogDatabase": r.arn("glue", f"database/{res}"),
        "aws:glue/catalogTable:CatalogTable": r.arn("glue", f"table/{r.inputs.get('databaseName')}/{res}"),
        "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": r.arn("firehose", f"deliverystream/{res}"),
        "aws:codestarnotifications/notificationRule:NotificationRule": r.arn("codestar-notifications",
                                                                             f"notificationrule/{res}"),
    }


def _other_outputs(r: _Mocked) -> dict[str, dict[str, Any]]:
    """The outputs besides the ARN that the program reads (URLs, DNS names, ids), by type token."""
    _, dns = mock_partition(r.region)
    res, region = r.physical, r.region
    return {
        "aws:ecr/repository:Repository": {"repositoryUrl": f"{MOCK_ACCOUNT}.dkr.ecr.{region}.{dns}/{res}",
                                          "registryId": MOCK_ACCOUNT},
        "aws:kms/key:Key": {"keyId": f"{r.name}-key-id"},
        "aws:lb/loadBalancer:LoadBalancer": {"dnsName": f"{res}.{region}.elb.amazonaws.com",
                                             "arnSuffix": f"app/{res}/{_LB_ID}", "zoneId": "Z0MOCKZONE"},
        "aws:lb/targetGroup:TargetGroup": {"arnSuffix": f"targetgroup/{res}/{_LB_ID}"},
        "aws:rds/instance:Instance": {"address": f"{res}.mock.{region}.rds.amazonaws.com",
                                      "endpoint": f"{res}.mock.{region}.rds.amazonaws.com:5432",
                                      "masterUserSecrets": [{"secretArn": r.arn("secretsmanager",
                                                                                f"secret:rds!{res}-AbCdEf"),
                                                             "kmsKeyId": "", "secretStatus": "active"}]},
        "aws:ecs/taskDefinition:TaskDefinition": {"revision": 1},
        "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": {
            "trackingServerUrl": f"https://{res}.mlflow.sagemaker.{region}.app.aws"},
        "aws:ec2/vpc:Vpc": {"cidrBlock": r.inputs.get("cidrBlock", "10.0.0.0/16")},
    }


def mock_call(token: str, args: dict[str, Any], region: str) -> dict[str, Any]:
    part, dns = mock_partition(region)
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": MOCK_ACCOUNT, "arn": f"arn:{part}:iam::{MOCK_ACCOUNT}:user/mock", "userId": "MOCK"}
    if token == "aws:index/getRegion:getRegion":
        return {"name": region, "region": region, "id": region}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": part, "dnsSuffix": dns}
    if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
        return {"names": [f"{region}{z}" for z in "abc"], "zoneIds": [f"z{z}" for z in "abc"]}
    if token == "aws:elb/getServiceAccount:getServiceAccount":
        return {"arn": f"arn:{part}:iam::156460612806:root", "id": "156460612806"}
    if token == "aws:secretsmanager/getRandomPassword:getRandomPassword":
        return {"randomPassword": "mock-random-password"}
    if token == "aws:ec2/getVpc:getVpc":
        # An existing VPC looked up by id: a fixed, recognisable CIDR stands in for the real one.
        return {"id": args.get("id", "vpc-mock"), "cidrBlock": MOCK_VPC_CIDR, "state": "available"}
    return {}
