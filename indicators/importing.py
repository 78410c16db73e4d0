"""Import indicator values from CSV/XLSX files, or one value typed by hand, into the store.

Guarantees:
- Validation is vectorised in DuckDB (no Python loop over rows) and collects every error of a file,
  each located by spreadsheet line and column, in French, with the value found and what is expected.
- A file with any error changes nothing; several files are applied all together or not at all,
  each as its own journal entry, in one transaction.
- A dry run goes through exactly the same path and rolls back at the end.
- Text (comments) is stored as given and never interpreted.
"""

from __future__ import annotations

import difflib
import functools
import re
import threading
import unicodedata
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from indicators import settings
from indicators.errors import ImportRefused, InputError, Refused
from indicators.framework import Framework
from indicators.storage import VERSION_BLOCK, Store, utcnow
from indicators.tabular import RawTable, read_table

# Header synonyms, compared after `normalise_header` (lower case, no accents, single spaces).
SYNONYMS = {
    "indicator": ("indicateur", "code", "indicator", "code indicateur"),
    "label": ("libelle", "label", "intitule", "libelle indicateur"),
    "year": ("annee", "year", "exercice"),
    "value": ("valeur", "realise", "realisation", "value"),
    "comment": ("commentaire", "commentaires", "observations", "observation", "comment"),
}
FIELD_NAMES = {"indicator": "indicateur", "year": "année", "value": "valeur", "comment": "commentaire"}
YEAR_HEADER = re.compile(r"(?:(?:realise|realisation|valeur|annee)\s*)?(\d{4})")

# The largest magnitude a DOUBLE holds as an exact integer is 2**53; stay well below it.
CAPACITY = 1e15

# SQL macros shared by validation and by the one-value parser, so both read numbers the same way.
MACROS = r"""
CREATE OR REPLACE TEMP MACRO kpi_norm(s) AS trim(regexp_replace(
    strip_accents(lower(replace(replace(replace(replace(replace(replace(replace(replace(
        s, 'œ', 'oe'), 'Œ', 'oe'), 'æ', 'ae'), '’', ''''), '–', '-'), '—', '-'), '«', ' '), '»', ' '))),
    '["“”\s\x{00A0}\x{202F}\x{2009}]+', ' ', 'g'));
CREATE OR REPLACE TEMP MACRO kpi_num_text(s) AS regexp_replace(
    replace(replace(replace(trim(s), '−', '-'), '€', ''), 'EUR', ''),
    '[\s\x{00A0}\x{202F}\x{2009}'']', '', 'g');
CREATE OR REPLACE TEMP MACRO kpi_number_clean(c) AS (
    CASE
      WHEN regexp_full_match(c, '\d{1,15}') THEN c::DOUBLE
      WHEN regexp_full_match(c, '[+-]?\d+([.,]\d+)?([eE][+-]?\d+)?')
        THEN TRY_CAST(replace(c, ',', '.') AS DOUBLE)
      WHEN regexp_full_match(c, '[+-]?\d{1,3}(\.\d{3})+(,\d+)?')
        THEN TRY_CAST(replace(replace(c, '.', ''), ',', '.') AS DOUBLE)
      WHEN regexp_full_match(c, '[+-]?\d{1,3}(,\d{3})+(\.\d+)?')
        THEN TRY_CAST(replace(c, ',', '') AS DOUBLE)
    END);
CREATE OR REPLACE TEMP MACRO kpi_number(s) AS kpi_number_clean(kpi_num_text(s));
"""


def normalise_header(text: str) -> str:
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return " ".join(text.replace("_", " ").casefold().split())


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(MACROS)


_parser = threading.local()  # one in-memory DuckDB per thread (a connection is not thread-safe)


