"""Values as the text exports write, computed by the database on both engines, so that an
export's rows reach Python as finished text (and a CSV line as one string): exports of a
million rows spend their time in the database's C code rather than in Python per cell.

Each function below is the SQL of one Python rule, and says which; tests compare the two.
Values are never floats: decimals are built from scaled integers with integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, String, case, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from timeledger.server.core.money import minor_units

# Column kinds: how each format writes a value. A WORD is text that never holds a comma, a
# quote, a backslash or a line break (ids, dates, times, codes), so no format escapes it.
TEXT, WORD, NUMBER, BOOL, JSON = "text", "word", "number", "bool", "json"
QUOTED_KINDS = (TEXT, JSON)  # the kinds a CSV cell may need quotes for


class _Text(FunctionElement[str]):
    """A SQL function rendered per dialect, of text type."""

    type = String()
    inherit_cache = True

    def arg(self, compiler: SQLCompiler, **kw: Any) -> str:
        """The SQL of its (first) argument."""
        return str(compiler.process(next(iter(self.clauses)), **kw))

    def sqlite_printf(self, compiler: SQLCompiler, **kw: Any) -> tuple[str, list[str]] | None:
        """On SQLite, when its SQL is one printf(): the format and the arguments, so that a
        printf around it (joined) takes them in rather than a string made for it."""
        return None


def _printf(form: tuple[str, list[str]]) -> str:
    template, args = form
    return f"printf('{template}', {', '.join(args)})"


class id_text(_Text):  # noqa: N801 (a SQL function)
    """A Uuid column as its canonical text, 8-4-4-4-12 (SQLite stores the 32 hex digits)."""

    inherit_cache = True

    def sqlite_printf(self, compiler: SQLCompiler, **kw: Any) -> tuple[str, list[str]]:
        x = self.arg(compiler, **kw)
        pieces = [f"substr({x}, {start})" for start in (9, 13, 17, 21)]
        return "%.8s-%.4s-%.4s-%.4s-%s", [x, *pieces]


@compiles(id_text, "sqlite")
def _id_text_sqlite(element: id_text, compiler: SQLCompiler, **kw: Any) -> str:
    return _printf(element.sqlite_printf(compiler, **kw))


@compiles(id_text, "postgresql")
def _id_text_postgresql(element: id_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({element.arg(compiler, **kw)} AS TEXT)"


class fixed_text(_Text):  # noqa: N801
    """A non-negative integer of `scale` implied decimals (default: `places`) with exactly
    `places` decimals, further digits dropped: tracking.timing.seconds_to_hours's text
    (places=4) and money (the currency's minor units)."""

    inherit_cache = False  # the numbers are part of the SQL

    def __init__(self, value: Any, places: int, scale: int | None = None) -> None:
        super().__init__(value)
        self.places = int(places)
        self.drop = (self.places if scale is None else int(scale)) - self.places
        assert self.drop >= 0

    def sqlite_printf(self, compiler: SQLCompiler, **kw: Any) -> tuple[str, list[str]]:
        x, n = self.arg(compiler, **kw), self.places
        if self.drop:
            x = f"(({x}) / {10**self.drop})"
        if n == 0:
            return "%d", [x]
        return f"%d.%0{n}d", [f"({x}) / {10**n}", f"({x}) % {10**n}"]


@compiles(fixed_text, "sqlite")
def _fixed_text_sqlite(element: fixed_text, compiler: SQLCompiler, **kw: Any) -> str:
    return _printf(element.sqlite_printf(compiler, **kw))


@compiles(fixed_text, "postgresql")
def _fixed_text_postgresql(element: fixed_text, compiler: SQLCompiler, **kw: Any) -> str:
    # As BIGINT (the value is integral): its / and mod() are exact and quicker than
    # NUMERIC's; mod(), not %, leaves no % for the driver to read as a parameter mark.
    x, n = f"CAST({element.arg(compiler, **kw)} AS BIGINT)", element.places
    if element.drop:
        x = f"({x} / {10**element.drop})"
    if n == 0:
        return f"CAST({x} AS TEXT)"
    whole, rest = f"CAST({x} / {10**n} AS TEXT)", f"CAST(mod({x}, {10**n}) AS TEXT)"
    return f"({whole} || '.' || lpad({rest}, {n}, '0'))"


class scaled_text(_Text):  # noqa: N801
    """An integer of `scale` implied decimals with as few decimals as it needs (none when
    whole): reports.export.scaled, for rates and prices."""

    inherit_cache = False

    def __init__(self, value: ColumnElement[int], scale: int) -> None:
        super().__init__(value)
        self.scale = int(scale)


@compiles(scaled_text, "sqlite")
def _scaled_text_sqlite(element: scaled_text, compiler: SQLCompiler, **kw: Any) -> str:
    x, unit = element.arg(compiler, **kw), 10**element.scale
    sign = f"CASE WHEN {x} < 0 THEN '-' ELSE '' END"
    return (
        f"(CASE WHEN {x} IS NULL THEN NULL WHEN {x} % {unit} = 0 THEN printf('%d', {x} / {unit}) "
        f"ELSE {sign} || printf('%d.', abs({x}) / {unit}) "
        f"|| rtrim(printf('%0{element.scale}d', abs({x}) % {unit}), '0') END)"
    )


@compiles(scaled_text, "postgresql")
def _scaled_text_postgresql(element: scaled_text, compiler: SQLCompiler, **kw: Any) -> str:
    # Division by a power of ten is exact in NUMERIC; trim_scale drops the trailing zeros.
    x = element.arg(compiler, **kw)
    return f"CAST(trim_scale(CAST({x} AS NUMERIC) / {10**element.scale}) AS TEXT)"


def money_text(
    value: Any, currency: Any, currencies: Sequence[str], scale: int | None = None
) -> Any:
    """An amount with its currency's decimals: `value` in minor units, or with `scale`
    implied decimals (digits beyond the currency's dropped)."""
    odd = sorted({code for code in currencies if minor_units(code) != 2})
    whens = [
        (currency == literal_column(f"'{code}'"), fixed_text(value, minor_units(code), scale))
        for code in odd
        if code.isalpha() and len(code) == 3  # written into the SQL
    ]
    usual = fixed_text(value, 2, scale)
    return case(*whens, else_=usual) if whens else usual


def flag_text(condition: Any) -> ColumnElement[str]:
    """A boolean as 'true' / 'false' (never NULL)."""
    return case(
        (condition, literal_column("'true'", String)), else_=literal_column("'false'", String)
    )


# --- instants in a time zone ------------------------------------------------------------------

FIRST_YEAR = 1900
_YEARS_AHEAD = 30


@cache
def zone_offsets(
    zone: str, until_year: int
) -> tuple[timedelta, tuple[tuple[datetime, timedelta], ...]]:
    """A zone's UTC offset at the start of FIRST_YEAR and each change of it until
    `until_year`: (first offset, ((UTC instant of the change, offset from then), ...)).
    Found by looking at every day (no zone changes its offset twice within a day) and
    bisecting to the second; earlier instants take the first offset, later ones the last."""
    tz = ZoneInfo(zone)

    def offset(at: datetime) -> timedelta:
        value = at.astimezone(tz).utcoffset()
        assert value is not None
        return value

    day = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    stop = datetime(until_year, 1, 1, tzinfo=UTC)
    first = current = offset(day)
    changes = []
    while day < stop:
        following = day + timedelta(days=1)
        if (value := offset(following)) != current:
            low, high = 0, 86_400  # the change is within (day + low, day + high]
            while high - low > 1:
                middle = (low + high) // 2
                if offset(day + timedelta(seconds=middle)) == current:
                    low = middle
                else:
                    high = middle
            changes.append((day + timedelta(seconds=high), value))
            current = value
        day = following
    return first, tuple(changes)


def _offset_text(offset: timedelta) -> str:
    """As datetime.isoformat writes an offset: '+01:00', '-03:30', '+00:00'."""
    return datetime(2000, 1, 1, tzinfo=timezone(offset)).isoformat()[19:]


class local_time(_Text):  # noqa: N801
    """A UTC instant in a zone: `iso` as datetime.isoformat writes it (no fraction when it is
    zero, the offset as '+01:00'), or `hhmm` as 'HH:MM'. The offset comes from a binary
    search over the zone's changes (zone_offsets, from Python's own zone data, so the API's
    and the export's local times agree), written into the SQL as nested CASEs."""

    inherit_cache = False

    def __init__(self, instant: Any, zone: str, form: str) -> None:
        super().__init__(instant)
        assert form in ("iso", "hhmm")
        ZoneInfo(zone)  # a known zone: its name is written into no SQL, but check it anyway
        self.zone, self.form = zone, form


def _by_offset(
    x: str, zone: str, at: Callable[[datetime], str], leaf: Callable[[int, str], str]
) -> str:
    """leaf(offset seconds, offset text) for the offset of `x`, an instant compared with the
    literals at() writes: a binary search as nested CASEs, whose leaves are whole
    expressions with their offset written in, so each row walks one path and evaluates one
    leaf."""
    first, changes = zone_offsets(zone, datetime.now(UTC).year + _YEARS_AHEAD)

    def build(low: int, high: int, before: timedelta) -> str:
        if low == high:
            return leaf(int(before.total_seconds()), _offset_text(before))
        middle = (low + high) // 2
        changed_at, after = changes[middle]
        return (
            f"CASE WHEN {x} < {at(changed_at)} THEN {build(low, middle, before)} "
            f"ELSE {build(middle + 1, high, after)} END"
        )

    return f"({build(0, len(changes), first)})"


@compiles(local_time, "sqlite")
def _local_time_sqlite(element: local_time, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC), which compares as text.
    x = element.arg(compiler, **kw)
    whole = f"substr({x}, 1, 19)"  # strftime would round a fraction to milliseconds
    fraction = (  # as stored (6 digits) but none when zero; other stored forms padded
        f"(CASE WHEN substr({x}, 20) = '.000000' THEN '' WHEN length({x}) = 26 "
        f"THEN substr({x}, 20) WHEN substr({x}, 21) GLOB '*[1-9]*' "
        f"THEN substr({x} || '00000', 20, 7) ELSE '' END)"
    )

    def at(instant: datetime) -> str:
        return f"'{instant.strftime('%Y-%m-%d %H:%M:%S')}'"

    def leaf(seconds: int, offset: str) -> str:
        if element.form == "hhmm":
            if not seconds:  # UTC itself: the stored text, no date arithmetic
                return f"substr({x}, 12, 5)"
            return f"strftime('%H:%M', {whole}, '{seconds:+d} seconds')"
        if not seconds:  # the stored text; most often as stored, with a fraction
            usual = f"length({x}) = 26 AND {x} NOT GLOB '*.000000'"
            whole_text = f"substr({x}, 1, 10) || 'T' || substr({x}, 12, 8)"
            return (
                f"CASE WHEN {usual} THEN printf('%.10sT%s{offset}', {x}, substr({x}, 12)) "
                f"ELSE {whole_text} || {fraction} || '{offset}' END"
            )
        local = f"strftime('%Y-%m-%dT%H:%M:%S', {whole}, '{seconds:+d} seconds')"
        return f"{local} || {fraction} || '{offset}'"

    return _by_offset(x, element.zone, at, leaf)


@compiles(local_time, "postgresql")
def _local_time_postgresql(element: local_time, compiler: SQLCompiler, **kw: Any) -> str:
    x = element.arg(compiler, **kw)

    def at(instant: datetime) -> str:
        return f"TIMESTAMPTZ '{instant.strftime('%Y-%m-%d %H:%M:%S')}+00'"

    def leaf(seconds: int, offset: str) -> str:
        local = f"({x} AT TIME ZONE 'UTC')"
        if seconds:
            local = f"({local} + INTERVAL '{seconds} seconds')"
        if element.form == "hhmm":
            return f"to_char({local}, 'HH24:MI')"
        text = f"replace(to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '.000000', '')"
        return f"{text} || '{offset}'"

    return _by_offset(x, element.zone, at, leaf)


# --- CSV --------------------------------------------------------------------------------------


class csv_quoted(_Text):  # noqa: N801
    """A text cell as csv.writer writes it (minimal quoting): in quotes, with its quotes
    doubled, when it holds a comma, a quote or a line break."""

    inherit_cache = True


@compiles(csv_quoted, "sqlite")
def _csv_quoted_sqlite(element: csv_quoted, compiler: SQLCompiler, **kw: Any) -> str:
    # instr() four times took less time than one GLOB '*[,"\r\n]*' (it reads UTF-8 a
    # character at a time).
    x = element.arg(compiler, **kw)
    special = " OR ".join(f"instr({x}, '{c}')" for c in ('"', ",", "\n", "\r"))
    return _quoted_when(x, special)


@compiles(csv_quoted, "postgresql")
def _csv_quoted_postgresql(element: csv_quoted, compiler: SQLCompiler, **kw: Any) -> str:
    x = element.arg(compiler, **kw)
    special = " + ".join(f"strpos({x}, {c})" for c in ("','", "'\"'", "chr(10)", "chr(13)"))
    return _quoted_when(x, f"{special} > 0")


def _quoted_when(x: str, needs: str) -> str:
    """x in double quotes, its own doubled, where `needs` holds; else x as it is."""
    return f"(CASE WHEN {needs} THEN '\"' || replace({x}, '\"', '\"\"') || '\"' ELSE {x} END)"


class joined(_Text):  # noqa: N801
    """Pieces of text joined by commas, NULL as empty, then `end`: one CSV line (or part of
    one) from cells that are already CSV text, built in one call (a chain of || would copy
    the growing line once per cell)."""

    inherit_cache = False  # the end is part of the SQL

    def __init__(self, *pieces: Any, end: str = "") -> None:
        super().__init__(*pieces)
        assert not set(end) & set("'%?\\"), "written into the SQL as it is"
        self.end = end


@compiles(joined, "sqlite")
def _joined_sqlite(element: joined, compiler: SQLCompiler, **kw: Any) -> str:
    templates, args = [], []
    for piece in element.clauses:
        form = piece.sqlite_printf(compiler, **kw) if isinstance(piece, _Text) else None
        template, more = form or ("%s", [compiler.process(piece, **kw)])
        templates.append(template)
        args += more
    return _printf((",".join(templates) + element.end, args))


@compiles(joined, "postgresql")
def _joined_postgresql(element: joined, compiler: SQLCompiler, **kw: Any) -> str:
    parts = [compiler.process(c, **kw) for c in element.clauses]
    # concat, not format('%s,...'): no % for the driver to read as a parameter mark.
    assert len(parts) <= 49, "PostgreSQL functions take at most 100 arguments"
    comma = ", ',', "
    end = f", '{element.end}'" if element.end else ""
    return f"concat({comma.join(parts)}{end})"


def csv_cells(cells: Sequence[Any], kinds: Sequence[str]) -> list[Any]:
    """Cells as CSV text: text and JSON cells quoted where they need it."""
    return [
        csv_quoted(c) if kind in QUOTED_KINDS else c for c, kind in zip(cells, kinds, strict=True)
    ]


class shifted(_Text):  # noqa: N801
    """A UTC instant `seconds` later (a whole number written into the SQL); on SQLite to
    the whole second."""

    inherit_cache = False

    def __init__(self, instant: Any, seconds: int) -> None:
        super().__init__(instant)
        self.seconds = int(seconds)


@compiles(shifted, "sqlite")
def _shifted_sqlite(element: shifted, compiler: SQLCompiler, **kw: Any) -> str:
    # Whole seconds: its only use (a local HH:mm) needs no fraction.
    x = element.arg(compiler, **kw)
    return f"datetime(substr({x}, 1, 19), '{element.seconds:+d} seconds')"


@compiles(shifted, "postgresql")
def _shifted_postgresql(element: shifted, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({element.arg(compiler, **kw)} + make_interval(secs => {element.seconds}))"
