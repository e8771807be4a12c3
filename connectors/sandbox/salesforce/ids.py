"""Salesforce record ids: 15-character ids with the 3-character case-safe suffix.

Ids are generated in bulk with numpy (500,000 at a time) and checked the way the API checks
them: 15 or 18 alphanumerics, the right key prefix, and a matching suffix.
"""

from __future__ import annotations

import re

import numpy as np

_BASE62 = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
)
_SUFFIX = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", dtype=np.uint8)
_SUFFIX_TEXT = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_SHAPE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_POD = "5g"  # two fixed characters after the key prefix, as real ids carry a pod/instance code
_COUNTER_DIGITS = 10
_DIGIT_VALUES = {chr(code): value for value, code in enumerate(_BASE62.tolist())}


def make_ids(prefix: str, start: int, count: int) -> list[str]:
    """`count` sequential 18-character ids with key prefix `prefix`, numbered from `start`."""
    if count <= 0:
        return []
    return ids_for(prefix, np.arange(start, start + count, dtype=np.int64))


def ids_for(prefix: str, counters: np.ndarray) -> list[str]:
    """The 18-character ids with key prefix `prefix` numbered by each of `counters` (any
    order), as `make_ids` numbers them."""
    count = int(counters.size)
    if count == 0:
        return []
    counters = counters.astype(np.int64)  # a copy: it is consumed below
    digits = np.empty((count, _COUNTER_DIGITS), dtype=np.uint8)
    for position in range(_COUNTER_DIGITS - 1, -1, -1):
        digits[:, position] = _BASE62[counters % 62]
        counters //= 62
    head = np.frombuffer((prefix + _POD).encode(), dtype=np.uint8)
    body = np.concatenate([np.broadcast_to(head, (count, head.size)), digits], axis=1)
    upper = (body >= 65) & (body <= 90)
    weights = np.array([1, 2, 4, 8, 16], dtype=np.uint8)
    chunks = upper.reshape(count, 3, 5).astype(np.uint8) @ weights
    full = np.concatenate([body, _SUFFIX[chunks]], axis=1)
    return np.ascontiguousarray(full).view("S18").ravel().astype(str).tolist()


def counter_of(record_id: str, prefix: str) -> int | None:
    """The counter `make_ids` numbered an 18-character id of key prefix `prefix` with, or None
    when `record_id` is not such an id (its suffix is not checked: callers compare the id
    they rebuild from the counter)."""
    if len(record_id) != 18 or not record_id.startswith(prefix + _POD):
        return None
    value = 0
    for char in record_id[5:15]:
        digit = _DIGIT_VALUES.get(char)
        if digit is None:
            return None
        value = value * 62 + digit
    return value


def suffix(id15: str) -> str:
    """The 3-character case-safe suffix of a 15-character id."""
    out = []
    for chunk in range(3):
        bits = 0
        for offset, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << offset
        out.append(_SUFFIX_TEXT[bits])
    return "".join(out)


def looks_like_id(value: str) -> bool:
    """Whether `value` has the shape of an id (15 or 18 alphanumerics)."""
    return bool(_ID_SHAPE.match(value))


def normalize_id(value: str, prefix: str | None = None) -> str | None:
    """The 18-character form of a valid id (of key prefix `prefix` when given), else None."""
    if not looks_like_id(value):
        return None
    if len(value) == 18 and suffix(value[:15]) != value[15:]:
        return None
    full = value if len(value) == 18 else value + suffix(value)
    if prefix is not None and full[:3] != prefix:
        return None
    return full
