"""Budget and subsidy (convention cadre, art. 4 and 5): planned and actual spending, execution, the
ceilings, and the subsidy paid 70 % up front and 30 % on the annual report, pro rata when spending
falls short.

Rules, with the base chosen for the prorata:
- The planned budget of the first year is the framework's (annexe 4); each later year starts equal
  to it and can be amended line by line, each amendment versioned with its reason.
- The planned subsidy of a year is the payer's planned part minus what it gives in kind
  (2016: 115 150 − 25 000 = 90 150 €). Advance = 70 %, planned balance = 30 %.
- Art. 5: « En cas de dépenses réelles inférieures au montant prévisionnel annoncé […], la règle du
  prorata s'appliquera ». The forecast amount announced is the cost of the operation (art. 4: « Le
  coût de référence de l'opération […] s'établit à 230 300 € »), which both parties finance « à parts
  égales » and of which the annual report gives « un récapitulatif précis des dépenses ». So the base
  is the whole operation: execution rate = actual spending of both parties (in-kind lines valued as
  recorded) / planned spending, and prorated subsidy = planned subsidy × min(1, execution rate).
  Balance = prorated subsidy − advance; a negative balance is an amount to recover.
- Actual spending given without a fiche is shared between fiches as the plan shares that line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from indicators import amounts, formatting, ledger
from indicators.errors import Refused
from indicators.framework import CEILING_LABELS, Framework
from indicators.storage import Store, utcnow

PAYMENT_KINDS = {
    "avance": "avance (70 %)",
    "solde": "solde (30 %)",
    "reversement": "reversement (somme rendue)",
    "autre": "autre versement",
}
SPLIT_TOLERANCE = 0.01  # the 50/50 split "holds" within one point


def _require_budget(fw: Framework) -> None:
    if fw.budget is None or fw.subsidy is None:
        raise Refused("Ce référentiel ne décrit pas de budget ni de subvention.")


def _line(fw: Framework, code: str):
    for line in fw.budget.lines:
        if line.code == code:
            return line
    raise Refused(f"Poste inconnu : « {code} » (attendu : {', '.join(x.code for x in fw.budget.lines)}).")


# -- planned budget -------------------------------------------------------------------------------
def plan_frame(store: Store, as_of: ledger.AsOf | int | None = None) -> pd.DataFrame:
    """The planned budget of every year (now, or as of a change): year, line, group, label, party, amount,
    in_kind, amended, reason."""
    fw = store.framework()
    _require_budget(fw)
    with store.connect() as con:
        amended = con.execute(
            "SELECT year, line, party, amount, reason FROM current_plan_at(?)", [ledger.upto(as_of)]
        ).fetchall()
    overrides = {(y, line, p): (a, r) for y, line, p, a, r in amended}
    rows = []
    for year in fw.years:
        for line in fw.budget.lines:
            for party in fw.budget.parties:
                base = line.amounts.get(party)
                override = overrides.get((year, line.code, party))
                if base is None and override is None:
                    continue
                rows.append(
                    {
                        "year": year,
                        "line": line.code,
                        "group": line.group,
                        "label": line.label,
                        "party": party,
                        "amount": override[0] if override else float(base),
                        "in_kind": party in line.in_kind,
                        "amended": override is not None,
                        "reason": override[1] if override else None,
                    }
                )
    return pd.DataFrame(rows)


def _refuse_above_ceiling(fw: Framework, amount: float) -> None:
    """One party's planned amount on one line cannot exceed what that party may spend in a year (art. 5),
    nor, without that ceiling, the operation's yearly cost (art. 4)."""
    ceilings = fw.subsidy.ceilings
    if "party_per_year" in ceilings:
        bound, what = ceilings["party_per_year"], "le plafond de {bound} par partenaire et par an (art. 5)"
    elif "operation_per_year" in ceilings:
        bound, what = ceilings["operation_per_year"], "le plafond de {bound} du coût de l'opération par an (art. 4)"
    else:
        return
    amounts.refuse_above(amount, bound, "montant prévu", what)


