"""The partnership training's economics (convention « Assistant de gestion – Attaché commercial »):
a calculator from the annex's rates, the forecast recomputed against the garbled printed table, and
a yearly record of the actual figures.

Revenue = learners × hours per learner × hourly rate; each partner's direct costs are the annex
items (teaching hours at 76 €, tutoring 5 h per learner, room 7,50 € and supplies 3,82 € per hour,
travel, salary shares…); gross margin = revenue − direct costs, shared as the framework says (50/50).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from indicators import amounts, formatting, ledger
from indicators.errors import Refused
from indicators.framework import Framework, Training, TrainingCost
from indicators.storage import Store, utcnow

ASSUMPTION_LABELS = {
    "learners": "Alternants",
    "hours_per_learner": "Heures de formation par alternant et par an",
    "hourly_rate": "Prix de l'heure de formation (€)",
    "teaching_hours_cnam": "Heures d'enseignement assurées par le CNAM",
    "teaching_hours_cfa": "Heures d'enseignement assurées par le CFA",
    "tutored_cnam": "Alternants suivis par un tuteur du CNAM",
    "tutored_cfa": "Alternants suivis par un tuteur du CFA",
    "tutor_km": "Distance moyenne des entreprises (km)",
    "visits": "Visites en entreprise par alternant et par an",
    "round_trip": "Trajets par visite (aller et retour)",
    "room_hours": "Heures de location de salle",
    "supplies_hours": "Heures de fournitures pédagogiques",
    "exam_units": "Unités d'enseignement examinées",
    "exam_sessions": "Sessions d'examen",
    "exam_hours": "Heures par épreuve",
}


def _training(fw: Framework) -> Training:
    if fw.training is None:
        raise Refused("Ce référentiel ne décrit pas de formation en partenariat.")
    return fw.training


@dataclass
class CostLine:
    partner: str
    label: str
    formula: str  # "223 × 76,00 €"
    amount: float
    printed: float | None
    flag: str | None  # why the recomputation disagrees with the printed table, if it does


@dataclass
class Economics:
    revenue_per_learner: float
    revenue: float
    costs: list[CostLine]
    costs_by_partner: dict[str, float]
    margin: float
    margin_by_partner: dict[str, float]
    flags: list[str]


def _value(ref, t: Training, values: dict[str, float]) -> float:
    if isinstance(ref, str):
        return values[ref] if ref in values else t.rates[ref]
    return float(ref)


def _line(cost: TrainingCost, t: Training, values: dict[str, float]) -> CostLine:
    amount = math.prod(_value(f, t, values) for f in cost.factors) * _value(cost.rate, t, values)
    amount = round(amount, 2)
    formula = " × ".join(
        [
            *(formatting.number(_value(f, t, values)) for f in cost.factors),
            formatting.money(_value(cost.rate, t, values)),
        ]
    )
    flag = None
    if cost.printed is not None and abs(cost.printed - amount) > 0.005:
        flag = f"imprimé {formatting.money(cost.printed)}, recalculé {formatting.money(amount)}"
    if cost.printed_factors and list(cost.printed_factors) != [_value(f, t, values) for f in cost.factors]:
        quantities = " × ".join(formatting.number(x) for x in cost.printed_factors)
        flag = (
            (flag + " ; " if flag else "")
            + f"quantité imprimée {quantities}, retenue {' × '.join(formatting.number(_value(f, t, values)) for f in cost.factors)}"
        )
    return CostLine(cost.partner, cost.label, formula, amount, cost.printed, flag)


def assumptions(fw: Framework) -> dict[str, float]:
    """The forecast's assumptions (learners, hours, rate…), the calculator's defaults."""
    return dict(_training(fw).assumptions)


def economics(fw: Framework, **overrides: float) -> Economics:
    """The training's revenue, direct costs per partner and gross margin, from the annex's rates and
    the forecast's assumptions, any of which `overrides` replaces (the calculator)."""
    t = _training(fw)
    unknown = set(overrides) - set(t.assumptions)
    if unknown:
        raise Refused(f"Hypothèse inconnue : {', '.join(sorted(unknown))}.")
    values = {**t.assumptions, **{k: float(v) for k, v in overrides.items()}}
    per_learner = round(values["hours_per_learner"] * values["hourly_rate"], 2)
    revenue = round(values["learners"] * per_learner, 2)
    lines = [_line(c, t, values) for c in t.costs]
    by_partner = {p: round(sum(x.amount for x in lines if x.partner == p), 2) for p in t.partners}
    margin = round(revenue - sum(by_partner.values()), 2)
    return Economics(
        per_learner,
        revenue,
        lines,
        by_partner,
        margin,
        {p: round(margin * share, 2) for p, share in t.margin_shares.items()},
        [],
    )


def forecast_check(fw: Framework) -> Economics:
    """The forecast recomputed from the rates with the forecast's own assumptions, and every place where
    the printed (scanned) table disagrees: revenue rows, cost items, totals."""
    t = _training(fw)
    eco = economics(fw)
    flags = []
    hours = t.assumptions["hours_per_learner"]
    for i, (printed_hours, amount) in enumerate(t.printed_rows, start=1):
        problems = []
        if printed_hours is not None and printed_hours != hours:
            problems.append(f"{formatting.number(printed_hours)} h imprimées au lieu de {formatting.number(hours)}")
        if amount is None:
            problems.append("montant illisible")
        elif abs(amount - eco.revenue_per_learner) > 0.005:
            problems.append(
                f"{formatting.money(amount)} imprimés au lieu de {formatting.money(eco.revenue_per_learner)}"
            )
        if problems:
            flags.append(f"Recette, ligne {i} du tableau : " + ", ".join(problems) + ".")
    for line in eco.costs:
        if line.flag:
            flags.append(f"{line.partner} – {line.label} : {line.flag}.")
    for partner, printed in t.printed_totals.items():
        if abs(printed - eco.costs_by_partner.get(partner, 0)) > 0.005:
            flags.append(
                f"Total des charges {partner} : imprimé {formatting.money(printed)}, recalculé "
                f"{formatting.money(eco.costs_by_partner.get(partner, 0))}."
            )
    eco.flags = flags
    return eco


