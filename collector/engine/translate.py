"""SQLite's SQL, as the collector writes it, rewritten for PostgreSQL: the one place the dialects differ.

The collector's queries are written once, in SQLite's dialect. `to_postgres`
rewrites what PostgreSQL spells differently. It is a small token-level
rewriter, not a SQL parser: it covers the constructs the collector uses and
refuses the SQLite-only ones it does not know how to carry over (PRAGMA,
INSERT OR REPLACE, ATTACH), so a new query that needs more fails loudly in
the PostgreSQL test run instead of silently meaning something else.

Covered, outside string literals and quoted identifiers:

- `?` placeholders -> `%s` (and `%` -> `%%` when there are parameters);
- `IFNULL(` -> `COALESCE(`;
- scalar `max(a, b)` / `min(a, b)` (two or more arguments) -> `GREATEST` / `LEAST`;
  the aggregates (one argument) are left alone;
- `GROUP_CONCAT(x)` -> `STRING_AGG(x, ',')`;
- `json_extract(x, '$.key')` -> `(CAST(x AS json) ->> 'key')` (one level, text);
- `FROM json_each(?)` -> `FROM json_array_elements_text(CAST(? AS json)) AS json_each(value)`;
- `julianday(x)` -> the Julian day of the timestamp text x;
- `INSERT OR IGNORE INTO ...` -> `INSERT INTO ... ON CONFLICT DO NOTHING`;
- `IN ()` (SQLite's empty list) -> `IN (SELECT NULL WHERE FALSE)`;
- `temp.` -> `pg_temp.`; `INDEXED BY name` (a SQLite planner hint) dropped;
- in CREATE TABLE: `INTEGER PRIMARY KEY [AUTOINCREMENT]` -> an identity column,
  `INTEGER` -> `BIGINT` (SQLite's integers are 64-bit), `REAL` -> `DOUBLE PRECISION`,
  `BLOB` -> `BYTEA`, `WITHOUT ROWID` dropped.
"""

from __future__ import annotations

import re
from functools import lru_cache

