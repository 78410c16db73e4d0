"""The reports: one model, three formats that say the same thing, the figures of `kpi status --json`,
user text shown as text, the demo watermark; a page of each format rendered to PNG."""

from __future__ import annotations

import html
import io
import re
import shutil
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from docx import Document

from indicators import formatting, kpis, rendering, reports, texts
from indicators.demo import DEMO_LABEL, load_demo
from indicators.history import current_values
from indicators.kpis import STATUS_STYLE
from indicators.storage import Store

from .conftest import imp

SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "reports"
HOSTILE = "<script>alert('x')</script> **gras** =SUM(A1)"


def all_formats(report) -> dict:
    html_text = rendering.to_html(report)
    return {"html": html_text, "docx": rendering.to_docx(report), "pdf": rendering.to_pdf(report, html_text)}


def html_rows(html_text: str) -> list[list[str]]:
    return [
        [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", html_text)
    ]


def docx_rows(data: bytes) -> list[list[str]]:
    doc = Document(io.BytesIO(data))
    return [[c.text for c in row.cells] for t in doc.tables for row in t.rows]


def docx_text(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells]
    parts += [p.text for s in doc.sections for p in s.header.paragraphs]
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Store:
    store = Store(tmp_path_factory.mktemp("reports") / "demo.duckdb")
    store.framework()
    load_demo(store)
    return store


@pytest.fixture(scope="module")
def annual(demo_store):
    report = reports.build(demo_store, year=2017)
    return report, all_formats(report)


def expected_rows(store: Store, period: str) -> list[dict]:
    """What `kpi status --json` prints for that period."""
    fw = store.framework()
    rows = kpis.status_rows(kpis.kpi_table(fw, current_values(store)), fw)
    return [r for r in rows if r["period"] == period]


def formatted(row: dict) -> tuple[str, str, str, str]:
    target = "—" if row["target"] is None else formatting.number(row["target"])
    if row["target_kind"] == "minimum":
        target = "au moins " + target
    actual = "—" if row["actual"] is None else formatting.number(row["actual"])
    return target, actual, formatting.percent(row["rate"]), STATUS_STYLE[row["status"]][0]


def test_the_three_formats_give_the_figures_of_kpi_status(demo_store, annual):
    _, out = annual
    by_code_html = {r[0]: r for r in html_rows(out["html"]) if r and re.fullmatch(r"F\d\.\d", r[0])}
    by_code_docx = {r[0]: r for r in docx_rows(out["docx"]) if r and re.fullmatch(r"F\d\.\d", r[0])}
    flat_pdf = re.sub(r"\s+", " ", pdf_text(out["pdf"]))
    rows = expected_rows(demo_store, "2017")
    assert len(rows) == 10
    for row in rows:
        target, actual, rate, word = formatted(row)
        for found in (by_code_html[row["indicator"]], by_code_docx[row["indicator"]]):
            assert found[2:] == [target, actual, rate, f"{STATUS_STYLE[row['status']][1]} {word}"], row
        if row["actual"] is not None and row["target"] is not None:
            sentence = kpis.finding(
                kpis.rows_by_indicator(kpis.kpi_table(demo_store.framework(), current_values(demo_store)))[
                    row["indicator"]
                ].yearly[1]
            )
            assert sentence.replace("\u202f", " ").replace("\u00a0", " ") in flat_pdf.replace("\u202f", " ").replace(
                "\u00a0", " "
            )


def test_every_format_has_the_sections_the_watermark_and_page_numbers(annual):
    report, out = annual
    assert [s.title for s in report.sections][:2] == [
        "Synthèse",
        "Fiche 1 — Soutenir la croissance économique : entrepreneuriat et emploi",
    ]
    titles = ["Budget et subvention", "Actions prévues pour 2018", "Annexe — provenance des chiffres"]
    text = {"html": html.unescape(out["html"]), "docx": docx_text(out["docx"]), "pdf": pdf_text(out["pdf"])}
    text = {k: v.replace("\u00a0", " ").replace("\u202f", " ") for k, v in text.items()}
    for fmt, body in text.items():
        assert DEMO_LABEL in body.replace("\n", " "), fmt
        for title in titles:
            assert title in body, (fmt, title)
        assert "Subvention due au prorata" in body.replace("\n", " "), fmt
    assert "page 1 / " in text["pdf"]
    headings = [p.text for p in Document(io.BytesIO(out["docx"])).paragraphs if p.style.name.startswith("Heading 1")]
    assert headings[:2] == ["Synthèse", "Fiche 1 — Soutenir la croissance économique\u00a0: entrepreneuriat et emploi"]
    assert "<script" not in out["html"] and "http" not in out["html"].split("<body>")[1]


def test_user_text_is_text_and_no_watermark_without_demo(store):
    imp(store, "indicateur;2016\nF1.1;45\n")
    texts.write_text(store, "explanation", HOSTILE, "alice", "F1.1", 2016)
    texts.write_text(store, "next_actions", "Ouvrir <b>deux</b> sessions", "alice", year=2016)
    report = reports.build(store, year=2016)
    out = all_formats(report)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; **gras** =SUM(A1)" in out["html"]
    assert "<script" not in out["html"] and "<b>deux</b>" not in out["html"]
    assert HOSTILE in docx_text(out["docx"])
    assert "<script>alert('x')</script>" in pdf_text(out["pdf"])
    for body in (html.unescape(out["html"]), docx_text(out["docx"]), pdf_text(out["pdf"])):
        assert DEMO_LABEL not in body


def test_final_report_covers_the_period(demo_store):
    report = reports.build(demo_store, final=True)
    html_text = html.unescape(rendering.to_html(report)).replace("\u00a0", " ").replace("\u202f", " ")
    rows: dict = {}
    for r in html_rows(html_text):
        if r and re.fullmatch(r"F\d\.\d", r[0]):
            rows.setdefault(r[0], r)  # the summary table comes first
    assert rows["F1.1"][2:4] == ["200", "191"]  # ARDAN towards 200
    assert rows["F1.4"][2] == "au moins 2"
    assert "Référence 2014 : 650 élèves ; 2018 : 662 élèves (+12)." in html_text
    assert "Conclusions de l'évaluation" in html_text and "Coût par résultat" in html_text
    assert "par entreprise" in html_text
    assert "Aucun plafond de la convention n'est dépassé." in html_text


def test_images_are_rendered_once_for_all_formats(demo_store):
    report = reports.build(demo_store, year=2016)
    assert rendering.render_images(report) == len(rendering.figures(report)) > 0
    assert rendering.render_images(report) == 0
    rendering.to_docx(report)
    assert all(f.png for f in rendering.figures(report))


def test_a_page_of_each_format_as_png(annual, tmp_path):
    """Kept under test-output/reports/ to be looked at: PDF through pdfium, HTML through chromium,
    DOCX through LibreOffice (which scripts/test.sh installs with chromium)."""
    _, out = annual
    SHOTS.mkdir(parents=True, exist_ok=True)
    pdf = pdfium.PdfDocument(out["pdf"])
    pdf[1].render(scale=1.5).to_pil().save(SHOTS / "annuel-2017-pdf-page2.png")
    assert (SHOTS / "annuel-2017-pdf-page2.png").stat().st_size > 20_000
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 900, "height": 1200})
        page.set_content(out["html"])
        page.screenshot(path=str(SHOTS / "annuel-2017-html.png"))
        browser.close()
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice manque : « bash scripts/test.sh » l'installe."
    source = tmp_path / "annuel.docx"
    source.write_bytes(out["docx"])
    subprocess.run(
        [soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=180,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    converted = pdfium.PdfDocument((tmp_path / "annuel.pdf").read_bytes())
    assert len(converted) > 3
    converted[1].render(scale=1.5).to_pil().save(SHOTS / "annuel-2017-docx-page2.png")


def test_a_missing_chromium_gives_a_clear_message(store, monkeypatch):
    import kaleido

    from indicators.errors import Refused

    def broken(*args, **kwargs):
        raise RuntimeError("no browser")

    monkeypatch.setattr(kaleido, "calc_fig_sync", broken)
    report = reports.build(store, year=2016)
    with pytest.raises(Refused, match="chromium est absent"):
        rendering.to_html(report)


def test_french_typography_keeps_punctuation_with_its_word():
    assert (
        rendering.typo("Fiche 1 : 2 objectifs ; « exemple » ?")
        == "Fiche 1\u00a0: 2 objectifs\u202f; «\u00a0exemple\u00a0»\u202f?"
    )


def model_blocks(blocks):
    for b in blocks:
        yield b
        if isinstance(b, reports.Section):
            yield from model_blocks(b.blocks)


def model_text(report) -> str:
    parts = []
    for b in model_blocks(report.sections):
        if isinstance(b, reports.Section):
            parts.append(b.title)
        elif isinstance(b, reports.Paragraph):
            parts.append(b.text)
        elif isinstance(b, reports.Bullets):
            parts += b.items
        elif isinstance(b, reports.Table):
            parts += [b.caption, *b.columns, *(c for r in b.rows for c in r)]
        elif isinstance(b, reports.Figure):
            parts.append(b.caption)
    return "\n".join(parts)


def plain(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " "))


# Where « 2018 » may appear in the 2017 report: the convention's period and the actions announced for 2018.
ALLOWED_2018 = re.compile(r"2016-2018|2016 - 2018|Actions prévues pour 2018")
# Figures that only exist with 2018's values: ARDAN 85 in 2018 and 191 over 2016-2018, promotion sociale
# 662, jeunes 52, positionnements 56 over the period, stages 14 over the period.
LATER_FIGURES = ("85 entreprises", "191", "662", "52 jeunes", "56 positionnements", "14 stages")


def test_an_annual_report_is_the_state_of_its_year(annual):
    report, out = annual
    bodies = {
        "model": plain(model_text(report)),
        "html": plain(html.unescape(re.sub(r"<[^>]*>", " ", out["html"].split("<body>")[1]))),  # not the images
        "docx": plain(docx_text(out["docx"])),
        "pdf": plain(pdf_text(out["pdf"])),
    }
    for fmt, body in bodies.items():
        assert "ARDAN : 106 entreprises de 2016 à 2017, objectif 200 sur 2016-2018" in body, fmt
        assert "Stages sur mesure : 5 stages de 2016 à 2017" in body, fmt
        assert "de 2016 à 2018" not in body, fmt
        for figure in LATER_FIGURES:
            assert figure not in body, (fmt, figure)
        assert "2018" not in ALLOWED_2018.sub("", body), (
            fmt,
            re.findall(r".{60}2018.{20}", ALLOWED_2018.sub("", body)),
        )
        assert "Ouvrir une seconde session du module" in body, fmt  # the actions announced for 2018 stay
    for b in model_blocks(report.sections):
        if isinstance(b, reports.Figure):
            for t in b.figure.to_plotly_json()["data"]:
                xs = t.get("y") if t.get("orientation") == "h" else t.get("x")
                assert "2018" not in [str(x) for x in xs or []] and t.get("name") != "2018", b.caption


def test_an_annual_report_names_no_later_milestone_nor_later_import(store):
    from indicators import milestones

    imp(store, "indicateur;2016;2017\nF1.1;45;60\n", name="bilan-2017.csv")
    imp(store, "indicateur;2018\nF1.1;80\n", name="bilan-2018.csv")
    milestones.set_state(store, "J2", "realise", "alice", 2018, "Antenne ouverte en mars 2018")
    report = reports.build(store, year=2017)
    text = model_text(report)
    assert "bilan-2017.csv" in text and "bilan-2018.csv" not in text
    j2 = next(r for b in model_blocks(report.sections) if isinstance(b, reports.Table) for r in b.rows if r[0] == "J2")
    assert j2[2:] == ["○ Pas encore réalisé fin 2017", "", ""]
    final = model_text(reports.build(store, final=True))
    assert "bilan-2018.csv" in final and "Antenne ouverte en mars 2018" in final


def test_cost_per_result_counts_each_fiche_once_over_the_same_years(demo_store):
    """Demo spending (2018: none yet), by fiche through the plan's shares: fiche 1 spent 111 080 € in 2016
    (lines at 96 %, communication 55 %, training 40 %, premises and equipment 100 %) and 103 440 € in 2017
    (88 %): 214 520 € for 42 + 64 = 106 ARDAN companies; fiche 2 56 744 + 53 032 = 109 776 € for 1 + 4 = 5
    stages; fiche 3 47 084 + 43 852 = 90 936 € for 1 + 0 = 1 formation."""
    report = reports.build(demo_store, final=True)
    table = next(
        b for b in model_blocks(report.sections) if isinstance(b, reports.Table) and "Coût par résultat" in b.columns
    )
    assert [[plain(c) for c in r] for r in table.rows] == [
        [
            "Fiche 1",
            "2016-2017",
            "214 520 €",
            "F1.1 ARDAN : 106 entreprises",
            "2 023,77 € par entreprise",
            "F1.2 : 37 emplois ; F1.3 : 29 positionnements ; F1.4 : 1 dispositif",
        ],
        [
            "Fiche 2",
            "2016-2017",
            "109 776 €",
            "F2.4 Stages sur mesure : 5 stages",
            "21 955,20 € par stage",
            "F2.2 : 1 formation ; F2.3 : 0 formation",
        ],
        [
            "Fiche 3",
            "2016-2017",
            "90 936 €",
            "F3.2 Formations en alternance : 1 formation",
            "90 936 € par formation",
            "",
        ],
    ]
    body = plain(html.unescape(rendering.to_html(report)))
    assert "214 520 € dépensés sur la fiche 1 de 2016 à 2017 / 106 entreprises = 2 023,77 € par entreprise" in body
    assert "109 776 € dépensés sur la fiche 2 de 2016 à 2017 / 5 stages = 21 955,20 € par stage" in body


def test_provenance_names_hand_entries_and_their_reason_never_nan(store):
    import datetime as dt

    from indicators import budget
    from indicators.importing import record_value
    from indicators.spending import record_expense

    imp(store, "indicateur;2016\nF1.1;45\n", name="bilan-2016.csv")
    record_value(store, "F1.3", 2016, 8, "alice", "Chiffre transmis par courriel du CNAM")
    record_expense(store, 2016, "locaux", "CNAM", 10_000, "alice", "Bail signé, facture de décembre")
    budget.record_payment(store, 2016, "avance", dt.date(2016, 12, 15), 63_105, "alice")  # no reference
    report = reports.build(store, year=2016)
    annex = next(b for b in model_blocks(report.sections) if isinstance(b, reports.Table) and "Fichier" in b.columns)
    by_id = {r[0]: r for r in annex.rows}
    assert [by_id["2"][2], by_id["2"][6]] == ["saisie manuelle : Chiffre transmis par courriel du CNAM", "—"]
    assert [by_id["3"][2], by_id["3"][6]] == ["saisie manuelle : Bail signé, facture de décembre", "—"]
    assert by_id["1"][2] == "bilan-2016.csv" and re.fullmatch(r"[0-9a-f]{64}", by_id["1"][6])
    out = {"html": rendering.to_html(report), "docx": rendering.to_docx(report)}
    bodies = {
        "html": plain(html.unescape(re.sub(r"<[^>]*>", " ", out["html"].split("<body>")[1]))),
        "docx": plain(docx_text(out["docx"])),
    }
    for fmt, body in bodies.items():
        assert "saisie manuelle : Chiffre transmis par courriel du CNAM" in body, fmt
        assert "saisie manuelle : Bail signé, facture de décembre" in body, fmt
        assert not re.search(r"\b(nan|NaN|None|NaT)\b", body), (
            fmt,
            re.findall(r".{40}\b(?:nan|None|NaT)\b.{10}", body),
        )


def test_a_report_as_of_a_change_is_rebuilt_exactly_as_it_was(store, monkeypatch):
    """Issue 11: a report produced in March stays reproducible after later imports and cancellations."""
    import datetime as dt

    from indicators import access, history, ledger

    monkeypatch.setenv("KPI_BACKUPS_KEPT", "0")
    imp(store, "indicateur;2016;2017\nF1.1;42;64\nF2.1;540;585\n", name="mars.csv")
    texts.write_text(store, "explanation", "Hausse en 2017", "test", "F1.1", 2017)
    access.submit_year(store, 2017, "test")
    march = ledger.resolve(store)
    before = reports.build(store, year=2017)
    access.return_year(store, 2017, "test", "à revoir")
    imp(store, "indicateur;2017\nF1.1;70\n", name="avril.csv")
    texts.write_text(store, "explanation", "Texte revu", "test", "F1.1", 2017)
    history.revert(store, 1, "test", reason="fichier de mars remplacé")
    now = reports.build(store, year=2017)
    again = reports.build(store, year=2017, as_of=march.change)
    assert again.sections == before.sections and again.status_line == before.status_line
    assert now.sections != before.sections
    assert again.as_of_line == f"Données arrêtées au {formatting.timestamp(march.at)}, changement n° {march.change}."
    assert now.as_of_line.endswith(f"changement n° {ledger.resolve(store).change}.")
    text = rendering.to_html(again)
    assert f"changement n° {march.change}" in text and "64" in text and "Hausse en 2017" in text
    # A date works too: the last change made by the end of that day.
    assert reports.build(store, year=2017, as_of=dt.date(2100, 1, 1)).sections == now.sections
    assert reports.build(store, year=2017, as_of="01/01/2000").as_of_line == "Aucune donnée enregistrée."


def test_cost_per_result_names_the_years_it_covers_when_one_is_missing(store, monkeypatch):
    """Spending for 2016 and 2018 only: the cost covers those two years and says so, not « de 2016 à 2018 »."""
    monkeypatch.setenv("KPI_BACKUPS_KEPT", "0")
    imp(store, "indicateur;2016;2017;2018\nF1.1;42;64;85\n")
    imp(
        store,
        "annee;poste;partenaire;montant;fiche\n2016;locaux;CNAM;10000;1\n2018;locaux;CNAM;12700;1\n",
        name="d.csv",
    )
    report = reports.build(store, final=True)
    table = next(
        b for b in model_blocks(report.sections) if isinstance(b, reports.Table) and "Coût par résultat" in b.columns
    )
    assert [plain(c) for c in table.rows[0][:5]] == [
        "Fiche 1",
        "2016 et 2018",
        "22 700 €",
        "F1.1 ARDAN : 127 entreprises",
        "178,74 € par entreprise",
    ]
    formulas = next(b for b in model_blocks(report.sections) if isinstance(b, reports.Bullets) and "dépensés" in str(b))
    assert any("fiche 1 en 2016 et 2018 /" in plain(f) for f in formulas.items)
