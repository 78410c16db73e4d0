"""One page per fiche action: objectives, each indicator's charts, explanations, flags, milestones.

`page(number)` gives the callable that `st.navigation` runs for that fiche.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from dashboard import common


def page(number: int) -> Callable[[], None]:
    def fiche_page() -> None:
        render(number)

    fiche_page.__name__ = f"fiche_{number}"
    return fiche_page


def render(number: int) -> None:
    store = common.get_store()
    fw = common.framework(store)
    common.demo_banner(store)
    fiche = fw.fiche(number)
    page = common.load_view(store, str(store.path), "fiche", number)

    st.title(f"Fiche {fiche.number}")
    st.subheader(fiche.title, anchor=False)
    st.caption(f"Pilote : {fiche.pilot} · Source : {fiche.source}")
    if page["latest"] is None:
        common.empty_state("Aucune valeur n'est encore enregistrée pour cette convention : les graphiques sont vides.")
    else:
        st.markdown("  \n".join(f"**{s}**" for s in page["sentences"]))
    with st.expander("Objectifs de la fiche", expanded=True):
        st.markdown("\n".join(f"- {common.plain(o)}" for o in fiche.objectives))

    for ind in page["indicators"]:
        st.subheader(f"{ind['code']} · {ind['label']}", anchor=ind["code"].replace(".", "-").lower())
        figures = ind["figures"]
        columns = st.columns(len(figures)) if len(figures) > 1 else [st.container()]
        for i, (column, (finding, spec)) in enumerate(zip(columns, figures, strict=True)):
            with column:
                common.chart_spec(finding, spec, key=f"chart_{ind['code']}_{i}")
        if ind["notes"]:
            st.caption(ind["notes"])
        for text in ind["explanations"]:
            st.markdown(text)
        for flag in ind["flags"]:
            st.caption(f"⚑ Qualité des données : {flag}")

    if page["milestones"]:
        st.subheader("Jalons")
        for line in page["milestones"]:
            st.markdown(line)
    if page["latest"] is not None:
        st.page_link(
            common.PAGES["saisie"], label="Expliquer un résultat ou mettre à jour un jalon", icon=":material/edit:"
        )
