"""Rules that need more than one stack file's sections: the stack's own name (who hosts the pipeline, AWS name
limits) and the project's other stack files (one pipeline per repository and branch).

`validate_config(..., stack=S)` runs `stack_rules`; `load_stack` and the program also pass the project root, and
then the loader reads the other `Pulumi.*.yaml` files of the project for `sibling_pipeline_problems` (this module
reads no file: the loader imports it, never the reverse).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from runtime.config.findings import Finding, Problem

#: Pulumi project name when none is known (the `name:` of this repository's Pulumi.yaml).
DEFAULT_PROJECT = "ml-cicd"

#: Stack names the program can build every AWS name from: letters, digits and single hyphens, starting with a
#: letter, not ending with a hyphen (the RDS final snapshot `<stack>-tracking-final` and CodeBuild project names
#: allow nothing else).
STACK_NAME = re.compile(r"^[A-Za-z](?:-?[A-Za-z0-9])*$")

#: The physical names the program builds from the project and stack names that come closest to an AWS limit
#: (every other name it builds is shorter, or has a higher limit). `tests/test_graph_names.py` builds the graph of
#: the longest stack name this table accepts and checks EVERY name in it against AWS's limits, so a component that
#: adds a longer name fails there until the template is added here.
NAME_TEMPLATES: tuple[tuple[str, str, int], ...] = (
    ("EventBridge rule (drift retrain)", "{project}-{stack}-drift-retrain", 64),
    ("EventBridge Scheduler schedule (drift)", "{project}-{stack}-drift-job", 64),
    ("EventBridge Scheduler schedule (batch)", "{project}-{stack}-batch-job", 64),
    ("CodeStar notification rule (pipeline)", "{project}-{stack}-delivery", 64),
    ("CodeDeploy deployment config", "{project}-{stack}-model-canary-50pct-1440min", 100),
    ("CodePipeline pipeline", "{project}-{stack}-delivery", 100),
)

#: Kubernetes object names are DNS labels (63); the longest the EKS backend derives from the model name is
#: `<model>-canary-judge`, and the derived name may gain a 2-character prefix (`m-`) when the name starts with a
#: digit.
K8S_LABEL_LIMIT = 63
K8S_LONGEST_SUFFIX = "-canary-judge"
EKS_MODEL_NAME_MAX = K8S_LABEL_LIMIT - len(K8S_LONGEST_SUFFIX) - 2


def max_stack_name_length(project: str = DEFAULT_PROJECT) -> int:
    """The longest stack name whose every templated name stays within its AWS limit."""
    return min(limit - len(template.format(project=project, stack="")) for _, template, limit in NAME_TEMPLATES)


def stack_rules(sections: dict[str, Any], stack: str, project: str = DEFAULT_PROJECT) -> Iterator[Finding]:
    yield from _stack_name(stack, project)
    yield from _pipeline_hosting(sections, stack)
    yield from _eks_model_name(sections)


def _stack_name(stack: str, project: str) -> Iterator[Finding]:
    longest = max_stack_name_length(project)
    if not STACK_NAME.match(stack):
        yield Problem("(stack name)", f"stack `{stack}`: use letters, digits and single hyphens, starting with a "
                      "letter (the RDS final snapshot and CodeBuild project names are built from it); rename the "
                      "stack with `pulumi stack rename`", stack, has_value=True)
    elif len(stack) > longest:
        name, template, limit = min(NAME_TEMPLATES, key=lambda t: t[2] - len(t[1].format(project=project, stack="")))
        yield Problem("(stack name)", f"stack `{stack}` is {len(stack)} characters; at most {longest} fit AWS's "
                      f"limit of {limit} for the {name} `{template.format(project=project, stack=stack)}`; rename "
                      "the stack with `pulumi stack rename`", stack, has_value=True)


def _pipeline_hosting(sections: dict[str, Any], stack: str) -> Iterator[Finding]:
    pipeline = sections.get("pipeline")
    if pipeline is None or pipeline.deploy_stack == stack:
        return
    yield Problem("pipeline", f"stack `{stack}` may not host the pipeline: the pipeline is hosted by the stack it "
                  f"deploys (`pipeline.deployStack` = `{pipeline.deploy_stack}`), whose buckets, image repository "
                  f"and MLflow its actions use. Remove `ml-cicd:pipeline` from this stack (set `monitoring.source` "
                  "for its scheduled jobs and `monitoring.drift.retrainPipelineArn` to retrain through the hosting "
                  "stack's pipeline)")


def _eks_model_name(sections: dict[str, Any]) -> Iterator[Finding]:
    serving, model = sections.get("serving"), sections.get("model")
    if serving is None or model is None or serving.backend != "eks" or len(model.name) <= EKS_MODEL_NAME_MAX:
        return
    yield Problem("model.name", f"is {len(model.name)} characters; with `serving.backend: eks` at most "
                  f"{EKS_MODEL_NAME_MAX} fit: Kubernetes names are DNS labels of at most {K8S_LABEL_LIMIT} "
                  f"characters and the longest one is `<model>{K8S_LONGEST_SUFFIX}`", model.name, has_value=True)


def sibling_pipeline_problems(others: Mapping[str, Mapping[str, Any]],
                              sections: dict[str, Any]) -> Iterator[Finding]:
    """A second stack file of the project with a pipeline on the same repository and branch is an error.
    `others`: file name -> raw top-level keys of each OTHER stack file of the project."""
    pipeline = sections.get("pipeline")
    if pipeline is None:
        return
    for name, raw in sorted(others.items()):
        section = raw.get("pipeline")
        if not isinstance(section, dict):
            continue
        if section.get("repository") == pipeline.repository and section.get("branch", "main") == pipeline.branch:
            yield Problem("pipeline", f"{name} also configures a pipeline on {pipeline.repository}@"
                          f"{pipeline.branch}: every push would start two trainings and two `pulumi up` racing for "
                          f"the stack lock. One pipeline owns delivery: keep it in the stack it deploys "
                          f"(`deployStack`, here `{pipeline.deploy_stack}`) and remove `ml-cicd:pipeline` from "
                          f"the other file")
