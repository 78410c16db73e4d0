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
import re
import unicodedata
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import pyarrow as pa

from indicators import settings
from indicators.errors import ImportRefused, InputError, Refused
from indicators.framework import Framework
from indicators.storage import Store, utcnow
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


def parse_number(text: str) -> float | None:
    """The number written in `text` as the importer reads it (`1 234,5` → 1234.5), or None."""
    con = duckdb.connect()
    try:
        install_macros(con)
        return con.execute("SELECT kpi_number(?)", [text]).fetchone()[0]
    finally:
        con.close()


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


def _stage_long(con: duckdb.DuckDBPyConnection, raw: RawTable, layout: Layout) -> None:
    """Create temp table `cells(line, ind_raw, ind_col, year_raw, year_col, val_raw, val_col, cmt_raw)`."""
    con.register("raw_input", raw.table)
    c = layout.columns
    cmt = f"c{c['comment']}" if "comment" in c else "NULL"
    h = layout.headers
    if layout.kind == "long":
        sql = (
            f"SELECT line, c{c['indicator']} AS ind_raw, ?::VARCHAR AS ind_col, c{c['year']} AS year_raw, "
            f"?::VARCHAR AS year_col, c{c['value']} AS val_raw, ?::VARCHAR AS val_col, {cmt} AS cmt_raw, "
            "false AS wide FROM raw_input"
        )
        params = [h["indicator"], h["year"], h["value"]]
    else:
        parts, params = [], []
        for index, header, year in layout.year_columns:
            parts.append(
                f"SELECT line, c{c['indicator']} AS ind_raw, ?::VARCHAR AS ind_col, ?::VARCHAR AS year_raw, "
                f"?::VARCHAR AS year_col, c{index} AS val_raw, ?::VARCHAR AS val_col, {cmt} AS cmt_raw, "
                f"true AS wide FROM raw_input WHERE trim(c{index}) <> ''"
            )
            params += [h["indicator"], str(year), header, header]
        sql = " UNION ALL ".join(parts)
    con.execute(f"CREATE OR REPLACE TEMP TABLE cells AS {sql}", params)
    con.unregister("raw_input")


def _framework_table(fw: Framework) -> pa.Table:
    return pa.table(
        {
            "code": [i.code for i in fw.indicators],
            "label": [i.label for i in fw.indicators],
            "whole": [i.whole for i in fw.indicators],
            "max": [float(i.max) for i in fw.indicators],
        }
    )


VALIDATE_SQL = r"""
CREATE OR REPLACE TEMP TABLE checked AS
WITH base AS (
    SELECT line, ind_col, year_col, val_col, cmt_raw, trim(ind_raw) AS ind_t, trim(year_raw) AS year_t,
           trim(val_raw) AS val_t, kpi_number_clean(kpi_num_text(val_raw)) AS num
    FROM cells
), matched AS (
    SELECT b.*, coalesce(bc.code, bl.code) AS code,
           coalesce(bc.whole, bl.whole, true) AS whole, coalesce(bc.max, bl.max) AS max
    FROM base b
    LEFT JOIN fw_ind bc ON upper(b.ind_t) = bc.code
    LEFT JOIN label_matches bl ON bc.code IS NULL AND b.ind_t = bl.ind_t
)
SELECT line, code, TRY_CAST(year_t AS INTEGER) AS year, num AS value,
       nullif(cmt_raw, '') AS comment, ind_col, year_col, val_col, ind_t, year_t, val_t,
       CASE
         WHEN ind_t = '' THEN 'indicateur manquant (attendu : un code comme ' || $first_code || ' ou un libellé officiel)'
         WHEN code IS NULL THEN '« ' || left(ind_t, 60) || ' » n''est pas un indicateur de la convention'
       END AS err_ind,
       CASE
         WHEN year_t = '' THEN 'année manquante (attendu : une année de ' || $y0 || ' à ' || $y1 || ')'
         WHEN NOT regexp_full_match(year_t, '\d{4}') THEN '« ' || left(year_t, 60)
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
              || replace(format('{:,}', max::BIGINT), ',', ' ') || ' pour ' || code
              || ' (vérifiez le nombre saisi ou l''unité)'
       END AS err_val
FROM matched
"""

LABELS_SQL = """
CREATE OR REPLACE TEMP TABLE label_matches AS
WITH texts AS (
    SELECT DISTINCT trim(ind_raw) AS ind_t FROM cells
    WHERE upper(trim(ind_raw)) NOT IN (SELECT code FROM fw_ind) AND trim(ind_raw) <> ''
), labels AS (
    SELECT kpi_norm(label) AS norm, * FROM fw_ind WHERE (SELECT count(*) FROM texts) > 0
)
SELECT t.ind_t, l.code, l.whole, l.max FROM texts t JOIN labels l ON kpi_norm(t.ind_t) = l.norm
"""

ERRORS_SQL = """
SELECT line, ind_col AS col, ind_t AS val, err_ind AS msg FROM checked WHERE err_ind IS NOT NULL
UNION ALL SELECT line, year_col, year_t, err_year FROM checked WHERE err_year IS NOT NULL
UNION ALL SELECT line, val_col, val_t, err_val FROM checked WHERE err_val IS NOT NULL
"""

