"""Write a report model (`reports.Report`) as a self-contained HTML file, a Word document or a PDF.

- Figures are rendered to PNG by kaleido (≥ 1.0), which drives the system's chromium offline; its
  server is started once per process (`kaleido.start_sync_server`), and each figure is rendered once
  per report, then reused by every format.
- HTML: one file, CSS and images inline (data URIs), system fonts, nothing fetched; every text is
  escaped, so a comment holding `<script>` shows as text.
- PDF: WeasyPrint from that same HTML, A4, « page X / Y » at the foot of each page.
- DOCX: python-docx, A4, real Word headings (the outline) and tables, French language, the same
  blocks in the same order.
"""

from __future__ import annotations

import base64
import html
import io
import threading

from indicators import formatting
from indicators.errors import Refused
from indicators.reports import Bullets, Figure, Paragraph, Report, Section, Table

FORMATS = ("html", "pdf", "docx")
MIME = {
    "html": "text/html",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
SCALE = 1.5  # sharp on paper at 17 cm wide, and light enough for a quick PDF
_kaleido_lock = threading.Lock()
_kaleido_started = False


def _ensure_kaleido() -> None:
    global _kaleido_started
    with _kaleido_lock:
        if not _kaleido_started:
            import kaleido

            # mathjax=False: no formula in our charts, and nothing to fetch from a CDN.
            kaleido.start_sync_server(headless=True, silence_warnings=True, mathjax=False)
            _kaleido_started = True


def figures(report: Report) -> list[Figure]:
    out = []

    def walk(blocks):
        for b in blocks:
            if isinstance(b, Figure):
                out.append(b)
            elif isinstance(b, Section):
                walk(b.blocks)

    walk([s for s in report.sections])
    return out


def render_images(report: Report) -> int:
    """Render every figure not yet rendered (once per report). Returns how many were rendered."""
    todo = [f for f in figures(report) if f.png is None]
    if not todo:
        return 0
    try:
        _ensure_kaleido()
        import kaleido

        with _kaleido_lock:  # one chromium tab serves the process: one figure at a time
            for f in todo:
                opts = {"format": "png", "width": f.width, "height": f.height, "scale": SCALE}
                f.png = kaleido.calc_fig_sync(f.figure.to_plotly_json(), opts=opts)
    except Exception as e:  # kaleido and chromium fail in many ways; the person needs the next step
        raise Refused(
            "Impossible de dessiner les graphiques du rapport : chromium est absent ou n'a pas démarré "
            f"({type(e).__name__}). « bash scripts/system-packages.sh » l'installe."
        ) from e
    return len(todo)


# -- HTML and PDF ------------------------------------------------------------------------------------
CSS = """
@page { size: A4; margin: 18mm 16mm 20mm 16mm;
        @bottom-center { content: "page " counter(page) " / " counter(pages); font-size: 9pt; color: #555; } }
html { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10.5pt; color: #1a1a1a; }
body { max-width: 190mm; margin: 0 auto; padding: 0 4mm; line-height: 1.45; }
h1 { font-size: 20pt; margin: 0 0 4mm; } h2 { font-size: 15pt; margin: 8mm 0 3mm; border-bottom: 1px solid #ccc; }
h3 { font-size: 12pt; margin: 5mm 0 2mm; } h2, h3 { break-after: avoid; }
.cover { break-after: page; padding-top: 40mm; } .cover .meta { color: #444; margin-top: 10mm; }
.lead { font-weight: bold; } .note { color: #555; font-size: 9pt; } .missing { color: #8c5a00; font-style: italic; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 4mm; font-size: 8.5pt; break-inside: auto; }
table.fixed { table-layout: fixed; }
th, td { border: 1px solid #bbb; padding: 1.2mm 1.6mm; text-align: left; vertical-align: top; overflow-wrap: break-word; }
th { background: #eef2f6; } caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 1mm; }
figure { margin: 3mm 0 5mm; break-inside: avoid; } figure img { width: 100%; }
figcaption { font-size: 10pt; font-weight: bold; margin-bottom: 1mm; }
.demo-banner { border: 2px solid #d55e00; color: #d55e00; font-weight: bold; padding: 2mm; text-align: center; margin-bottom: 4mm; }
.watermark { position: fixed; top: 45%; left: 0; right: 0; text-align: center; transform: rotate(-30deg);
             font-size: 56pt; color: rgba(213, 94, 0, 0.13); font-weight: bold; z-index: -1; }
"""


# French typography: no line break before « : ; ! ? » or inside « guillemets ».
_TYPOGRAPHY = (
    (" :", "\u00a0:"),
    (" ;", "\u202f;"),
    (" !", "\u202f!"),
    (" ?", "\u202f?"),
    ("« ", "«\u00a0"),
    (" »", "\u00a0»"),
)


def typo(text) -> str:
    """`text` with the no-break spaces French typography asks for (the words are unchanged)."""
    text = str(text)
    for plain_space, no_break in _TYPOGRAPHY:
        text = text.replace(plain_space, no_break)
    return text


def _e(text) -> str:
    return html.escape(typo(text), quote=True)


def _html_blocks(blocks, level: int) -> list[str]:
    out = []
    for b in blocks:
        if isinstance(b, Section):
            tag = f"h{min(6, level + 1)}"
            out.append(f"<section><{tag}>{_e(b.title)}</{tag}>")
            out += _html_blocks(b.blocks, level + 1)
            out.append("</section>")
        elif isinstance(b, Paragraph):
            cls = f' class="{b.style}"' if b.style else ""
            out.append(f"<p{cls}>{_e(b.text)}</p>")
        elif isinstance(b, Bullets):
            out.append("<ul>" + "".join(f"<li>{_e(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{_e(c)}</th>" for c in b.columns)
            body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in b.rows)
            caption = f"<caption>{_e(b.caption)}</caption>" if b.caption else ""
            cols, cls = "", ""
            if b.widths:
                total = sum(b.widths)
                cols = (
                    "<colgroup>"
                    + "".join(f'<col style="width:{100 * w / total:.1f}%">' for w in b.widths)
                    + "</colgroup>"
                )
                cls = ' class="fixed"'
            out.append(f"<table{cls}>{caption}{cols}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(b, Figure):
            src = "data:image/png;base64," + base64.b64encode(b.png or b"").decode("ascii")
            out.append(
                # The finding is written above the chart, as text (searchable, copied with the page).
                f'<figure><figcaption>{_e(b.caption)}</figcaption><img src="{src}" alt="{_e(b.caption)}"></figure>'
            )
    return out


def to_html(report: Report) -> str:
    """The report as one self-contained HTML file (images inline, no script, nothing fetched)."""
    render_images(report)
    generated = formatting.timestamp(report.generated_at)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="fr"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">",
        f"<title>{_e(report.title)}</title><style>{CSS}</style></head><body>",
    ]
    if report.watermark:
        parts.append(f'<div class="watermark">{_e(report.watermark)}</div>')
    parts.append('<div class="cover">')
    if report.watermark:
        parts.append(f'<div class="demo-banner">{_e(report.watermark)} — chiffres fictifs</div>')
    parts.append(f'<h1>{_e(report.title)}</h1><p class="lead">{_e(report.subtitle)}</p>')
    parts.append("<p>" + "<br>".join(_e(p) for p in report.parties) + "</p>")
    parts.append(
        f'<p class="meta">Période : {_e(report.period)}<br>Produit le {_e(generated)} (heure de Paris)'
        f"<br>{_e(report.as_of_line)}<br>{_e(report.status_line)}</p></div>"
    )
    parts += _html_blocks(report.sections, 1)
    parts.append("</body></html>")
    return "\n".join(parts)


def to_pdf(report: Report, html_text: str | None = None) -> bytes:
    """The report as an A4 PDF, from the same HTML (WeasyPrint; no URL is fetched)."""
    import weasyprint
    from weasyprint.urls import URLFetcher

    # Only the inline images (data:) may be read: no file, no network.
    fetcher = URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    return weasyprint.HTML(string=html_text or to_html(report), url_fetcher=fetcher).write_pdf()


# -- DOCX ----------------------------------------------------------------------------------------------
def to_docx(report: Report) -> bytes:
    """The report as an editable Word document: A4, Word headings, tables, French language."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    render_images(report)
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(1.8))
    section.top_margin, section.bottom_margin = Cm(1.8), Cm(2)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = "Calibri", Pt(10.5)
    rpr = normal.element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "fr-FR")
    rpr.append(lang)
    doc.core_properties.title = report.title
    doc.core_properties.language = "fr-FR"

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("page ")
    _field(footer, "PAGE")
    footer.add_run(" / ")
    _field(footer, "NUMPAGES")
    if report.watermark:
        head = section.header.paragraphs[0]
        head.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = head.add_run(f"{report.watermark} — chiffres fictifs")
        run.bold, run.font.color.rgb = True, RGBColor(0xD5, 0x5E, 0x00)

    if report.watermark:
        p = doc.add_paragraph()
        run = p.add_run(report.watermark)
        run.bold, run.font.size, run.font.color.rgb = True, Pt(20), RGBColor(0xD5, 0x5E, 0x00)
    doc.add_heading(report.title, level=0)
    doc.add_paragraph(report.subtitle).runs[0].bold = True
    doc.add_paragraph("\n".join(report.parties))
    doc.add_paragraph(
        f"Période : {report.period}\nProduit le {formatting.timestamp(report.generated_at)} (heure de Paris)\n"
        f"{report.as_of_line}\n{report.status_line}"
    )
    doc.add_page_break()
    _docx_blocks(doc, report.sections, 1, Cm)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _field(paragraph, code: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), code)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _docx_blocks(doc, blocks, level: int, Cm) -> None:  # noqa: N803 (docx's unit)
    from docx.shared import Pt, RGBColor

    for b in blocks:
        if isinstance(b, Section):
            doc.add_heading(typo(b.title), level=min(level, 4))
            _docx_blocks(doc, b.blocks, level + 1, Cm)
        elif isinstance(b, Paragraph):
            p = doc.add_paragraph()
            run = p.add_run(typo(b.text))
            if b.style == "lead":
                run.bold = True
            elif b.style == "note":
                run.font.size, run.font.color.rgb = Pt(9), RGBColor(0x55, 0x55, 0x55)
            elif b.style == "missing":
                run.italic, run.font.color.rgb = True, RGBColor(0x8C, 0x5A, 0x00)
        elif isinstance(b, Bullets):
            for item in b.items:
                doc.add_paragraph(typo(item), style="List Bullet")
        elif isinstance(b, Table):
            if b.caption:
                doc.add_paragraph(typo(b.caption)).runs[0].bold = True
            table = doc.add_table(rows=1, cols=len(b.columns))
            table.style = "Table Grid"
            for cell, name in zip(table.rows[0].cells, b.columns, strict=True):
                cell.text = name
                for run in cell.paragraphs[0].runs:
                    run.bold, run.font.size = True, Pt(8.5)
            for values in b.rows:
                cells = table.add_row().cells
                for cell, value in zip(cells, values, strict=True):
                    cell.text = typo(value)
                    for run in cell.paragraphs[0].runs:
                        run.font.size = Pt(8.5)
            if b.widths:  # Word and LibreOffice read the grid's widths, and each cell's
                table.autofit = False
                total = sum(b.widths)
                for column, w in zip(table.columns, b.widths, strict=True):
                    column.width = Cm(17.4 * w / total)
                for row in table.rows:
                    for cell, w in zip(row.cells, b.widths, strict=True):
                        cell.width = Cm(17.4 * w / total)
        elif isinstance(b, Figure):
            caption = doc.add_paragraph(typo(b.caption))
            caption.runs[0].bold = True
            caption.paragraph_format.keep_with_next = True
            doc.add_picture(io.BytesIO(b.png or b""), width=Cm(17))


def render(report: Report, fmt: str) -> bytes:
    """The report in `fmt` (html, pdf or docx) as bytes."""
    if fmt == "html":
        return to_html(report).encode("utf-8")
    if fmt == "pdf":
        return to_pdf(report)
    if fmt == "docx":
        return to_docx(report)
    raise ValueError(fmt)
