"""Keep the promoted image: the Promote action tags the candidate's image `promoted-v<version>` in the pipeline's
repository, and that repository's lifecycle policy never expires a `promoted-*` image before the newest
`KEEP_PROMOTED` of them (components/registry/image_repository.py), however many builds come after. Production
serves this image from here by digest (`registry.imageRepositoryArn`): without the tag, the count rule for tagged
images would expire it after enough newer builds, and the next task production starts could not pull it.

Tags are IMMUTABLE, so a tag is added once: adding it again to the same image is a no-op, and a tag that already
names another image is an error (a version built twice with different digests).
"""

from __future__ import annotations

from typing import Any

from runtime.errors import InvalidValue

#: The tag prefix the lifecycle policy keeps (its first rule).
PROMOTED_TAG_PREFIX = "promoted-"
#: How many `promoted-*` images the lifecycle policy keeps (the oldest beyond expire).
KEEP_PROMOTED = 1000


def promoted_tag(version: str) -> str:
    return f"{PROMOTED_TAG_PREFIX}v{version}"


def keep_promoted(ecr: Any, repository: str, digest: str, version: str) -> str:
    """Tag the image `digest` in `repository` `promoted-v<version>` (its manifest put again under the tag); what
    was done. InvalidValue when the image does not exist or the tag names another image."""
    from botocore.exceptions import ClientError

    tag = promoted_tag(version)
    found = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageDigest": digest}])
    if not found.get("images"):
        reasons = "; ".join(f.get("failureReason", "") for f in found.get("failures", []))
        raise InvalidValue(f"{repository}@{digest}: no such image ({reasons or 'not found'}); was it pushed to this "
                           "repository?")
    image = found["images"][0]
    try:
        ecr.put_image(repositoryName=repository, imageManifest=image["imageManifest"], imageTag=tag,
                      imageDigest=digest, **({"imageManifestMediaType": image["imageManifestMediaType"]}
                                             if image.get("imageManifestMediaType") else {}))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code not in ("ImageAlreadyExistsException", "ImageTagAlreadyExistsException"):
            raise
        holder = _tagged_digest(ecr, repository, tag)
        if holder != digest:
            raise InvalidValue(f"{repository}:{tag} already names {holder}, not {digest}: tags are immutable; "
                               "was this version built twice?") from exc
        return f"{repository}@{digest} is already tagged {tag}"
    return f"tagged {repository}@{digest} {tag}: the lifecycle policy keeps it"


def _tagged_digest(ecr: Any, repository: str, tag: str) -> str | None:
    images = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}]).get("imageDetails", [])
    return images[0].get("imageDigest") if images else None
