"""Budget et subvention: planned against actual spending, the subsidy with the prorata rule in plain
French, the payments, and the forms that record them."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import common
from indicators import budget, formatting
from indicators.spending import record_expense

store = common.get_store()
fw = common.framework(store)
common.demo_banner(store)
path = str(store.path)
user = common.current_user()

st.title("Budget et subvention")
common.show_flash()
default = str(common.load_view(store, path, "budget_default_year"))
year = int(st.segmented_control("Année", [str(y) for y in fw.years], default=default, key="budget_year") or default)
view = common.load_view(store, path, "budget", year)
ex, sub = view["execution"], view["subsidy"]
e = formatting.money

c1, c2, c3, c4 = st.columns(4)
c1.metric("Budget prévu", e(ex.planned_total), help="Coût de l'opération prévu pour l'année, toutes parties.")
c2.metric(
    "Dépenses réelles",
    e(ex.actual_total) if ex.has_actual else "non saisies",
    delta=f"{formatting.percent(ex.rate)} du prévu" if ex.has_actual else None,
    delta_color="off",
)
c3.metric(
    "Subvention due",
    e(sub.prorated_subsidy if sub.prorated_subsidy is not None else sub.planned_subsidy),
    help="Au prorata des dépenses réelles ; tant qu'elles ne sont pas saisies, la subvention prévue.",
)
c4.metric("Reste à verser" if sub.remaining >= 0 else "À reverser par le CNAM", e(abs(sub.remaining)))
if not ex.has_actual:
    common.empty_state(
        f"Aucune dépense réelle n'est saisie pour {year} : importez le fichier des dépenses (colonnes année, poste, "
        "partenaire, montant) sur la page Import, ou saisissez-les plus bas."
    )
for warning in view["warnings"]:
    st.warning(warning, icon=":material/warning:")

st.subheader("Le calcul de la subvention")
st.markdown(view["formula"])
st.caption(
    "Art. 5 de la convention : 70 % à la notification, 30 % sur le rapport moral et financier ; « en cas de "
    "dépenses réelles inférieures au montant prévisionnel annoncé […], la règle du prorata s'appliquera ». Le "
    "prorata porte sur le coût de toute l'opération (dépenses des deux partenaires, art. 4)."
)
left, right = st.columns(2)
with left:
    common.chart_spec(*view["figures"]["waterfall"], key="waterfall")
with right:
    common.chart_spec(*view["figures"]["by_fiche"], key="by_fiche")
common.chart_spec(*view["figures"]["by_line"], key="by_line")

st.subheader("Exécution par poste")
st.dataframe(view["lines"], hide_index=True, width="stretch")
st.subheader("Par groupe, partenaire et fiche")
st.dataframe(view["summary"], hide_index=True, width="stretch")
if view["amended"]:
    st.caption("Budget modifié : " + view["amended"])

st.subheader("Versements de la subvention")
if view["payments"] is not None:
    st.dataframe(view["payments"], hide_index=True, width="stretch")
else:
    st.info(f"Aucun versement enregistré pour {year}.", icon=":material/info:")

st.subheader("Saisir")
common.require_page("write", "saisir des montants ou des versements")
if common.has_demo(store, path):
    st.info(
        "Retirez d'abord les données d'exemple (bouton en haut de page) pour saisir de vrais montants.",
        icon=":material/info:",
    )
    st.stop()
pay_tab, expense_tab, plan_tab = st.tabs(["Un versement reçu", "Une dépense réelle", "Modifier le budget prévu"])
# Containers, not forms: a typed amount is read and echoed (« Montant lu : … ») before it is saved.
with pay_tab, st.container(border=True):
    a, b, c = st.columns(3)
    kind = a.selectbox("Type", list(budget.PAYMENT_KINDS), format_func=budget.PAYMENT_KINDS.get, key="pay_kind")
    paid_on = b.date_input("Date du versement", value=dt.date.today(), format="DD/MM/YYYY", key="pay_date")
    amount = common.number_field(c, "Montant (€)", "pay_amount")
    reference = st.text_input("Référence (mandat, délibération…)", key="pay_reference")
    if st.button("Enregistrer le versement", type="primary", key="save_payment"):
        common.write(
            lambda: budget.record_payment(store, year, kind, paid_on, amount.checked(), user, reference),
            common.after_budget_write,
            lambda new_id: (
                f"Versement n° {new_id} enregistré pour {year} : {formatting.euros(amount.value, cents=True)}."
            ),
            forget=("pay_amount", "pay_reference"),
        )
with expense_tab, st.container(border=True):
    lines = {x.code: x.label for x in fw.budget.lines}
    a, b, c = st.columns(3)
    line = a.selectbox("Poste", list(lines), format_func=lines.get, key="exp_line")
    party = b.selectbox("Partenaire", list(fw.budget.parties), key="exp_party")
    fiche = c.selectbox(
        "Fiche action",
        [0, *fw.budget.fiches],
        format_func=lambda f: "non précisée" if f == 0 else f"Fiche {f}",
        key="exp_fiche",
    )
    value = common.number_field(st, f"Montant réel {year} (€)", "exp_amount")
    reason = st.text_input("Raison de la saisie (obligatoire)", key="exp_reason")
    if st.button("Enregistrer la dépense", type="primary", key="save_expense"):
        common.write(
            lambda: record_expense(store, year, line, party, value.text, user, reason, fiche=fiche or None),
            common.after_values_write,
            lambda result: f"Dépense enregistrée (changement n° {result.changeset_id}, annulable depuis l'Historique).",
            unchanged="Ce montant était déjà enregistré : rien n'a changé.",
        )
with plan_tab:
    if year == fw.years[0]:
        st.info(
            f"Le budget {year} est celui de la convention (annexe 4) : choisissez une année suivante.",
            icon=":material/info:",
        )
    else:
        with st.container(border=True):
            lines = {x.code: x.label for x in fw.budget.lines}
            a, b, c = st.columns(3)
            line = a.selectbox("Poste", list(lines), format_func=lines.get, key="plan_line")
            party = b.selectbox("Partenaire", list(fw.budget.parties), key="plan_party")
            amount = common.number_field(c, f"Nouveau montant prévu {year} (€)", "plan_amount")
            reason = st.text_input("Raison de la modification (obligatoire)", key="plan_reason")
            if st.button("Modifier le budget prévu", type="primary", key="save_plan"):
                common.write(
                    lambda: budget.amend_plan(store, year, line, party, amount.checked(), user, reason),
                    common.after_budget_write,
                    f"Budget {year} modifié.",
                    unchanged="Ce montant était déjà prévu : rien n'a changé.",
                )

st.subheader("Annuler ou rétablir un versement")
choices = view["payment_choices"]
if not choices:
    st.info(f"Aucun versement enregistré pour {year}.", icon=":material/info:")
else:
    with st.container(border=True):
        chosen = st.selectbox("Versement", list(choices), format_func=choices.get, key="pay_cancel_id")
        reinstating = chosen in view["cancelled_payments"]
        st.caption(
            f"État : {'annulé' if reinstating else 'en vigueur'}. Un versement annulé reste au journal, marqué "
            "« annulé », et ne compte plus dans ce qui a été versé ; il se rétablit de la même façon."
        )
        reason = st.text_input("Raison (obligatoire, inscrite au journal)", key="pay_cancel_reason", max_chars=500)
        verb = "Rétablir" if reinstating else "Annuler"
        if st.button(f"{verb} ce versement", type="primary", key="pay_cancel_button"):
            action = budget.reinstate_payment if reinstating else budget.cancel_payment
            common.write(
                lambda: action(store, int(chosen), user, reason),
                common.after_ledger_write,
                lambda done: f"Versement n° {chosen} {'rétabli' if reinstating else 'annulé'} ({done.summary}).",
                forget=("pay_cancel_reason",),
            )
