"""Run a validated SOQL query over typed records: filter, order, offset, limit.

The WHERE tree is compiled once per call into nested Python closures and ORDER BY into key
functions, so a 500,000-record scan costs a function call per record, not a tree walk.
Semantics follow Salesforce: text comparisons and LIKE ignore case; a null field fails
every comparison except `= null`, `!= value` and `NOT IN` (which hold for null, as SOQL's
`!=` includes nulls); a boolean null counts as false; a path through a null or missing parent
reads null. ASC sorts nulls first and DESC last unless NULLS FIRST/LAST says otherwise.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any

from connectors.sandbox.salesforce.schema import ObjectDef
from connectors.sandbox.salesforce.soql_parser import (
    TEXT_TYPES,
    Compare,
    Condition,
    DateRange,
    FieldPath,
    InList,
    Like,
    Logic,
    Not,
    OrderKey,
    SoqlQuery,
)

Record = dict[str, Any]
Lookup = Callable[[str, str], Record | None]
Predicate = Callable[[Record], bool]
_ORDERED = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def execute(
    query: SoqlQuery,
    rows: Iterable[Record],
    *,
    objects: Mapping[str, ObjectDef],
    lookup: Lookup,
) -> list[Record]:
    """The records of `rows` matching `query`, ordered, offset and limited (whole records,
    not projected); `lookup(object, id)` resolves relationship paths."""
    del objects  # the query is already resolved against the schema
    matching: Iterable[Record] = rows
    if query.where is not None:
        matching = filter(compile_condition(query.where, lookup), rows)
    start = query.offset or 0
    stop = None if query.limit is None else start + query.limit
    if not query.order_by:
        return list(islice(matching, start, stop))
    ordered = list(matching)
    sort_records(ordered, query.order_by, lookup)
    return ordered[start:stop]


def range_hint(query: SoqlQuery, field_name: str) -> tuple[Any, bool] | None:
    """The lower bound `(value, inclusive)` the WHERE clause puts on root field `field_name`
    through top-level AND terms (`>=`, `>`, `=`, date literals), or None: a caller holding
    the records sorted by that field may pass only those at or past the bound to `execute`."""
    where = query.where
    terms = where.items if isinstance(where, Logic) and where.op == "AND" else (where,)
    best: tuple[Any, bool] | None = None
    wanted = field_name.lower()
    for term in terms:
        bound = _lower_bound(term, wanted) if term is not None else None
        if bound is not None and (
            best is None or bound[0] > best[0] or (bound[0] == best[0] and not bound[1])
        ):
            best = bound
    return best


def _lower_bound(term: Condition, wanted: str) -> tuple[Any, bool] | None:
    """The lower bound one top-level term puts on root field `wanted`, if any."""
    if not isinstance(term, Compare | DateRange) or term.path.hops:
        return None
    if term.path.field.name.lower() != wanted or term.path.field.type in TEXT_TYPES:
        return None
    if isinstance(term, DateRange):
        return {">=": (term.start, True), "=": (term.start, True),
                ">": (term.end, True)}.get(term.op)
    if term.value is None or term.op not in {">=", ">", "="}:
        return None
    return term.value, term.op != ">"


# -- value access --------------------------------------------------------------------------
def getter(path: FieldPath, lookup: Lookup) -> Callable[[Record], Any]:
    """A function reading `path` from a record (None through a null or missing parent)."""
    name = path.field.name
    hops = path.hops
    if not hops:
        return lambda row: row.get(name)
    if len(hops) == 1:
        fk, target = hops[0].reference_field, hops[0].target

        def one_hop(row: Record) -> Any:
            ref = row.get(fk)
            parent = lookup(target, ref) if ref is not None else None
            return None if parent is None else parent.get(name)

        return one_hop

    steps = tuple((h.reference_field, h.target) for h in hops)

    def many_hops(row: Record) -> Any:
        record: Record | None = row
        for fk, target in steps:
            ref = record.get(fk) if record is not None else None
            record = lookup(target, ref) if ref is not None else None
        return None if record is None else record.get(name)

    return many_hops


# -- WHERE -----------------------------------------------------------------------------------
def compile_condition(cond: Condition, lookup: Lookup) -> Predicate:
    """A predicate over records equivalent to `cond`."""
    if isinstance(cond, Logic):
        preds = [compile_condition(item, lookup) for item in cond.items]
        combined = preds[0]
        for pred in preds[1:]:
            combined = _and(combined, pred) if cond.op == "AND" else _or(combined, pred)
        return combined
    if isinstance(cond, Not):
        inner = compile_condition(cond.item, lookup)
        return lambda row: not inner(row)
    ftype = cond.path.field.type
    test: Callable[[Any], bool]
    if isinstance(cond, Like):
        test = _like_test(cond)
    elif isinstance(cond, InList):
        test = _in_test(cond, ftype)
    elif isinstance(cond, DateRange):
        test = _range_test(cond)
    else:
        fast = _fast_compare(cond, ftype)
        if fast is not None:
            return fast
        test = _compare_test(cond.op, cond.value, ftype)
    if not cond.path.hops:
        name = cond.path.field.name
        return lambda row: test(row.get(name))
    get = getter(cond.path, lookup)
    return lambda row: test(get(row))


def _and(a: Predicate, b: Predicate) -> Predicate:
    """a AND b."""
    return lambda row: a(row) and b(row)


def _or(a: Predicate, b: Predicate) -> Predicate:
    """a OR b."""
    return lambda row: a(row) or b(row)


def _fast_compare(cond: Compare, ftype: str) -> Predicate | None:
    """A single-closure predicate for an ordered comparison of a root field with a value
    (the incremental-sync hot path), else None."""
    if cond.path.hops or cond.value is None or ftype in TEXT_TYPES or ftype == "boolean":
        return None
    compare = _ORDERED.get(cond.op)
    if compare is None:
        return None
    name, value = cond.path.field.name, cond.value
    return lambda row: (v := row.get(name)) is not None and compare(v, value)


def _compare_test(op: str, value: Any, ftype: str) -> Callable[[Any], bool]:
    """A test of one field value against a typed literal."""
    if ftype == "boolean":
        expected = bool(value)  # null matches false, as in Salesforce
        return (lambda v: bool(v) == expected) if op == "=" else (
            (lambda v: bool(v) != expected) if op == "!=" else _ordered_test(op, expected, bool))
    if value is None:
        if op == "=":
            return lambda v: v is None
        if op == "!=":
            return lambda v: v is not None
        return lambda v: False
    fold = _fold(ftype)
    literal = fold(value)
    if op == "=":
        return lambda v: v is not None and fold(v) == literal
    if op == "!=":
        return lambda v: v is None or fold(v) != literal
    return _ordered_test(op, literal, fold)


def _ordered_test(op: str, literal: Any, fold: Callable[[Any], Any]) -> Callable[[Any], bool]:
    """A <, <=, > or >= test against `literal` (False for null)."""
    compare = _ORDERED[op]
    return lambda v: v is not None and compare(fold(v), literal)


def _fold(ftype: str) -> Callable[[Any], Any]:
    """How values of a field type are normalised before comparing (text ignores case)."""
    return str.lower if ftype in TEXT_TYPES else _identity


def _identity(value: Any) -> Any:
    """The value itself."""
    return value


def _like_test(cond: Like) -> Callable[[Any], bool]:
    """A LIKE test (False for null)."""
    fullmatch = cond.pattern.fullmatch
    return lambda v: v is not None and fullmatch(v) is not None


def _in_test(cond: InList, ftype: str) -> Callable[[Any], bool]:
    """A test for [NOT] IN (values)."""
    if ftype == "boolean":
        members = {bool(v) for v in cond.values}
        return (lambda v: bool(v) not in members) if cond.negate else (
            lambda v: bool(v) in members)
    fold = _fold(ftype)
    members = {fold(v) for v in cond.values if v is not None}
    with_null = any(v is None for v in cond.values)
    if cond.negate:
        return lambda v: (not with_null) if v is None else fold(v) not in members
    return lambda v: with_null if v is None else fold(v) in members


def _range_test(cond: DateRange) -> Callable[[Any], bool]:
    """A test against a date literal's [start, end) range."""
    start, end, op = cond.start, cond.end, cond.op
    if op == "=":
        return lambda v: v is not None and start <= v < end
    if op == "!=":
        return lambda v: v is None or not start <= v < end
    bound, compare = {"<": (start, operator.lt), "<=": (end, operator.lt),
                      ">": (end, operator.ge), ">=": (start, operator.ge)}[op]
    return lambda v: v is not None and compare(v, bound)


