"""Arrow arrays as numpy arrays, read from their buffers.

pyarrow's own conversions import pandas: `Array.to_numpy` on every call, and compute functions given a Python
scalar (`pc.fill_null(array, 0)`). That import costs 0.3 s of CPU in a process that has no other use for pandas, a
third of the data gate's budget at a million rows, so the chunks are read here from the value and validity
buffers instead: zero-copy views where the layout allows, nulls from the validity bitmap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

#: numpy dtypes of Arrow's fixed-width numeric types (by `str(arrow_type)`).
_NUMPY_DTYPES = {"int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64, "uint8": np.uint8,
                 "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64, "halffloat": np.float16,
                 "float": np.float32, "double": np.float64}


def primitive_values(array: pa.Array) -> np.ndarray:
    """A zero-copy numpy view of a fixed-width numeric array's value buffer (what null slots hold is undefined)."""
    dtype = np.dtype(_NUMPY_DTYPES[str(array.type)])
    data = array.buffers()[1]
    if len(array) == 0 or data is None:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(data, dtype=dtype, count=array.offset + len(array))[array.offset:]


def validity(array: pa.Array) -> np.ndarray | None:
    """True for each non-null slot of `array`, or None when it has no null."""
    if array.null_count == 0:
        return None
    bitmap = np.frombuffer(array.buffers()[0], dtype=np.uint8)
    bits = np.unpackbits(bitmap, count=array.offset + len(array), bitorder="little")
    return bits[array.offset:].view(np.bool_)


def float_values(array: pa.Array, out: np.ndarray | None = None) -> np.ndarray:
    """The chunk as float64 (nulls as NaN) in `out` (a scratch buffer at least as long) or a new array."""
    import pyarrow as pa

    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    values = primitive_values(array)
    target = np.empty(len(values), dtype=np.float64) if out is None else out[:len(values)]
    np.copyto(target, values, casting="unsafe")
    valid = validity(array)
    if valid is not None:
        target[~valid] = np.nan
    return target


def dictionary_codes(array: pa.Array) -> tuple[list[object], np.ndarray, np.ndarray | None]:
    """(dictionary values, codes, validity or None) of a string, dictionary or boolean chunk."""
    import pyarrow as pa

    if pa.types.is_boolean(array.type):
        array = array.cast(pa.string())
    if not pa.types.is_dictionary(array.type):
        array = array.dictionary_encode()
    return array.dictionary.to_pylist(), primitive_values(array.indices), validity(array.indices)