def amend_plan(store: Store, year: int, line: str, party: str, amount: float | str, user: str, reason: str) -> bool:
    """Amend one planned amount of a later year. Returns False when it already has that amount.
    `amount` may be typed text (`12 000,00`), read as the importer reads it.

    Raises Refused (first year, unknown line or party, unreadable or negative amount, an amount above a
    party's yearly ceiling, no reason, demo data).
    """
    from indicators import access

    amount = amounts.number(amount, "montant prévu")
    access.require(store, user, "write")
    fw = store.framework()
    _require_budget(fw)
    year = int(year)
    if year == fw.years[0]:
        raise Refused(f"Le budget {year} est celui de la convention (annexe 4) : il ne se modifie pas ici.")
    if year not in fw.years:
        raise Refused(f"Année {year} hors de la convention (attendu : {', '.join(map(str, fw.years[1:]))}).")
    target = _line(fw, line)
    if party not in fw.budget.parties:
        raise Refused(f"Partenaire inconnu : « {party} » (attendu : {' ou '.join(fw.budget.parties)}).")
    _refuse_above_ceiling(fw, amount)
    if amount is None or pd.isna(amount) or float(amount) < 0:
        raise Refused("Le montant prévu doit être un nombre positif ou nul, en euros.")
    if not str(reason or "").strip():
        raise Refused("Indiquez la raison de la modification du budget : elle est obligatoire et figure au journal.")
    amount = round(float(amount), 2)
    access.refuse_if_locked(store, [year])
    current = plan_frame(store)
    hit = current[(current["year"] == year) & (current["line"] == line) & (current["party"] == party)]
    before = float(hit["amount"].iloc[0]) if len(hit) else 0.0
    if before == amount:
        return False
    with store.transaction() as con:
        Store.refuse_if_demo(con)
        cs = ledger.new_changeset(
            con, "edit", "plan", user, reason.strip(), {"year": year, "line": line, "party": party}, changed=1
        )
        con.execute(
            "INSERT INTO plan_versions (id, year, line, party, amount, reason, user_name, created_at, demo, changeset_id) "
            "VALUES (nextval('plan_seq'), ?, ?, ?, ?, ?, ?, ?, false, ?)",
            [year, target.code, party, amount, reason.strip(), user, utcnow(), cs],
        )
        Store.audit(
            con,
            user,
            "plan_amended",
            {
                "year": year,
                "line": line,
                "party": party,
                "change": cs,
                "before": before,
                "after": amount,
                "reason": reason.strip(),
            },
        )
    return True


# -- actual spending and payments -----------------------------------------------------------------
def actual_frame(store: Store, as_of: ledger.AsOf | int | None = None) -> pd.DataFrame:
    """Actual spending in force (now, or as of a change): year, line, group, label, party, fiche (0 = none
    given), amount, comment, changeset_id."""
    fw = store.framework()
    _require_budget(fw)
    with store.connect() as con:
        frame = con.execute(
            "SELECT year, line, party, fiche, amount, comment, changeset_id FROM current_expenses_at(?) "
            "ORDER BY year, line, party, fiche",
            [ledger.upto(as_of)],
        ).df()
    groups = {x.code: (x.group, x.label) for x in fw.budget.lines}
    frame["group"] = [groups[c][0] for c in frame["line"]]
    frame["label"] = [groups[c][1] for c in frame["line"]]
    return frame


def payments_frame(store: Store, as_of: ledger.AsOf | int | None = None) -> pd.DataFrame:
    """Every payment recorded (up to a change), with its change and whether it is cancelled under the
    ledger rule; `cancel_reason` says why."""
    with store.connect() as con:
        return con.execute(
            "SELECT p.id, p.year, p.kind, p.paid_on, p.amount, p.reference, p.user_name, p.created_at, "
            "p.changeset_id, p.cancelled, CASE WHEN p.cancelled THEN r.comment END AS cancel_reason "
            "FROM payments_at($upto) p LEFT JOIN ledger_chains($upto) ch ON ch.root = p.changeset_id "
            "AND ch.node = (SELECT max(node) FROM ledger_chains($upto) x WHERE x.root = p.changeset_id) "
            "LEFT JOIN changesets r ON r.id = ch.node ORDER BY p.paid_on, p.id",
            {"upto": ledger.upto(as_of)},
        ).df()