# One row per indicator and year. The same pair on several lines keeps one value if they agree; a
# disagreement is an error on each later line that differs from the first.
STAGED_SQL = """
CREATE OR REPLACE TEMP TABLE staged AS
SELECT code AS indicator, year, arg_min(value, line) AS value,
       arg_min(comment, line) FILTER (WHERE comment IS NOT NULL) AS comment, min(line) AS line,
       min(value) <> max(value) AS conflict
FROM checked WHERE err_ind IS NULL AND err_year IS NULL AND err_val IS NULL
GROUP BY code, year
"""

CONFLICTS_SQL = """
SELECT c.line, c.val_col, c.val_t, c.code || ' ' || c.year || ' figure aussi ligne ' || s.line
       || ' avec une autre valeur (« ' || f.val_t || ' » et « ' || c.val_t || ' ») : gardez une seule ligne'
FROM staged s
JOIN checked c ON c.code = s.indicator AND c.year = s.year AND c.line <> s.line AND c.value <> s.value
JOIN checked f ON f.line = s.line AND f.code = s.indicator AND f.year = s.year
WHERE s.conflict
"""

DIFF_SQL = """
CREATE OR REPLACE TEMP TABLE diff AS
SELECT s.indicator, s.year, s.value, coalesce(s.comment, c.comment) AS comment, s.line,
       c.value AS old_value, c.comment AS old_comment,
       CASE WHEN c.value IS NULL THEN 'nouveau'
            WHEN c.value = s.value AND (s.comment IS NULL OR s.comment = coalesce(c.comment, '')) THEN 'inchangé'
            ELSE 'modifié' END AS change
FROM staged s LEFT JOIN current_values c USING (indicator, year)
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
    """Stage `raw` into temp table `staged` (indicator, year, value, comment, line); return every error."""
    layout, errors = detect_layout(raw)
    if layout is None:
        return errors
    years = (fw.years[0], fw.years[-1])
    for _index, header, year in layout.year_columns:
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
    if errors:
        return errors
    install_macros(con)
    fw_table = _framework_table(fw)
    con.register("fw_ind", fw_table)
    _stage_long(con, raw, layout)
    # Labels are normalised only when some texts are not codes (most files give codes).
    con.execute(LABELS_SQL)
    con.execute(
        VALIDATE_SQL, {"first_code": fw.indicators[0].code, "y0": years[0], "y1": years[1], "capacity": CAPACITY}
    )
    con.execute("DROP TABLE cells")
    rows = con.execute(ERRORS_SQL).fetchall()
    con.execute(STAGED_SQL)
    if con.execute("SELECT bool_or(conflict) FROM staged").fetchall()[0][0]:
        rows += con.execute(CONFLICTS_SQL).fetchall()
    unknown = sorted({v for _, _, v, m in rows if m.endswith("n'est pas un indicateur de la convention")})
    hints = _suggest(unknown, fw)
    for line, col, val, msg in rows:
        if val in hints and msg.endswith("n'est pas un indicateur de la convention"):
            msg += f" (vouliez-vous dire {hints[val]} ?)"
        errors.append(_err(int(line), col, val or "", msg))
    con.unregister("fw_ind")
    return sorted(errors, key=lambda e: e.line)  # stable: indicator, year, value within a line


@dataclass(frozen=True)
class Domain:
    """What differs between writing indicator values and actual spending: the diff table the caller
    built, how its changes are previewed, where its versions go. Table names come from code only."""

    name: str  # changesets.domain
    diff: str  # temp table with year, change, and the staged rows
    preview_sql: str  # SELECT … FROM diff WHERE change <> 'inchangé' ORDER BY … LIMIT ?
    insert_sql: str  # INSERT INTO …_versions SELECT … FROM diff WHERE change <> 'inchangé' (? = changeset id)
    empty_warning: str


VALUES = Domain(
    "values",
    "diff",
    "SELECT indicator, year, old_value, value, comment, change, line FROM diff "
    "WHERE change <> 'inchangé' ORDER BY line, indicator, year LIMIT ?",
    "INSERT INTO value_versions SELECT nextval('version_seq'), ?, indicator, year, value, comment, line "
    "FROM diff WHERE change <> 'inchangé'",
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

    changed_rows = f"FROM {domain.diff} WHERE change <> 'inchangé'"
    refuse_if_locked_con(con, [r[0] for r in con.execute(f"SELECT DISTINCT year {changed_rows}").fetchall()])
    counts = dict(con.execute(f"SELECT change, count(*) FROM {domain.diff} GROUP BY change").fetchall())
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
    if not dry_run:
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
        con.execute(domain.insert_sql, [changeset_id])
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


def _apply(
    con: duckdb.DuckDBPyConnection,
    raw: RawTable,
    layout_kind: str,
    kind: str,
    user: str,
    comment: str | None,
    dry_run: bool,
    preview_limit: int,
) -> ImportResult:
    con.execute(DIFF_SQL)
    return write_diff(con, raw, VALUES, layout_kind, kind, user, comment, dry_run, preview_limit)


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
                    results.append(_apply(con, raw, layout.kind, "import", user, comment, dry_run, preview_limit))
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
        return _apply(con, raw, "long", "edit", user, reason.strip(), dry_run, 10)
