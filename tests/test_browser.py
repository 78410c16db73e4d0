"""The dashboard in a real browser: `streamlit run` on a free loopback port, driven by Playwright with
Debian's chromium (never a downloaded browser). Screenshots of every page at 1280 px and 390 px go
to test-output/screenshots/.

`scripts/test.sh` installs chromium from Debian's packages when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from indicators.demo import load_demo
from indicators.storage import Store

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("KPI_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "test-output" / "screenshots"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
PAGES = {  # url path -> title; the default page (Synthèse) is served at the root
    "": "Synthèse",
    "fiche-1": "Fiche 1",
    "fiche-2": "Fiche 2",
    "fiche-3": "Fiche 3",
    "budget": "Budget",
    "formation": "Formation en alternance",
    "import": "Importer",
    "saisie": "Saisie",
    "historique": "Historique",
    "rapports": "Rapports",
    "audit": "Journal d'audit",
    "referentiel": "La convention",
}

playwright_api = pytest.importorskip("playwright.sync_api", reason="installed by the test extras")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The real app on demo data, as `scripts/start.sh` starts it."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} manque : lancez « bash scripts/test.sh », qui l'installe."
    db = tmp_path_factory.mktemp("browser") / "kpi.duckdb"
    store = Store(db)
    store.framework()
    load_demo(store)
    port = free_port()
    env = {**os.environ, "KPI_DB": str(db), "KPI_USER": "navigateur"}
    log = open(tmp_path_factory.getbasetemp() / "streamlit.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "dashboard" / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail("streamlit n'a pas démarré : " + (tmp_path_factory.getbasetemp() / "streamlit.log").read_text())
        time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(10)
    log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


def open_page(browser, url: str, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.goto(url)
    return context, page


def wait_ready(page, title: str) -> None:
    page.get_by_role("heading", level=1).filter(has_text=title).first.wait_for(timeout=30_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)


def screenshot(page, width: int, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the viewport is grown to its height."""
    height = page.evaluate("() => (document.querySelector('[data-testid=\"stMain\"]') || document.body).scrollHeight")
    page.set_viewport_size({"width": width, "height": min(max(height, 900), 9000)})
    page.wait_for_timeout(400)  # charts re-layout to the new size
    page.screenshot(path=str(SHOTS / name), full_page=True)
    page.set_viewport_size({"width": width, "height": 900})


def test_pages_render_and_charts_are_drawn_at_both_widths(server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        context, page = open_page(browser, server, width)
        for path, title in PAGES.items():
            page.goto(f"{server}/{path}")
            wait_ready(page, title)
            if path.startswith("fiche") or path == "budget":
                page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
                bars = page.locator(".js-plotly-plot .barlayer .point")
                assert bars.count() > 0, f"{path}: les barres des graphiques ne sont pas dessinées"
            assert not page.locator('[data-testid="stException"]').count(), f"{path}: exception affichée"
            screenshot(page, width, f"{path or 'synthese'}-{width}.png")
        context.close()


def test_upload_confirm_and_see_the_new_figure(server, browser):
    context, page = open_page(browser, server, 1280)
    wait_ready(page, "Synthèse")
    page.get_by_role("button", name="Retirer les données d'exemple").click()
    page.get_by_text("Aucune valeur n'est encore enregistrée").wait_for(timeout=30_000)

    page.goto(f"{server}/import")
    wait_ready(page, "Importer")
    page.locator('[data-testid="stFileUploaderDropzone"]').wait_for(timeout=30_000)
    screenshot(page, 1280, "import-vide-1280.png")
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "ardan_2017.csv", "mimeType": "text/csv", "buffer": b"indicateur;2017\nF1.1;73\n"}]
    )
    confirm = page.get_by_role("button", name="Confirmer l'import")
    confirm.wait_for(timeout=30_000)
    screenshot(page, 1280, "import-preview-1280.png")
    confirm.click()
    page.get_by_text("Import enregistré").wait_for(timeout=30_000)

    page.goto(server)
    wait_ready(page, "Synthèse")
    page.get_by_text("73 entreprises").first.wait_for(timeout=30_000)
    page.goto(f"{server}/fiche-1")
    wait_ready(page, "Fiche 1")
    page.get_by_text("ARDAN : 73 entreprises en 2017").first.wait_for(timeout=30_000)
    context.close()