@functools.lru_cache(maxsize=4096)
def parse_number(text: str) -> float | None:
    """The number written in `text` as the importer reads it (`1 234,5` → 1234.5), or None.

    The importer's own SQL macro on a kept in-memory connection, and remembered: a page with fifteen
    typed fields reruns on every keystroke, and opening a connection per field cost 40 ms each."""
    con = getattr(_parser, "con", None)
    if con is None:
        con = _parser.con = duckdb.connect()
        install_macros(con)
    return con.execute("SELECT kpi_number(?)", [text]).fetchone()[0]


@dataclass
class Layout:
    kind: str  # "long" or "wide"
    columns: dict[str, int]  # field -> column index
    headers: dict[str, str]  # field -> header as written
    year_columns: list[tuple[int, str, int | None]] = field(default_factory=list)  # (index, header, year)


@dataclass
class ImportResult:
    """What one file changed (or would change, for a dry run)."""

    file_name: str
    changeset_id: int | None
    added: int
    changed: int
    unchanged: int
    changes: pd.DataFrame  # indicator, year, old_value, value, comment, change, line (capped)
    layout: str
    file_format: str
    encoding: str | None
    delimiter: str | None
    sha256: str
    warnings: list[str]
    dry_run: bool
    domain: str = "values"  # values (indicators) | expenses (actual spending, see `spending`)


def _err(line: int, column: str, value: str, message: str) -> InputError:
    return InputError(line, column, value, message)


def detect_layout(raw: RawTable) -> tuple[Layout | None, list[InputError]]:
    """Map the header to fields; the layout is long with a value column, wide with year columns."""
    errors: list[InputError] = []
    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    years: list[tuple[int, str, int | None]] = []
    for i, header in enumerate(raw.header):
        norm = normalise_header(header)
        if not norm:
            continue
        for fld, names in SYNONYMS.items():
            if norm in names:
                if fld in columns:
                    errors.append(
                        _err(
                            1,
                            header,
                            header,
                            f"la colonne « {FIELD_NAMES.get(fld, fld)} » apparaît deux "
                            f"fois (colonnes « {headers[fld]} » et « {header} ») : gardez-en une seule",
                        )
                    )
                columns[fld], headers[fld] = i, header
                break
        else:
            if m := YEAR_HEADER.fullmatch(norm):
                years.append((i, header, int(m.group(1))))
    if "indicator" not in columns and "label" in columns:
        columns["indicator"], headers["indicator"] = columns.pop("label"), headers.pop("label")
    expected = "attendu : les colonnes indicateur, année et valeur, ou indicateur et une colonne par année"
    if "indicator" not in columns:
        errors.append(_err(1, "indicateur", "", f"colonne obligatoire « indicateur » absente ({expected})"))
    if "value" in columns:
        kind = "long"
        if "year" not in columns:
            errors.append(_err(1, "année", "", f"colonne obligatoire « année » absente ({expected})"))
        years = []
    elif years:
        kind = "wide"
    else:
        kind = "long"
        errors.append(_err(1, "valeur", "", f"colonne obligatoire « valeur » absente ({expected})"))
    if errors:
        return None, errors
    return Layout(kind, columns, headers, years), []


def _cells_view(con: duckdb.DuckDBPyConnection, raw: RawTable, layout: Layout) -> None:
    """Temp view `cells(line, ind_raw, year_raw, val_raw, cmt_raw, year_idx, val_idx)` over the file's
    Arrow table, one row per value given (`*_idx`: the column a cell comes from). Nothing is copied.

    SQL text is built from column indexes and years that come from the header analysis, never from cells."""
    con.register("raw_input", raw.table)
    c = layout.columns
    cmt = f"c{c['comment']}" if "comment" in c else "''"
    ind = f"c{c['indicator']}"
    if layout.kind == "long":
        y, v = c["year"], c["value"]
        sql = (
            f"SELECT line, {ind} AS ind_raw, c{y} AS year_raw, c{v} AS val_raw, {cmt} AS cmt_raw, "
            f"{y} AS year_idx, {v} AS val_idx FROM raw_input"
        )
    else:
        sql = " UNION ALL ".join(
            f"SELECT line, {ind} AS ind_raw, '{int(year)}' AS year_raw, c{i} AS val_raw, {cmt} AS cmt_raw, "
            f"{i} AS year_idx, {i} AS val_idx FROM raw_input WHERE trim(c{i}) <> ''"
            for i, _header, year in layout.year_columns
        )
    con.execute(f"CREATE OR REPLACE TEMP VIEW cells AS {sql}")


