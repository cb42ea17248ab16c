"""Duplicate rows with bounded memory: a 64-bit hash per row, the K smallest distinct hashes kept.

A row's hash is the sum of its columns' mixed codes (an order-free sum, so columns computed on different threads
combine in any order); equal values, nulls included, give equal codes in every process (strings hash by
blake2b, not Python's salted hash), so Spark tasks and the local engine agree. Up to K distinct rows the count is
exact (a false match has probability about rows^2 / 2^65); beyond, the K-minimum-values estimate of the distinct
count gives the duplicates with an interval.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from runtime.data.arrow import dictionary_codes, float_values
from runtime.data.summary import kind_of_type

if TYPE_CHECKING:
    import pyarrow as pa

#: Distinct row hashes kept: exact duplicate counts up to this many distinct rows, an estimate within about
#: 4/sqrt(K) (relative, ~0.4 %) of the distinct count beyond.
HASHES_KEPT = 1 << 20


def splitmix(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> np.uint64(30))
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _string_hashes(values: list[object]) -> np.ndarray:
    """Stable (process-independent) 64-bit hashes of a dictionary's values."""
    out = np.empty(len(values) + 1, dtype=np.uint64)
    for i, value in enumerate(values):
        digest = hashlib.blake2b(repr(value).encode("utf-8"), digest_size=8).digest()
        out[i] = np.frombuffer(digest, dtype=np.uint64)[0]
    out[-1] = np.uint64(0x5EED)  # null
    return out


def _as_categorical(array: pa.Array) -> pa.Array:
    """Any non-numeric chunk in a form `dictionary_codes` takes (other types hash by their string form)."""
    import pyarrow as pa

    t = array.type
    if pa.types.is_dictionary(t) or pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_large_string(t):
        return array
    return array.cast(pa.string())


def row_codes(array: pa.Array, dtype: str, salt: int) -> np.ndarray:
    """A uint64 per row such that equal values (nulls included) get equal codes, mixed with the column's salt so
    that summing the codes of a row's columns gives a row hash."""
    if kind_of_type(dtype) == "numeric":
        x = float_values(array)
        x += 0.0  # -0.0 == 0.0
        x[np.isnan(x)] = np.nan  # one NaN bit pattern (nulls are NaN too)
        codes = x.view(np.uint64)
    else:
        dictionary, indices, valid = dictionary_codes(_as_categorical(array))
        table = _string_hashes(dictionary)
        codes = table[indices] if valid is None else np.where(valid, table[indices], table[-1])
    return splitmix(codes ^ np.uint64((salt + 1) * 0x2545F4914F6CDD1D & 0xFFFFFFFFFFFFFFFF))


@dataclass
class RowHashes:
    rows: int = 0
    hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    """Sorted distinct row hashes, at most HASHES_KEPT of them (the smallest)."""
    truncated: bool = False

    def add(self, row_hash: np.ndarray) -> None:
        self.merge(RowHashes(rows=row_hash.size, hashes=_distinct(row_hash)))

    def merge(self, other: RowHashes) -> None:
        both = _distinct(np.concatenate([self.hashes, other.hashes]))
        self.truncated = self.truncated or other.truncated or both.size > HASHES_KEPT
        self.hashes = both[:HASHES_KEPT]
        self.rows += other.rows

    def duplicates(self) -> tuple[int, int, int]:
        """(estimate, lower, upper) of the rows equal to an earlier row; exact (all three equal) up to
        HASHES_KEPT distinct rows, else a K-minimum-values estimate with a 4-standard-error interval."""
        if not self.truncated:
            dup = self.rows - int(self.hashes.size)
            return dup, dup, dup
        k = self.hashes.size
        distinct = (k - 1) / ((float(self.hashes[-1]) + 1.0) / 2.0**64)
        spread = 4.0 * distinct / math.sqrt(k - 2)
        lo, hi = max(distinct - spread, float(k)), min(distinct + spread, float(self.rows))
        return (max(0, round(self.rows - distinct)), max(0, math.floor(self.rows - hi)),
                max(0, math.ceil(self.rows - lo)))


def _distinct(hashes: np.ndarray) -> np.ndarray:
    hashes = np.sort(hashes)
    if hashes.size < 2:
        return hashes
    return hashes[np.concatenate(([True], hashes[1:] != hashes[:-1]))]
