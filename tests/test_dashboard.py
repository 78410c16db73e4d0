"""AppTest of every page through the real navigation, on an empty store and on demo data, and the
mission officer's flows: import (refused and applied), correction, explanation, milestone, revert."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from indicators import budget, history, milestones, texts, training
from indicators.demo import load_demo
from indicators.storage import Store

from .conftest import imp, snapshot

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
PAGES = [
    "synthese",
    "fiche-1",
    "fiche-2",
    "fiche-3",
    "budget",
    "formation",
    "import",
    "saisie",
    "historique",
    "rapports",
    "audit",
    "referentiel",
]


def run_page(default: str) -> None:
    """The app's own navigation, opened on another page (AppTest.from_function runs this body)."""
    from dashboard import common, navigation

    navigation.build(common.framework(common.get_store()), default=default).run()


def clear_caches() -> None:
    from dashboard import common

    common.get_store.clear()
    common.load_framework.clear()
    common.after_demo_removal()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A fresh store in KPI_DB; `open(page)` runs a page of the app on it."""
    db = tmp_path / "app.duckdb"
    monkeypatch.setenv("KPI_DB", str(db))
    monkeypatch.setenv("KPI_USER", "chargée de mission")
    clear_caches()
    store = Store(db, lock_timeout=5)
    store.framework()

    def open_page(page: str = "synthese") -> AppTest:
        at = AppTest.from_function(run_page, args=(page,), default_timeout=30)
        at.run()
        assert not at.exception, at.exception
        return at

    open_page.store = store
    yield open_page
    clear_caches()


def texts_of(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "success", "warning", "error") for e in at.get(kind)]
    parts += [e.label for e in at.get("metric")] + [str(e.value) for e in at.get("metric")]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("with_demo", [False, True], ids=["empty", "demo"])
def test_every_page_renders(env, page, with_demo):
    if with_demo:
        load_demo(env.store)
    at = env(page)
    assert at.title, "every page has a title"
    banner = [w for w in at.warning if "DONNÉES D'EXEMPLE" in w.value]
    assert bool(banner) == with_demo


def test_the_app_entry_point_opens_on_synthese(env):
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Synthèse"


def test_synthese_empty_state_points_to_import(env):
    at = env("synthese")
    assert "Aucune valeur n'est encore enregistrée" in at.info[0].value
    assert any(link.proto.page == "import" for link in at.get("page_link"))


def test_synthese_on_demo_data(env):
    load_demo(env.store)
    at = env("synthese")
    text = texts_of(at)
    assert "Fiche 1 : 1 objectif sur 2 atteint en 2018" in text
    assert "85 entreprises" in text
    assert ":green-badge[✔ Atteint] **106\u00a0%** de l'objectif" in text
    at.segmented_control(key="synthese_period").set_value("2016-2018").run()
    assert "sur 2016-2018" in texts_of(at)
    at.button(key="remove_demo").click().run()
    assert not [w for w in at.warning if "DONNÉES D'EXEMPLE" in w.value]
    assert env.store.is_empty()


def test_fiche_page_shows_charts_explanations_and_milestones(env):
    load_demo(env.store)
    at = env("fiche-1")
    charts = at.get("plotly_chart")
    assert len(charts) == 6  # F1.1 yearly + cumulative, F1.2, F1.3 yearly + cumulative, F1.4 at-least-2
    spec = json.loads(charts[0].proto.spec)
    assert spec["layout"]["separators"] == ",\u202f"
    assert spec["layout"]["xaxis"]["type"] == "category"
    assert charts[0].proto.alt == "ARDAN : 85 entreprises en 2018, 106\u00a0% de l'objectif de 80"
    text = texts_of(at)
    assert "42 entreprises accompagnées au lieu de 50" in text  # the demo explanation of F1.1 in 2016
    assert "⚑" not in text and "Qualité des données" not in text  # the demo data raises no flag
    assert "**✔ Réalisé** (2016) — J1 · Centre d'enseignement CNAM" in text


def test_fiche_page_shows_the_data_quality_flags(env):
    imp(env.store, "indicateur;2016;2017\nF1.1;101;70\n")  # 101 > 2 × the 2016 target of 50
    at = env("fiche-1")
    captions = [c.value for c in at.caption]
    assert "⚑ Qualité des données : plus de 2 fois l'objectif : à vérifier" in captions
    assert "⚑ Qualité des données : valeur 2016 manquante alors que d'autres indicateurs sont renseignés" in captions


def test_user_text_is_shown_as_text_not_markup(env):
    texts.write_text(env.store, "explanation", "**gras** <b>x</b> [lien](http://x)", "alice", "F1.1", 2016)
    at = env("fiche-1")
    shown = [m.value for m in at.markdown if "gras" in m.value]
    assert shown and "\\*\\*gras\\*\\*" in shown[0] and "\\<b\\>" in shown[0] and "\\[lien\\]" in shown[0]


GOOD = b"indicateur;2016;2017\nF1.1;45;66\n"
BAD = "indicateur;année;valeur\nF1.1;2016;cinquante\nF9.9;2017;3\n".encode()


def test_import_refused_file_shows_every_error_and_changes_nothing(env):
    before = snapshot(env.store)
    at = env("import")
    assert len(at.download_button) == 2  # the templates
    at.file_uploader[0].upload("partenaire.csv", BAD, "text/csv").run()
    assert not at.exception
    errors = at.dataframe[0].value
    assert list(errors["Ligne"]) == [2, 3]
    assert list(errors["Colonne"]) == ["valeur", "indicateur"]
    assert "n'est pas un nombre" in errors["Problème"].iloc[0]
    annotated = [b for b in at.download_button if "partenaire_erreurs.csv" in b.label]
    assert annotated
    assert not [b for b in at.button if b.key == "confirm_import"]
    assert snapshot(env.store) == before


def test_import_preview_then_confirm_then_synthese_shows_the_value(env):
    at = env("synthese")  # warm the caches first: the import must clear them
    assert "45 entreprises" not in texts_of(at)
    at = env("import")
    at.file_uploader[0].upload("ardan.csv", GOOD, "text/csv").run()
    assert [m.value for m in at.metric][:3] == ["2", "0", "0"]
    preview = at.dataframe[0].value
    assert list(preview["Après"]) == ["45", "66"]
    assert history.current_values(env.store).empty  # nothing written before confirmation
    at.button(key="confirm_import").click().run()
    assert not at.exception
    assert "Import enregistré" in at.success[0].value
    assert sorted(history.current_values(env.store)["value"]) == [45, 66]
    at = env("synthese")
    assert "66 entreprises" in texts_of(at)


def test_correction_requires_a_reason(env):
    imp(env.store, "indicateur;2016\nF1.1;45\n")
    before = snapshot(env.store)
    at = env("saisie")
    at.text_input(key="edit_new_value").input("47")
    next(b for b in at.button if "Enregistrer la valeur" in b.label).click().run()
    assert any("raison" in e.value for e in at.error)
    assert snapshot(env.store) == before
    at.text_input(key="edit_new_value").input("47")
    at.text_area(key="edit_reason").input("Erreur de saisie du partenaire")
    next(b for b in at.button if "Enregistrer la valeur" in b.label).click().run()
    assert not at.exception
    assert "Valeur enregistrée" in at.success[0].value
    values = history.current_values(env.store)
    assert values.set_index(["indicator", "year"]).loc[("F1.1", 2016), "value"] == 47
    assert history.journal(env.store).iloc[0]["comment"] == "Erreur de saisie du partenaire"


def test_explanation_and_milestone_are_saved_from_the_page(env):
    at = env("saisie")
    at.selectbox(key="explain_indicator").set_value("F2.1").run()
    at.selectbox(key="explain_year").set_value(2017).run()
    at.text_area(key="explain_text_F2.1_2017").input("Hausse portée par les cours du soir.").run()
    at.button(key="save_explanation").click().run()
    assert not at.exception
    assert "Explication enregistrée." in at.success[0].value
    assert texts.lookup(texts.current_texts(env.store), "explanation", "F2.1", 2017).startswith("Hausse")
    at.selectbox(key="milestone_code").set_value("J2").run()
    at.selectbox(key="milestone_state_J2").set_value("realise").run()
    at.selectbox(key="milestone_year_J2").set_value(2017).run()
    at.button(key="save_milestone").click().run()
    assert "Jalon J2 mis à jour." in at.success[0].value
    row = milestones.milestone_table(env.store).set_index("code").loc["J2"]
    assert (row["state"], row["year"]) == ("realise", 2017)


def test_revert_from_historique_needs_confirmation_and_reason(env):
    imp(env.store, "indicateur;2016\nF1.1;45\n", name="premier.csv")
    second = imp(env.store, "indicateur;2016\nF1.1;50\n", name="second.csv")
    at = env("historique")
    journal = at.dataframe[0].value
    assert list(journal["Fichier"]) == ["second.csv", "premier.csv"]
    assert len(journal["Empreinte SHA-256"].iloc[0]) == 64
    assert at.selectbox(key="revert_target_annuler").value == second.changeset_id
    # The preview gives each cell before → after, as the rule will make it.
    preview = at.dataframe[-1].value
    assert preview[["Case", "Avant", "Après", "Effet"]].values.tolist() == [["F1.1 2016", "50", "45", "changée"]]
    assert at.button(key="revert_button").disabled
    at.text_input(key="revert_reason").input("Fichier envoyé par erreur").run()
    at.checkbox(key="revert_confirm").check().run()
    assert not at.button(key="revert_button").disabled
    at.button(key="revert_button").click().run()
    assert not at.exception
    assert f"Changement n° {second.changeset_id} annulé" in at.success[0].value
    assert history.current_values(env.store)["value"].tolist() == [45]
    assert history.journal(env.store).iloc[0]["comment"] == "Fichier envoyé par erreur"
    # … and the cancelled change can be re-established from the same page.
    at.radio(key="revert_mode").set_value("rétablir").run()
    assert at.selectbox(key="revert_target_rétablir").value == second.changeset_id
    at.text_input(key="revert_reason").input("C'était le bon fichier").run()
    at.checkbox(key="revert_confirm").check().run()
    at.button(key="revert_button").click().run()
    assert not at.exception
    assert f"Changement n° {second.changeset_id} rétabli" in at.success[0].value
    assert history.current_values(env.store)["value"].tolist() == [50]


def test_budget_page_on_demo_data_shows_the_subsidy_and_its_formula(env):
    load_demo(env.store)
    at = env("budget")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Budget prévu"] == "231\u202f450\u00a0€"  # 2017, the latest year with spending, amended
    assert metrics["Subvention due"] == "78\u202f026,39\u00a0€"
    assert len(at.get("plotly_chart")) == 3
    text = texts_of(at)
    assert "Avance = 70\u00a0% × 90\u202f150\u00a0€ = 63\u202f105\u00a0€" in text.replace("\\", "")
    at.segmented_control(key="budget_year").set_value("2018").run()
    assert {m.label: m.value for m in at.metric}["Dépenses réelles"] == "non saisies"


def test_budget_forms_record_a_payment_an_expense_and_an_amendment(env):
    at = env("budget")
    at.segmented_control(key="budget_year").set_value("2017").run()
    at.text_input(key="pay_amount").input("63105")
    at.text_input(key="pay_reference").input("Mandat 12")
    next(b for b in at.button if b.label == "Enregistrer le versement").click().run()
    assert not at.exception
    assert "Versement n° 1 enregistré pour 2017 : 63\u202f105,00\u00a0€." in at.success[0].value
    assert {m.label: m.value for m in at.metric}["Reste à verser"] == "27\u202f045\u00a0€"
    at.selectbox(key="exp_line").set_value("locaux")
    at.text_input(key="exp_amount").input("10 000,00")
    next(b for b in at.button if b.label == "Enregistrer la dépense").click().run()
    assert any("raison" in e.value for e in at.error)  # no reason: refused
    at.text_input(key="exp_reason").input("Facture du bailleur")
    next(b for b in at.button if b.label == "Enregistrer la dépense").click().run()
    assert "Dépense enregistrée" in at.success[0].value
    assert {m.label: m.value for m in at.metric}["Dépenses réelles"] == "10\u202f000\u00a0€"
    at.selectbox(key="plan_line").set_value("locaux")
    at.text_input(key="plan_amount").input("12 000,00").run()
    assert "Montant lu : 12\u202f000,00\u00a0€" in texts_of(at)
    at.text_input(key="plan_reason").input("Nouveau bail")
    next(b for b in at.button if b.label == "Modifier le budget prévu").click().run()
    assert "Budget 2017 modifié." in at.success[0].value
    assert {m.label: m.value for m in at.metric}["Budget prévu"] == "232\u202f300\u00a0€"


def save_payment(at: AppTest, typed: str) -> AppTest:
    at.text_input(key="pay_amount").input(typed).run()
    shown = texts_of(at)
    next(b for b in at.button if b.label == "Enregistrer le versement").click().run()
    assert not at.exception
    return shown


def test_a_payment_typed_the_french_way_is_echoed_then_recorded_as_typed(env):
    at = env("budget")
    at.segmented_control(key="budget_year").set_value("2016").run()
    shown = save_payment(at, "63 105,00")  # a number_input read this as 6 310 500 €
    assert "Montant lu : 63\u202f105,00\u00a0€" in shown  # before it is saved
    assert budget.payments_frame(env.store)["amount"].tolist() == [63_105]
    assert "Versement n° 1 enregistré pour 2016 : 63\u202f105,00\u00a0€." in at.success[0].value
    assert {m.label: m.value for m in at.metric}["Reste à verser"] == "27\u202f045\u00a0€"
    assert at.text_input(key="pay_amount").value == ""  # emptied for the next payment


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "6 310 500",
            "« montant » : 6\u202f310\u202f500\u00a0€ dépasse la subvention prévue pour 2016 (90\u202f150\u00a0€)",
        ),
        ("63 105,00 $", "« Montant (€) » : « 63 105,00 $ » n'est pas un nombre"),
        ("", "« Montant (€) » : saisissez un montant"),
    ],
)
def test_a_payment_that_cannot_be_right_is_refused_and_nothing_is_written(env, typed, message):
    at = env("budget")
    at.segmented_control(key="budget_year").set_value("2016").run()
    before = snapshot(env.store)
    save_payment(at, typed)
    assert any(e.value.replace("\\", "").startswith(message) for e in at.error), [e.value for e in at.error]
    assert not at.success
    assert budget.payments_frame(env.store).empty
    assert snapshot(env.store) == before


def test_an_unreadable_amount_is_named_under_its_field_before_saving(env):
    at = env("budget")
    at.segmented_control(key="budget_year").set_value("2017").run()
    at.text_input(key="exp_amount").input("mille euros").run()
    errors = [e.value.replace("\\", "") for e in at.error]
    assert any(e.startswith("« Montant réel 2017 (€) » : « mille euros » n'est pas un nombre") for e in errors)


def test_a_hand_entry_of_a_value_is_echoed_and_bounded(env):
    at = env("saisie")
    at.selectbox(key="edit_indicator").set_value("F1.4").run()
    at.text_input(key="edit_new_value").input("51").run()
    assert "Nombre lu : 51 dispositifs" in texts_of(at)
    at.text_area(key="edit_reason").input("Chiffre CNAM")
    next(b for b in at.button if "Enregistrer la valeur" in b.label).click().run()
    assert any("dépasse la valeur plausible maximale de 50 pour F1.4" in e.value.replace("\\", "") for e in at.error)
    assert history.current_values(env.store).empty
    at.text_input(key="edit_new_value").input("2").run()
    next(b for b in at.button if "Enregistrer la valeur" in b.label).click().run()
    assert history.current_values(env.store)["value"].tolist() == [2]


def test_training_figures_typed_too_large_are_refused_naming_the_bound(env):
    at = env("formation")
    at.text_input(key="tr_revenue").input("57 132,60")
    at.text_input(key="tr_costs_CNAM").input("28 000")
    at.text_input(key="tr_costs_CFA").input("29 000")
    at.text_input(key="tr_learners").input("1 400").run()  # 14 with two extra digits
    assert "Nombre lu : 1\u202f400" in texts_of(at)
    next(b for b in at.button if b.label == "Enregistrer l'année").click().run()
    assert any(
        "« alternants » : 1\u202f400 dépasse la borne plausible de 160" in e.value.replace("\\", "") for e in at.error
    )
    assert training.records(env.store).empty


def test_an_expense_file_goes_through_the_import_page(env):
    at = env("import")
    data = "année;poste;partenaire;montant\n2016;Location locaux;CNAM;9 500,50\n".encode()
    at.file_uploader[0].upload("depenses.csv", data, "text/csv").run()
    preview = at.dataframe[0].value
    assert list(preview["Poste"]) == ["Location locaux"] and list(preview["Après"]) == ["9\u202f500,50\u00a0€"]
    at.button(key="confirm_import").click().run()
    assert "Import enregistré" in at.success[0].value
    at = env("budget")
    assert {m.label: m.value for m in at.metric}["Dépenses réelles"] == "9\u202f500,50\u00a0€"


def test_training_page_forecast_calculator_and_record(env):
    at = env("formation")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Recette par alternant"] == "4\u202f080,90\u00a0€"
    assert metrics["Recettes (16 alternants)"] == "65\u202f294,40\u00a0€"
    assert any(e.label.startswith("Écarts avec le tableau imprimé (20)") for e in at.expander)
    at.text_input(key="calc_learners").input("12").run()
    assert [m.value for m in at.metric if m.label == "Recettes"] == ["48\u202f970,80\u00a0€"]
    at.text_input(key="tr_learners").input("14")
    at.text_input(key="tr_revenue").input("57 132,60 €")
    at.text_input(key="tr_costs_CNAM").input("28 000")
    at.text_input(key="tr_costs_CFA").input("29\u00a0000,00").run()
    assert "Montant lu : 57\u202f132,60\u00a0€" in texts_of(at)
    next(b for b in at.button if b.label == "Enregistrer l'année").click().run()
    assert not at.exception
    assert "Chiffres 2016 de la formation enregistrés." in at.success[0].value
    assert at.dataframe[-1].value["Marge brute"].iloc[0] == "132,60\u00a0€"


def test_rapports_page_produces_previews_and_downloads_a_report(env):
    load_demo(env.store)
    at = env("rapports")
    assert at.selectbox(key="report_choice").value == "final"
    at.selectbox(key="report_choice").set_value("2017").run()
    at.segmented_control(key="report_format").set_value("html").run()
    at.button(key="make_report").click().run(timeout=120)
    assert not at.exception
    download = at.download_button(key="download_report")
    assert "rapport_annuel_2017.html" in download.label
    preview = at.get("iframe")[0].proto.srcdoc
    assert "<h1>Rapport d&#x27;activité 2017 — rapport moral et financier</h1>" in preview
    assert "<script" not in preview and "default-src &#x27;none&#x27;" not in preview  # CSP kept as written
    assert "default-src 'none'" in preview


def test_audit_page_lists_and_filters_every_write(env):
    imp(env.store, "indicateur;2016\nF1.1;45\n", name="envoi.csv")
    texts.write_text(env.store, "conclusions", "Bilan", "alice")
    at = env("audit")
    table = at.dataframe[0].value
    assert list(table["Par"][:2]) == ["alice", "test"]
    assert "« envoi.csv »" in table["Action"].iloc[1]
    at.multiselect(key="audit_users").select("alice").run()
    assert list(at.dataframe[0].value["Par"]) == ["alice"]
