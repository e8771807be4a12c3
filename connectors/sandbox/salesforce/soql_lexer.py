"""SOQL text to tokens, and the Salesforce-shaped error every SOQL stage raises.

Salesforce reports a query error as a 400 whose message quotes the offending line, points at
the column with a caret and names Row and Column; `SoqlError.at` builds that text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Clipping of long lines in error messages: how much text is kept either side of the caret.
_CONTEXT_BEFORE = 100
_CONTEXT_AFTER = 100


class SoqlError(Exception):
    """A query Salesforce would refuse: `error_code` and `message` as its 400 body carries."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    @classmethod
    def at(cls, error_code: str, soql: str, pos: int, text: str) -> SoqlError:
        """An error located at character `pos` of `soql`, with the caret and Row/Column."""
        pos = max(0, min(pos, len(soql)))
        line_start = soql.rfind("\n", 0, pos) + 1
        line_end = soql.find("\n", pos)
        line = soql[line_start : len(soql) if line_end < 0 else line_end]
        row = soql.count("\n", 0, pos) + 1
        column = pos - line_start + 1
        lo = max(0, column - 1 - _CONTEXT_BEFORE)
        shown = line[lo : column - 1 + _CONTEXT_AFTER]
        caret = " " * (column - 1 - lo) + "^"
        return cls(error_code, f"\n{shown}\n{caret}\nERROR at Row:{row}:Column:{column}\n{text}")


@dataclass(frozen=True)
class Token:
    """One lexical token; `pos` is its offset in the query text."""

    kind: str  # ident | string | number | date | datetime | op | punct | eof
    text: str  # as written; for strings the raw text between the quotes (escapes kept)
    pos: int

    def is_word(self, *words: str) -> bool:
        """Whether this is an identifier spelled like one of `words` (case-insensitive)."""
        return self.kind == "ident" and self.text.upper() in words

    def shown(self) -> str:
        """The token as Salesforce quotes it in "unexpected token" messages."""
        if self.kind == "eof":
            return "<EOF>"
        if self.kind == "string":
            return f"'{self.text}'"
        return self.text


_TOKEN = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<datetime>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-][0-9:]+)?)
    |(?P<date>\d{4}-\d{2}-\d{2})
    |(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    |(?P<op>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[(),:])
    """,
    re.VERBOSE,
)
# Escapes allowed in a SOQL string literal; \% and \_ stay escaped for LIKE patterns.
STRING_ESCAPES = {
    "n": "\n", "N": "\n", "r": "\r", "R": "\r", "t": "\t", "T": "\t", "b": "\b", "B": "\b",
    "f": "\f", "F": "\f", '"': '"', "'": "'", "\\": "\\", "%": "%", "_": "_",
}


def tokenize(soql: str) -> list[Token]:
    """The tokens of `soql`, ending with an `eof` token; raises MALFORMED_QUERY on a bad
    character or an unterminated or badly escaped string."""
    tokens: list[Token] = []
    pos = 0
    size = len(soql)
    while pos < size:
        if soql[pos] == "'":
            end = _string_end(soql, pos)
            tokens.append(Token("string", soql[pos + 1 : end], pos))
            pos = end + 1
            continue
        match = _TOKEN.match(soql, pos)
        if match is None:
            row = soql.count("\n", 0, pos) + 1
            column = pos - (soql.rfind("\n", 0, pos) + 1)
            raise SoqlError.at(
                "MALFORMED_QUERY", soql, pos,
                f"line {row}:{column} no viable alternative at character '{soql[pos]}'",
            )
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("eof", "", size))
    return tokens


def _string_end(soql: str, start: int) -> int:
    """Offset of the quote closing the string literal opened at `start`."""
    pos = start + 1
    while pos < len(soql):  # jump from escape to escape (str.find), a 200-id IN list is long
        quote = soql.find("'", pos)
        slash = soql.find("\\", pos, quote if quote >= 0 else len(soql))
        if slash < 0:
            if quote >= 0:
                return quote
            break
        pos = slash
        escaped = soql[pos + 1 : pos + 2]
        if escaped not in STRING_ESCAPES:
            sequence = "\\" + escaped
            raise SoqlError.at(
                "MALFORMED_QUERY", soql, pos,
                f"Invalid string literal '{soql[start + 1 : pos + 2]}'. Illegal character "
                f"sequence '{sequence}' in string literal.",
            )
        pos += 2
    row = soql.count("\n") + 1
    column = len(soql) - (soql.rfind("\n") + 1)
    raise SoqlError.at("MALFORMED_QUERY", soql, len(soql),
                       f"line {row}:{column} mismatched character '<EOF>' expecting '''")


def unescape(raw: str) -> str:
    """The value of a string literal's raw text (escapes resolved)."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    chars = iter(raw)
    for char in chars:
        out.append(STRING_ESCAPES[next(chars)] if char == "\\" else char)
    return "".join(out)


def like_regex(raw: str) -> re.Pattern[str]:
    """The case-insensitive regex of a LIKE pattern's raw text (% any run, _ one character,
    \\% and \\_ literal)."""
    parts: list[str] = []
    chars = iter(raw)
    for char in chars:
        if char == "\\":
            parts.append(re.escape(STRING_ESCAPES[next(chars)]))
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)
