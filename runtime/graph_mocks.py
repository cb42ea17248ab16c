"""What the mocked AWS provider answers while `mlcicd graph` runs the program: outputs a real provider would compute
(ARNs, URLs, DNS names) and the invokes the program makes, as deterministic functions of type, name and region, so
two runs produce the same bytes and ARNs flow into policies and exports as they would in a deployment."""

from __future__ import annotations

from typing import Any

MOCK_ACCOUNT = "123456789012"
#: CIDR of an existing VPC looked up under mocks (`aws.ec2.get_vpc`).
MOCK_VPC_CIDR = "10.0.0.0/16"


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


def mock_outputs(type_token: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """Deterministic outputs a real provider would compute, so ARNs and URLs flow into policies and exports (in the
    region's partition, so a GovCloud or China graph carries no `arn:aws:`)."""
    acct = MOCK_ACCOUNT
    state = dict(inputs)
    resource_name = inputs.get("name") or name
    state.setdefault("name", resource_name)
    kind = type_token.rsplit(":", 1)[-1]
    service = _service(type_token)
    part, dns = mock_partition(region)
    arn = f"arn:{part}:{service}:{region}:{acct}:{kind[0].lower()}{kind[1:]}/{resource_name}"
    if type_token == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or name
        state.update(bucket=bucket, arn=f"arn:{part}:s3:::{bucket}", bucketRegionalDomainName=f"{bucket}.s3.{region}"
                     f".{dns}")
        return state
    if type_token.startswith("aws:iam/"):
        arn = f"arn:{part}:iam::{acct}:{kind[0].lower()}{kind[1:]}/{resource_name}"
    extras: dict[str, dict[str, Any]] = {
        "aws:ecr/repository:Repository": {"repositoryUrl": f"{acct}.dkr.ecr.{region}.{dns}/{resource_name}",
                                          "registryId": acct},
        "aws:kms/key:Key": {"keyId": f"{name}-key-id", "arn": f"arn:{part}:kms:{region}:{acct}:key/{name}-key-id"},
        "aws:lb/loadBalancer:LoadBalancer": {
            "arn": f"arn:{part}:elasticloadbalancing:{region}:{acct}:loadbalancer/app/{resource_name}/0123456789abcdef",
            "dnsName": f"{resource_name}.{region}.elb.amazonaws.com",
            "arnSuffix": f"app/{resource_name}/0123456789abcdef", "zoneId": "Z0MOCKZONE"},
        "aws:lb/targetGroup:TargetGroup": {
            "arn": f"arn:{part}:elasticloadbalancing:{region}:{acct}:targetgroup/{resource_name}/0123456789abcdef",
            "arnSuffix": f"targetgroup/{resource_name}/0123456789abcdef"},
        "aws:rds/instance:Instance": {"address": f"{resource_name}.mock.{region}.rds.amazonaws.com",
                                      "endpoint": f"{resource_name}.mock.{region}.rds.amazonaws.com:5432",
                                      "masterUserSecrets": [{"secretArn": f"arn:{part}:secretsmanager:{region}:{acct}"
                                                             f":secret:rds!{resource_name}-AbCdEf",
                                                             "kmsKeyId": "", "secretStatus": "active"}]},
        "aws:secretsmanager/secret:Secret": {"arn": f"arn:{part}:secretsmanager:{region}:{acct}:secret:"
                                                    f"{resource_name}-AbCdEf"},
        "aws:cloudwatch/logGroup:LogGroup": {"arn": f"arn:{part}:logs:{region}:{acct}:log-group:{resource_name}"},
        "aws:sns/topic:Topic": {"arn": f"arn:{part}:sns:{region}:{acct}:{resource_name}"},
        "aws:ecs/cluster:Cluster": {"arn": f"arn:{part}:ecs:{region}:{acct}:cluster/{resource_name}"},
        "aws:ecs/taskDefinition:TaskDefinition": {"arn": f"arn:{part}:ecs:{region}:{acct}:task-definition/"
                                                         f"{inputs.get('family', name)}:1", "revision": 1},
        "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": {
            "trackingServerUrl": f"https://{resource_name}.mlflow.sagemaker.{region}.app.aws"},
        "aws:codebuild/project:Project": {"arn": f"arn:{part}:codebuild:{region}:{acct}:project/{resource_name}"},
        "aws:emrserverless/application:Application": {
            "arn": f"arn:{part}:emr-serverless:{region}:{acct}:/applications/{name}-id"},
        "aws:ssm/parameter:Parameter": {"arn": f"arn:{part}:ssm:{region}:{acct}:parameter/"
                                               f"{str(resource_name).lstrip('/')}"},
        "aws:codepipeline/pipeline:Pipeline": {"arn": f"arn:{part}:codepipeline:{region}:{acct}:{resource_name}"},
        "aws:ec2/vpc:Vpc": {"cidrBlock": inputs.get("cidrBlock", "10.0.0.0/16")},
        "aws:cloudwatch/metricAlarm:MetricAlarm": {
            "arn": f"arn:{part}:cloudwatch:{region}:{acct}:alarm:{resource_name}"},
        "aws:cloudwatch/compositeAlarm:CompositeAlarm": {
            "arn": f"arn:{part}:cloudwatch:{region}:{acct}:alarm:{inputs.get('alarmName', name)}"},
        "aws:lb/listener:Listener": {"arn": f"arn:{part}:elasticloadbalancing:{region}:{acct}:listener/app/{name}/"
                                            "0123456789abcdef/0123456789abcdef"},
        "aws:lb/listenerRule:ListenerRule": {"arn": f"arn:{part}:elasticloadbalancing:{region}:{acct}:listener-rule/"
                                                    f"app/{name}/0123456789abcdef/0123456789abcdef/0123456789abcdef"},
        "aws:ecs/service:Service": {"arn": f"arn:{part}:ecs:{region}:{acct}:service/{resource_name}"},
        "aws:cloudwatch/eventRule:EventRule": {"arn": f"arn:{part}:events:{region}:{acct}:rule/{resource_name}"},
        "aws:scheduler/schedule:Schedule": {"arn": f"arn:{part}:scheduler:{region}:{acct}:schedule/default/"
                                                   f"{resource_name}"},
        "aws:glue/catalogDatabase:CatalogDatabase": {
            "arn": f"arn:{part}:glue:{region}:{acct}:database/{resource_name}"},
        "aws:glue/catalogTable:CatalogTable": {
            "arn": f"arn:{part}:glue:{region}:{acct}:table/{inputs.get('databaseName')}/{resource_name}"},
        "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": {
            "arn": f"arn:{part}:firehose:{region}:{acct}:deliverystream/{resource_name}"},
        "aws:codestarnotifications/notificationRule:NotificationRule": {
            "arn": f"arn:{part}:codestar-notifications:{region}:{acct}:notificationrule/{resource_name}"},
    }
    state["arn"] = arn
    state.update(extras.get(type_token, {}))
    return state


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
