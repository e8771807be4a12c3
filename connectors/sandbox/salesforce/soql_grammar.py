"""SOQL tokens to an unvalidated syntax tree: the grammar of the SOQL a sync toolkit sends.

Supported: SELECT field paths or COUNT(), FROM one object (optional alias), WHERE with
AND/OR/NOT and parentheses (Salesforce requires parentheses to mix them), comparison, LIKE,
IN and NOT IN, ORDER BY ... ASC/DESC NULLS FIRST/LAST, LIMIT, OFFSET. Other SOQL clauses are
refused with MALFORMED_QUERY instead of being silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.sandbox.salesforce.soql_lexer import SoqlError, Token, tokenize

# Words that end a select list / FROM clause or cannot be a field or alias.
RESERVED = frozenset(
    {"AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES",
     "LAST", "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH", "ORDER",
     "OFFSET", "FOR", "USING", "UPDATE", "TYPEOF", "ALL", "BY", "TRUE", "FALSE"}
)
FIXED_DATE_LITERALS = frozenset(
    {"TODAY", "YESTERDAY", "TOMORROW", "THIS_MONTH", "LAST_MONTH", "NEXT_MONTH", "THIS_YEAR",
     "LAST_YEAR", "NEXT_YEAR"}
)
N_DATE_LITERALS = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS"})
COMPARISON_OPS = frozenset({"=", "!=", "<>", "<", "<=", ">", ">="})
_MAX_INT = 2_147_483_647


@dataclass(frozen=True)
class RawPath:
    """A field path as written (`Owner.Name`) and where."""

    text: str
    pos: int


@dataclass(frozen=True)
class RawValue:
    """A literal as written: kind string|number|date|datetime|true|false|null|dateliteral."""

    kind: str
    text: str
    pos: int
    n: int | None = None  # the N of LAST_N_DAYS:N


@dataclass(frozen=True)
class RawCompare:
    """`path op value`, op one of COMPARISON_OPS or LIKE."""

    path: RawPath
    op: str
    value: RawValue


@dataclass(frozen=True)
class RawIn:
    """`path [NOT] IN (values)`."""

    path: RawPath
    negate: bool
    values: tuple[RawValue, ...]


@dataclass(frozen=True)
class RawLogic:
    """`a AND b AND ...` or `a OR b OR ...`."""

    op: str
    items: tuple[RawCondition, ...]


@dataclass(frozen=True)
class RawNot:
    """`NOT condition`."""

    item: RawCondition


RawCondition = RawCompare | RawIn | RawLogic | RawNot


@dataclass(frozen=True)
class RawOrder:
    """One ORDER BY item."""

    path: RawPath
    descending: bool
    nulls_first: bool | None  # None: the Salesforce default for the direction


@dataclass(frozen=True)
class RawQuery:
    """A syntactically valid query, not yet checked against the schema."""

    select: tuple[RawPath, ...]
    is_count: bool
    object_name: str
    object_pos: int
    alias: str | None
    where: RawCondition | None
    order_by: tuple[RawOrder, ...]
    limit: int | None
    offset: int | None


def parse_syntax(soql: str) -> RawQuery:
    """The syntax tree of `soql`; raises SoqlError (MALFORMED_QUERY) on anything else."""
    return _Parser(soql).query()


class _Parser:
    """Recursive-descent parser over the token list."""

    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.index = 0

    # -- token helpers -------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        """The token `ahead` positions on (the eof token past the end)."""
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        """Consume and return the next token."""
        token = self.peek()
        self.index += 1
        return token

    def accept_word(self, *words: str) -> Token | None:
        """Consume the next token if it is one of `words`."""
        return self.take() if self.peek().is_word(*words) else None

    def expect_word(self, word: str) -> Token:
        """Consume keyword `word` or fail on the token found."""
        if not self.peek().is_word(word):
            raise self.unexpected(self.peek())
        return self.take()

    def expect_punct(self, text: str) -> Token:
        """Consume punctuation `text` or fail on the token found."""
        token = self.peek()
        if token.kind != "punct" or token.text != text:
            raise self.unexpected(token)
        return self.take()

    def is_punct(self, text: str, ahead: int = 0) -> bool:
        """Whether the token `ahead` on is punctuation `text`."""
        token = self.peek(ahead)
        return token.kind == "punct" and token.text == text

    def unexpected(self, token: Token) -> SoqlError:
        """Salesforce's syntax error for `token`."""
        return SoqlError.at("MALFORMED_QUERY", self.soql, token.pos,
                            f"unexpected token: '{token.shown()}'")

    def unsupported(self, token: Token, what: str) -> SoqlError:
        """A MALFORMED_QUERY for valid SOQL the sandbox does not implement."""
        return SoqlError.at("MALFORMED_QUERY", self.soql, token.pos,
                            f"{what} is not supported by the pipelines-etl Salesforce sandbox")

    # -- clauses -------------------------------------------------------------------------
    def query(self) -> RawQuery:
        """query := SELECT list FROM object [alias] [WHERE] [ORDER BY] [LIMIT] [OFFSET]."""
        self.expect_word("SELECT")
        is_count, select = self.select_list()
        self.expect_word("FROM")
        obj = self.take()
        if obj.kind != "ident" or "." in obj.text or obj.text.upper() in RESERVED:
            raise self.unexpected(obj)
        alias = None
        if self.peek().kind == "ident" and self.peek().text.upper() not in RESERVED:
            alias = self.take().text
        if self.is_punct(","):
            raise self.unsupported(self.peek(), "Querying several objects in FROM")
        self.refuse_clause("USING", "USING SCOPE")
        where = self.condition() if self.accept_word("WHERE") else None
        self.refuse_clause("WITH", "WITH")
        self.refuse_clause("GROUP", "GROUP BY")
        self.refuse_clause("HAVING", "HAVING")
        order_by: tuple[RawOrder, ...] = ()
        if self.accept_word("ORDER"):
            self.expect_word("BY")
            order_by = self.order_list()
        limit = self.count_clause("LIMIT")
        offset = self.count_clause("OFFSET")
        self.refuse_clause("FOR", "FOR VIEW/REFERENCE/UPDATE")
        self.refuse_clause("UPDATE", "UPDATE TRACKING/VIEWSTAT")
        self.refuse_clause("ALL", "ALL ROWS")
        if self.peek().kind != "eof":
            raise self.unexpected(self.peek())
        return RawQuery(select, is_count, obj.text, obj.pos, alias, where, order_by, limit,
                        offset)

    def refuse_clause(self, word: str, what: str) -> None:
        """Fail with `unsupported` when the next token is the (unsupported) clause `word`."""
        if self.peek().is_word(word):
            raise self.unsupported(self.peek(), what)

    def select_list(self) -> tuple[bool, tuple[RawPath, ...]]:
        """COUNT() alone, or a comma-separated list of field paths."""
        if self.peek().is_word("COUNT") and self.is_punct("(", 1):
            count = self.take()
            self.take()
            if not self.is_punct(")"):
                raise self.unsupported(count, "COUNT(field) (an aggregate function)")
            self.take()
            return True, ()
        paths = [self.select_item()]
        while self.is_punct(","):
            self.take()
            paths.append(self.select_item())
        return False, tuple(paths)

    def select_item(self) -> RawPath:
        """One selected field path; subqueries, TYPEOF and functions are refused."""
        token = self.peek()
        if self.is_punct("("):
            raise self.unsupported(token, "A relationship subquery")
        if token.is_word("TYPEOF"):
            raise self.unsupported(token, "TYPEOF")
        return self.field_path(context="SELECT")

    def field_path(self, *, context: str) -> RawPath:
        """An identifier path; a function call in its place is refused."""
        token = self.peek()
        if token.kind != "ident" or token.text.upper() in RESERVED:
            raise self.unexpected(token)
        if self.is_punct("(", 1):
            raise self.unsupported(token, f"The function {token.text.upper()}() in {context}")
        self.take()
        return RawPath(token.text, token.pos)

    def order_list(self) -> tuple[RawOrder, ...]:
        """ORDER BY items: path [ASC|DESC] [NULLS FIRST|LAST], comma-separated."""
        items = []
        while True:
            path = self.field_path(context="ORDER BY")
            direction = self.accept_word("ASC", "DESC")
            descending = direction is not None and direction.text.upper() == "DESC"
            nulls_first = None
            if self.accept_word("NULLS"):
                which = self.accept_word("FIRST", "LAST")
                if which is None:
                    raise self.unexpected(self.peek())
                nulls_first = which.text.upper() == "FIRST"
            items.append(RawOrder(path, descending, nulls_first))
            if not self.is_punct(","):
                return tuple(items)
            self.take()

    def count_clause(self, word: str) -> int | None:
        """The non-negative integer after LIMIT or OFFSET, if that clause is present."""
        if not self.accept_word(word):
            return None
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            raise self.unexpected(token)
        value = int(token.text)
        if value > _MAX_INT:
            raise SoqlError.at("MALFORMED_QUERY", self.soql, token.pos,
                               f"numeric value out of range: {token.text}")
        return value

    # -- WHERE ---------------------------------------------------------------------------
    def condition(self) -> RawCondition:
        """NOT simple | simple (AND simple)* | simple (OR simple)*: no unparenthesised mix."""
        if self.accept_word("NOT"):
            return RawNot(self.simple())
        first = self.simple()
        joiner = self.peek()
        if not joiner.is_word("AND", "OR"):
            return first
        op = joiner.text.upper()
        items = [first]
        while self.accept_word(op):
            items.append(self.simple())
        return RawLogic(op, tuple(items))

    def simple(self) -> RawCondition:
        """A parenthesised condition or one field expression."""
        if self.is_punct("("):
            self.take()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.field_expression()

    def field_expression(self) -> RawCondition:
        """path op value | path LIKE 'pattern' | path [NOT] IN (values)."""
        path = self.field_path(context="WHERE")
        token = self.peek()
        if token.kind == "op":
            self.take()
            return RawCompare(path, "!=" if token.text == "<>" else token.text, self.value())
        if token.is_word("LIKE"):
            self.take()
            return RawCompare(path, "LIKE", self.value())
        if token.is_word("INCLUDES", "EXCLUDES"):
            raise self.unsupported(token, token.text.upper())
        negate = self.accept_word("NOT") is not None
        if not self.peek().is_word("IN"):
            raise self.unexpected(self.peek())
        self.take()
        self.expect_punct("(")
        if self.peek().is_word("SELECT"):
            raise self.unsupported(self.peek(), "A semi-join subquery")
        values = [self.value()]
        while self.is_punct(","):
            self.take()
            values.append(self.value())
        self.expect_punct(")")
        return RawIn(path, negate, tuple(values))

    def value(self) -> RawValue:
        """One literal: 'string', number, date, datetime, true/false/null, date literal."""
        token = self.take()
        if token.kind in {"string", "number", "date", "datetime"}:
            return RawValue(token.kind, token.text, token.pos)
        if token.kind == "ident":
            word = token.text.upper()
            if word in {"TRUE", "FALSE", "NULL"}:
                return RawValue(word.lower(), token.text, token.pos)
            if word in FIXED_DATE_LITERALS:
                return RawValue("dateliteral", word, token.pos)
            if word in N_DATE_LITERALS:
                self.expect_punct(":")
                number = self.take()
                if number.kind != "number" or not number.text.isdigit():
                    raise self.unexpected(number)
                return RawValue("dateliteral", word, token.pos, int(number.text))
        raise self.unexpected(token)
