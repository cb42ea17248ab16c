"""`mlcicd:registry:ImageRepository`: the ECR repository for model-serving images.

Security decisions (see docs/security.md): tags IMMUTABLE (an image digest pinned in production can
never be re-pointed by a push), scan on push, KMS encryption with the stack's key, `force_delete` false, and a
lifecycle policy that expires untagged images and caps the tagged count.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import defaults as d
from runtime.config import defaults as cfg_defaults
from runtime.promote.keep_image import KEEP_PROMOTED, PROMOTED_TAG_PREFIX

TYPE = "mlcicd:registry:ImageRepository"


@dataclass(frozen=True)
class ImageSource:
    """The repository a stack serves its image from (`<url>@<digest>`) and pulls with its roles: the one it
    creates (`ImageRepository.source`), or the repository of the stack that hosts the delivery pipeline
    (`pipeline_repository`), so a promoted stack runs the very image the pipeline built and tested."""

    repository_url: pulumi.Input[str]
    repository_arn: pulumi.Input[str]


_REPOSITORY_ARN = re.compile(r"^arn:(?P<partition>[\w-]+):ecr:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                             r"repository/(?P<name>.+)$")


def pipeline_repository(arn: str, dns_suffix: str) -> ImageSource:
    """The pipeline stack's repository from its ARN (`registry.imageRepositoryArn`); `dns_suffix` is the
    partition's (`amazonaws.com`, `amazonaws.com.cn`)."""
    match = _REPOSITORY_ARN.match(arn)
    if match is None:
        raise ValueError(f"not an ECR repository ARN: {arn!r} (arn:aws:ecr:<region>:<account>:repository/<name>)")
    url = f"{match['account']}.dkr.ecr.{match['region']}.{dns_suffix}/{match['name']}"
    return ImageSource(repository_url=url, repository_arn=arn)


@dataclass(frozen=True, kw_only=True)
class ImageRepositoryArgs:
    """What the repository is built from: each default beside its field; a field without one is required."""

    kms_key_arn: pulumi.Input[str]
    """KMS key for image encryption. Required (the stack's key from the ArtifactStore)."""
    mutable_tags: bool = cfg_defaults.MUTABLE_TAGS
    """Allow overwriting tags. Default False (IMMUTABLE)."""
    scan_on_push: bool = cfg_defaults.SCAN_ON_PUSH
    """Scan images for vulnerabilities on push. Default True."""
    untagged_expiry_days: int = cfg_defaults.ECR_UNTAGGED_EXPIRY_DAYS
    """Expire untagged images after this many days. Default 7."""
    max_tagged_images: int = cfg_defaults.ECR_MAX_TAGGED_IMAGES
    """Keep at most this many tagged images. Default 50."""
    protect: bool = d.PRODUCTION_PROTECTIONS
    """Pulumi `protect` on the repository (production, and the stack hosting the pipeline, whose repository holds
    the images production serves). Default False."""


class ImageRepository(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    repository_arn: pulumi.Output[str]
    repository_name: pulumi.Output[str]

    def __init__(self, name: str, args: ImageRepositoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        repo = aws.ecr.Repository(
            name,
            image_tag_mutability="MUTABLE" if args.mutable_tags else "IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=args.scan_on_push),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(
                encryption_type="KMS", kms_key=args.kms_key_arn)],
            force_delete=False,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle", repository=repo.name,
            policy=lifecycle_policy(args.untagged_expiry_days, args.max_tagged_images),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repository_url = repo.repository_url
        self.repository_arn = repo.arn
        self.repository_name = repo.name
        self.register_outputs({"repositoryUrl": self.repository_url, "repositoryArn": self.repository_arn})

    def source(self) -> ImageSource:
        return ImageSource(repository_url=self.repository_url, repository_arn=self.repository_arn)


def lifecycle_policy(untagged_days: int, max_tagged: int) -> str:
    """ECR lifecycle: promoted images (`promoted-*`, tagged by the Promote action) first, so no lower rule can
    expire them: only beyond the newest `KEEP_PROMOTED`; then untagged images after `untagged_days`; then tagged
    ones beyond the cap. A stack serving from this repository by digest keeps its image however many builds follow."""
    rules = [
        {"rulePriority": 1, "description": f"keep the {KEEP_PROMOTED} most recent promoted images (what the "
                                           "promoted stack serves, and its rollbacks)",
         "selection": {"tagStatus": "tagged", "tagPrefixList": [PROMOTED_TAG_PREFIX], "countType": "imageCountMoreThan",
                       "countNumber": KEEP_PROMOTED},
         "action": {"type": "expire"}},
        {"rulePriority": 2, "description": f"expire untagged images after {untagged_days} days",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                       "countNumber": untagged_days},
         "action": {"type": "expire"}},
        {"rulePriority": 3, "description": f"keep the {max_tagged} most recent tagged images",
         "selection": {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan",
                       "countNumber": max_tagged},
         "action": {"type": "expire"}},
    ]
    return json.dumps({"rules": rules}, sort_keys=True)