_FRAMEWORK_TABLES: dict[str, pa.Table] = {}


def _framework_table(fw: Framework) -> pa.Table:
    """The indicators as an Arrow table (code, ind_no, label, whole, max), built once per framework version."""
    table = _FRAMEWORK_TABLES.get(fw.sha256)
    if table is None:
        table = pa.table(
            {
                "code": [i.code for i in fw.indicators],
                "ind_no": pa.array(range(len(fw.indicators)), pa.int32()),
                "label": [i.label for i in fw.indicators],
                "whole": [i.whole for i in fw.indicators],
                "max": [float(i.max) for i in fw.indicators],
            }
        )
        _FRAMEWORK_TABLES.clear()  # one framework is current at a time
        _FRAMEWORK_TABLES[fw.sha256] = table
    return table


# Each distinct indicator text of the file, once, with the framework's entry it names: by code (any case),
# else (second statement, only when some texts are not codes) by official label, case and accents ignored.
IND_MAP_SQL = """
CREATE OR REPLACE TEMP TABLE ind_map AS
SELECT t.ind_raw, f.code, f.ind_no, f.whole, f.max
FROM (SELECT DISTINCT ind_raw FROM cells) t LEFT JOIN fw_ind f ON upper(trim(t.ind_raw)) = f.code
"""
LABELS_SQL = """
UPDATE ind_map SET code = l.code, ind_no = l.ind_no, whole = l.whole, max = l.max
FROM (SELECT kpi_norm(label) AS norm, code, ind_no, whole, max FROM fw_ind) l
WHERE ind_map.code IS NULL AND trim(ind_map.ind_raw) <> '' AND kpi_norm(ind_map.ind_raw) = l.norm
"""

# The number in a cell: plain digits (the usual case) are cast directly, anything else goes through the
# French-aware parser; both give the same result for plain digits.
NUMBER = r"CASE WHEN regexp_full_match(val_raw, '\d{1,15}') THEN val_raw::DOUBLE ELSE kpi_number(val_raw) END"
# The year in a cell, NULL unless four digits (spaces around allowed): a cell that reads back as the
# integer it casts to (the usual case) needs no pattern match. Years outside 1000-9999 are refused by the
# framework, so `year BETWEEN $y0 AND $y1` then also means "four digits".
YEAR = r"""CASE WHEN TRY_CAST(year_raw AS INTEGER)::VARCHAR = year_raw THEN TRY_CAST(year_raw AS INTEGER)
            WHEN regexp_full_match(trim(year_raw), '\d{4}') THEN TRY_CAST(trim(year_raw) AS INTEGER) END"""

# One pass over the file: every cell parsed, joined to the framework and to the current value of its
# indicator and year, and `bad` when any check fails. `bad` is true exactly when ERRORS_SQL gives the cell
# a message (and when anything is NULL, to be safe), so that the messages, the slow part, are only
# written for files that have errors.
CHECKED_SQL = f"""
CREATE OR REPLACE TEMP TABLE checked AS
WITH b AS (
    SELECT c.line, c.val_idx, m.code, m.ind_no, m.whole, m.max, {YEAR} AS year, nullif(c.cmt_raw, '') AS comment,
           {NUMBER} AS num
    FROM cells c LEFT JOIN ind_map m USING (ind_raw)
)
SELECT b.line, b.val_idx, b.code, b.ind_no, b.year, b.num AS value, b.comment,
       coalesce(b.code IS NULL OR NOT coalesce(b.year BETWEEN $y0 AND $y1, false) OR b.num IS NULL OR isinf(b.num)
                OR abs(b.num) >= $capacity OR b.num < 0 OR (b.whole AND b.num <> floor(b.num)) OR b.num > b.max,
                true) AS bad,
       cur.value AS old_value, cur.comment AS old_comment
FROM b LEFT JOIN current_values cur ON cur.indicator = b.code AND cur.year = b.year
"""

