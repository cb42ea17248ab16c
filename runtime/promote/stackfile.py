"""Round-trip edit of a stack file's model reference: only `model.version` and `model.imageDigest` change.

ruamel.yaml keeps comments, blank lines, key order, flow collections and quoting. Two invariants are checked on
every edit rather than trusted: the untouched file must dump back byte for byte with the indentation settings
chosen (otherwise the file is refused: a person edits it), and the edited text may differ from the original only
in the lines of those two keys, with every other value equal after parsing.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.config.base import NAMESPACE
from runtime.promote.errors import PromotionError

MODEL_KEY = f"{NAMESPACE}:model"
VERSION_KEY = "version"
DIGEST_KEY = "imageDigest"
#: Keys promotion may change, in the order they are inserted when missing (after `name`/`alias`).
EDITED_KEYS = (VERSION_KEY, DIGEST_KEY)
#: Wider than any line, so ruamel never re-wraps a long value or comment.
_WIDTH = 1 << 16
#: (mapping, sequence, offset) indentation settings tried, most common first.
_INDENTS = ((2, 4, 2), (2, 2, 0), (4, 6, 4), (4, 4, 0), (4, 4, 2), (2, 4, 0), (3, 5, 2), (3, 3, 0))
_EDITED_LINE = re.compile(rf"^\s*({'|'.join(EDITED_KEYS)})\s*:")


@dataclass(frozen=True)
class Snapshot:
    """A file exactly as read: its bytes decoded, and their hash to detect a concurrent change."""

    path: Path
    text: str
    sha256: str

    @classmethod
    def read(cls, path: Path) -> Snapshot:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise PromotionError(f"{path}: stack file not found; create it with `pulumi stack init` or pass the "
                                 "right --to / --project-dir") from None
        except OSError as exc:
            raise PromotionError(f"{path}: cannot read ({exc.strerror})") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PromotionError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        return cls(path, text, hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class ModelEntry:
    """The model block of a stack file as written (values unvalidated)."""

    name: Any
    version: Any
    image_digest: Any
    alias: Any


@dataclass(frozen=True)
class StackDocument:
    """A parsed stack file plus the ruamel settings that reproduce it byte for byte."""

    snapshot: Snapshot
    data: Any
    indent: tuple[int, int, int]
    newline: str

    @property
    def model(self) -> ModelEntry:
        block = self.data["config"][MODEL_KEY]
        return ModelEntry(block.get("name"), block.get(VERSION_KEY), block.get(DIGEST_KEY), block.get("alias"))

    @property
    def environment(self) -> Any:
        return self.data["config"].get(f"{NAMESPACE}:environment")


def _yaml(indent: tuple[int, int, int]) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = _WIDTH
    mapping, sequence, offset = indent
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(yaml: Any, data: Any, newline: str, final_newline: bool) -> str:
    buf = io.StringIO()
    yaml.dump(data, buf)
    text = buf.getvalue()
    if not final_newline and text.endswith("\n"):
        text = text[:-1]
    return text.replace("\n", newline) if newline != "\n" else text


def parse(snapshot: Snapshot) -> StackDocument:
    """Parse a stack file for editing; PromotionError when it is not YAML, has no `config:` or no model block,
    or cannot be reproduced byte for byte (then an edit would reformat it)."""
    from ruamel.yaml.error import YAMLError

    path = snapshot.path
    newline = "\r\n" if "\r\n" in snapshot.text else "\n"
    text = snapshot.text.replace("\r\n", "\n")
    final_newline = text.endswith("\n")
    try:
        probe = _yaml(_INDENTS[0]).load(text)
    except YAMLError as exc:
        raise PromotionError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(probe, dict) or not isinstance(probe.get("config"), dict):
        raise PromotionError(f"{path}: expected a mapping with a `config:` mapping (the Pulumi stack file format)")
    model = probe["config"].get(MODEL_KEY)
    if not isinstance(model, dict):
        raise PromotionError(f"{path}: no `{MODEL_KEY}` mapping; add `{MODEL_KEY}: {{name: <registered model>}}` "
                             "under `config:`")
    for indent in _INDENTS:
        yaml = _yaml(indent)
        data = yaml.load(text)
        if _dump(yaml, data, newline, final_newline) == snapshot.text:
            return StackDocument(snapshot, data, indent, newline)
    raise PromotionError(f"{path}: ruamel.yaml cannot write this file back byte for byte (unusual indentation "
                         "or formatting), so promotion would reformat it; set model.version and "
                         "model.imageDigest by hand")


def _scalar(old: Any, value: str, quoted_by_default: bool) -> Any:
    """The new value in the old one's scalar style (double/single quoted, plain)."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(old, str) and type(old) is not str:
        return type(old)(value)
    if isinstance(old, str) or not quoted_by_default:
        return value
    return DoubleQuotedScalarString(value)


def edit_model_ref(doc: StackDocument, version: str, image_digest: str) -> str:
    """Text of the stack file with the model's version and image digest set; nothing else differs."""
    yaml = _yaml(doc.indent)
    data = yaml.load(doc.snapshot.text.replace("\r\n", "\n"))
    block = data["config"][MODEL_KEY]
    for key, value, quoted in ((VERSION_KEY, version, True), (DIGEST_KEY, image_digest, False)):
        if key in block:
            block[key] = _scalar(block[key], value, quoted)
        else:
            # Keep the conventional order: version, then imageDigest, right after the keys before them.
            keys = list(block)
            after = [k for k in ("name", "alias", VERSION_KEY) if k in keys]
            position = max((keys.index(k) + 1 for k in after), default=len(keys))
            block.insert(position, key, _scalar(None, value, quoted))
    new_text = _dump(yaml, data, doc.newline, doc.snapshot.text.endswith(("\n", "\r\n")))
    _check_only_model_ref_changed(doc, new_text, version, image_digest)
    return new_text


def _check_only_model_ref_changed(doc: StackDocument, new_text: str, version: str, image_digest: str) -> None:
    """Refuse an edit that touched anything but the two lines (belt and braces over ruamel's round trip)."""
    import yaml as pyyaml

    old_lines = doc.snapshot.text.splitlines(keepends=True)
    new_lines = new_text.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    stray = [line for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
             for line in (*old_lines[i1:i2], *new_lines[j1:j2]) if not _EDITED_LINE.match(line)]
    old = pyyaml.safe_load(doc.snapshot.text)
    new = pyyaml.safe_load(new_text)
    old["config"][MODEL_KEY].update({VERSION_KEY: version, DIGEST_KEY: image_digest})
    if stray or old != new:
        shown = "".join(stray[:4]).rstrip() or "(values elsewhere in the file)"
        raise PromotionError(f"{doc.snapshot.path}: editing the model reference would also change:\n{shown}\n"
                             "set model.version and model.imageDigest by hand")


def unified_diff(path_name: str, old_text: str, new_text: str) -> str:
    """Git-style unified diff (`a/<file>`, `b/<file>`, 3 lines of context)."""
    lines = difflib.unified_diff(old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                                 fromfile=f"a/{path_name}", tofile=f"b/{path_name}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
