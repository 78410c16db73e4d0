"""Import actual spending (expense files) into the store, through the same tolerant, all-or-nothing,
versioned and journaled path as indicator values.

An expense file has one row per amount: year, budget line (its code, e.g. `locaux`, or its label as
in the convention, case and accents ignored), party (`CNAM` or `Territoire`), amount (French
numbers such as `1 234,56 €`), and optionally a fiche action and a comment. It is recognised by its
columns (a line column and an amount column). Several rows for the same year, line, party and fiche
add up (a file may list invoices); the total becomes that key's current actual amount. Keys that the
file does not mention keep their amount.
"""

from __future__ import annotations

import difflib

import duckdb
import pyarrow as pa

from indicators.errors import InputError, Refused
from indicators.framework import Framework
from indicators.importing import Domain, ImportResult, install_macros, normalise_header, write_diff
from indicators.storage import NEW_VERSION_ID, Store
from indicators.tabular import RawTable

SYNONYMS = {
    "year": ("annee", "year", "exercice"),
    "line": ("poste", "ligne", "ligne budgetaire", "poste budgetaire", "poste de depense", "line", "budget line"),
    "party": ("partenaire", "financeur", "party", "porteur", "etablissement"),
    "amount": ("montant", "amount", "depense", "depenses", "montant realise", "realise", "montant ttc"),
    "fiche": ("fiche", "fiche action", "fiche-action", "action"),
    "comment": ("commentaire", "commentaires", "observations", "observation", "comment", "libelle"),
}
NAMES = {"year": "année", "line": "poste", "party": "partenaire", "amount": "montant"}


def columns_of(raw: RawTable) -> dict[str, tuple[int, str]]:
    """field -> (column index, header as written), for the headers that name an expense field."""
    out: dict[str, tuple[int, str]] = {}
    for i, header in enumerate(raw.header):
        norm = normalise_header(header)
        for fld, names in SYNONYMS.items():
            if norm in names and fld not in out:
                out[fld] = (i, header)
                break
    return out


def is_expense_file(raw: RawTable) -> bool:
    """An expense file names a budget line and an amount (an indicator file names neither)."""
    found = columns_of(raw)
    return "line" in found and "amount" in found


VALIDATE_SQL = r"""
CREATE OR REPLACE TEMP TABLE exp_checked AS
WITH base AS (
    SELECT line AS src, trim(c@year@) AS year_t, trim(c@line@) AS line_t, trim(c@party@) AS party_t,
           trim(c@amount@) AS amount_t, @fiche@ AS fiche_t, nullif(@comment@, '') AS comment,
           kpi_number(c@amount@) AS num
    FROM raw_input
    WHERE trim(c@year@) <> '' OR trim(c@line@) <> '' OR trim(c@party@) <> '' OR trim(c@amount@) <> ''
), lines AS (
    SELECT code, kpi_norm(label) AS norm, kpi_norm(code) AS code_norm FROM fw_lines
), parties AS (
    SELECT party, kpi_norm(party) AS norm FROM fw_parties
)
SELECT b.*, coalesce(lc.code, ll.code) AS code, p.party, TRY_CAST(b.year_t AS INTEGER) AS year,
       CASE WHEN b.fiche_t = '' THEN 0 ELSE TRY_CAST(regexp_extract(b.fiche_t, '(\d+)', 1) AS INTEGER) END AS fiche,
       CASE
         WHEN b.year_t = '' THEN 'année manquante (attendu : une année de ' || $y0 || ' à ' || $y1 || ')'
         WHEN NOT regexp_full_match(b.year_t, '\d{4}') THEN '« ' || left(b.year_t, 60)
              || ' » n''est pas une année (attendu : une année de ' || $y0 || ' à ' || $y1 || ')'
         WHEN b.year_t::INTEGER NOT BETWEEN $y0 AND $y1 THEN '« ' || b.year_t
              || ' » est hors de la période de la convention (attendu : une année de ' || $y0 || ' à ' || $y1 || ')'
       END AS err_year,
       CASE
         WHEN b.line_t = '' THEN 'poste manquant (attendu : un code comme « locaux » ou un libellé de l''annexe 4)'
         WHEN coalesce(lc.code, ll.code) IS NULL THEN '« ' || left(b.line_t, 60) || ' » n''est pas un poste du budget'
       END AS err_line,
       CASE
         WHEN b.party_t = '' THEN 'partenaire manquant (attendu : ' || $parties || ')'
         WHEN p.party IS NULL THEN '« ' || left(b.party_t, 60) || ' » n''est pas un partenaire (attendu : ' || $parties || ')'
       END AS err_party,
       CASE
         WHEN b.amount_t = '' THEN 'montant manquant (attendu : un montant en euros ≥ 0, par exemple 1 234,56)'
         WHEN b.num IS NULL THEN '« ' || left(b.amount_t, 60) || ' » n''est pas un montant (attendu : un montant en euros ≥ 0, par exemple 1 234,56)'
         WHEN isinf(b.num) OR b.num < 0 THEN '« ' || left(b.amount_t, 60) || ' » est négatif ou invalide (attendu : un montant ≥ 0)'
         WHEN abs(b.num * 100 - round(b.num * 100)) > 1e-6 THEN '« ' || b.amount_t || ' » a plus de deux décimales (attendu : des euros et des centimes)'
         WHEN b.num > $max THEN '« ' || b.amount_t || ' » dépasse le coût annuel maximal de l''opération ('
              || $max_text || ') : vérifiez le montant'
       END AS err_amount,
       CASE
         WHEN b.fiche_t <> '' AND (TRY_CAST(regexp_extract(b.fiche_t, '(\d+)', 1) AS INTEGER) IS NULL
              OR NOT list_contains($fiches, TRY_CAST(regexp_extract(b.fiche_t, '(\d+)', 1) AS INTEGER)))
           THEN '« ' || left(b.fiche_t, 60) || ' » n''est pas une fiche action (attendu : ' || $fiches_text || ', ou vide)'
       END AS err_fiche
FROM base b
LEFT JOIN lines lc ON kpi_norm(b.line_t) = lc.code_norm
LEFT JOIN lines ll ON lc.code IS NULL AND kpi_norm(b.line_t) = ll.norm
LEFT JOIN parties p ON kpi_norm(b.party_t) = p.norm
"""

