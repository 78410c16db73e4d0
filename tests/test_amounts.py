"""Numbers typed by hand (dashboard forms, CLI): read by the importer's French parser, and bounded by the
convention before anything is written. Literal figures from REFERENTIEL.md (annexe 4, art. 4 and 5)."""

from __future__ import annotations

import datetime as dt

import pytest

from indicators import amounts, budget, training
from indicators.errors import ImportRefused, Refused
from indicators.importing import record_value
from indicators.spending import record_expense

from .conftest import snapshot

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("63 105,00", 63_105),
        ("63105", 63_105),
        ("63 105 €", 63_105),
        ("63\u00a0105,00\u00a0€", 63_105),
        ("63\u202f105,00", 63_105),
        ("  63105,5 ", 63_105.5),
        ("63.105,00", 63_105),
        ("63105.00", 63_105),
        ("0", 0),
    ],
)
def test_typed_amounts_are_read_the_french_way(typed, expected):
    reading = amounts.read(typed, "Montant (€)")
    assert (reading.value, reading.error) == (expected, None)
    assert amounts.number(typed, "Montant (€)") == expected


def test_the_reading_is_echoed_formatted_before_it_is_saved():
    assert amounts.read("63 105,00", "Montant (€)").echo == f"Montant lu : 63{NNBSP}105,00{NBSP}€"
    assert amounts.read("14", "Alternants", money=False, whole=True).echo == "Nombre lu : 14"
    assert amounts.read("", "Montant (€)").echo is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "« Montant (€) » : saisissez un montant"),
        ("soixante", "« Montant (€) » : « soixante » n'est pas un nombre"),
        ("63 105,00 $", "« Montant (€) » : « 63 105,00 $ » n'est pas un nombre"),
        ("-5", "« Montant (€) » : « -5 » est négatif"),
        ("12,345", "« Montant (€) » : « 12,345 » a plus de deux décimales"),
        ("1e300", "« Montant (€) » : « 1e300 » est trop grand"),
    ],
)
def test_an_unreadable_amount_is_a_french_error_naming_the_field(typed, message):
    reading = amounts.read(typed, "Montant (€)")
    assert reading.value is None and reading.error.startswith(message)
    with pytest.raises(Refused, match="^« Montant \\(€\\) » :"):
        amounts.number(typed, "Montant (€)")


def test_a_whole_number_is_required_where_the_figure_counts_people():
    assert amounts.read("14,5", "Alternants", money=False, whole=True).error.startswith(
        "« Alternants » : « 14,5 » n'est pas un entier"
    )


def payments(store):
    return budget.payments_frame(store)["amount"].tolist()


def test_a_payment_typed_the_french_way_is_recorded_as_typed(store):
    budget.record_payment(store, 2016, "avance", dt.date(2016, 12, 1), "63 105,00", "alice")
    assert payments(store) == [63_105]


def test_a_payment_above_the_year_s_planned_subsidy_is_refused_naming_it(store):
    budget.record_payment(store, 2016, "solde", dt.date(2017, 5, 2), 90_150, "alice")  # the bound itself
    before = payments(store), snapshot(store)
    with pytest.raises(Refused, match=f"dépasse la subvention prévue pour 2016 \\(90{NNBSP}150{NBSP}€\\)"):
        budget.record_payment(store, 2016, "avance", dt.date(2016, 12, 1), 6_310_500, "alice")
    with pytest.raises(Refused, match="subvention prévue pour 2016"):
        budget.record_payment(store, 2016, "reversement", dt.date(2017, 6, 1), "90 150,01", "alice")
    assert (payments(store), snapshot(store)) == before


def test_the_payment_bound_follows_an_amended_plan(store):
    budget.amend_plan(store, 2017, "locaux", "Territoire", 30_000, "alice", "nouveau bail")  # +10 000 in cash
    budget.record_payment(store, 2017, "autre", dt.date(2017, 7, 1), 100_150, "alice")
    with pytest.raises(Refused, match=f"subvention prévue pour 2017 \\(100{NNBSP}150{NBSP}€\\)"):
        budget.record_payment(store, 2017, "autre", dt.date(2017, 7, 1), 100_150.01, "alice")