# Every error of the file, in French, for files where some cell is `bad`: (line, field, column index,
# value found, message), field being 1 indicator, 2 year, 3 value (the order within a line).
ERRORS_SQL = f"""
WITH b AS (
    SELECT c.line, c.year_idx, c.val_idx, trim(c.ind_raw) AS ind_t, trim(c.year_raw) AS year_t,
           trim(c.val_raw) AS val_t, {NUMBER} AS num, m.code, coalesce(m.whole, true) AS whole, m.max
    FROM cells c LEFT JOIN ind_map m USING (ind_raw)
), e AS (
    SELECT line, year_idx, val_idx, ind_t, year_t, val_t,
       CASE
         WHEN ind_t = '' THEN 'indicateur manquant (attendu : un code comme ' || $first_code || ' ou un libellé officiel)'
         WHEN code IS NULL THEN '« ' || left(ind_t, 60) || ' » n''est pas un indicateur de la convention'
       END AS err_ind,
       CASE
         WHEN year_t = '' THEN 'année manquante (attendu : une année de ' || $y0 || ' à ' || $y1 || ')'
         WHEN NOT regexp_full_match(year_t, '\\d{{4}}') THEN '« ' || left(year_t, 60)
              || ' » n''est pas une année (attendu : une année de ' || $y0 || ' à ' || $y1 || ')'
         WHEN year_t::INTEGER NOT BETWEEN $y0 AND $y1 THEN '« ' || year_t
              || ' » est hors de la période de la convention (attendu : une année de ' || $y0 || ' à ' || $y1 || ')'
       END AS err_year,
       CASE
         WHEN val_t = '' THEN 'valeur manquante (attendu : ' || (CASE WHEN whole THEN 'un entier' ELSE 'un nombre' END)
              || ' ≥ 0 ; supprimez la ligne si la valeur n''est pas connue)'
         WHEN num IS NULL THEN '« ' || left(val_t, 60) || ' » n''est pas un nombre (attendu : '
              || (CASE WHEN whole THEN 'un entier' ELSE 'un nombre' END) || ' ≥ 0)'
         WHEN isinf(num) OR abs(num) >= $capacity THEN '« ' || left(val_t, 60)
              || ' » est trop grand pour être enregistré (attendu : un nombre inférieur à un million de milliards)'
         WHEN num < 0 THEN '« ' || val_t || ' » est négatif (attendu : '
              || (CASE WHEN whole THEN 'un entier' ELSE 'un nombre' END) || ' ≥ 0)'
         WHEN whole AND num <> floor(num) THEN '« ' || val_t || ' » n''est pas un entier (attendu : un entier ≥ 0)'
         WHEN num > max THEN '« ' || val_t || ' » dépasse la valeur plausible maximale de '
              || replace(format('{{:,}}', max::BIGINT), ',', ' ') || ' pour ' || code
              || ' (vérifiez le nombre saisi ou l''unité)'
       END AS err_val
    FROM b
)
SELECT line, 1 AS field, NULL AS idx, ind_t AS val, err_ind AS msg FROM e WHERE err_ind IS NOT NULL
UNION ALL SELECT line, 2, year_idx, year_t, err_year FROM e WHERE err_year IS NOT NULL
UNION ALL SELECT line, 3, val_idx, val_t, err_val FROM e WHERE err_val IS NOT NULL
ORDER BY line, field, idx
"""

