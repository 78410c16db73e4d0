"""Tables as people read them, the annotated copy of a refused file, and the template as bytes."""

from __future__ import annotations

import io

import openpyxl
import pytest

from indicators import exporting, tables
from indicators.errors import ImportRefused
from indicators.framework import load_framework
from indicators.history import journal
from indicators.importing import import_file

from .conftest import imp

FW = load_framework()
NBSP, NNBSP = "\u00a0", "\u202f"


def test_budget_tables_derive_every_total_from_the_lines():
    lines = tables.budget_lines_frame(FW).set_index("Poste")
    assert lines.loc["Total annuel", "Total"] == f"230{NNBSP}300{NBSP}€"
    assert lines.loc["Total annuel", "CNAM"] == f"115{NNBSP}150{NBSP}€"
    assert lines.loc["Sous-total Personnels", "Total"] == f"165{NNBSP}800{NBSP}€"
    assert lines.loc["Poste « Développeur économique »", "Territoire"] == "—"
    fiches = tables.budget_fiche_frame(FW).set_index("Poste")
    assert [fiches.loc["Total annuel", f"Fiche {n}"] for n in (1, 2, 3)] == [
        f"118{NNBSP}500{NBSP}€",
        f"60{NNBSP}400{NBSP}€",
        f"51{NNBSP}400{NBSP}€",
    ]


def test_indicators_and_calendar_tables():
    frame = tables.indicators_frame(FW, fiche=1).set_index("Code")
    assert list(frame.index) == ["F1.1", "F1.2", "F1.3", "F1.4"]
    assert frame.loc["F1.1", "Objectif 2017"] == "70"
    assert frame.loc["F1.1", "Objectif 2016-2018"] == "total sur la période : 200"
    assert frame.loc["F1.4", "Objectif 2016-2018"] == "au moins : 2"
    assert frame.loc["F1.1", "Référence"] == "2013 : 19; 2014 : 19"
    calendar = tables.calendar_frame(FW)
    assert calendar.iloc[-1]["Date"] == "30 juin 2019"


def test_journal_and_changes_tables(store):
    result = imp(store, "indicateur;2016;2017\nF1.1;45;1234\n", name="ardan.csv", dry_run=True)
    changes = tables.changes_frame(FW, result)
    assert list(changes["Après"]) == ["45", f"1{NNBSP}234"]
    assert list(changes["Changement"]) == ["nouvelle valeur", "nouvelle valeur"]
    imp(store, "indicateur;2016;2017\nF1.1;45;1234\n", name="ardan.csv")
    frame = tables.journal_frame(journal(store))
    assert frame.iloc[0]["Fichier"] == "ardan.csv"
    assert frame.iloc[0]["Type"] == "import" and frame.iloc[0]["État"] == "en vigueur"
    assert len(frame.iloc[0]["Empreinte SHA-256"]) == 64


BAD = "indicateur;année;valeur\nF1.1;2016;cinquante\n\nF9.9;2017;3\nF1.3;2016;12\n"


def refusal(store, data: bytes, name: str) -> ImportRefused:
    with pytest.raises(ImportRefused) as caught:
        import_file(store, name, data, "test")
    return caught.value


def test_annotated_csv_keeps_line_numbers_and_reimports_with_the_same_errors(store):
    refused = refusal(store, BAD.encode("cp1252"), "partenaire.csv")
    name, data = exporting.annotated_copy(BAD.encode("cp1252"), "partenaire.csv", refused.errors)
    assert name == "partenaire_erreurs.csv"
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].endswith(";erreurs à corriger")
    assert "« cinquante » n'est pas un nombre" in lines[1]
    assert lines[2] == ";;;"  # the blank line keeps its place: « ligne 4 » is still line 4
    assert lines[3].startswith("F9.9;2017;3;colonne « indicateur »")
    assert lines[4] == "F1.3;2016;12;"
    again = refusal(store, data, name)
    assert [(e.line, e.column) for e in again.errors] == [(e.line, e.column) for e in refused.errors]


def test_annotated_xlsx_marks_the_faulty_cells(store):
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [["indicateur", "année", "valeur"], ["F1.1", 2016, "cinquante"], ["F1.3", 2016, 12]]:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    refused = refusal(store, buffer.getvalue(), "envoi.xlsx")
    name, data = exporting.annotated_copy(buffer.getvalue(), "envoi.xlsx", refused.errors)
    assert name == "envoi_erreurs.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet.cell(1, 4).value == "erreurs à corriger"
    assert "n'est pas un nombre" in sheet.cell(2, 4).value
    assert sheet.cell(2, 3).fill.fgColor.rgb.endswith("FFD8A8")
    assert sheet.cell(3, 4).value is None


def test_no_annotated_copy_for_a_file_that_cannot_be_read(store):
    refused = refusal(store, b"%PDF-1.4 binary", "scan.pdf")
    assert exporting.annotated_copy(b"%PDF-1.4 binary", "scan.pdf", refused.errors) is None


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_template_bytes_import_as_an_empty_file(store, fmt):
    data = exporting.template_bytes(FW, fmt)
    result = import_file(store, f"modele.{fmt}", data, "test", dry_run=True)
    assert (result.added, result.changed) == (0, 0)
