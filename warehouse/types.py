"""Column types that keep money exact and timestamps UTC on both SQLite and PostgreSQL.

SQLite stores NUMERIC as a binary float and hands timestamps back without an offset, so the
types here store decimals as canonical decimal text and timestamps as UTC text on SQLite,
and use `NUMERIC(p, s)` / `TIMESTAMP WITH TIME ZONE` on PostgreSQL. Values come back as
`Decimal` and timezone-aware UTC `datetime` on both.

On SQLite a decimal column is TEXT: in hand-written SQL, compare or sum it through
`CAST(col AS NUMERIC)`; a plain `col > 5` compares text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

# Longest decimal text a 38-digit number with sign and point can need.
_DECIMAL_TEXT_LENGTH = 48


class ExactDecimal(sa.types.TypeDecorator[Decimal]):
    """An exact decimal: NUMERIC(precision, scale) on PostgreSQL, decimal text on SQLite.

    Binds `Decimal` or `int` only (a float is refused: it is already inexact); a value with
    more digits than the column holds is refused rather than rounded, so both backends keep
    the same value. With `precision=None` the column is an unconstrained NUMERIC and, with
    `accept_float=True`, finite floats are taken at their shortest repr (for metric values).
    """

    impl = sa.Numeric
    cache_ok = True

    def __init__(
        self,
        precision: int | None = None,
        scale: int | None = None,
        *,
        accept_float: bool = False,
    ) -> None:
        """Declare the column's digits; keyword `accept_float` only for computed figures."""
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self.accept_float = accept_float
        self._quantum = Decimal(1).scaleb(-scale) if scale is not None else None

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Decimal text on SQLite (exact), NUMERIC elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(_DECIMAL_TEXT_LENGTH))
        return dialect.type_descriptor(
            sa.Numeric(precision=self.precision, scale=self.scale, asdecimal=True)
        )

    def __repr__(self) -> str:
        """Constructor form, as Alembic renders it into migrations."""
        args = [repr(self.precision), repr(self.scale)] if self.precision is not None else []
        if self.accept_float:
            args.append("accept_float=True")
        return f"ExactDecimal({', '.join(args)})"

    def _coerce(self, value: object) -> Decimal:
        if isinstance(value, bool):
            raise TypeError(f"{type(self).__name__} takes Decimal or int, not bool")
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float) and self.accept_float:
            number = Decimal(repr(value))
        else:
            raise TypeError(
                f"{type(self).__name__} takes Decimal or int, not {type(value).__name__}"
                " (money is never a float: convert with Decimal(str) at the edge)"
            )
        if not number.is_finite():
            raise ValueError(f"{type(self).__name__} cannot store {number}")
        if self._quantum is not None:
            try:
                fitted = number.quantize(self._quantum)
            except InvalidOperation as exc:
                raise ValueError(self._too_big(number)) from exc
            if fitted != number:
                raise ValueError(
                    f"{number} has more than {self.scale} decimal places; round it first"
                )
            number = fitted
        if self.precision is not None and len(number.as_tuple().digits) > self.precision:
            raise ValueError(self._too_big(number))
        return number

    def _too_big(self, number: Decimal) -> str:
        return f"{number} does not fit NUMERIC({self.precision}, {self.scale})"

    def process_bind_param(self, value: object, dialect: Dialect) -> Any:
        """Check the value fits exactly; on SQLite render canonical decimal text."""
        if value is None:
            return None
        number = self._coerce(value)
        if dialect.name == "sqlite":
            return format(number, "f")
        return number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Decimal text or numeric back to `Decimal`."""
        if value is None:
            return None
        if isinstance(value, float):
            # Only reachable when something wrote a REAL behind this type's back.
            raise TypeError(f"{type(self).__name__} column holds a float: {value!r}")
        return value if isinstance(value, Decimal) else Decimal(str(value))


class Money(ExactDecimal):
    """An amount of money: NUMERIC(24, 6) on PostgreSQL, exact decimal text on SQLite."""

    cache_ok = True

    def __init__(self) -> None:
        """Eighteen integer digits and six decimals: every CRM amount fits."""
        super().__init__(24, 6)

    def __repr__(self) -> str:
        """Constructor form, as Alembic renders it into migrations."""
        return "Money()"


class Probability(ExactDecimal):
    """A probability 0-1 with four decimals: NUMERIC(6, 4) / exact decimal text."""

    cache_ok = True

    def __init__(self) -> None:
        """Four decimals, as the canonical model states."""
        super().__init__(6, 4)

    def __repr__(self) -> str:
        """Constructor form, as Alembic renders it into migrations."""
        return "Probability()"


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp in and out: TIMESTAMPTZ on PostgreSQL, UTC text on SQLite.

    Naive datetimes are refused (their zone is a guess); aware ones are converted to UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def __repr__(self) -> str:
        """Constructor form, as Alembic renders it into migrations."""
        return "UtcDateTime()"

    def process_bind_param(self, value: object, dialect: Dialect) -> datetime | None:
        """Refuse naive or non-datetime values; convert aware ones to UTC."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UtcDateTime takes a datetime, not {type(value).__name__}")
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} refused: pass a timezone-aware UTC"
                " datetime (e.g. datetime.now(UTC))"
            )
        utc = value.astimezone(UTC)
        # SQLite's DATETIME drops tzinfo without converting: give it the UTC wall time.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Naive values (SQLite) are UTC by construction; aware ones are moved to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# ---- bulk binding: a whole column at a time, for large writes ------------------------------

# SQLAlchemy's SQLite DATETIME storage format (its default), which UtcDateTime's reads parse.
SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def _utc_text(value: datetime) -> str:
    """An aware UTC datetime as SQLite DATETIME text (what SQLAlchemy's processor writes)."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:"
        f"{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def bind_values(column_type: TypeEngine[Any], values: list[Any], dialect: Dialect) -> list[Any]:
    """A column's values as the driver binds them: the same checks and output as the type's
    per-row bind processing, without SQLAlchemy's per-value call overhead."""
    if isinstance(column_type, UtcDateTime):
        sqlite = dialect.name == "sqlite"
        out: list[Any] = []
        last: object = None
        last_bound: Any = None
        for value in values:
            if value is None:
                out.append(None)
                continue
            if value is last:  # a stamp repeated down a column (extracted_at, synced_at)
                out.append(last_bound)
                continue
            if type(value) is datetime and value.tzinfo is UTC:
                utc = value
            else:
                utc = column_type.process_bind_param(value, dialect)  # checks, converts
            bound = _utc_text(utc) if sqlite else utc  # type: ignore[arg-type]
            out.append(bound)
            last, last_bound = value, bound
        return _impl_processed(column_type, out, dialect, skip=sqlite)
    if isinstance(column_type, ExactDecimal):
        sqlite = dialect.name == "sqlite"
        coerce = column_type._coerce
        if sqlite:
            out = [None if v is None else format(coerce(v), "f") for v in values]
        else:
            out = [None if v is None else coerce(v) for v in values]
        return _impl_processed(column_type, out, dialect, skip=sqlite)
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return list(values)
    return [None if v is None else process(v) for v in values]


def _impl_processed(
    column_type: sa.types.TypeDecorator[Any], values: list[Any], dialect: Dialect, *, skip: bool
) -> list[Any]:
    """Apply the implementation type's own bind processor, if it has one (not on SQLite text)."""
    if skip:
        return values
    process = column_type.load_dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return values
    return [None if v is None else process(v) for v in values]
