"""Budget and subsidy, with the literal figures of REFERENTIEL.md (annexe 4, art. 4 and 5)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest

from indicators import budget
from indicators.errors import ImportRefused, Refused
from indicators.history import revert
from indicators.spending import record_expense

from .conftest import imp, snapshot

PLANNED_2016 = 230_300


def overview(store, year=2016) -> dict:
    return budget.overview(store, year)["years"][0]


def spend(store, total: float, year: int = 2016) -> None:
    """Actual spending of `total` €, split half and half on the developers' lines."""
    half = total / 2
    imp(
        store,
        "année;poste;partenaire;montant\n"
        f"{year};developpeur_eco;CNAM;{half:.2f}\n{year};developpeur_alternance;Territoire;{half:.2f}\n".replace(
            ".", ","
        ),
        name=f"depenses_{year}.csv",
    )


def test_planned_budget_totals_come_from_the_lines(store):
    plan = budget.plan_frame(store)
    p2016 = plan[plan["year"] == 2016]
    assert p2016["amount"].sum() == PLANNED_2016
    assert p2016.groupby("party")["amount"].sum().to_dict() == {"CNAM": 115_150, "Territoire": 115_150}
    assert p2016.groupby("group")["amount"].sum().to_dict() == {
        "Autres": 1_000,
        "Charges externes": 63_500,
        "Personnels": 165_800,
    }
    assert plan[plan["year"] == 2018]["amount"].sum() == PLANNED_2016  # later years default to the same
    ex = budget.execution(store.framework(), plan, budget.actual_frame(store), 2016)
    assert ex.by_fiche.set_index("fiche")["planned"].to_dict() == {1: 118_500, 2: 60_400, 3: 51_400}


def test_full_execution_gives_the_advance_and_the_full_balance(store):
    doc = overview(store)
    assert (doc["subsidy_planned"], doc["advance"], doc["balance_planned"]) == (90_150, 63_105, 27_045)
    assert doc["subsidy_prorated"] is None  # no actual spending yet
    spend(store, PLANNED_2016)
    doc = overview(store)
    assert doc["execution_rate"] == 1.0
    assert (doc["subsidy_prorated"], doc["balance"]) == (90_150, 27_045)


@pytest.mark.parametrize(
    ("share", "prorated", "balance"),
    [(1.2, 90_150, 27_045), (0.8, 72_120, 9_015), (0.5, 45_075, -18_030)],
)
def test_prorata(store, share, prorated, balance):
    spend(store, PLANNED_2016 * share)
    doc = overview(store)
    assert (doc["subsidy_prorated"], doc["balance"]) == (prorated, balance)
    assert any("Taux d'exécution" in line for line in doc["formula"])
    if balance < 0:
        assert doc["formula"][-2].endswith("somme à reverser par le CNAM.")


def test_payments_and_what_remains_due(store):
    spend(store, PLANNED_2016 * 0.8)
    first = budget.record_payment(store, 2016, "avance", dt.date(2016, 12, 1), 63_105, "alice", "mandat 1")
    doc = overview(store)
    assert (doc["paid"], doc["remaining"]) == (63_105, 9_015)
    wrong = budget.record_payment(store, 2016, "solde", dt.date(2017, 5, 2), 27_045, "alice")
    assert overview(store)["remaining"] == -18_030  # paid too much: to recover
    budget.cancel_payment(store, wrong, "alice", "saisi à tort : le solde n'était pas encore versé")
    assert overview(store)["remaining"] == 9_015
    with pytest.raises(Refused, match="déjà annulé"):
        budget.cancel_payment(store, wrong, "alice", "deux fois")
    assert [p["id"] for p in overview(store)["payments"]][0] == first