# Whether some indicator and year appear on more than one valid cell: each pair is a number below
# indicators × years, and counting them in an array of that size is a fifth of the time of a DISTINCT
# (frameworks too large for such an array use the DISTINCT).
PAIR_NUMBERS_SQL = "SELECT ind_no * $years + (year - $y0) AS k FROM checked WHERE NOT bad"
PAIRS_REPEAT_SQL = "SELECT count(DISTINCT ind_no * 10000 + year) < count(*) FROM checked WHERE NOT bad"
DENSE_PAIRS_MAX = 20_000_000


def _pairs_repeat(con: duckdb.DuckDBPyConnection, fw: Framework) -> bool:
    if len(fw.indicators) * len(fw.years) > DENSE_PAIRS_MAX:
        return con.execute(PAIRS_REPEAT_SQL).fetchall()[0][0]
    numbers = con.execute(PAIR_NUMBERS_SQL, {"years": len(fw.years), "y0": fw.years[0]}).fetchnumpy()["k"]
    return bool(np.bincount(numbers, minlength=1).max() > 1)


# What the file changes, one row per indicator and year: the valid cells themselves when no pair repeats
# (the usual case: a view, nothing copied; `position` numbers the cells, from the line and the column) …
DIFF_VIEW_SQL = """
CREATE OR REPLACE TEMP VIEW diff AS
SELECT k.code AS indicator, k.year, k.value, coalesce(k.comment, k.old_comment) AS comment, k.line,
       k.old_value, k.old_comment, (k.line::BIGINT - 2) * {width} + k.val_idx AS position,
       CASE WHEN k.old_value IS NULL THEN 'nouveau'
            WHEN k.old_value = k.value AND (k.comment IS NULL OR k.comment = coalesce(k.old_comment, ''))
              THEN 'inchangé'
            ELSE 'modifié' END AS change
FROM checked k WHERE NOT k.bad
"""
# … otherwise the same pair on several lines keeps one value if they agree (and the first comment given),
# and a disagreement is an error on each later line that differs from the first.
PAIRS_SQL = """
CREATE OR REPLACE TEMP TABLE staged_pairs AS
SELECT code AS indicator, year, arg_min(value, line) AS value,
       arg_min(comment, line) FILTER (WHERE comment IS NOT NULL) AS comment, min(line) AS line,
       min(value) <> max(value) AS conflict
FROM checked WHERE NOT bad
GROUP BY code, year
"""
CONFLICTS_SQL = """
SELECT c.line, c.val_idx, trim(cv.val_raw), c.code || ' ' || c.year || ' figure aussi ligne ' || s.line
       || ' avec une autre valeur (« ' || trim(fv.val_raw) || ' » et « ' || trim(cv.val_raw)
       || ' ») : gardez une seule ligne'
FROM staged_pairs s
JOIN checked c ON c.code = s.indicator AND c.year = s.year AND c.line <> s.line AND c.value <> s.value
JOIN checked f ON f.line = s.line AND f.code = s.indicator AND f.year = s.year
JOIN cells cv ON cv.line = c.line AND cv.val_idx = c.val_idx
JOIN cells fv ON fv.line = f.line AND fv.val_idx = f.val_idx
WHERE s.conflict AND NOT c.bad AND NOT f.bad
"""
DIFF_PAIRS_SQL = """
CREATE OR REPLACE TEMP TABLE diff_pairs AS
SELECT s.indicator, s.year, s.value, coalesce(s.comment, c.comment) AS comment, s.line,
       c.value AS old_value, c.comment AS old_comment,
       CASE WHEN c.value IS NULL THEN 'nouveau'
            WHEN c.value = s.value AND (s.comment IS NULL OR s.comment = coalesce(c.comment, '')) THEN 'inchangé'
            ELSE 'modifié' END AS change
FROM staged_pairs s LEFT JOIN current_values c USING (indicator, year);
CREATE OR REPLACE TEMP VIEW diff AS SELECT *, row_number() OVER () AS position FROM diff_pairs;
"""