def record_payment(
    store: Store, year: int, kind: str, paid_on: dt.date, amount: float | str, user: str, reference: str | None = None
) -> int:
    """Record a subsidy payment received (or, kind 'reversement', money paid back). Returns its id.
    Payments are not locked with the year: the 30 % balance is paid after the year's report.
    `amount` may be typed text (`63 105,00`), read as the importer reads it.

    Raises Refused (unreadable amount, an amount above the year's planned subsidy, unknown year or kind…).
    """
    from indicators.access import require

    amount = amounts.number(amount, "montant")
    require(store, user, "write")
    fw = store.framework()
    _require_budget(fw)
    if int(year) not in fw.years:
        raise Refused(f"Année {year} hors de la convention (attendu : {', '.join(map(str, fw.years))}).")
    if kind not in PAYMENT_KINDS:
        raise Refused(f"Type de versement inconnu : « {kind} » (attendu : {', '.join(PAYMENT_KINDS)}).")
    # No single payment (nor sum paid back) exceeds the whole subsidy planned for its year.
    bound = planned_subsidy(fw, plan_frame(store), int(year))
    amounts.refuse_above(amount, bound, "montant", f"la subvention prévue pour {int(year)} ({{bound}})")
    if amount is None or pd.isna(amount) or float(amount) <= 0:
        raise Refused("Le montant d'un versement doit être positif (un reversement se saisit avec son type).")
    signed = -round(float(amount), 2) if kind == "reversement" else round(float(amount), 2)
    with store.transaction() as con:
        Store.refuse_if_demo(con)
        new_id = con.execute("SELECT nextval('payment_seq')").fetchone()[0]
        cs = ledger.new_changeset(
            con, "edit", "payments", user, (reference or "").strip() or None, {"payment": new_id}, added=1
        )
        con.execute(
            "INSERT INTO payments (id, year, kind, paid_on, amount, reference, user_name, created_at, cancels, demo, "
            "changeset_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, false, ?)",
            [new_id, int(year), kind, paid_on, signed, (reference or "").strip() or None, user, utcnow(), cs],
        )
        Store.audit(
            con,
            user,
            "payment_recorded",
            {"id": new_id, "change": cs, "year": int(year), "kind": kind, "amount": signed},
        )
    return new_id


def cancel_payment(store: Store, payment_id: int, user: str, reason: str, dry_run: bool = False) -> ledger.Cancellation:
    """Cancel a wrongly recorded payment: a change under the ledger rule (journaled, with its reason;
    nothing is deleted, and `reinstate_payment` puts it back). Raises NotFound, Refused."""
    return ledger.cancel(store, ledger.changeset_of(store, "payments", payment_id, "versement"), user, reason, dry_run)


def reinstate_payment(
    store: Store, payment_id: int, user: str, reason: str, dry_run: bool = False
) -> ledger.Cancellation:
    """Put a cancelled payment back in force. Raises NotFound, Refused."""
    return ledger.reinstate(
        store, ledger.changeset_of(store, "payments", payment_id, "versement"), user, reason, dry_run
    )


# -- execution --------------------------------------------------------------------------------------
def fiche_shares(fw: Framework) -> dict[str, dict[int, float]]:
    """How the plan shares each annex line between fiches (from the by-fiche cross-section)."""
    shares: dict[str, dict[int, float]] = {}
    for fl in fw.budget.by_fiche_lines:
        total = sum(fl.amounts.values())
        for code in fl.lines:
            shares[code] = {f: a / total for f, a in fl.amounts.items()} if total else {}
    return shares


def _rate(actual: float, planned: float) -> float | None:
    return actual / planned if planned else None


@dataclass
class Execution:
    year: int
    planned_total: float
    actual_total: float
    rate: float | None
    by_line: pd.DataFrame  # group, line, label, then planned/actual per party, planned, actual, rate
    by_group: pd.DataFrame  # group, planned, actual, rate
    by_party: pd.DataFrame  # party, planned, actual, rate, share
    by_fiche: pd.DataFrame  # fiche, planned, actual, rate
    has_actual: bool
    warnings: list[str] = field(default_factory=list)


