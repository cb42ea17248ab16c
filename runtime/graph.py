"""Run the Pulumi program in-process under recording mocks and capture the resource graph (its format:
docs/architecture.md, "The offline graph").

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
from runtime.graph_mocks import MOCK_ACCOUNT, MOCK_VPC_CIDR, mock_call, mock_outputs

__all__ = ["MOCK_ACCOUNT", "MOCK_VPC_CIDR", "SECRET", "Graph", "Resource", "build_graph", "mock_outputs"]

PROJECT = "ml-cicd"
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


_LOOP: asyncio.AbstractEventLoop | None = None
#: The SDKs of the `infra` extra (`pip install 'ml-cicd[infra]'`); the runtime commands need none of them.
INFRA_PACKAGES = ("pulumi", "pulumi_aws", "pulumi_kubernetes")


def require_infra_extra(what: str) -> None:
    """UsageError naming the extra to install when a Pulumi SDK is missing (a slim install has none)."""
    import importlib.util

    from runtime.errors import UsageError

    def absent(name: str) -> bool:
        try:
            return importlib.util.find_spec(name) is None
        except ImportError:
            return True

    missing = [name for name in INFRA_PACKAGES if absent(name)]
    if missing:
        raise UsageError(f"{what} and needs the Pulumi SDKs ({', '.join(missing)} not installed); install the infra "
                         "extra: pip install 'ml-cicd[infra]' (or '.[infra]' in a checkout)")


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


def _as_the_program_reads(raw: dict[str, Any]) -> dict[str, Any]:
    """The config values as `load_from_pulumi` reads them back from `_config_values` (objects parsed, scalars as
    strings), so a check here sees exactly what the program will."""
    prefix = f"{NAMESPACE}:"
    return {key[len(prefix):]: json.loads(value) if value[:1] in "{[" else value
            for key, value in _config_values(raw).items()}


def build_graph(stack: str, root: Path | None = None, raw_config: dict[str, Any] | None = None,
                secret_keys: frozenset[str] = frozenset()) -> Graph:
    """Run the project's program (`main` in `Pulumi.yaml`) for `stack` under recording mocks. `root` is the
    project directory (default: the nearest with a Pulumi.yaml); `raw_config` overrides the stack file (tests).

    Raises ConfigError when the config is invalid (the program validates before registering anything), and
    UsageError when the Pulumi SDKs (the `infra` extra) are not installed.
    """
    require_infra_extra("mlcicd graph runs the Pulumi program")
    import pulumi
    from pulumi.runtime import settings as pulumi_settings

    from runtime.config.loader import ConfigError, project_root, read_stack_file, stack_file, validate_config
    from runtime.program import program_path, run_program

    project_dir = root or project_root()
    if raw_config is None:
        raw_config, secret_keys = read_stack_file(stack_file(stack, project_dir))
    # The program validates first too; checking here reports a bad config even where the program is missing.
    try:
        validate_config(_as_the_program_reads(raw_config), "Pulumi config", stack=stack, project=PROJECT,
                        root=project_dir)
    except ConfigError as exc:
        exc.registered_resources = 0
        raise
    program_dir = program_path(project_dir)
    recorded = Graph(project=PROJECT, stack=stack)
    pulumi_settings.ROOT.set(None)
    _use_graph_loop()
    _install_recording_mocks(recorded, region=str(raw_config.get("region", "us-east-1")))
    pulumi.runtime.set_all_config(_config_values(raw_config),
                                  secret_keys=[f"{NAMESPACE}:{k}" for k in sorted(secret_keys)])

    async def collect_exports() -> None:
        root = pulumi_settings.get_root_resource()
        for key, value in dict(getattr(root, "outputs", {})).items():
            output = pulumi.Output.from_input(value)
            recorded.outputs[key] = SECRET if await output.is_secret() else _plain(await output.future())

    def program() -> Any:
        run_program(program_dir, project_dir)
        return collect_exports()

    try:
        pulumi.runtime.test(program)()
    except pulumi.RunError as exc:
        # The program validates config before registering anything; surface the ConfigError itself.
        if isinstance(exc.__cause__, ConfigError):
            exc.__cause__.registered_resources = len(recorded.resources)
            raise exc.__cause__ from None
        raise
    recorded.resources.sort(key=lambda r: r.urn)
    recorded.outputs = dict(sorted(recorded.outputs.items()))
    return recorded


def _install_recording_mocks(graph: Graph, *, region: str) -> None:
    """Pulumi's mocks with deterministic provider answers for `region`, and its mock monitor subclassed to record
    every `RegisterResource` request, the root stack's outputs and the program's warnings into `graph`."""
    import pulumi
    from google.protobuf import json_format
    from pulumi.runtime import mocks as pulumi_mocks

    class Mocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
            return f"{args.name}-id", mock_outputs(args.typ, args.name, args.inputs, region)

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
            return mock_call(args.token, args.args, region), []

    class Monitor(pulumi_mocks.MockMonitor):
        def make_urn(self, parent: str, type_: str, name: str) -> str:
            """Like the engine: the qualified type carries the whole parent chain; the root stack is no parent."""
            if parent and not _is_root(parent):
                type_ = parent.split("::")[2] + "$" + type_
            return "urn:pulumi:" + "::".join([graph.stack, PROJECT, type_, name])

        def RegisterResource(self, request: Any) -> Any:
            response = super().RegisterResource(request)
            if request.type != "pulumi:pulumi:Stack":
                graph.resources.append(_recorded(request, response.urn))
            return response

        def RegisterResourceOutputs(self, request: Any) -> Any:
            if _is_root(request.urn):
                graph.outputs.update(_plain(json_format.MessageToDict(request.outputs)))
            return super().RegisterResourceOutputs(request)

    class Logger:
        def warning(self, message: str, *args: Any) -> None:
            graph.warnings.append(message)

        def debug(self, *args: Any) -> None: ...
        def info(self, *args: Any) -> None: ...
        def error(self, message: str, *args: Any) -> None:
            graph.warnings.append(message)

    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=graph.stack, preview=False, monitor=Monitor(mocks),
                             logger=Logger())  # type: ignore[arg-type]


def _recorded(request: Any, urn: str) -> Resource:
    """One `RegisterResource` request as the graph records it."""
    from google.protobuf import json_format

    parent = None if not request.parent or _is_root(request.parent) else request.parent
    return Resource(
        urn=urn,
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
    )