def _suggest(unknown: list[str], fw: Framework, limit: int = 20) -> dict[str, str]:
    """Nearest code or label for each unknown indicator text (the first `limit` distinct ones)."""
    codes = [i.code for i in fw.indicators]
    labels = {i.label.casefold(): i for i in fw.indicators}
    out: dict[str, str] = {}
    for text in unknown[:limit]:
        match = difflib.get_close_matches(text.upper(), codes, n=1, cutoff=0.6)
        if match:
            out[text] = f"« {match[0]} » – {fw.indicator(match[0]).label}"
            continue
        match = difflib.get_close_matches(text.casefold(), list(labels), n=1, cutoff=0.5)
        if match:
            ind = labels[match[0]]
            out[text] = f"« {ind.code} » – {ind.label}"
    return out


def validate(con: duckdb.DuckDBPyConnection, raw: RawTable, fw: Framework) -> list[InputError]:
    """Every error of `raw`; when there is none, temp relation `diff` holds what the file changes (see
    `write_diff`) and `raw`'s cells are released. The usual file (no error, no repeated pair) takes three
    passes over its cells."""
    layout, errors = detect_layout(raw)
    if layout is None:
        return errors
    years = (fw.years[0], fw.years[-1])
    seen: dict[int, str] = {}
    for _index, header, year in layout.year_columns:
        if year in seen:
            errors.append(
                _err(
                    1,
                    header,
                    header,
                    f"les colonnes « {seen[year]} » et « {header} » désignent toutes deux l'année {year} : "
                    "gardez-en une seule",
                )
            )
        seen.setdefault(year, header)
        if year is not None and not years[0] <= year <= years[1]:
            errors.append(
                _err(
                    1,
                    header,
                    header,
                    f"la colonne « {header} » désigne une année hors de la période "
                    f"de la convention (attendu : de {years[0]} à {years[1]})",
                )
            )
    last_line = raw.table.column("line")[-1].as_py() if raw.table.num_rows else 1
    if last_line * len(raw.header) >= VERSION_BLOCK:  # cells are numbered within a changeset's block of ids
        errors.append(_err(1, "", "", "le fichier a trop de cellules pour un seul import : découpez-le"))
    if errors:
        return errors
    install_macros(con)
    con.register("fw_ind", _framework_table(fw))
    _cells_view(con, raw, layout)
    params = {"y0": years[0], "y1": years[1], "capacity": CAPACITY}
    con.execute(IND_MAP_SQL)
    if con.execute("SELECT count(*) FROM ind_map WHERE code IS NULL AND trim(ind_raw) <> ''").fetchall()[0][0]:
        con.execute(LABELS_SQL)
    con.execute(CHECKED_SQL, params)
    rows: list[tuple] = []
    if con.execute("SELECT bool_or(bad) FROM checked").fetchall()[0][0]:
        rows = [
            (line, raw.header[layout.columns["indicator"]] if field == 1 else raw.header[idx], val, msg)
            for line, field, idx, val, msg in con.execute(
                ERRORS_SQL, {**params, "first_code": fw.indicators[0].code}
            ).fetchall()
        ]
        if not rows:  # `bad` and the messages disagree: refuse rather than drop a cell silently
            line = con.execute("SELECT min(line) FROM checked WHERE bad").fetchall()[0][0]
            rows = [(line, "", "", "cellule illisible (vérifiez cette ligne)")]
    if _pairs_repeat(con, fw):
        con.execute(PAIRS_SQL)
        for line, idx, val, msg in con.execute(CONFLICTS_SQL).fetchall():
            rows.append((line, raw.header[idx], val, msg))
        if not rows:
            con.execute(DIFF_PAIRS_SQL)
    elif not rows:
        con.execute(DIFF_VIEW_SQL.format(width=int(len(raw.header))))
    unknown = sorted({v for _, _, v, m in rows if m.endswith("n'est pas un indicateur de la convention")})
    hints = _suggest(unknown, fw) if unknown else {}
    for line, col, val, msg in rows:
        if val in hints and msg.endswith("n'est pas un indicateur de la convention"):
            msg += f" (vouliez-vous dire {hints[val]} ?)"
        errors.append(_err(int(line), col, val or "", msg))
    con.execute("DROP VIEW cells")
    con.unregister("raw_input")
    con.unregister("fw_ind")
    if not rows:
        raw.release()  # every cell is in `checked` now: free the file's table before the write
    return sorted(errors, key=lambda e: e.line)  # stable: indicator, year, value within a line


