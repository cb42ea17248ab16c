"""Judges of a recorded resource graph (what `mlcicd graph` captures), used by the graph tests and shared with the
policy-pack tests: provider-schema and AWS-enum validation, IAM linting, AWS naming limits and creation order.

Each judge is a pure function of a `Graph` returning findings that name the resource and the input path, so a test
can assert "no findings" on the shipped stacks and "this finding" on a deliberately broken copy.
"""

from __future__ import annotations

from tests.harness import ROOT, graph

#: The stacks every judge runs on: both shipped stack files and both fixtures (EKS serving, SageMaker tracking),
#: plus the configurations that create resources none of them do (CodeDeploy blue-green, a created VPC with
#: endpoints, OIDC on the tracking server, a pipeline next to SageMaker's MLflow, the data gate's Spark engine on EMR
#: Serverless).
JUDGED: dict[str, tuple[str, dict]] = {
    "staging": ("staging", {}),
    "production": ("production", {}),
    "eks": ("eks", {}),
    "sagemaker": ("sagemaker", {}),
    "blue-green": ("staging", {"serving": {"canary": {"strategy": "blue-green", "percent": 10}}}),
    "spark": ("staging", {"data": {"engine": "spark"}}),
    "created-vpc": ("staging", {"network": {"mode": "create", "vpcId": None, "privateSubnetIds": None}}),
    "oidc": ("staging", {"tracking": {"selfHosted": {"auth": {"mode": "oidc", "oidc": {
        "issuer": "https://login.example.com", "authorizationEndpoint": "https://login.example.com/authorize",
        "tokenEndpoint": "https://login.example.com/token", "userInfoEndpoint": "https://login.example.com/userinfo",
        "clientId": "mlflow", "clientSecret": "oidc-client-secret-for-tests"}}}}}),
}

__all__ = ["JUDGED", "ROOT", "graph"]
