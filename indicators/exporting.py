"""The import template and the export of current values with their provenance.

Spreadsheet safety: a text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is
prefixed with an apostrophe in CSV and XLSX, so that a spreadsheet shows it and never runs it.
CSV files are written as French Excel reads them: `;` separators, UTF-8 with BOM, CRLF, decimal comma.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from indicators import formatting
from indicators.demo import DEMO_LABEL
from indicators.errors import InputError
from indicators.framework import Framework
from indicators.history import KIND_LABELS, current_values
from indicators.storage import Store
from indicators.tabular import decode_text, sniff_delimiter, sniff_format

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = ("csv", "xlsx", "parquet")


def neutralise(value):
    """Text that a spreadsheet would run as a formula, made inert; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_number(value) -> str:
    if value is None or pd.isna(value):
        return ""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value).replace(".", ",")


def template_frame(fw: Framework) -> pd.DataFrame:
    """The wide template: one row per indicator, one empty column per convention year."""
    rows = []
    for ind in fw.indicators:
        row = {"indicateur": ind.code, "libellé": ind.label, "unité": ind.unit}
        row.update({str(y): None for y in fw.years})
        row["commentaire"] = None
        rows.append(row)
    return pd.DataFrame(rows)


HELP_LINES = [
    "Modèle d'import des indicateurs — {title}",
    "",
    "1. Saisissez les valeurs réalisées dans les colonnes des années ({years}). Une case vide signifie « non "
    "communiqué », jamais zéro : écrivez 0 si le résultat est nul.",
    "2. Ne modifiez pas la colonne « indicateur » (le code, par exemple F1.1). Le libellé et l'unité sont là "
    "pour vous guider et sont ignorés à l'import.",
    "3. Les nombres s'écrivent à la française (1 234 ou 12,5) ; les indicateurs comptés en unités "
    "n'acceptent que des entiers positifs.",
    "4. La colonne « commentaire » est facultative ; son texte est enregistré tel quel avec les valeurs.",
    "5. Importez le fichier (page Import du tableau de bord, ou « kpi import FICHIER ») : un fichier qui "
    "contient la moindre erreur est refusé en entier, avec la liste de ses erreurs (ligne, colonne, valeur).",
    "",
    "Autre présentation acceptée : une ligne par indicateur et par année, avec les colonnes indicateur, "
    "année, valeur et, si besoin, commentaire.",
]


def write_template(fw: Framework, fmt: str, out: str | Path) -> Path:
    """Write the template as CSV or XLSX at `out`."""
    out = Path(out)
    out.write_bytes(template_bytes(fw, fmt))
    return out


def template_bytes(fw: Framework, fmt: str) -> bytes:
    """The template as the bytes of a CSV (UTF-8 with BOM, `;`) or XLSX file."""
    frame = template_frame(fw)
    if fmt == "csv":
        return _csv_bytes(frame)
    if fmt == "xlsx":
        out = io.BytesIO()
        _write_xlsx(
            out,
            frame,
            "Saisie",
            help_lines=[line.format(title=fw.short_title, years=", ".join(map(str, fw.years))) for line in HELP_LINES],
            number_columns=[str(y) for y in fw.years],
        )
        return out.getvalue()
    raise ValueError(fmt)


def export_frame(store: Store) -> pd.DataFrame:
    """Current values with their provenance, in French column names, ready for export."""
    fw = store.framework()
    values = current_values(store)
    labels = {i.code: i.label for i in fw.indicators}
    frame = pd.DataFrame(
        {
            "indicateur": values["indicator"],
            "libellé": values["indicator"].map(labels),
            "année": values["year"].astype("int64"),
            "valeur": values["value"].astype("float64"),
            "commentaire": values["comment"],
            "changement": values["changeset_id"].astype("int64"),
            "nature": values["kind"].map(KIND_LABELS),
            "fichier": values["file_name"],
            "sha256": values["file_sha256"],
            "enregistré par": values["user_name"],
            "enregistré le": [formatting.timestamp(t) for t in values["recorded_at"]],
        }
    )
    if store.has_demo():
        frame["avertissement"] = DEMO_LABEL
    return frame


