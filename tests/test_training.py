"""The Assistant de gestion training: revenue, direct costs from the annex's rates, the margin shared
50/50, the garbled printed forecast checked line by line, and the yearly record."""

from __future__ import annotations

import pytest

from indicators import training
from indicators.errors import Refused
from indicators.framework import load_framework

FW = load_framework()


def test_revenue_per_learner_and_for_sixteen():
    eco = training.economics(FW)
    assert eco.revenue_per_learner == 4_080.90
    assert eco.revenue == 65_294.40


def test_direct_costs_from_the_annex_rates():
    eco = training.economics(FW)
    assert eco.costs_by_partner["CNAM"] == 29_268.00  # as printed: 16 948 + 1 000 + 3 040 + 960 + … + 720
    items = {(c.partner, c.label.split(" (")[0]): c.amount for c in eco.costs}
    assert items[("CNAM", "Heures d'enseignement")] == 223 * 76
    assert items[("CNAM", "Visites de tutorat")] == 8 * 5 * 76
    assert items[("CNAM", "Déplacements de tutorat")] == 960  # 8 learners × 50 km × 2 visits × 2 ways × 0,60 €
    assert items[("CFA", "Location de salles")] == 446 * 7.5
    assert items[("CFA", "Fournitures pédagogiques")] == round(446 * 3.82, 2)
    assert eco.costs_by_partner["CFA"] == 35_996.72
    assert eco.margin == round(65_294.40 - 29_268 - 35_996.72, 2)
    assert eco.margin_by_partner == {"CNAM": 14.84, "CFA": 14.84}


def test_the_printed_forecast_is_checked_and_its_disagreements_flagged():
    flags = training.forecast_check(FW).flags
    assert (
        "CFA – Heures d'enseignement (moitié des cours) : imprimé 16\u202f946\u00a0€, recalculé 16\u202f948\u00a0€."
        in flags
    )
    assert any(
        f.startswith("CFA – Fournitures pédagogiques : imprimé 1\u202f688,44\u00a0€, recalculé 1\u202f703,72\u00a0€")
        for f in flags
    )
    assert "Total des charges CFA : imprimé 35\u202f981,44\u00a0€, recalculé 35\u202f996,72\u00a0€." in flags
    assert not any(f.startswith("Total des charges CNAM") for f in flags)  # 29 268 € agrees
    assert (
        "Recette, ligne 2 du tableau : 448 h imprimées au lieu de 446, 4\u202f090,90\u00a0€ imprimés au lieu de 4\u202f080,90\u00a0€."
        in flags
    )
    assert "Recette, ligne 6 du tableau : 445 h imprimées au lieu de 446, montant illisible." in flags
    assert len([f for f in flags if f.startswith("Recette")]) == 16


def test_the_calculator_follows_its_assumptions():
    eco = training.economics(FW, learners=12, teaching_hours_cnam=200)
    assert eco.revenue == 12 * 4_080.90
    assert eco.costs_by_partner["CNAM"] == 29_268 - 23 * 76
    with pytest.raises(Refused, match="Hypothèse inconnue"):
        training.economics(FW, apprentices=3)


def test_yearly_record_is_versioned(store):
    training.record_year(store, 2016, 14, 446, 57_132.60, {"CNAM": 28_000, "CFA": 29_000}, "alice")
    training.record_year(store, 2016, 15, 446, 61_213.50, {"CNAM": 28_500, "CFA": 31_000}, "bob", "correction")
    row = training.records(store).iloc[0]
    assert (row["learners"], row["margin"], row["margin_CNAM"], row["user_name"]) == (15, 1_713.50, 856.75, "bob")
    with pytest.raises(Refused, match="hors de la convention"):
        training.record_year(store, 2019, 1, 1, 1, {"CNAM": 0, "CFA": 0}, "bob")
    with pytest.raises(Refused, match="« alternants » : « -1 » est négatif"):
        training.record_year(store, 2017, -1, 1, 1, {"CNAM": 0, "CFA": 0}, "bob")
