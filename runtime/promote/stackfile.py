"""Edit of a stack file's model reference: only `model.version` and `model.imageDigest` change.

ruamel.yaml's round trip keeps comments, blank lines, key order, flow collections and quoting. It is used only
when it writes the untouched file back byte for byte with some indentation setting; otherwise (hand-aligned
values, odd spacing) the two values are spliced into the original text at the positions ruamel.yaml reports.
Either way the result is checked rather than trusted: the edited text may differ from the original only in the
lines of those two keys, and every other value must parse the same.
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
    indent: tuple[int, int, int] | None
    """ruamel.yaml indentation (mapping, sequence, offset) that reproduces the file; None: splice the values."""
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
    return StackDocument(snapshot, probe, None, newline)


def _scalar(old: Any, value: str, quoted_by_default: bool) -> Any:
    """The new value in the old one's scalar style (double/single quoted, plain)."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if isinstance(old, str) and type(old) is not str:
        return type(old)(value)
    if isinstance(old, str) or not quoted_by_default:
        return value
    return DoubleQuotedScalarString(value)


def _insert_position(keys: list[Any]) -> int:
    """Where a missing key goes: right after name / alias / version (the conventional order)."""
    after = [k for k in ("name", "alias", VERSION_KEY) if k in keys]
    return max((keys.index(k) + 1 for k in after), default=len(keys))


def edit_model_ref(doc: StackDocument, version: str, image_digest: str) -> str:
    """Text of the stack file with the model's version and image digest set; nothing else differs."""
    values = ((VERSION_KEY, version, True), (DIGEST_KEY, image_digest, False))
    block = doc.data["config"][MODEL_KEY]
    if doc.indent is None or any(key not in block for key in EDITED_KEYS):
        # ruamel.yaml keeps the blank line after a block's last key as that key's comment, so an inserted key
        # would land after the blank line: insertions are spliced at the line after the previous key.
        new_text = _splice(doc, values)
    else:
        yaml = _yaml(doc.indent)
        data = yaml.load(doc.snapshot.text.replace("\r\n", "\n"))
        block = data["config"][MODEL_KEY]
        for key, value, quoted in values:
            if key in block:
                block[key] = _scalar(block[key], value, quoted)
            else:
                block.insert(_insert_position(list(block)), key, _scalar(None, value, quoted))
        new_text = _dump(yaml, data, doc.newline, doc.snapshot.text.endswith("\n"))
    _check_only_model_ref_changed(doc, new_text, version, image_digest)
    return new_text


def _token_end(line: str, start: int) -> int | None:
    """End (exclusive) of the scalar token starting at `start` on this line; None when it continues below."""
    quote = line[start:start + 1]
    if quote in ('"', "'"):
        i = start + 1
        while i < len(line):
            if quote == '"' and line[i] == "\\":
                i += 2
                continue
            if line[i] == quote:
                if quote == "'" and line[i + 1:i + 2] == "'":
                    i += 2
                    continue
                return i + 1
            i += 1
        return None
    comment = line.find(" #", start)
    end = len(line) if comment < 0 else comment
    return len(line[:end].rstrip())


def _splice(doc: StackDocument, values: tuple[tuple[str, str, bool], ...]) -> str:
    """Replace (or insert) the values in the original text at the positions ruamel.yaml reports."""
    lines = doc.snapshot.text.replace("\r\n", "\n").split("\n")
    block = doc.data["config"][MODEL_KEY]
    path = doc.snapshot.path
    for key, value, quoted in values:
        if key in block:
            row, col = block.lc.value(key)
            end = _token_end(lines[row], col)
            if end is None:
                raise PromotionError(f"{path}: model.{key} spans several lines; write it on one line")
            old = lines[row][col:end]
            style = old[:1] if old[:1] in ('"', "'") else ('"' if quoted else "")
            lines[row] = f"{lines[row][:col]}{style}{value}{style}{lines[row][end:]}"
        else:
            keys = list(block)
            anchor = keys[_insert_position(keys) - 1] if keys else None
            if anchor is None or block.fa.flow_style():
                raise PromotionError(f"{path}: cannot add model.{key} to this model block; add the line by hand")
            row, col = block.lc.key(anchor)
            style = '"' if quoted else ""
            lines.insert(row + 1, f"{' ' * col}{key}: {style}{value}{style}")
            block = _yaml(_INDENTS[0]).load("\n".join(lines))["config"][MODEL_KEY]  # rows moved: re-read them
    return "\n".join(lines).replace("\n", doc.newline)


def _check_only_model_ref_changed(doc: StackDocument, new_text: str, version: str, image_digest: str) -> None:
    """Refuse an edit that touched anything but the two lines (belt and braces over ruamel's round trip)."""
    import yaml as pyyaml

    old_lines = doc.snapshot.text.splitlines(keepends=True)
    new_lines = new_text.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    opcodes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    stray = [line for _, i1, i2, j1, j2 in opcodes
             for line in (*old_lines[i1:i2], *new_lines[j1:j2]) if not _EDITED_LINE.match(line)]
    # An added key must follow another key line directly (not a blank line or a comment).
    stray += [new_lines[j1 - 1] for tag, _, _, j1, _ in opcodes
              if tag == "insert" and (j1 == 0 or not new_lines[j1 - 1].strip()
                                      or new_lines[j1 - 1].lstrip().startswith("#"))]
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