def test_an_unreadable_payment_names_the_field(store):
    with pytest.raises(Refused, match="« montant » : « 63 105,00 \\$ » n'est pas un nombre"):
        budget.record_payment(store, 2016, "avance", dt.date(2016, 12, 1), "63 105,00 $", "alice")


def test_an_expense_above_the_operation_s_annual_ceiling_is_refused_naming_it(store):
    assert record_expense(store, 2016, "locaux", "CNAM", "300 000,00", "alice", "bound").added == 1
    before = snapshot(store)
    with pytest.raises(ImportRefused) as caught:
        record_expense(store, 2016, "locaux", "CNAM", "300 000,01", "alice", "facture")
    assert f"coût annuel maximal de l'opération (300{NNBSP}000{NBSP}€)" in caught.value.errors[0].message
    assert snapshot(store) == before


def test_a_plan_amendment_is_bounded_by_the_party_s_yearly_ceiling(store):
    assert budget.amend_plan(store, 2017, "locaux", "CNAM", "150 000", "alice", "bound")
    before = budget.plan_frame(store)
    with pytest.raises(Refused, match=f"dépasse le plafond de 150{NNBSP}000{NBSP}€ par partenaire et par an"):
        budget.amend_plan(store, 2017, "locaux", "CNAM", "1 500 000,00", "alice", "faute de frappe")
    assert budget.plan_frame(store).equals(before)
    with pytest.raises(Refused, match="« montant prévu » : « douze mille » n'est pas un nombre"):
        budget.amend_plan(store, 2017, "locaux", "CNAM", "douze mille", "alice", "bail")


def test_a_hand_entry_of_an_indicator_is_bounded_by_its_plausible_max(store):
    record_value(store, "F1.4", 2016, "50", "alice", "bound")  # max = 50 in the framework
    with pytest.raises(ImportRefused) as caught:
        record_value(store, "F1.4", 2016, "51", "alice", "faute de frappe")
    assert "dépasse la valeur plausible maximale de 50 pour F1.4" in caught.value.errors[0].message
    record_value(store, "F2.1", 2016, "1\u202f042", "alice", "chiffre CNAM")  # typed with a narrow space


def test_training_figures_are_read_the_french_way(store):
    training.record_year(store, 2016, "14", "446", "57 132,60 €", {"CNAM": "28 000", "CFA": "29\u00a0000,00"}, "alice")
    row = training.records(store).iloc[0]
    assert (row["learners"], row["revenue"], row["costs_CFA"], round(row["margin"], 2)) == (
        14,
        57_132.60,
        29_000,
        132.60,
    )


@pytest.mark.parametrize(
    ("figures", "message"),
    [
        ({"learners": 161}, "« alternants » : 161 dépasse la borne plausible de 160 \\(10 fois la prévision de 16\\)"),
        ({"learners": "14,5"}, "« alternants » : « 14,5 » n'est pas un entier"),
        ({"hours": 1_608}, f"« heures par alternant » : 1{NNBSP}608 dépasse la borne plausible de 1{NNBSP}607"),
        ({"revenue": "6 529 440,01"}, f"« recettes » : .* dépasse la borne plausible de 652{NNBSP}944{NBSP}€"),
        ({"costs": {"CNAM": 0, "CFA": -1}}, "« charges directes CFA » : « -1 » est négatif"),
    ],
)
def test_training_figures_are_non_negative_and_bounded(store, figures, message):
    args = {"learners": 14, "hours": 446, "revenue": 57_132.60, "costs": {"CNAM": 28_000, "CFA": 29_000}, **figures}
    with pytest.raises(Refused, match=message):
        training.record_year(store, 2016, args["learners"], args["hours"], args["revenue"], args["costs"], "alice")
    assert training.records(store).empty