def execution(fw: Framework, plan: pd.DataFrame, actual: pd.DataFrame, year: int) -> Execution:
    """Actual against planned for one year, by line, group, party and fiche, with the warnings."""
    p = plan[plan["year"] == year]
    a = actual[actual["year"] == year]
    parties = list(fw.budget.parties)
    # One grouping each, then dictionary lookups: a mask per line and party would cost 100 pandas calls.
    planned_at = p.groupby(["line", "party"])["amount"].sum().to_dict() if len(p) else {}
    actual_at = a.groupby(["line", "party"])["amount"].sum().to_dict() if len(a) else {}
    rows = []
    for line in fw.budget.lines:
        row = {"group": line.group, "line": line.code, "label": line.label}
        for party in parties:
            row[f"planned_{party}"] = float(planned_at.get((line.code, party), 0.0))
            row[f"actual_{party}"] = float(actual_at.get((line.code, party), 0.0))
        row["planned"] = sum(row[f"planned_{x}"] for x in parties)
        row["actual"] = sum(row[f"actual_{x}"] for x in parties)
        row["rate"] = _rate(row["actual"], row["planned"])
        rows.append(row)
    by_line = pd.DataFrame(rows)
    by_group = by_line.groupby("group", sort=False)[["planned", "actual"]].sum().reset_index()
    by_group["rate"] = [_rate(x, y) for x, y in zip(by_group["actual"], by_group["planned"], strict=True)]
    planned_total, actual_total = float(by_line["planned"].sum()), float(by_line["actual"].sum())
    by_party = pd.DataFrame(
        {
            "party": parties,
            "planned": [float(by_line[f"planned_{x}"].sum()) for x in parties],
            "actual": [float(by_line[f"actual_{x}"].sum()) for x in parties],
        }
    )
    by_party["rate"] = [_rate(x, y) for x, y in zip(by_party["actual"], by_party["planned"], strict=True)]
    by_party["share"] = [x / actual_total if actual_total else None for x in by_party["actual"]]
    shares = fiche_shares(fw)
    planned_fiche = dict.fromkeys(fw.budget.fiches, 0.0)
    actual_fiche = dict.fromkeys(fw.budget.fiches, 0.0)
    for r in by_line.itertuples(index=False):
        for f, share in shares.get(r.line, {}).items():
            planned_fiche[f] += r.planned * share
    for r in a.itertuples(index=False):
        if r.fiche in actual_fiche:
            actual_fiche[r.fiche] += r.amount
        else:
            for f, share in shares.get(r.line, {}).items():
                actual_fiche[f] += r.amount * share
    by_fiche = pd.DataFrame(
        {
            "fiche": list(fw.budget.fiches),
            "planned": [round(planned_fiche[f], 2) for f in fw.budget.fiches],
            "actual": [round(actual_fiche[f], 2) for f in fw.budget.fiches],
        }
    )
    by_fiche["rate"] = [_rate(x, y) for x, y in zip(by_fiche["actual"], by_fiche["planned"], strict=True)]
    result = Execution(
        year,
        planned_total,
        actual_total,
        _rate(actual_total, planned_total),
        by_line,
        by_group,
        by_party,
        by_fiche,
        len(a) > 0,
    )
    result.warnings = _year_warnings(fw, result)
    return result


def _year_warnings(fw: Framework, ex: Execution) -> list[str]:
    out = []
    ceilings = fw.subsidy.ceilings
    for what, total, parties in (
        ("prévu", ex.planned_total, ex.by_party.set_index("party")["planned"]),
        ("réalisé", ex.actual_total, ex.by_party.set_index("party")["actual"]),
    ):
        if "operation_per_year" in ceilings and total > ceilings["operation_per_year"]:
            out.append(
                f"{ex.year} : le coût {what} de l'opération ({formatting.euros(total)}) dépasse le plafond de "
                f"{formatting.euros(ceilings['operation_per_year'])} par an (art. 4)."
            )
        if "party_per_year" in ceilings:
            for party, amount in parties.items():
                if amount > ceilings["party_per_year"]:
                    out.append(
                        f"{ex.year} : les dépenses {what}es de {party} ({formatting.euros(amount)}) dépassent le "
                        f"plafond de {formatting.euros(ceilings['party_per_year'])} par an (art. 5)."
                    )
    if ex.has_actual and ex.actual_total:
        shares = ex.by_party.set_index("party")["share"]
        if any(abs(s - 1 / len(shares)) > SPLIT_TOLERANCE for s in shares):
            split = ", ".join(f"{p} {formatting.percent(s)}" for p, s in shares.items())
            out.append(
                f"{ex.year} : la répartition à parts égales n'est plus respectée ({split} des dépenses réalisées)."
            )
    return out