ERRORS_SQL = """
SELECT src, ?, year_t, err_year FROM exp_checked WHERE err_year IS NOT NULL
UNION ALL SELECT src, ?, line_t, err_line FROM exp_checked WHERE err_line IS NOT NULL
UNION ALL SELECT src, ?, party_t, err_party FROM exp_checked WHERE err_party IS NOT NULL
UNION ALL SELECT src, ?, amount_t, err_amount FROM exp_checked WHERE err_amount IS NOT NULL
UNION ALL SELECT src, ?, fiche_t, err_fiche FROM exp_checked WHERE err_fiche IS NOT NULL
"""

STAGED_SQL = """
CREATE OR REPLACE TEMP TABLE exp_staged AS
SELECT year, code AS line, party, fiche, round(sum(num), 2) AS amount, min(src) AS src,
       string_agg(comment, ' ; ' ORDER BY src) AS comment
FROM exp_checked GROUP BY year, code, party, fiche
"""

DIFF_SQL = """
CREATE OR REPLACE TEMP TABLE exp_diff AS
SELECT s.year, s.line, s.party, s.fiche, s.amount AS value, coalesce(s.comment, c.comment) AS comment, s.src,
       c.amount AS old_value,
       CASE WHEN c.amount IS NULL THEN 'nouveau'
            WHEN c.amount = s.amount AND (s.comment IS NULL OR s.comment = coalesce(c.comment, '')) THEN 'inchangé'
            ELSE 'modifié' END AS change
FROM exp_staged s LEFT JOIN current_expenses c USING (year, line, party, fiche)
"""


def _framework_tables(fw: Framework) -> tuple[pa.Table, pa.Table]:
    lines = pa.table({"code": [x.code for x in fw.budget.lines], "label": [x.label for x in fw.budget.lines]})
    parties = pa.table({"party": list(fw.budget.parties)})
    return lines, parties


