"""Review a change by its resource graphs: what a pull request adds, changes and deletes in each stack.

`diff_graphs(base, head)` compares two `mlcicd graph` documents (design.md section 5) by URN; `render_markdown`
turns the diffs of several stacks into one pull-request comment. Both are pure: the workflow builds the graphs
offline (no credentials), so fork pull requests get the same review as branches of the repository.
`diff_graph_dirs(base, head)` does both for two directories of `<stack>.json` graphs.

`changed_stacks(files, stacks)` decides which stacks a change affects: a stack's own file, or all stacks when the
program, the components or the runtime change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.errors import UsageError

#: Paths whose change affects every stack (the program and everything it imports, its dependencies).
PROGRAM_PREFIXES = ("infra/", "components/", "runtime/")
PROGRAM_FILES = ("Pulumi.yaml", "pyproject.toml", "uv.lock")
#: Rows per stack in the comment, and characters per shown value.
MAX_ROWS = 100
MAX_VALUE = 60


@dataclass(frozen=True)
class Change:
    urn: str
    type: str
    name: str
    inputs: tuple[str, ...] = ()
    """Top-level input keys whose values differ."""
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GraphDiff:
    added: tuple[Change, ...] = ()
    removed: tuple[Change, ...] = ()
    changed: tuple[Change, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _by_urn(graph: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {r["urn"]: r for r in graph.get("resources", [])}


def diff_graphs(base: Mapping[str, Any], head: Mapping[str, Any]) -> GraphDiff:
    """Resources added, removed and changed (inputs, parent or dependencies) from `base` to `head`."""
    old, new = _by_urn(base), _by_urn(head)
    added = tuple(Change(u, new[u]["type"], new[u]["name"]) for u in sorted(new.keys() - old.keys()))
    removed = tuple(Change(u, old[u]["type"], old[u]["name"]) for u in sorted(old.keys() - new.keys()))
    changed = []
    for urn in sorted(old.keys() & new.keys()):
        a, b = old[urn].get("inputs", {}), new[urn].get("inputs", {})
        keys = tuple(sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k)))
        if old[urn].get("parent") != new[urn].get("parent"):
            keys += ("(parent)",)
        if keys:
            changed.append(Change(urn, new[urn]["type"], new[urn]["name"], keys,
                                  {k: a.get(k) for k in keys if k in a}, {k: b.get(k) for k in keys if k in b}))
    return GraphDiff(added, removed, tuple(changed))


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    text = text.replace("|", "\\|").replace("\n", " ").replace("`", "'")
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def _detail(change: Change) -> str:
    parts = []
    for key in change.inputs:
        if key == "(parent)":
            parts.append("parent moved")
            continue
        before = _short(change.before[key]) if key in change.before else "∅"
        after = _short(change.after[key]) if key in change.after else "∅"
        parts.append(f"`{key}`: {before} → {after}")
    return "<br>".join(parts)


def summary_line(stack: str, diff: GraphDiff) -> str:
    return (f"**{stack}**: {len(diff.added)} to add, {len(diff.changed)} to change, {len(diff.removed)} to delete"
            if not diff.empty else f"**{stack}**: no changes")


def render_markdown(diffs: Mapping[str, GraphDiff], heading: str = "Resource graph diff") -> str:
    """One comment for every stack: a summary line each, then a table of the changes (capped per stack)."""
    lines = [f"### {heading}", "",
             "Offline `mlcicd graph` of the base and head commits (the program under recording mocks: no cloud "
             "credentials, so fork pull requests get it too).", ""]
    lines += [f"- {summary_line(stack, diffs[stack])}" for stack in sorted(diffs)]
    for stack in sorted(diffs):
        diff = diffs[stack]
        if diff.empty:
            continue
        rows = ([("+", c, "") for c in diff.added] + [("-", c, "") for c in diff.removed]
                + [("~", c, _detail(c)) for c in diff.changed])
        lines += ["", f"<details><summary>{stack}</summary>", "", "| | type | name | changed inputs |",
                  "|---|---|---|---|"]
        lines += [f"| {sign} | `{c.type}` | `{c.name}` | {detail} |" for sign, c, detail in rows[:MAX_ROWS]]
        if len(rows) > MAX_ROWS:
            lines.append(f"| … | | | {len(rows) - MAX_ROWS} more |")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def read_graphs(directory: Path) -> dict[str, dict[str, Any]]:
    """The `<stack>.json` graphs of a directory (`mlcicd graph --out`), by stack; UsageError naming a file that is
    not readable JSON."""
    graphs = {}
    for path in sorted(directory.glob("*.json")):
        try:
            graphs[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"{path}: not a graph ({exc})") from None
    return graphs


def diff_graph_dirs(base: Path, head: Path) -> str:
    """The Markdown comment for two directories of graphs; UsageError when neither holds one."""
    old, new = read_graphs(base), read_graphs(head)
    if not old and not new:
        raise UsageError(f"no <stack>.json graphs in {base} or {head}")
    empty: dict[str, Any] = {"resources": []}
    stacks = sorted(old.keys() | new.keys())
    return render_markdown({s: diff_graphs(old.get(s, empty), new.get(s, empty)) for s in stacks})


def changed_stacks(files: Iterable[str], stacks: Iterable[str], *, config_only: bool = False) -> list[str]:
    """Stacks a change affects: `Pulumi.<stack>.yaml` itself, or every stack when program code changed (unless
    `config_only`: then only stacks whose file changed)."""
    known = sorted(set(stacks))
    paths = [f.strip() for f in files if f.strip()]
    hit = {s for s in known if f"Pulumi.{s}.yaml" in paths}
    program = any(p.startswith(PROGRAM_PREFIXES) or p in PROGRAM_FILES for p in paths)
    if program and not config_only:
        return known
    return sorted(hit)