def test_amendments_are_versioned_and_the_first_year_is_fixed(store):
    with pytest.raises(Refused, match="Le budget 2016 est celui de la convention"):
        budget.amend_plan(store, 2016, "locaux", "CNAM", 12_000, "alice", "hausse")
    with pytest.raises(Refused, match="raison"):
        budget.amend_plan(store, 2017, "locaux", "CNAM", 12_000, "alice", "")
    assert budget.amend_plan(store, 2017, "locaux", "CNAM", 12_000, "alice", "nouveau bail")
    assert not budget.amend_plan(store, 2017, "locaux", "CNAM", 12_000, "alice", "nouveau bail")
    plan = budget.plan_frame(store)
    row = plan[(plan["year"] == 2017) & (plan["line"] == "locaux") & (plan["party"] == "CNAM")].iloc[0]
    assert (row["amount"], row["amended"], row["reason"]) == (12_000, True, "nouveau bail")
    assert overview(store, 2017)["planned_total"] == PLANNED_2016 + 2_000


def test_ceilings_and_split_warnings(store):
    budget.amend_plan(store, 2017, "developpeur_eco", "CNAM", 100_000, "alice", "test des plafonds")
    doc = budget.overview(store)
    warnings = doc["years"][1]["warnings"]
    assert any("dépassent le plafond de 150\u202f000\u00a0€ par an" in w for w in warnings)
    imp(store, "année;poste;partenaire;montant\n2016;developpeur_eco;CNAM;58000\n", name="cnam.csv")
    assert any("parts égales" in w for w in overview(store)["warnings"])


def test_expense_import_refuses_every_error_and_changes_nothing(store):
    before = snapshot(store)
    with pytest.raises(ImportRefused) as caught:
        imp(
            store,
            "année;poste;partenaire;montant;fiche\n2020;loyers;Métropole;-3;4\n2016;locaux;CNAM;12,345;\n"
            "2016;Location lcaux;CNAM;10;\n",
        )
    errors = [(e.line, e.column) for e in caught.value.errors]
    assert errors == [
        (2, "année"),
        (2, "poste"),
        (2, "partenaire"),
        (2, "montant"),
        (2, "fiche"),
        (3, "montant"),
        (4, "poste"),
    ]
    assert "vouliez-vous dire « locaux »" in caught.value.errors[-1].message
    assert snapshot(store) == before


def test_expense_import_by_label_adds_up_rows_and_can_be_reverted(store):
    result = imp(
        store,
        "Année;Poste;Partenaire;Montant;Commentaire\n2016;LOCATION LOCAUX;cnam;6 000,00 €;loyer T1-T2\n"
        "2016;locaux;CNAM;4\u202f000;loyer T3\n2016;Frais de déplacement;CNAM;1 234,56;\n",
    )
    assert (result.domain, result.added) == ("expenses", 2)
    actual = budget.actual_frame(store).set_index("line")
    assert actual.loc["locaux", "amount"] == 10_000
    assert actual.loc["deplacements", "amount"] == 1_234.56
    assert overview(store)["actual_total"] == 11_234.56
    outcome = revert(store, result.changeset_id, "alice", "fichier provisoire")
    assert outcome.withdrawn == 2
    assert budget.actual_frame(store).empty


def test_actual_by_fiche_follows_the_plan_shares_when_no_fiche_is_given(store):
    imp(store, "année;poste;partenaire;montant;fiche\n2016;locaux;CNAM;3000;\n2016;locaux;Territoire;600;3\n")
    ex = budget.execution(store.framework(), budget.plan_frame(store), budget.actual_frame(store), 2016)
    # Location locaux is planned 15 000 / 10 000 / 5 000 between the fiches.
    assert ex.by_fiche.set_index("fiche")["actual"].to_dict() == {1: 1_500, 2: 1_000, 3: 1_100}


def test_expense_entry_by_hand_requires_a_reason(store):
    with pytest.raises(Refused, match="raison"):
        record_expense(store, 2016, "locaux", "CNAM", 100, "alice", "")
    result = record_expense(store, 2016, "locaux", "CNAM", "2 500,50", "alice", "facture oubliée", fiche=2)
    assert result.added == 1
    assert budget.actual_frame(store)["fiche"].tolist() == [2]


