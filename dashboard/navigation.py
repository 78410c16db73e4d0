"""The app's pages, in one place: `build()` is what `app.py` runs, and what page tests run too (with another
default page), so that every test goes through the real navigation.

One page per fiche action of the framework: another convention gets its own fiche pages with no code.
"""

from __future__ import annotations

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from dashboard import common
from dashboard.views import fiche
from indicators.framework import Framework


def build(fw: Framework, default: str = "synthese") -> StreamlitPage:
    """st.navigation over every page; `default` is the url path of the page shown first (served at `/`).

    Icons are Material Symbols, which Streamlit serves itself: no emoji font or web font is needed."""

    def page(target, title: str, icon: str, url_path: str) -> st.Page:
        return st.Page(target, title=title, icon=icon, url_path=url_path, default=url_path == default)

    return st.navigation(
        {
            "Suivi": [
                page(common.PAGES["synthese"], "Synthèse", ":material/dashboard:", "synthese"),
                *[
                    page(fiche.page(f.number), f"Fiche {f.number}", ":material/folder_open:", f"fiche-{f.number}")
                    for f in fw.fiches
                ],
                *(
                    [page(common.PAGES["budget"], "Budget et subvention", ":material/euro:", "budget")]
                    if fw.budget
                    else []
                ),
                *(
                    [page(common.PAGES["formation"], "Formation en alternance", ":material/school:", "formation")]
                    if fw.training
                    else []
                ),
            ],
            "Données": [
                page(common.PAGES["import"], "Import", ":material/upload_file:", "import"),
                page(common.PAGES["saisie"], "Saisie et commentaires", ":material/edit_note:", "saisie"),
                page(common.PAGES["historique"], "Historique", ":material/history:", "historique"),
                page(common.PAGES["audit"], "Journal d'audit", ":material/policy:", "audit"),
            ],
            "Convention": [
                page(common.PAGES["rapports"], "Rapports", ":material/description:", "rapports"),
                page(common.PAGES["referentiel"], "Référentiel", ":material/menu_book:", "referentiel"),
            ],
        }
    )