@dataclass(frozen=True)
class Domain:
    """What differs between writing indicator values and actual spending: the diff table the caller
    built, how its changes are previewed, where its versions go. Table names come from code only."""

    name: str  # changesets.domain
    diff: str  # temp table or view with year, change, position (unique), and the staged rows
    preview_sql: str  # SELECT … FROM diff WHERE change <> 'inchangé' ORDER BY … LIMIT ?
    insert_sql: str  # INSERT INTO …_versions SELECT <new version id>, … FROM diff WHERE change <> 'inchangé'
    empty_warning: str


VALUES = Domain(
    "values",
    "diff",
    "SELECT indicator, year, old_value, value, comment, change, line FROM diff "
    "WHERE change <> 'inchangé' ORDER BY line, indicator, year LIMIT ?",
    # Unchanged cells are written too: under the ledger rule the file says them as much as the others, and
    # cancelling an older change that gave the same value must leave them to this one.
    f"INSERT INTO value_versions SELECT $cs * {VERSION_BLOCK} + position, $cs, indicator, year, value, comment, line "
    "FROM diff",
    "Le fichier ne contient aucune valeur.",
)


def write_diff(
    con: duckdb.DuckDBPyConnection,
    raw: RawTable,
    domain: Domain,
    layout_kind: str,
    kind: str,
    user: str,
    comment: str | None,
    dry_run: bool,
    preview_limit: int,
) -> ImportResult:
    """Count and preview a domain's diff, then write it as one changeset (unless it is a dry run).
    Refused when a year it changes is locked (submitted or validated)."""
    from indicators.access import refuse_if_locked_con

    by_year = con.execute(f"SELECT change, year, count(*) FROM {domain.diff} GROUP BY change, year").fetchall()
    refuse_if_locked_con(con, sorted({year for change, year, _ in by_year if change != "inchangé"}))
    counts: dict[str, int] = {}
    for change, _year, n in by_year:
        counts[change] = counts.get(change, 0) + n
    added, changed, unchanged = counts.get("nouveau", 0), counts.get("modifié", 0), counts.get("inchangé", 0)
    changes = con.execute(domain.preview_sql, [preview_limit]).df()
    warnings = [] if added + changed + unchanged else [domain.empty_warning]
    if raw.sha256:
        previous = con.execute(
            "SELECT id FROM journal WHERE file_sha256 = ? AND state = 'applied' AND kind = 'import' "
            "ORDER BY id DESC LIMIT 1",
            [raw.sha256],
        ).fetchone()
        if previous:
            warnings.append(f"Ce fichier identique a déjà été importé (import n° {previous[0]}).")
    changeset_id = None
    # A hand entry that changes nothing writes nothing (a file is journaled even then: it was received).
    if not dry_run and (kind != "edit" or added + changed):
        changeset_id = con.execute("SELECT nextval('changeset_seq')").fetchone()[0]
        con.execute(
            "INSERT INTO changesets (id, kind, user_name, created_at, comment, file_name, file_sha256, file_bytes, "
            "file_format, added, changed, unchanged, domain) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                changeset_id,
                kind,
                user,
                utcnow(),
                comment,
                raw.file_name if kind == "import" else None,
                raw.sha256 or None,
                raw.size or None,
                raw.file_format if kind == "import" else None,
                added,
                changed,
                unchanged,
                domain.name,
            ],
        )
        con.execute(domain.insert_sql, {"cs": changeset_id})
    return ImportResult(
        raw.file_name,
        changeset_id,
        added,
        changed,
        unchanged,
        changes,
        layout_kind,
        raw.file_format,
        raw.encoding,
        raw.delimiter,
        raw.sha256,
        warnings,
        dry_run,
        domain=domain.name,
    )


