"""What `promote` pins, and where: the version and digest (from the command line, else the source stack), and the
target stack file parsed for a byte-exact round trip, edited and validated; all before any evidence is read.
Anything that forbids the edit is a PromotionError (exit 2)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.promote import gather, stackfile
from runtime.promote.errors import PromotionError

if TYPE_CHECKING:
    from runtime.config import LoadedConfig, StackConfig
    from runtime.config.platform import ModelRefConfig


@dataclass(frozen=True)
class Plan:
    """The promotion worked out before any evidence is read: the files, what to pin and the edited, valid text."""

    target: str
    target_path: Path
    source_file: Path | None
    """The source stack file the version came from; None when --version was given."""
    source_label: str
    snapshot: stackfile.Snapshot
    previous: stackfile.ModelEntry
    what: gather.Target
    stage_kinds: tuple[str, ...]
    new_text: str
    config: StackConfig
    """The target stack's config as it will be after promotion."""

    @property
    def changed(self) -> bool:
        return self.new_text != self.snapshot.text


def plan_promotion(source: str, target: str, project_dir: Path | None, version: str | None,
                   image_digest: str | None) -> Plan:
    """Read both stacks and edit the target's model reference; PromotionError for anything that forbids the edit."""
    from runtime.config import project_root, stack_file

    root = project_dir or project_root()
    target_path = stack_file(target, root)
    source_path = stack_file(source, root)
    pins = _source_pins(source, root, source_path, version, image_digest)
    # The target stack file: parsed for a byte-exact round trip, edited, validated before anything is written.
    snapshot = stackfile.Snapshot.read(target_path)
    doc = stackfile.parse(snapshot)
    model_name = _target_model_name(doc, target, target_path, pins.model, source_path)
    new_text = stackfile.edit_model_ref(doc, pins.version, pins.image_digest)
    loaded = _validate(new_text, target_path)
    source_label = (f"stack `{source}` (`{source_path.name}`)" if version is None else
                    f"`--version {pins.version}`" + (" and `--image-digest`" if image_digest is not None else
                                                     f" with the image digest of stack `{source}`"))
    return Plan(target=target, target_path=target_path, source_file=source_path if version is None else None,
                source_label=source_label, snapshot=snapshot, previous=doc.model,
                what=gather.Target(model_name, pins.version, pins.image_digest), stage_kinds=pins.stage_kinds,
                new_text=new_text, config=loaded.config)


@dataclass(frozen=True)
class _SourcePins:
    """What is pinned, from the command line or the source stack, and what the source stack says about it."""

    version: str
    image_digest: str
    model: ModelRefConfig | None
    """The source stack's model section; None when both pins were given and the source stack file is absent."""
    stage_kinds: tuple[str, ...]
    """Reports the source stack's pipeline writes beyond the required ones (see `gather.stage_kinds`)."""


def _source_pins(source: str, root: Path, source_path: Path, version: str | None,
                 image_digest: str | None) -> _SourcePins:
    """The version and digest to pin: each from the command line, else from the source stack (read unless both
    were given and its file is absent); the digest comes from the source only for the source's own version."""
    from runtime.config import ConfigError, load_stack

    source_model = None
    stage_kinds: tuple[str, ...] = ()
    if source_path.is_file() or version is None or image_digest is None:
        try:
            source_cfg = load_stack(source, root).config
        except ConfigError as exc:
            raise PromotionError(f"source stack {source!r}: {exc}") from None
        source_model = source_cfg.model
        stage_kinds = gather.stage_kinds(source_cfg)
    chosen_version = version or (source_model.version if source_model else None)
    if chosen_version is None:
        raise PromotionError(f"{source_path.name} pins no model.version (only an alias); pass --version N")
    if image_digest is None:
        assert source_model is not None
        if source_model.version != chosen_version:
            raise PromotionError(f"--version {chosen_version} differs from {source_path.name}'s version "
                                 f"{source_model.version}, whose image digest belongs to that version; pass "
                                 "--image-digest for version " + chosen_version)
        image_digest = source_model.image_digest
        if image_digest is None:
            raise PromotionError(f"{source_path.name} pins no model.imageDigest; deploy version {chosen_version} "
                                 "to staging first, or pass --image-digest")
    return _SourcePins(chosen_version, image_digest, source_model, stage_kinds)


def _target_model_name(doc: stackfile.StackDocument, target: str, target_path: Path,
                       source_model: ModelRefConfig | None, source_path: Path) -> str:
    """The registered model the target stack serves; PromotionError when its file pins an alias in production or
    names no model, or a model other than the source stack's."""
    current = doc.model
    if current.alias is not None and (doc.environment == "production" or target == "production"):
        raise PromotionError(f"{target_path.name}: model.alias = {current.alias!r} is not allowed in production "
                             "(production serves an exact version, not an alias); remove the `alias` line, then "
                             "rerun promote")
    model_name = str(current.name) if current.name is not None else None
    if model_name is None:
        raise PromotionError(f"{target_path.name}: model.name is missing; set the registered model name")
    if source_model is not None and source_model.name != model_name:
        raise PromotionError(f"model names differ: {source_path.name} has {source_model.name!r}, "
                             f"{target_path.name} has {model_name!r}; promotion copies version and digest only")
    return model_name


def _validate(new_text: str, target_path: Path) -> LoadedConfig:
    """Validate the edited file with the stack model, exactly as `mlcicd config validate` reads it."""
    from runtime.config import ConfigError, validate_config
    from runtime.config.loader import read_stack_file

    with tempfile.TemporaryDirectory(prefix="mlcicd-promote-") as scratch:
        probe = Path(scratch) / target_path.name
        probe.write_text(new_text, encoding="utf-8")
        try:
            raw, _ = read_stack_file(probe)
            return validate_config(raw, str(target_path))
        except ConfigError as exc:
            problems = "\n".join(f"  - {p.render()}" for p in exc.problems)
            raise PromotionError(f"{target_path.name} would be invalid after promotion, so nothing was written "
                                 f"({len(exc.problems)} problem{'s' * (len(exc.problems) != 1)}):\n{problems}"
                                 ) from None