def validate(con: duckdb.DuckDBPyConnection, raw: RawTable, fw: Framework) -> list[InputError]:
    """Every error of an expense file (nothing written); on success `exp_staged` holds its amounts."""
    if fw.budget is None:
        return [InputError(1, "", "", "ce référentiel ne décrit pas de budget : pas de dépenses à importer")]
    found = columns_of(raw)
    errors = [
        InputError(
            1, NAMES[f], "", f"colonne obligatoire « {NAMES[f]} » absente (attendu : année, poste, partenaire, montant)"
        )
        for f in ("year", "line", "party", "amount")
        if f not in found
    ]
    if errors:
        return errors
    install_macros(con)
    lines, parties = _framework_tables(fw)
    con.register("fw_lines", lines)
    con.register("fw_parties", parties)
    con.register("raw_input", raw.table)
    col = {f: f"c{i}" for f, (i, _) in found.items()}
    # Column names come from this code (c0, c1…), never from the file.
    sql = VALIDATE_SQL
    for name, text in {
        "year": str(found["year"][0]),
        "line": str(found["line"][0]),
        "party": str(found["party"][0]),
        "amount": str(found["amount"][0]),
        "fiche": f"coalesce(trim({col['fiche']}), '')" if "fiche" in col else "''",
        "comment": col.get("comment", "NULL"),
    }.items():
        sql = sql.replace(f"@{name}@", text)
    ceiling = (fw.subsidy.ceilings.get("operation_per_year") if fw.subsidy else None) or 1e12
    from indicators import formatting

    con.execute(
        sql,
        {
            "y0": fw.years[0],
            "y1": fw.years[-1],
            "parties": " ou ".join(fw.budget.parties),
            "max": float(ceiling),
            "max_text": formatting.euros(ceiling),
            "fiches": list(fw.budget.fiches),
            "fiches_text": ", ".join(map(str, fw.budget.fiches)),
        },
    )
    headers = [found[f][1] for f in ("year", "line", "party", "amount")] + [found.get("fiche", (0, "fiche"))[1]]
    rows = con.execute(ERRORS_SQL, headers).fetchall()
    codes = [x.code for x in fw.budget.lines]
    labels = {x.label.casefold(): x.code for x in fw.budget.lines}
    for src, column, value, message in rows:
        if message.endswith("n'est pas un poste du budget"):
            hint = difflib.get_close_matches(value.casefold(), codes + list(labels), n=1, cutoff=0.5)
            if hint:
                code = labels.get(hint[0], hint[0])
                message += f" (vouliez-vous dire « {code} » – {fw_line_label(fw, code)} ?)"
            else:
                message += " (voir la liste des postes dans la page Référentiel ou « kpi budget »)"
        errors.append(InputError(int(src), column, value or "", message))
    if not errors:
        con.execute(STAGED_SQL)
    for name in ("fw_lines", "fw_parties", "raw_input"):
        con.unregister(name)
    return sorted(errors, key=lambda e: e.line)


def fw_line_label(fw: Framework, code: str) -> str:
    return next(x.label for x in fw.budget.lines if x.code == code)


EXPENSES = Domain(
    "expenses",
    "exp_diff",
    "SELECT line AS poste, year, party, fiche, old_value, value, comment, change, src AS line FROM exp_diff "
    "WHERE change <> 'inchangé' ORDER BY src, year, line, party, fiche LIMIT ?",
    f"INSERT INTO expense_versions SELECT {NEW_VERSION_ID}, $cs, year, line, party, fiche, value, comment, "
    "src FROM exp_diff",  # unchanged rows too, as for values (importing.VALUES)
    "Le fichier ne contient aucune dépense.",
)


def apply(
    con: duckdb.DuckDBPyConnection,
    raw: RawTable,
    kind: str,
    user: str,
    comment: str | None,
    dry_run: bool,
    preview_limit: int,
) -> ImportResult:
    """Write the staged amounts as new versions (one changeset), or only report them for a dry run."""
    con.execute(DIFF_SQL)
    return write_diff(con, raw, EXPENSES, "dépenses", kind, user, comment, dry_run, preview_limit)


def record_expense(
    store: Store,
    year: int,
    line: str,
    party: str,
    amount: str | float,
    user: str,
    reason: str,
    fiche: int | None = None,
    comment: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Enter or correct one actual amount by hand, through the same validation as files; a reason is
    required. Raises Refused (no reason, demo data), ImportRefused (invalid entry: see `.errors`)."""
    from indicators.errors import ImportRefused

    if not str(reason or "").strip():
        raise Refused("Indiquez la raison de la modification : elle est obligatoire et figure au journal.")
    if not dry_run:
        from indicators.access import require

        require(store, user, "write")
    amount_text = amount if isinstance(amount, str) else f"{float(amount):.2f}".replace(".", ",")
    table = pa.table(
        {
            "c0": [str(year)],
            "c1": [str(line)],
            "c2": [str(party)],
            "c3": [amount_text],
            "c4": ["" if fiche in (None, 0) else str(fiche)],
            "c5": [comment or ""],
            "line": pa.array([2], pa.int64()),
        }
    )
    raw = RawTable(
        "saisie manuelle",
        "saisie",
        None,
        None,
        ["année", "poste", "partenaire", "montant", "fiche", "commentaire"],
        table,
        "",
        0,
    )
    fw = store.framework()
    with store.transaction(commit=not dry_run) as con:
        Store.refuse_if_demo(con)
        errors = validate(con, raw, fw)
        if errors:
            raise ImportRefused([("saisie manuelle", errors)])
        return apply(con, raw, "edit", user, reason.strip(), dry_run, 10)
