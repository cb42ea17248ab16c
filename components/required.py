"""Args a component needs in one mode only: fields `X | None = None` of its args dataclass, which the component
checks when it builds that mode (`missing`) and its builders then read through `checked`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def missing(args: object, keys: Iterable[str]) -> list[str]:
    """The fields among `keys` that `args` leaves None, in order: the ones the component's error names."""
    return [key for key in keys if getattr(args, key) is None]


def checked(value: T | None) -> T:
    """A mode's required field, read after the component's check: its value, typed without None (a None here is a
    builder reading a field its mode's check does not cover)."""
    if value is None:
        raise AssertionError("a mode's required arg was read before the component checked it")
    return value