# -- yearly record --------------------------------------------------------------------------------
# A typed figure above this many times the forecast's is taken for a typing slip (an extra digit, cents
# typed without their comma), as the importer takes a value above an indicator's plausible max.
PLAUSIBLE_FACTOR = 10
# Hours of training per learner in a year cannot exceed a full-time working year (1 607 h, Code du travail
# art. L3121-41): the contract's time is shared between the company and the courses.
MAX_HOURS_PER_LEARNER = 1607


def _checked_figures(
    fw: Framework, learners, hours, revenue, costs: dict[str, float | str]
) -> tuple[float, float, float, dict[str, float]]:
    """The typed figures read as the importer reads numbers, non-negative and plausible (see the bounds
    above). Raises Refused naming the field and the bound."""
    t = _training(fw)
    forecast = economics(fw)
    learners = amounts.number(learners, "alternants", money=False, whole=True)
    hours = amounts.number(hours, "heures par alternant", money=False)
    revenue = amounts.number(revenue, "recettes")
    costs = {p: amounts.number(v, f"charges directes {p}") for p, v in costs.items()}
    forecast_learners = t.assumptions["learners"]
    amounts.refuse_above(
        learners,
        PLAUSIBLE_FACTOR * forecast_learners,
        "alternants",
        f"la borne plausible de {{bound}} ({PLAUSIBLE_FACTOR} fois la prévision de {formatting.number(forecast_learners)})",
        money=False,
    )
    amounts.refuse_above(
        hours,
        MAX_HOURS_PER_LEARNER,
        "heures par alternant",
        "la borne plausible de {bound} (une année à temps plein)",
        money=False,
    )
    amounts.refuse_above(
        revenue,
        round(PLAUSIBLE_FACTOR * forecast.revenue, 2),
        "recettes",
        f"la borne plausible de {{bound}} ({PLAUSIBLE_FACTOR} fois la prévision de {formatting.money(forecast.revenue)})",
    )
    for p, v in costs.items():
        planned = forecast.costs_by_partner.get(p)
        if planned:
            amounts.refuse_above(
                v,
                round(PLAUSIBLE_FACTOR * planned, 2),
                f"charges directes {p}",
                f"la borne plausible de {{bound}} ({PLAUSIBLE_FACTOR} fois la prévision de {formatting.money(planned)})",
            )
    return learners, hours, revenue, costs


def record_year(
    store: Store,
    year: int,
    learners: int | str,
    hours: float | str,
    revenue: float | str,
    costs: dict[str, float | str],
    user: str,
    note: str | None = None,
) -> None:
    """Record (or correct, by a new version) a year's actual figures of the training. Figures may be typed
    text (`57 132,60`), read as the importer reads numbers.

    Raises Refused (unreadable, negative or implausible figure, naming the field and the bound; unknown
    year; missing partner; demo data)."""
    from indicators.access import require

    require(store, user, "write")
    fw = store.framework()
    t = _training(fw)
    learners, hours, revenue, costs = _checked_figures(fw, learners, hours, revenue, costs)
    if int(year) not in fw.years:
        raise Refused(f"Année {year} hors de la convention (attendu : {', '.join(map(str, fw.years))}).")
    numbers = {"alternants": learners, "heures": hours, "recettes": revenue, **costs}
    if any(v is None or pd.isna(v) or float(v) < 0 for v in numbers.values()):
        raise Refused("Les effectifs, heures, recettes et charges doivent être des nombres positifs ou nuls.")
    if set(costs) != set(t.partners[:2]) or len(t.partners) != 2:
        raise Refused(f"Indiquez les charges directes de chaque partenaire : {', '.join(t.partners)}.")
    first, second = t.partners
    with store.transaction() as con:
        Store.refuse_if_demo(con)
        cs = ledger.new_changeset(con, "edit", "training", user, note, {"year": int(year)}, added=1)
        con.execute(
            "INSERT INTO training_records (id, year, learners, hours, revenue, costs_cnam, costs_cfa, note, user_name, "
            "created_at, demo, changeset_id) VALUES (nextval('training_seq'), ?, ?, ?, ?, ?, ?, ?, ?, ?, false, ?)",
            [
                int(year),
                int(learners),
                float(hours),
                float(revenue),
                float(costs[first]),
                float(costs[second]),
                note,
                user,
                utcnow(),
                cs,
            ],
        )
        Store.audit(
            con,
            user,
            "training_recorded",
            {"year": int(year), "change": cs, **{k: float(v) for k, v in numbers.items()}},
        )


def records(store: Store, as_of: ledger.AsOf | int | None = None) -> pd.DataFrame:
    """The latest record of each year: year, learners, hours, revenue, costs per partner, margin and each
    partner's share of it, note, who and when."""
    fw = store.framework()
    t = _training(fw)
    with store.connect() as con:
        frame = con.execute("SELECT * FROM training_at(?) ORDER BY year", [ledger.upto(as_of)]).df()
    first, second = t.partners
    frame = frame.rename(columns={"costs_cnam": f"costs_{first}", "costs_cfa": f"costs_{second}"})
    frame["margin"] = frame["revenue"] - frame[f"costs_{first}"] - frame[f"costs_{second}"]
    for partner, share in t.margin_shares.items():
        frame[f"margin_{partner}"] = (frame["margin"] * share).round(2)
    return frame