def convention_warnings(fw: Framework, plan: pd.DataFrame, actual: pd.DataFrame) -> list[str]:
    """The ceiling over the whole convention, per party (actual where known, else planned)."""
    ceiling = fw.subsidy.ceilings.get("party_over_convention")
    if ceiling is None:
        return []
    out = []
    for party in fw.budget.parties:
        total = 0.0
        for year in fw.years:
            spent = actual[(actual["year"] == year) & (actual["party"] == party)]["amount"]
            total += (
                float(spent.sum())
                if len(spent)
                else float(plan[(plan["year"] == year) & (plan["party"] == party)]["amount"].sum())
            )
        if total > ceiling:
            out.append(
                f"{fw.period_label} : les dépenses de {party} ({formatting.euros(total)}, réalisé ou à défaut prévu) "
                f"dépassent le plafond de {formatting.euros(ceiling)} sur la durée de la convention (art. 5)."
            )
    return out


# -- subsidy ----------------------------------------------------------------------------------------
@dataclass
class Subsidy:
    year: int
    payer: str
    planned_subsidy: float
    advance: float
    planned_balance: float
    planned_spending: float
    actual_spending: float | None  # None while no actual spending is recorded for the year
    prorata: float | None  # min(1, actual / planned)
    prorated_subsidy: float | None
    balance: float | None  # prorated subsidy − advance (negative: to recover)
    paid: float
    remaining: float | None  # prorated (or, without actual spending, planned) subsidy − paid
    payments: list[dict]
    formula: list[str]


def _payer_parts(fw: Framework, plan: pd.DataFrame, year: int) -> tuple[float, float]:
    """The payer's planned part of `year` and what of it is given in kind."""
    p = plan[(plan["year"] == year) & (plan["party"] == fw.subsidy.payer)]
    return float(p["amount"].sum()), float(p[p["in_kind"]]["amount"].sum())


def planned_subsidy(fw: Framework, plan: pd.DataFrame, year: int) -> float:
    """The year's planned subsidy: the payer's part minus what it gives in kind (2016: 90 150 €)."""
    payer_part, in_kind = _payer_parts(fw, plan, year)
    return round(payer_part - in_kind, 2)


