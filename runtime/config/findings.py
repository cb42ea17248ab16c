"""What a cross-field rule of the stack config reports, and how a rule is declared.

A rule receives the sections that validated on their own (a dict keyed by section name) and yields `Problem`s
(errors) or `Advice` (security defaults turned off: the program warns). A rule whose sections did not validate stays
silent (`needs`), so one run reports every problem it can find at once. `runtime.config.rules` lists every rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from runtime.config.base import NAMESPACE


@dataclass(frozen=True)
class Problem:
    """One invalid value: where (key path as written in the stack file), what was there, what is allowed."""

    path: str
    message: str
    value: Any = None
    has_value: bool = False

    def render(self) -> str:
        where = f"{NAMESPACE}:{self.path}"
        shown = f" = {self.value!r}" if self.has_value else ""
        return f"{where}{shown}: {self.message}"


@dataclass(frozen=True)
class Advice:
    """A security default turned off on purpose; reported as a warning naming the key, default and value."""

    path: str
    message: str

    def render(self) -> str:
        return f"{NAMESPACE}:{self.path}: {self.message}"


Finding = Problem | Advice
Rule = Callable[[dict[str, Any]], Iterator[Finding]]


def bad_value(path: str, message: str, value: Any) -> Problem:
    """A problem that shows the offending value after the key path (`ml-cicd:path = value: message`)."""
    return Problem(path=path, message=message, value=value, has_value=True)


def needs(*sections: str) -> Callable[[Rule], Rule]:
    """Decorate a rule so it runs only when every one of `sections` validated (is a key of the sections dict), and
    otherwise yields nothing: it never judges a section that already has its own problems."""

    def guard(check: Rule) -> Rule:
        @functools.wraps(check)
        def guarded(s: dict[str, Any]) -> Iterator[Finding]:
            if all(name in s for name in sections):
                yield from check(s)

        return guarded

    return guard


class RuleList(list[Rule]):
    """A module's rules in the order they run, each added by decorating it with `@rules.rule("section", ...)`."""

    def rule(self, *sections: str) -> Callable[[Rule], Rule]:
        """Add the decorated rule to the list, guarded by `needs(*sections)`."""

        def add(check: Rule) -> Rule:
            guarded = needs(*sections)(check)
            self.append(guarded)
            return guarded

        return add