def export(store: Store, fmt: str, out: str | Path) -> tuple[Path, int]:
    """Write current values with provenance as CSV, XLSX or Parquet. Returns (path, rows)."""
    out = Path(out)
    frame = export_frame(store)
    if fmt == "csv":
        out.write_bytes(_csv_bytes(frame))
    elif fmt == "xlsx":
        _write_xlsx(out, frame, "Valeurs", number_columns=["valeur", "année", "changement"])
    elif fmt == "parquet":
        frame.to_parquet(out, index=False)
    else:
        raise ValueError(fmt)
    return out, len(frame)


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(frame.columns)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    for row in frame.itertuples(index=False):
        writer.writerow(
            [
                _csv_number(v)
                if is_num
                else ("" if v is None or (isinstance(v, float) and pd.isna(v)) else neutralise(str(v)))
                for v, is_num in zip(row, numeric, strict=True)
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _write_xlsx(
    out: Path | io.BytesIO,
    frame: pd.DataFrame,
    sheet: str,
    help_lines: list[str] | None = None,
    number_columns: list[str] = (),
) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(frame.columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in frame.itertuples(index=False):
        ws.append([None if v is None or (isinstance(v, float) and pd.isna(v)) else neutralise(v) for v in row])
    ws.freeze_panes = "A2"
    for i, column in enumerate(frame.columns, start=1):
        width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200) if v is not None])
        ws.column_dimensions[ws.cell(1, i).column_letter].width = min(max(10, width + 2), 70)
    if help_lines is not None and len(frame):
        rule = DataValidation(
            type="decimal",
            operator="greaterThanOrEqual",
            formula1="0",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Valeur refusée",
            error="Saisissez un nombre positif ou nul (ou laissez la case vide).",
        )
        ws.add_data_validation(rule)
        for name in number_columns:
            letter = ws.cell(1, list(frame.columns).index(name) + 1).column_letter
            rule.add(f"{letter}2:{letter}{len(frame) + 1}")
        aide = wb.create_sheet("Aide")
        for line in help_lines:
            aide.append([line])
        aide.column_dimensions["A"].width = 120
    wb.save(out)


ERRORS_HEADER = "erreurs à corriger"


def annotated_copy(data: bytes, file_name: str, errors: list[InputError]) -> tuple[str, bytes] | None:
    """A copy of a refused file with a last column « erreurs à corriger » beside each faulty line (and,
    for XLSX, the faulty cells filled in orange), so that the mission officer fixes it where it is.

    Lines keep their numbers (the messages say « ligne 7 »). The importer ignores the extra column, so
    the corrected copy can be imported as it is. Returns (file name, bytes), or None when the file
    could not be read at all (then the error list is all there is).
    """
    by_line: dict[int, list[InputError]] = {}
    for e in errors:
        by_line.setdefault(e.line, []).append(e)
    stem = Path(file_name).stem or "fichier"
    kind = sniff_format(data)
    if kind == "xlsx":
        try:
            return f"{stem}_erreurs.xlsx", _annotate_xlsx(data, by_line)
        except Exception:  # a workbook openpyxl cannot open was refused as a whole: no copy to annotate
            return None
    if kind != "text" or (decoded := decode_text(data)) is None:
        return None
    text, _ = decoded
    delimiter = sniff_delimiter(text)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    width = max((len(r) for r in rows), default=0)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    last = max([len(rows), *by_line])
    for number in range(1, last + 1):
        row = rows[number - 1] if number <= len(rows) else []
        note = ERRORS_HEADER if number == 1 and 1 not in by_line else _note(by_line.get(number, []))
        if number == 1 and 1 in by_line:
            note = ERRORS_HEADER + " — " + note
        writer.writerow([*row, *[""] * (width - len(row)), note])  # the partner's cells, untouched
    return f"{stem}_erreurs.csv", ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _note(errors: list[InputError]) -> str:
    return " | ".join(f"colonne « {e.column} » : {e.message}" if e.column else e.message for e in errors)


def _annotate_xlsx(data: bytes, by_line: dict[int, list[InputError]]) -> bytes:
    import openpyxl
    from openpyxl.styles import Font, PatternFill

    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    headers = {str(c.value).strip().casefold(): c.column for c in ws[1] if c.value is not None}
    target = ws.max_column + 1
    fill = PatternFill("solid", fgColor="FFD8A8")
    ws.cell(1, target, ERRORS_HEADER).font = Font(bold=True)
    for line, errs in by_line.items():
        note = _note(errs)
        cell = ws.cell(line, target)
        cell.value = (ERRORS_HEADER + " — " + note) if line == 1 else note
        cell.fill = fill
        for e in errs:
            column = headers.get(e.column.strip().casefold())
            if column and line > 1:
                ws.cell(line, column).fill = fill
    ws.column_dimensions[ws.cell(1, target).column_letter].width = 90
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