_TOKEN = re.compile(r"""
    (?P<string>'(?:[^']|'')*')
  | (?P<ident>"(?:[^"]|"")*")
  | (?P<word>[A-Za-z_][A-Za-z_0-9]*)
  | (?P<space>\s+)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)


class UnsupportedSql(ValueError):
    """A SQLite-only construct the translator does not carry over to PostgreSQL."""


def _tokens(sql: str) -> list[str]:
    return [m.group(0) for m in _TOKEN.finditer(sql)]


def _close(tokens: list[str], open_at: int) -> int:
    """The index of the `)` matching the `(` at `open_at`."""
    depth = 0
    for i in range(open_at, len(tokens)):
        if tokens[i] == "(":
            depth += 1
        elif tokens[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise UnsupportedSql("unbalanced parentheses")


def _top_level_commas(tokens: list[str], open_at: int, close_at: int) -> list[int]:
    depth, commas = 0, []
    for i in range(open_at + 1, close_at):
        if tokens[i] == "(":
            depth += 1
        elif tokens[i] == ")":
            depth -= 1
        elif tokens[i] == "," and depth == 0:
            commas.append(i)
    return commas


def _next_word(tokens: list[str], i: int) -> int:
    """Index of the next non-space token after i (len(tokens) if none)."""
    i += 1
    while i < len(tokens) and tokens[i].isspace():
        i += 1
    return i


def _rewrite(tokens: list[str], *, ddl: bool) -> list[str]:
    out: list[str] = []
    i = 0
    on_conflict_nothing = False
    while i < len(tokens):
        tok = tokens[i]
        upper = tok.upper()
        nxt = _next_word(tokens, i)
        after = tokens[nxt] if nxt < len(tokens) else ""
        if upper == "PRAGMA" or upper == "ATTACH":
            raise UnsupportedSql(f"{upper} is SQLite's: ask collector.engine for what it gives")
        if upper == "INSERT" and after.upper() == "OR":
            what = _next_word(tokens, nxt)
            if tokens[what].upper() != "IGNORE":
                raise UnsupportedSql(f"INSERT OR {tokens[what]}: write ON CONFLICT (...) DO UPDATE instead")
            out.append("INSERT")
            on_conflict_nothing = True
            i = what + 1
            continue
        if upper == "IN" and after == "(" and tokens[_next_word(tokens, nxt)] == ")":
            out.append("IN (SELECT NULL WHERE FALSE)")  # SQLite's empty list
            i = _next_word(tokens, nxt) + 1
            continue
        if upper == "INDEXED" and after.upper() == "BY":
            i = _next_word(tokens, _next_word(tokens, nxt)) + 1  # INDEXED BY name
            continue
        if upper == "WITHOUT" and after.upper() == "ROWID":
            i = nxt + 1
            continue
        if upper == "TEMP" and after == ".":
            out.append("pg_temp")
            i += 1
            continue
        if after == "(" and upper in ("IFNULL", "MAX", "MIN", "GROUP_CONCAT", "JSON_EXTRACT", "JULIANDAY",
                                      "JSON_EACH"):
            close = _close(tokens, nxt)
            inner = tokens[nxt + 1:close]
            commas = [c - nxt - 1 for c in _top_level_commas(tokens, nxt, close)]
            args = [_rewrite(part, ddl=ddl) for part in _split(inner, commas)]
            replaced = _function(tok, upper, args)
            if replaced is not None:
                if upper == "JSON_EACH":
                    replaced += " AS json_each(value)"
                out.append(replaced)
                i = close + 1
                continue
        if ddl and upper == "INTEGER":
            pk = _next_word(tokens, i)
            key = _next_word(tokens, pk)
            if tokens[pk].upper() == "PRIMARY" and key < len(tokens) and tokens[key].upper() == "KEY":
                out.append("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
                i = key + 1
                auto = _next_word(tokens, key)
                if auto < len(tokens) and tokens[auto].upper() == "AUTOINCREMENT":
                    i = auto + 1
                continue
            out.append("BIGINT")
            i += 1
            continue
        if ddl and upper in ("REAL", "BLOB"):
            out.append("DOUBLE PRECISION" if upper == "REAL" else "BYTEA")
            i += 1
            continue
        out.append(tok)
        i += 1
    if on_conflict_nothing:
        while out and (out[-1].isspace() or out[-1] == ";"):
            out.pop()
        out.append(" ON CONFLICT DO NOTHING")
    return out


def _split(tokens: list[str], commas: list[int]) -> list[list[str]]:
    parts, start = [], 0
    for c in commas:
        parts.append(tokens[start:c])
        start = c + 1
    parts.append(tokens[start:])
    return parts


def _function(name: str, upper: str, args: list[list[str]]) -> str | None:
    text = ["".join(a).strip() for a in args]
    if upper == "IFNULL":
        return f"COALESCE({', '.join(text)})"
    if upper in ("MAX", "MIN"):
        if len(text) == 1:
            return f"{name}({text[0]})"  # the aggregate
        return f"{'GREATEST' if upper == 'MAX' else 'LEAST'}({', '.join(text)})"
    if upper == "GROUP_CONCAT":
        separator = text[1] if len(text) > 1 else "','"
        return f"STRING_AGG({text[0]}, {separator})"
    if upper == "JSON_EXTRACT":
        path = re.fullmatch(r"'\$\.([A-Za-z_0-9]+)'", text[1]) if len(text) == 2 else None
        if path is None:
            raise UnsupportedSql(f"json_extract({', '.join(text)}): only '$.key' paths are carried over")
        return f"(CAST({text[0]} AS json) ->> '{path.group(1)}')"
    if upper == "JULIANDAY":
        return f"(EXTRACT(EPOCH FROM CAST({text[0]} AS timestamptz)) / 86400.0 + 2440587.5)"
    if upper == "JSON_EACH":
        return f"json_array_elements_text(CAST({text[0]} AS json))"
    return None


@lru_cache(maxsize=4096)
def to_postgres(sql: str, with_params: bool) -> str:
    """`sql` (SQLite's dialect, `?` placeholders) as PostgreSQL runs it through psycopg."""
    tokens = _tokens(sql)
    ddl = bool(re.match(r"\s*CREATE\s+(TEMP\s+|TEMPORARY\s+)?TABLE\b", sql, re.IGNORECASE))
    if with_params:  # psycopg's placeholders; a literal % (in strings too) is doubled
        tokens = ["%s" if t == "?" else t.replace("%", "%%") for t in tokens]
    elif "?" in tokens:
        raise UnsupportedSql("a ? placeholder without parameters")
    return "".join(_rewrite(tokens, ddl=ddl))