# -- ORDER BY --------------------------------------------------------------------------------
def sort_records(rows: list[Record], keys: tuple[OrderKey, ...], lookup: Lookup) -> None:
    """Sort `rows` in place by `keys` (stable: ties keep their input order)."""
    if len({k.descending for k in keys}) == 1:
        plain = _plain_key(rows, keys)
        if plain is not None:
            rows.sort(key=plain, reverse=keys[0].descending)
            return
        parts = [_sort_part(k, lookup) for k in keys]
        if len(parts) == 1:
            rows.sort(key=parts[0], reverse=keys[0].descending)
        else:
            rows.sort(key=lambda row: tuple(part(row) for part in parts),
                      reverse=keys[0].descending)
        return
    for key in reversed(keys):  # mixed directions: one stable pass per key, last key first
        rows.sort(key=_sort_part(key, lookup), reverse=key.descending)


def _plain_key(
    rows: list[Record], keys: tuple[OrderKey, ...]
) -> Callable[[Record], Any] | None:
    """A cheap key (bare values, text lower-cased) when every key is a root field and no
    record has a null in them, so null placement cannot matter; else None."""
    if any(k.path.hops for k in keys):
        return None
    names = [k.path.field.name for k in keys]
    for name in names:
        if any(row.get(name) is None for row in rows):
            return None
    folds = [_fold(k.path.field.type) for k in keys]
    if all(fold is _identity for fold in folds):
        if len(names) == 1:
            only = names[0]
            return lambda row: row.get(only)
        if len(names) == 2:
            first, second = names
            return lambda row: (row.get(first), row.get(second))
    if len(names) == 1:
        only, fold = names[0], folds[0]
        return lambda row: fold(row.get(only))
    pairs = tuple(zip(names, folds, strict=True))
    return lambda row: tuple(fold(row.get(name)) for name, fold in pairs)


def _sort_part(key: OrderKey, lookup: Lookup) -> Callable[[Record], tuple[Any, ...]]:
    """A sort key for one ORDER BY item: (marker,) for null, (1, value) otherwise, with the
    null marker chosen so nulls land first or last whatever the sort direction."""
    null_key = (2,) if key.nulls_first == key.descending else (0,)
    fold = _fold(key.path.field.type)
    if not key.path.hops:
        name = key.path.field.name
        if fold is _identity:
            return lambda row: null_key if (v := row.get(name)) is None else (1, v)
        return lambda row: null_key if (v := row.get(name)) is None else (1, fold(v))
    get = getter(key.path, lookup)
    return lambda row: null_key if (v := get(row)) is None else (1, fold(v))