def import_files(
    store: Store,
    files: list[tuple[str, bytes]],
    user: str,
    comment: str | None = None,
    dry_run: bool = False,
    preview_limit: int = 1000,
    max_bytes: int | None = None,
    max_rows: int | None = None,
) -> list[ImportResult]:
    """Validate every file, then apply them all in one transaction (each its own journal entry).

    Indicator files and expense files (recognised by their columns, see `spending`) may be mixed.

    Raises ImportRefused (every error of every refused file; nothing written), Refused (demo data
    present), StoreBusy. With dry_run, reports what would change and writes nothing.
    """
    from indicators import spending  # spending builds on this module

    max_bytes = max_bytes or int(settings.get_float("max_file_mb") * 1_000_000)
    max_rows = max_rows or settings.get_int("max_rows")
    fw = store.framework()
    refusals: list[tuple[str, list[InputError]]] = []
    tables: list[RawTable] = []
    for name, data in files:
        try:
            tables.append(read_table(data, name, max_bytes, max_rows))
        except ImportRefused as e:
            refusals.extend(e.refusals)
    if refusals:
        raise ImportRefused(refusals)
    from indicators.backup import guarded_write

    results = []
    with guarded_write(store, user, "import", dry_run) as con:
        Store.refuse_if_demo(con)
        for raw in tables:
            if spending.is_expense_file(raw):
                errors = spending.validate(con, raw, fw)
                if not errors:
                    results.append(spending.apply(con, raw, "import", user, comment, dry_run, preview_limit))
            else:
                errors = validate(con, raw, fw)
                if not errors:
                    layout = detect_layout(raw)[0]
                    results.append(
                        write_diff(con, raw, VALUES, layout.kind, "import", user, comment, dry_run, preview_limit)
                    )
            if errors:
                refusals.append((raw.file_name, errors))
        if refusals:
            raise ImportRefused(refusals)
    return results


def import_file(
    store: Store, file_name: str, data: bytes, user: str, comment: str | None = None, dry_run: bool = False, **kwargs
) -> ImportResult:
    """One file; see `import_files`."""
    return import_files(store, [(file_name, data)], user, comment, dry_run, **kwargs)[0]


def record_value(
    store: Store,
    indicator: str,
    year: int | str,
    value: str | float,
    user: str,
    reason: str,
    comment: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Correct or enter one value by hand, through the same validation as files. A reason is required.

    `comment` is the value's comment (kept if None); `reason` goes into the journal.
    Raises Refused (no reason, demo data), ImportRefused (invalid value: see `.errors`).
    """
    if not str(reason or "").strip():
        raise Refused("Indiquez la raison de la modification : elle est obligatoire et figure au journal.")
    if not dry_run:
        from indicators.access import require

        require(store, user, "write")
    header = ["indicateur", "année", "valeur", "commentaire"]
    value_text = value if isinstance(value, str) else repr(float(value)).removesuffix(".0")
    table = pa.table(
        {
            "c0": [str(indicator)],
            "c1": [str(year)],
            "c2": [value_text],
            "c3": [comment or ""],
            "line": pa.array([2], pa.int64()),
        }
    )
    raw = RawTable("saisie manuelle", "saisie", None, None, header, table, "", 0)
    fw = store.framework()
    with store.transaction(commit=not dry_run) as con:
        Store.refuse_if_demo(con)
        errors = validate(con, raw, fw)
        if errors:
            raise ImportRefused([("saisie manuelle", errors)])
        return write_diff(con, raw, VALUES, "long", "edit", user, reason.strip(), dry_run, 10)