def _without_demo(page, server) -> None:
    page.goto(server)
    wait_ready(page, "Synthèse")
    page.wait_for_timeout(500)
    remove = page.get_by_role("button", name="Retirer les données d'exemple")
    if remove.count():
        remove.click()
        page.get_by_text("Aucune valeur n'est encore enregistrée").wait_for(timeout=30_000)


def test_a_payment_typed_the_french_way_then_cancelled_and_reinstated(server, browser):
    """Issue 11: `63 105,00` typed in the browser is 63 105 €, not 6 310 500 €; the payment is cancelled
    and reinstated from the Budget page, and stays listed as cancelled meanwhile."""
    context, page = open_page(browser, server, 1280)
    _without_demo(page, server)
    page.goto(f"{server}/budget")
    wait_ready(page, "Budget")
    field = page.get_by_role("textbox", name="Montant (€)")
    field.fill("63 105,00")
    field.press("Tab")
    page.get_by_text("Montant lu : 63\u202f105,00\xa0€").wait_for(timeout=30_000)
    page.get_by_role("button", name="Enregistrer le versement").click()
    page.get_by_text("enregistré pour 2016 : 63\u202f105,00\xa0€").wait_for(timeout=30_000)
    # The field is emptied once saved: a second click must not record the payment twice.
    page.wait_for_function(
        "() => document.querySelector('input[aria-label=\"Montant (€)\"]').value === ''", timeout=10_000
    )
    page.get_by_text("Montant lu : 6 310 500").wait_for(state="detached", timeout=1_000)
    choice = page.get_by_role("textbox", name="Raison (obligatoire, inscrite au journal)")
    choice.fill("saisi en double")
    choice.press("Tab")  # not Enter, which would submit the form before the click
    page.get_by_role("button", name="Annuler ce versement").click()
    page.get_by_text("annulé (1 valeur retirée)").wait_for(timeout=30_000)
    page.get_by_text("État : annulé.").wait_for(timeout=30_000)
    # Nothing is left to pay back: the cancelled payment no longer counts.
    page.get_by_text("90\u202f150\xa0€").nth(1).wait_for(timeout=30_000)
    screenshot(page, 1280, "budget-versement-annule-1280.png")
    reason = page.get_by_role("textbox", name="Raison (obligatoire, inscrite au journal)")
    reason.fill("il était juste")
    reason.press("Tab")
    page.get_by_role("button", name="Rétablir ce versement").click()
    page.get_by_text("rétabli (1 valeur rendue)").wait_for(timeout=30_000)
    page.get_by_text("État : en vigueur.").wait_for(timeout=30_000)
    context.close()


def test_cancel_then_reinstate_from_historique_with_the_cell_preview(server, browser):
    context, page = open_page(browser, server, 1280)
    _without_demo(page, server)
    for name, body in (("avant.csv", b"indicateur;2018\nF1.1;80\n"), ("apres.csv", b"indicateur;2018\nF1.1;88\n")):
        page.goto(f"{server}/import")
        wait_ready(page, "Importer")
        page.locator('input[type="file"]').set_input_files(
            files=[{"name": name, "mimeType": "text/csv", "buffer": body}]
        )
        page.get_by_role("button", name="Confirmer l'import").click()
        page.get_by_text("Import enregistré").wait_for(timeout=30_000)
    for action, word, done, shown in (
        ("annulation", "Annuler", "annulé (annulation n°", 80),
        ("rétablissement", "Rétablir", "rétabli (rétablissement n°", 88),
    ):
        page.goto(f"{server}/historique")
        wait_ready(page, "Historique")
        if action == "rétablissement":
            page.get_by_text("Rétablir un changement annulé").click()
        # The newest change is offered first; the preview says what the rule will give for F1.1 2018.
        label = "L'annulation" if action == "annulation" else "Le rétablissement"
        page.get_by_text(re.compile(f"{label} du changement n° \\d+ : 1 valeur changée")).wait_for(timeout=30_000)
        screenshot(page, 1280, f"historique-{action}-1280.png")
        reason = page.get_by_role("textbox", name=re.compile(f"Raison (de l'|du ){action}"))
        reason.fill("essai du navigateur")
        reason.press("Tab")
        page.get_by_text(re.compile(f"Je confirme (l’|le ){action}")).click()
        page.get_by_role("button", name=f"{word} le changement").click()
        page.get_by_text(done).wait_for(timeout=30_000)
        page.goto(f"{server}/fiche-1")
        wait_ready(page, "Fiche 1")
        page.get_by_text(f"ARDAN : {shown} entreprises en 2018").first.wait_for(timeout=30_000)
    context.close()
