"""Formation en alternance (Assistant de gestion – Attaché commercial): the forecast recomputed from the
annex's rates with its disagreements with the scanned table, a calculator, and the yearly record."""

from __future__ import annotations

import streamlit as st

from dashboard import common
from indicators import formatting, tables, training

store = common.get_store()
fw = common.framework(store)
common.demo_banner(store)
path = str(store.path)
t = fw.training
m = formatting.money

st.title("Formation en alternance")
st.subheader(t.title, anchor=False)
st.caption(common.plain(t.source))
common.show_flash()
shares = " / ".join(f"{p} {formatting.percent(s)}" for p, s in t.margin_shares.items())
st.markdown(
    "Recettes = alternants × heures de formation × prix de l'heure ; charges directes de chaque partenaire "
    f"selon les taux de l'annexe financière ; marge brute = recettes − charges directes, partagée {shares}."
)

forecast_tab, calculator_tab, record_tab = st.tabs(["Prévision recalculée", "Calculateur", "Réalisé par année"])


@st.cache_data(show_spinner=False)
def forecast(sha256: str) -> training.Economics:
    """The recomputed forecast, once per version of the framework (`sha256` keys the cache)."""
    return training.forecast_check(fw)


@st.cache_data(show_spinner=False)
def forecast_table(sha256: str):
    return tables.training_costs_frame(forecast(sha256))


with forecast_tab:
    eco = forecast(fw.sha256)
    a = t.assumptions
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        "Recette par alternant",
        m(eco.revenue_per_learner),
        help=f"{formatting.number(a['hours_per_learner'])} h × {m(a['hourly_rate'])}",
    )
    c2.metric(f"Recettes ({formatting.number(a['learners'])} alternants)", m(eco.revenue))
    c3.metric(
        "Charges directes",
        m(sum(eco.costs_by_partner.values())),
        help=" ; ".join(f"{p} {m(v)}" for p, v in eco.costs_by_partner.items()),
    )
    c4.metric("Marge brute", m(eco.margin), help=" ; ".join(f"{p} {m(v)}" for p, v in eco.margin_by_partner.items()))
    st.dataframe(forecast_table(fw.sha256), hide_index=True, width="stretch")
    with st.expander(f"Écarts avec le tableau imprimé ({len(eco.flags)})", expanded=False):
        st.caption(
            "Le budget prévisionnel de la convention est un tableau numérisé dont la lecture est en partie fautive : "
            "chaque montant est recalculé à partir des taux, et chaque désaccord est signalé ici."
        )
        st.markdown("\n".join(f"- {common.plain(f)}" for f in eco.flags))

with calculator_tab:
    st.caption("Modifiez les hypothèses : le calcul suit les taux de l'annexe financière.")
    values = {}
    columns = st.columns(3)
    for i, (name, default) in enumerate(training.assumptions(fw).items()):
        values[name] = common.number_field(
            columns[i % 3],
            training.ASSUMPTION_LABELS.get(name, name),
            f"calc_{name}",
            money=False,
            value=formatting.number(default),
        ).value
    if None in values.values():
        st.info("Corrigez les hypothèses signalées pour refaire le calcul.", icon=":material/info:")
    else:
        result = common.load_view(store, path, "training_economics", tuple(sorted(values.items())))
        c1, c2, c3 = st.columns(3)
        c1.metric("Recettes", m(result.revenue))
        c2.metric("Charges directes", m(sum(result.costs_by_partner.values())))
        c3.metric("Marge brute", m(result.margin))
        st.markdown(
            "\n".join(
                f"- {p} : charges {m(result.costs_by_partner[p])}, part de la marge {m(result.margin_by_partner[p])}"
                for p in t.partners
            )
        )

with record_tab:
    records = common.load_view(store, path, "training_records")
    if records is None:
        st.info("Aucune année n'est encore enregistrée.", icon=":material/info:")
    else:
        st.dataframe(records, hide_index=True, width="stretch")
    common.require_page("write", "enregistrer les chiffres de la formation")
    if common.has_demo(store, path):
        st.info("Retirez d'abord les données d'exemple pour enregistrer de vrais chiffres.", icon=":material/info:")
        st.stop()
    # A container, not a form: each typed figure is read and echoed before the year is saved.
    with st.container(border=True):
        a, b, c = st.columns(3)
        year = a.selectbox("Année", fw.years, key="tr_year")
        learners = common.number_field(b, "Alternants", "tr_learners", money=False, whole=True, unit="alternants")
        hours = common.number_field(
            c,
            "Heures par alternant",
            "tr_hours",
            money=False,
            unit="heures",
            value=formatting.number(t.assumptions["hours_per_learner"]),
        )
        revenue = common.number_field(a, "Recettes perçues (€)", "tr_revenue")
        costs = {
            p: common.number_field(col, f"Charges directes {p} (€)", f"tr_costs_{p}")
            for p, col in zip(t.partners, (b, c), strict=False)
        }
        note = st.text_input("Note (facultative)", key="tr_note")
        if st.button("Enregistrer l'année", type="primary", key="save_training"):
            common.write(
                lambda: training.record_year(
                    store,
                    year,
                    learners.text,
                    hours.text,
                    revenue.text,
                    {p: r.text for p, r in costs.items()},
                    common.current_user(),
                    note or None,
                ),
                common.after_training_write,
                f"Chiffres {year} de la formation enregistrés.",
            )