def subsidy(fw: Framework, plan: pd.DataFrame, actual: pd.DataFrame, payments: pd.DataFrame, year: int) -> Subsidy:
    """The year's subsidy: planned, advance, prorated, balance, payments and what remains due.

    Amounts are computed in decimal and rounded half up to the cent, as a person redoes them by hand;
    `formula` writes each operation with the very figures it used (the ratio, not a rounded rate), so
    that every sentence adds up to the cent."""
    from decimal import ROUND_HALF_UP, Decimal  # here: this function is this module's only decimal arithmetic

    def cents(value: Decimal) -> float:
        return float(value.quantize(Decimal("0.01"), ROUND_HALF_UP))

    def exact(value: float) -> Decimal:
        return Decimal(repr(float(value)))

    s = fw.subsidy
    p = plan[plan["year"] == year]
    payer_part, in_kind = _payer_parts(fw, plan, year)
    planned_subsidy = round(payer_part - in_kind, 2)
    advance = cents(exact(planned_subsidy) * exact(s.advance_share))
    planned_balance = round(planned_subsidy - advance, 2)
    planned_spending = float(p["amount"].sum())
    spent = actual[actual["year"] == year]["amount"]
    actual_spending = round(float(spent.sum()), 2) if len(spent) else None
    prorata = prorated = balance = None
    if actual_spending is not None and planned_spending > 0:
        short = s.prorata and actual_spending < planned_spending
        prorata = actual_spending / planned_spending if short else 1.0
        prorated = (
            cents(exact(planned_subsidy) * exact(actual_spending) / exact(planned_spending))
            if short
            else planned_subsidy
        )
        balance = round(prorated - advance, 2)
    live = payments[(payments["year"] == year) & ~payments["cancelled"].astype(bool)] if len(payments) else payments
    paid = round(float(live["amount"].sum()), 2) if len(live) else 0.0
    due = prorated if prorated is not None else planned_subsidy
    received = live[live["kind"] == "avance"] if len(live) else live  # `live`: payments not cancelled
    advance_state = (
        "avance versée le "
        + " et le ".join(formatting.date(pd.Timestamp(d).date(), long=False) for d in sorted(received["paid_on"]))
        if len(received)
        else "avance due"
    )
    e = formatting.money

    def share(rate: float) -> str:  # a share the framework declares, written exactly (70 %, 33,3333 %)
        return formatting.percent(rate, decimals=4)

    formula = [
        f"Subvention prévue = part de {s.payer} ({e(payer_part)}) − apport en nature ({e(in_kind)}) = {e(planned_subsidy)}.",
        f"Avance = {share(s.advance_share)} × {e(planned_subsidy)} = {e(advance)} : {advance_state}.",
    ]
    if prorated is None:
        formula.append(
            f"Solde prévu ({share(s.balance_share)}) = {e(planned_subsidy)} − avance {e(advance)} = "
            f"{e(planned_balance)}, versé sur le rapport moral et financier ; il sera recalculé au prorata dès que "
            "les dépenses réelles seront saisies."
        )
    else:
        rate = exact(actual_spending) / exact(planned_spending)
        formula.append(
            f"Taux d'exécution = dépenses réelles {e(actual_spending)} / dépenses prévues {e(planned_spending)} = "
            f"{formatting.percent(float(rate.quantize(Decimal('0.0001'), ROUND_HALF_UP)), decimals=2)}"
            + (" (plafonné à 100 %)." if actual_spending > planned_spending else ".")
        )
        if prorata < 1.0:
            formula.append(
                f"Subvention due au prorata = {e(planned_subsidy)} × {e(actual_spending)} / {e(planned_spending)} = "
                f"{e(prorated)}."
            )
        elif s.prorata:
            formula.append(
                f"Subvention due au prorata = {e(planned_subsidy)} × {share(1.0)} = {e(prorated)} : les dépenses réelles "
                "atteignent les dépenses prévues."
            )
        else:
            formula.append(f"Subvention due = subvention prévue {e(prorated)} (sans règle du prorata).")
        formula.append(
            f"Solde = {e(prorated)} − avance {e(advance)} = {e(balance)}"
            + (" : somme à reverser par le CNAM." if balance < 0 else ".")
        )
    formula.append(
        f"Versements enregistrés : {e(paid)} ; reste "
        + (f"à verser : {e(due - paid)}." if due - paid >= 0 else f"à reverser par le CNAM : {e(paid - due)}.")
    )
    return Subsidy(
        year,
        s.payer,
        planned_subsidy,
        advance,
        planned_balance,
        planned_spending,
        actual_spending,
        prorata,
        prorated,
        balance,
        paid,
        round(due - paid, 2),
        [
            {
                "id": int(r.id),
                "kind": r.kind,
                "paid_on": pd.Timestamp(r.paid_on).date().isoformat(),
                "amount": float(r.amount),
                "reference": r.reference,
            }
            for r in live.itertuples(index=False)
        ]
        if len(live)
        else [],
        formula,
    )


def overview(store: Store, year: int | None = None) -> dict:
    """What `kpi budget --json` prints: per year, the plan, actual, execution, subsidy and warnings."""
    fw = store.framework()
    _require_budget(fw)
    plan, actual, payments = plan_frame(store), actual_frame(store), payments_frame(store)
    years = [int(year)] if year is not None else list(fw.years)
    out = []
    for y in years:
        if y not in fw.years:
            raise Refused(f"Année {y} hors de la convention (attendu : {', '.join(map(str, fw.years))}).")
        ex = execution(fw, plan, actual, y)
        sub = subsidy(fw, plan, actual, payments, y)
        out.append(
            {
                "year": y,
                "planned_total": ex.planned_total,
                "planned_by_party": dict(zip(ex.by_party["party"], ex.by_party["planned"], strict=True)),
                "actual_total": ex.actual_total if ex.has_actual else None,
                "actual_by_party": dict(zip(ex.by_party["party"], ex.by_party["actual"], strict=True))
                if ex.has_actual
                else None,
                "execution_rate": None if not ex.has_actual or ex.rate is None else round(ex.rate, 4),
                "subsidy_planned": sub.planned_subsidy,
                "advance": sub.advance,
                "balance_planned": sub.planned_balance,
                "subsidy_prorated": sub.prorated_subsidy,
                "balance": sub.balance,
                "payments": sub.payments,
                "paid": sub.paid,
                "remaining": sub.remaining,
                "formula": sub.formula,
                "warnings": ex.warnings,
            }
        )
    return {
        "convention": fw.id,
        "demo": store.has_demo(),
        "ceilings": {CEILING_LABELS.get(k, k): v for k, v in fw.subsidy.ceilings.items()},
        "years": out,
        "warnings": convention_warnings(fw, plan, actual),
    }