# -- the written arithmetic of the subsidy: what a council member redoes by hand ------------------
_NUMBER = r"-?\d{1,3}(?:\u202f\d{3})*(?:,\d+)?"
_TOKEN = re.compile(rf"({_NUMBER})\u00a0(€|%)|([×/−+])")


def _value(number: str, unit: str) -> Decimal:
    value = Decimal(number.replace("\u202f", "").replace(",", "."))
    return value / 100 if unit == "%" else value


def check_arithmetic(sentence: str) -> bool:
    """Parse « a op b … = result » back out of a sentence and redo it exactly (to the cent, or to the
    hundredth of a point for a rate). Returns False when the sentence holds no such arithmetic."""
    if sentence.count("=") < 2:
        return False
    expression = sentence[sentence.index("=") + 1 : sentence.rindex("=")]
    number, unit = re.search(rf"({_NUMBER})\u00a0(€|%)", sentence[sentence.rindex("=") :]).groups()
    tokens = [m.groups() for m in _TOKEN.finditer(expression)]
    assert tokens and tokens[0][2] is None, sentence
    total = _value(*tokens[0][:2])
    for (_, _, op), (n, u, _) in zip(tokens[1::2], tokens[2::2], strict=True):
        assert op and n, sentence
        b = _value(n, u)
        total = {"×": total * b, "/": total / b, "−": total - b, "+": total + b}[op]
    if unit == "%":
        assert (total * 100).quantize(Decimal("0.01"), ROUND_HALF_UP) == Decimal(number.replace(",", ".")), sentence
    else:
        assert total.quantize(Decimal("0.01"), ROUND_HALF_UP) == _value(number, unit), sentence
    return True


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory):
    from indicators.demo import load_demo
    from indicators.storage import Store

    s = Store(tmp_path_factory.mktemp("budget") / "demo.duckdb")
    s.framework()
    load_demo(s)
    return s


@pytest.mark.parametrize("year", [2016, 2017, 2018])
def test_every_subsidy_sentence_adds_up_to_the_cent(demo_store, year):
    formula = overview(demo_store, year)["formula"]
    checked = [line for line in formula if check_arithmetic(line)]
    assert len(checked) == (3 if year == 2018 else 5), formula
    if year == 2017:  # 90 150 × 87 % would give 78 430,50 €: the ratio itself is written
        assert (
            "Subvention due au prorata = 90\u202f150\u00a0€ × 200\u202f324\u00a0€ / 231\u202f450\u00a0€ = "
            in formula[3]
        )
        assert formula[3].startswith(
            "Subvention due au prorata = 90\u202f150\u00a0€ × 200\u202f324\u00a0€ / 231\u202f450\u00a0€ = 78\u202f026,39\u00a0€"
        )
        assert "= 86,55\u00a0%" in formula[2]


@pytest.mark.parametrize("share", [1.2, 0.8, 0.5, 0.123457])
def test_subsidy_sentences_add_up_for_any_spending(store, share):
    spend(store, PLANNED_2016 * share)
    formula = overview(store)["formula"]
    assert sum(check_arithmetic(line) for line in formula) == 5, formula


def test_the_advance_is_due_until_a_payment_of_that_kind_is_recorded(store):
    def advance_line():
        return next(line for line in overview(store)["formula"] if line.startswith("Avance"))

    assert advance_line().endswith(" : avance due.")
    solde = budget.record_payment(store, 2016, "solde", dt.date(2017, 5, 2), 27_045, "alice")
    assert advance_line().endswith(" : avance due.")  # a balance is not the advance
    budget.cancel_payment(store, solde, "alice", "saisi à tort")
    paid = budget.record_payment(store, 2016, "avance", dt.date(2016, 12, 15), 63_105, "alice", "mandat 1")
    assert advance_line().endswith(" : avance versée le 15/12/2016.")
    budget.cancel_payment(store, paid, "alice", "saisi à tort")
    assert advance_line().endswith(" : avance due.")  # a cancelled payment was not received
