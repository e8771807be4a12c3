"""SOQL text to a validated `SoqlQuery`: names resolved against the schema, literals typed.

The syntax comes from `soql_grammar`; here object and field names are matched
case-insensitively and canonicalised, relationship paths are followed through reference
fields, and every WHERE literal is checked against its field's type and converted once to
the Python value the records hold (`schema.py`), so evaluation never re-parses anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from connectors.sandbox.salesforce.ids import looks_like_id, suffix
from connectors.sandbox.salesforce.schema import FieldDef, ObjectDef
from connectors.sandbox.salesforce.soql_grammar import (
    RawCompare,
    RawCondition,
    RawIn,
    RawLogic,
    RawNot,
    RawPath,
    RawQuery,
    RawValue,
    parse_syntax,
)
from connectors.sandbox.salesforce.soql_lexer import SoqlError, like_regex, unescape

TEXT_TYPES = frozenset({"string", "picklist", "textarea"})
ID_TYPES = frozenset({"id", "reference"})
NUMBER_TYPES = frozenset({"currency", "percent", "double", "int"})
MAX_OFFSET = 2000
_MAX_DEPTH = 5  # relationship hops Salesforce allows from the root object
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):?(\d{2}))"
)
_NO_COLUMN = (
    "No such column '{name}' on entity '{entity}'. If you are attempting to use a custom field, "
    "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)
_NO_RELATIONSHIP = (
    "Didn't understand relationship '{name}' in field path. If you are attempting to use a "
    "custom relationship, be sure to append the '__r' after the custom relationship name. "
    "Please reference your WSDL or the describe call for the appropriate names."
)
_NO_TYPE = (
    "sObject type '{name}' is not supported. If you are attempting to use a custom object, be "
    "sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
    "call for the appropriate names."
)


@dataclass(frozen=True)
class Hop:
    """One step of a relationship path: `Owner` via reference field `OwnerId` to `User`."""

    relationship: str
    reference_field: str
    target: str


@dataclass(frozen=True)
class FieldPath:
    """A resolved field path: `hops` to follow from the root record, then `field`."""

    canonical: str  # "Owner.Name", in schema case
    hops: tuple[Hop, ...]
    field: FieldDef


@dataclass(frozen=True)
class Compare:
    """`path op value` with a typed value (None for the null literal); op = != < <= > >=."""

    path: FieldPath
    op: str
    value: object


@dataclass(frozen=True)
class DateRange:
    """`path op <date literal>`, the literal being the half-open range [start, end)."""

    path: FieldPath
    op: str
    start: date | datetime
    end: date | datetime


@dataclass(frozen=True)
class InList:
    """`path [NOT] IN (values)` with typed values."""

    path: FieldPath
    negate: bool
    values: tuple[object, ...]


@dataclass(frozen=True)
class Like:
    """`path LIKE pattern`, compiled once."""

    path: FieldPath
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Logic:
    """AND or OR over `items`."""

    op: str
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """NOT `item`."""

    item: Condition


Condition = Compare | DateRange | InList | Like | Logic | Not


@dataclass(frozen=True)
class OrderKey:
    """One ORDER BY key; `nulls_first` already defaulted as Salesforce does."""

    path: FieldPath
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Nested:
    """A relationship in the projection: its JSON key, how to reach the parent, its items."""

    relationship: str
    reference_field: str
    target: str
    items: tuple[str | Nested, ...]


@dataclass(frozen=True)
class SoqlQuery:
    """A validated query of `object_name`; `fields` are the selected paths in canonical case
    (empty for COUNT()), `paths` the same resolved."""

    object_name: str
    fields: tuple[str, ...]
    is_count: bool
    where: Condition | None = None
    order_by: tuple[OrderKey, ...] = ()
    limit: int | None = None
    offset: int | None = None
    paths: tuple[FieldPath, ...] = ()
    projection: tuple[str | Nested, ...] = ()  # `paths` as a tree, in JSON key order
    soql: str = ""


def parse(
    soql: str, objects: Mapping[str, ObjectDef], *, today: date | None = None
) -> SoqlQuery:
    """Parse `soql` and validate it against `objects`, as Salesforce would before running it.

    Raises SoqlError: INVALID_TYPE for an unknown object, INVALID_FIELD for an unknown field
    or relationship or a literal of the wrong type, MALFORMED_QUERY for bad or unsupported
    syntax, NUMBER_OUTSIDE_VALID_RANGE for OFFSET over 2000, INVALID_QUERY_FILTER_OPERATOR for
    a malformed id. `today` (default: the UTC date) anchors TODAY, LAST_N_DAYS:n and the like.
    """
    raw = parse_syntax(soql)
    return _Binder(soql, objects, today or datetime.now(UTC).date()).bind(raw)


class _Binder:
    """Resolves a RawQuery against the schema."""

    def __init__(self, soql: str, objects: Mapping[str, ObjectDef], today: date) -> None:
        self.soql = soql
        self.objects = objects
        self.today = today
        self.root: ObjectDef | None = None
        self.alias: str | None = None

    def error(self, code: str, pos: int, text: str) -> SoqlError:
        """A located SoqlError."""
        return SoqlError.at(code, self.soql, pos, text)

    def find_object(self, name: str) -> ObjectDef | None:
        """The object called `name`, case-insensitively."""
        found = self.objects.get(name)
        if found is not None:
            return found
        lowered = name.lower()
        return next((o for key, o in self.objects.items() if key.lower() == lowered), None)

    def bind(self, raw: RawQuery) -> SoqlQuery:
        """The validated query."""
        root = self.find_object(raw.object_name)
        if root is None:
            raise self.error("INVALID_TYPE", raw.object_pos, _NO_TYPE.format(name=raw.object_name))
        self.root, self.alias = root, raw.alias
        paths = tuple(self.resolve(p) for p in raw.select)
        seen: set[str] = set()
        for path in paths:
            if path.canonical.lower() in seen:
                raise SoqlError("INVALID_FIELD", f"duplicate field selected: {path.canonical}")
            seen.add(path.canonical.lower())
        where = self.condition(raw.where) if raw.where is not None else None
        order_by = tuple(
            OrderKey(self.resolve(o.path), o.descending,
                     (not o.descending) if o.nulls_first is None else o.nulls_first)
            for o in raw.order_by
        )
        if raw.offset is not None and raw.offset > MAX_OFFSET:
            raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE",
                            f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        return SoqlQuery(
            object_name=root.name, fields=tuple(p.canonical for p in paths),
            is_count=raw.is_count, where=where, order_by=order_by, limit=raw.limit,
            offset=raw.offset, paths=paths,
            projection=projection_tree([(p.hops, p.field.name) for p in paths]), soql=self.soql,
        )

    def resolve(self, raw: RawPath) -> FieldPath:
        """Follow `raw` from the root object through relationship names to a field."""
        assert self.root is not None
        parts = raw.text.split(".")
        if len(parts) > 1 and self.root.relationship(parts[0]) is None and (
            parts[0].lower() in {self.root.name.lower(), (self.alias or "").lower()}
        ):
            parts = parts[1:]  # "o.Name" with alias o, or "Opportunity.Name"
        obj = self.root
        hops: list[Hop] = []
        for part in parts[:-1]:
            ref = obj.relationship(part)
            target = self.find_object(ref.reference_to or "") if ref is not None else None
            if ref is None or target is None or len(hops) >= _MAX_DEPTH:
                raise self.error("INVALID_FIELD", raw.pos, _NO_RELATIONSHIP.format(name=part))
            hops.append(Hop(ref.relationship_name or part, ref.name, target.name))
            obj = target
        leaf = obj.field(parts[-1])
        if leaf is None:
            raise self.error("INVALID_FIELD", raw.pos,
                             _NO_COLUMN.format(name=parts[-1], entity=obj.name))
        canonical = ".".join([*(h.relationship for h in hops), leaf.name])
        return FieldPath(canonical, tuple(hops), leaf)

    def condition(self, raw: RawCondition) -> Condition:
        """The typed condition of a raw WHERE tree."""
        if isinstance(raw, RawLogic):
            return Logic(raw.op, tuple(self.condition(item) for item in raw.items))
        if isinstance(raw, RawNot):
            return Not(self.condition(raw.item))
        path = self.resolve(raw.path)
        if isinstance(raw, RawIn):
            return InList(path, raw.negate, tuple(self.literal(path, v, in_list=True)
                                                  for v in raw.values))
        assert isinstance(raw, RawCompare)
        if raw.op == "LIKE":
            return self.like(path, raw)
        if raw.value.kind == "dateliteral":
            start, end = self.date_range(path, raw.value)
            return DateRange(path, raw.op, start, end)
        return Compare(path, raw.op, self.literal(path, raw.value))

    def like(self, path: FieldPath, raw: RawCompare) -> Like:
        """A LIKE on a text or id field with a quoted pattern."""
        ftype = path.field.type
        if ftype not in TEXT_TYPES | ID_TYPES:
            raise self.error("INVALID_FIELD", raw.path.pos,
                             f"invalid operator on {ftype} field: LIKE ({path.canonical})")
        if raw.value.kind != "string":
            raise self.mistyped(path, raw.value)
        return Like(path, like_regex(raw.value.text))

    def mistyped(self, path: FieldPath, value: RawValue) -> SoqlError:
        """Salesforce's error for a literal that does not fit the field's type."""
        ftype = path.field.type
        name = path.canonical
        if ftype in TEXT_TYPES or ftype in ID_TYPES:
            text = (f"value of filter criterion for field '{name}' must be of type "
                    f"{'id' if ftype in ID_TYPES else 'string'} and should be enclosed in quotes")
        else:
            expected = {"int": "integer", "datetime": "dateTime", "date": "date",
                        "boolean": "boolean"}.get(ftype, "double")
            text = (f"value of filter criterion for field '{name}' must be of type {expected} "
                    "and should not be enclosed in quotes")
        return self.error("INVALID_FIELD", value.pos, text)

    def literal(self, path: FieldPath, value: RawValue, *, in_list: bool = False) -> object:
        """The Python value of `value` compared with `path`, type-checked."""
        if value.kind == "null":
            return None
        ftype = path.field.type
        if value.kind == "dateliteral" and in_list and ftype in {"date", "datetime"}:
            raise self.error("MALFORMED_QUERY", value.pos,
                             f"date literal {value.text} in an IN list is not supported by the "
                             "pipelines-etl Salesforce sandbox")
        if ftype in TEXT_TYPES and value.kind == "string":
            return unescape(value.text)
        if ftype in ID_TYPES and value.kind == "string":
            return self.id_value(unescape(value.text), value.pos)
        if ftype in NUMBER_TYPES and value.kind == "number":
            number = float(value.text)
            return int(number) if ftype == "int" and number.is_integer() else number
        if ftype == "boolean" and value.kind in {"true", "false"}:
            return value.kind == "true"
        if ftype == "date" and value.kind == "date":
            return self.date_value(value)
        if ftype == "datetime" and value.kind == "datetime":
            return self.datetime_value(value)
        raise self.mistyped(path, value)

    def id_value(self, text: str, pos: int) -> str:
        """An id literal in 18-character form; a malformed one is refused as Salesforce does."""
        if not looks_like_id(text):
            raise self.error("INVALID_QUERY_FILTER_OPERATOR", pos, f"invalid ID field: {text}")
        return text if len(text) == 18 else text + suffix(text)

    def date_value(self, value: RawValue) -> date:
        """A YYYY-MM-DD literal."""
        try:
            return date.fromisoformat(value.text)
        except ValueError:
            raise self.error("MALFORMED_QUERY", value.pos, f"Invalid date: {value.text}") from None

    def datetime_value(self, value: RawValue) -> datetime:
        """A datetime literal (Z, +hh:mm, -hhmm offsets; optional fraction) in UTC."""
        match = _DATETIME.fullmatch(value.text)
        try:
            if match is None:
                raise ValueError(value.text)
            year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
            micros = int((match.group(7) or "0").ljust(6, "0")[:6])
            tz = UTC
            if match.group(8) != "Z":
                sign = -1 if match.group(9) == "-" else 1
                tz = timezone(sign * timedelta(hours=int(match.group(10)),
                                               minutes=int(match.group(11))))
            moment = datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)
        except ValueError:
            raise self.error("MALFORMED_QUERY", value.pos,
                             f"Invalid datetime: {value.text}") from None
        return moment.astimezone(UTC)

    def date_range(
        self, path: FieldPath, value: RawValue
    ) -> tuple[date, date] | tuple[datetime, datetime]:
        """The [start, end) range of a date literal, as dates or as UTC datetimes."""
        ftype = path.field.type
        if ftype not in {"date", "datetime"}:
            raise self.mistyped(path, value)
        start, end = date_literal_range(value.text, value.n, self.today)
        if ftype == "date":
            return start, end
        return (datetime(start.year, start.month, start.day, tzinfo=UTC),
                datetime(end.year, end.month, end.day, tzinfo=UTC))


def projection_tree(paths: list[tuple[tuple[Hop, ...], str]]) -> tuple[str | Nested, ...]:
    """Selected (hops, field) pairs grouped by relationship, in order of first appearance."""
    order: list[str | Hop] = []
    groups: dict[str, list[tuple[tuple[Hop, ...], str]]] = {}
    for hops, name in paths:
        if not hops:
            order.append(name)
            continue
        if hops[0].relationship not in groups:
            groups[hops[0].relationship] = []
            order.append(hops[0])
        groups[hops[0].relationship].append((hops[1:], name))
    return tuple(
        item if isinstance(item, str) else Nested(
            item.relationship, item.reference_field, item.target,
            projection_tree(groups[item.relationship]))
        for item in order
    )


def date_literal_range(name: str, n: int | None, today: date) -> tuple[date, date]:
    """The half-open day range [start, end) a SOQL date literal stands for (UTC days)."""
    day = timedelta(days=1)
    if name == "TODAY":
        return today, today + day
    if name == "YESTERDAY":
        return today - day, today
    if name == "TOMORROW":
        return today + day, today + 2 * day
    if name == "LAST_N_DAYS":
        return today - (n or 0) * day, today + day
    if name == "NEXT_N_DAYS":
        return today + day, today + ((n or 0) + 1) * day
    if name.endswith("_YEAR"):
        year = today.year + {"THIS": 0, "LAST": -1, "NEXT": 1}[name.split("_")[0]]
        return date(year, 1, 1), date(year + 1, 1, 1)
    shift = {"THIS": 0, "LAST": -1, "NEXT": 1}[name.split("_")[0]]
    index = today.year * 12 + today.month - 1 + shift
    start = date(index // 12, index % 12 + 1, 1)
    return start, date((index + 1) // 12, (index + 1) % 12 + 1, 1)
