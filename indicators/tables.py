"""Tables as people read them: French column names, French number formatting, Paris times.

The dashboard shows these frames as they are and the reports will print the same ones, so that a
figure reads the same everywhere. Every cell is plain text or a number: nothing is markup.
"""

from __future__ import annotations

import pandas as pd

from indicators import formatting
from indicators.errors import ImportRefused
from indicators.framework import KINDS, PERIOD_KINDS, Framework
from indicators.history import KIND_LABELS, STATE_LABELS
from indicators.importing import ImportResult
from indicators.kpis import STATUS_STYLE
from indicators.ledger import DOMAINS
from indicators.milestones import STATES

DOMAIN_LABELS = {**{name: d.label for name, d in DOMAINS.items()}, "years": "validation des années"}
CHANGE_LABELS = {"nouveau": "nouvelle valeur", "modifié": "modifiée", "inchangé": "inchangée"}


def _num(value) -> str:
    return formatting.number(value, empty="")


def _when(value) -> str:
    return "" if value is None or pd.isna(value) else formatting.timestamp(pd.Timestamp(value).to_pydatetime())


def status_text(status: str) -> str:
    word, icon, _ = STATUS_STYLE[status]
    return f"{icon} {word}"


def errors_frame(refused: ImportRefused) -> pd.DataFrame:
    """Every error of every refused file: Fichier, Ligne, Colonne, Valeur trouvée, Problème."""
    return pd.DataFrame(
        [
            {"Fichier": name, "Ligne": e.line, "Colonne": e.column, "Valeur trouvée": e.value, "Problème": e.message}
            for name, errors in refused.refusals
            for e in errors
        ],
        columns=["Fichier", "Ligne", "Colonne", "Valeur trouvée", "Problème"],
    )


def changes_frame(fw: Framework, result: ImportResult) -> pd.DataFrame:
    """What a file changes, value by value (unchanged values are counted, not listed)."""
    frame = result.changes
    if result.domain == "expenses":
        lines = {x.code: x.label for x in fw.budget.lines}
        return pd.DataFrame(
            {
                "Ligne": frame["line"].astype("Int64"),
                "Poste": [lines.get(c, c) for c in frame["poste"]],
                "Partenaire": frame["party"],
                "Fiche": ["" if f == 0 else str(f) for f in frame["fiche"]],
                "Année": frame["year"].astype(str),
                "Avant": [formatting.money(v, empty="") for v in frame["old_value"]],
                "Après": [formatting.money(v) for v in frame["value"]],
                "Changement": [CHANGE_LABELS.get(c, c) for c in frame["change"]],
                "Commentaire": frame["comment"].fillna(""),
            }
        )
    labels = {i.code: i.short_label for i in fw.indicators}
    return pd.DataFrame(
        {
            "Ligne": frame["line"].astype("Int64"),
            "Indicateur": [f"{c} – {labels.get(c, c)}" for c in frame["indicator"]],
            "Année": frame["year"].astype(str),
            "Avant": [_num(v) for v in frame["old_value"]],
            "Après": [_num(v) for v in frame["value"]],
            "Changement": [CHANGE_LABELS.get(c, c) for c in frame["change"]],
            "Commentaire": frame["comment"].fillna(""),
        }
    )


def kpi_frame(table: pd.DataFrame, period: str) -> pd.DataFrame:
    """One line per indicator for a year or the period: target, actual, rate, status (a word and an icon)."""
    rows = table[table["period"] == period]
    return pd.DataFrame(
        {
            "Code": rows["indicator"],
            "Indicateur": rows["label"],
            "Objectif": [
                ("au moins " if k == "minimum" else "") + _num(t) if pd.notna(t) else "—"
                for t, k in zip(rows["target"], rows["target_kind"], strict=True)
            ],
            "Réalisé": [_num(a) or "—" for a in rows["actual"]],
            "Taux": [formatting.percent(r) for r in rows["rate"]],
            "Statut": [status_text(s) for s in rows["status"]],
        }
    ).reset_index(drop=True)


def journal_frame(journal: pd.DataFrame) -> pd.DataFrame:
    """The journal of changes (newest first): who, when, what, file and its SHA-256, counts, state."""
    return pd.DataFrame(
        {
            "N°": journal["id"],
            "Type": list(journal["action"])
            if "action" in journal
            else [KIND_LABELS.get(k, k) for k in journal["kind"]],
            "Sur": [DOMAIN_LABELS.get(d, d or "") for d in journal["domain"]],
            "État": [STATE_LABELS.get(s, s) for s in journal["state"]],
            "Par": journal["user_name"],
            "Le": [_when(t) for t in journal["created_at"]],
            "Fichier": journal["file_name"].fillna(""),
            "Ajoutées": journal["added"],
            "Modifiées": journal["changed"],
            "Inchangées": journal["unchanged"],
            "Commentaire ou raison": [
                (c or "") + (f" (porte sur le n° {int(root)})" if k == "revert" else "")
                for c, k, root in zip(
                    journal["comment"].fillna(""),
                    journal["kind"],
                    journal["root"] if "root" in journal else journal["reverts"],
                    strict=True,
                )
            ],
            "Empreinte SHA-256": journal["file_sha256"].fillna(""),
        }
    )


def cancellation_frame(cells: pd.DataFrame) -> pd.DataFrame:
    """What a cancellation or a re-establishment does, cell by cell: before → after, or why it stays."""
    return pd.DataFrame(
        {
            "Case": cells["cell"],
            "Avant": cells["before"],
            "Après": cells["after"],
            "Effet": cells["effect"],
            "Couverte par": ["" if pd.isna(c) else f"changement n° {int(c)}" for c in cells["covered_by"]],
        }
    )


def value_history_frame(versions: pd.DataFrame) -> pd.DataFrame:
    """Every version of one value, newest first; a cancelled change's version says so, and the version in
    force is marked."""
    return pd.DataFrame(
        {
            "Valeur": [_num(v) or "retirée" for v in versions["value"]],
            "État": [
                "annulée" if c else ("en vigueur" if cur else "remplacée")
                for c, cur in zip(versions["cancelled"], versions["current"], strict=True)
            ],
            "Le": [_when(t) for t in versions["created_at"]],
            "Par": versions["user_name"],
            "Origine": [
                f"{KIND_LABELS.get(k, k)} n° {c}" + (f" – {f}" if f else "")
                for k, c, f in zip(
                    versions["kind"], versions["changeset_id"], versions["file_name"].fillna(""), strict=True
                )
            ],
            "Ligne du fichier": [
                "" if pd.isna(x) or k != "import" else str(int(x))
                for x, k in zip(versions["source_line"], versions["kind"], strict=True)
            ],
            "Raison": versions["reason"].fillna(""),
            "Commentaire": versions["comment"].fillna(""),
        }
    )


def indicators_frame(fw: Framework, fiche: int | None = None) -> pd.DataFrame:
    """The framework's indicators: code, label, unit, nature, yearly targets, period target, baselines."""
    rows = []
    for ind in fw.indicators:
        if fiche is not None and ind.fiche != fiche:
            continue
        row = {"Code": ind.code, "Indicateur": ind.label, "Unité": ind.unit, "Nature": KINDS[ind.kind].split(" (")[0]}
        for year in fw.years:
            row[f"Objectif {year}"] = _num(ind.targets.get(year)) or "—"
        row[f"Objectif {fw.period_label}"] = (
            f"{PERIOD_KINDS[ind.period_target_kind]} : {_num(ind.period_target)}"
            if ind.period_target is not None
            else "—"
        )
        row["Référence"] = "; ".join(f"{b.year} : {_num(b.value)}" for b in ind.baselines) or "—"
        row["Source"] = ind.source
        rows.append(row)
    return pd.DataFrame(rows)


def budget_lines_frame(fw: Framework) -> pd.DataFrame:
    """Annexe 4 by line and party, a subtotal per group, and the total — all derived from the lines."""
    budget = fw.budget
    rows = []
    for group in budget.groups:
        for line in (x for x in budget.lines if x.group == group):
            rows.append(
                {
                    "Poste": line.label + (" (en nature)" if line.in_kind else ""),
                    **{p: formatting.euros(line.amounts[p]) if p in line.amounts else "—" for p in budget.parties},
                    "Total": formatting.euros(line.total),
                }
            )
        sums = budget.by_group()[group]
        rows.append(
            {
                "Poste": f"Sous-total {group}",
                **{p: formatting.euros(sums[p]) for p in budget.parties},
                "Total": formatting.euros(sums["total"]),
            }
        )
    parties = budget.by_party()
    rows.append(
        {
            "Poste": "Total annuel",
            **{p: formatting.euros(parties[p]) for p in budget.parties},
            "Total": formatting.euros(budget.total),
        }
    )
    return pd.DataFrame(rows)


def budget_fiche_frame(fw: Framework) -> pd.DataFrame:
    """The same budget as each fiche's « Moyens » gives it (some annex lines merged)."""
    budget = fw.budget
    rows = [
        {
            "Poste": fl.label,
            **{f"Fiche {f}": formatting.euros(fl.amounts[f]) if f in fl.amounts else "—" for f in budget.fiches},
            "Total": formatting.euros(sum(fl.amounts.values())),
        }
        for fl in budget.by_fiche_lines
    ]
    totals = budget.by_fiche()
    rows.append(
        {
            "Poste": "Total annuel",
            **{f"Fiche {f}": formatting.euros(totals[f]) for f in budget.fiches},
            "Total": formatting.euros(sum(totals.values())),
        }
    )
    return pd.DataFrame(rows)


def calendar_frame(fw: Framework) -> pd.DataFrame:
    return pd.DataFrame(
        [{"Date": formatting.date(d), "Échéance": label, "Source": source} for d, label, source in fw.deadlines()]
    )


def milestones_frame(milestones: pd.DataFrame) -> pd.DataFrame:
    """Milestones with their state as a word and an icon, and who updated them when."""
    return pd.DataFrame(
        {
            "Jalon": milestones["code"],
            "Intitulé": milestones["label"],
            "État": [f"{STATES[s][1]} {STATES[s][0]}" for s in milestones["state"]],
            "Année": [str(int(y)) if pd.notna(y) else "" for y in milestones["year"]],
            "Note": milestones["note"].fillna(""),
            "Mis à jour": [
                f"{_when(t)} par {u}" if pd.notna(t) else "jamais"
                for t, u in zip(milestones["updated_at"], milestones["user_name"], strict=True)
            ],
        }
    )


def _euros(value) -> str:
    return formatting.money(value)


def execution_lines_frame(ex, parties: tuple[str, ...]) -> pd.DataFrame:
    """Planned and actual spending of a year by line, per party and in total, with the execution rate."""
    rows = []
    for r in ex.by_line.to_dict("records"):
        row = {"Groupe": r["group"], "Poste": r["label"]}
        for party in parties:
            row[f"Prévu {party}"] = _euros(r[f"planned_{party}"]) if r[f"planned_{party}"] else "—"
            row[f"Réalisé {party}"] = _euros(r[f"actual_{party}"]) if ex.has_actual else "—"
        row["Prévu"] = _euros(r["planned"])
        row["Réalisé"] = _euros(r["actual"]) if ex.has_actual else "—"
        row["Exécution"] = formatting.percent(r["rate"]) if ex.has_actual else "—"
        rows.append(row)
    return pd.DataFrame(rows)


def execution_summary_frame(ex) -> pd.DataFrame:
    """By group, by party (with its share of actual spending) and in total."""
    rows = [
        {
            "": f"Groupe {r.group}",
            "Prévu": _euros(r.planned),
            "Réalisé": _euros(r.actual),
            "Exécution": formatting.percent(r.rate),
            "Part du réalisé": "",
        }
        for r in ex.by_group.itertuples(index=False)
    ]
    rows += [
        {
            "": r.party,
            "Prévu": _euros(r.planned),
            "Réalisé": _euros(r.actual),
            "Exécution": formatting.percent(r.rate),
            "Part du réalisé": formatting.percent(r.share),
        }
        for r in ex.by_party.itertuples(index=False)
    ]
    rows += [
        {
            "": f"Fiche {int(r.fiche)}",
            "Prévu": _euros(r.planned),
            "Réalisé": _euros(r.actual),
            "Exécution": formatting.percent(r.rate),
            "Part du réalisé": "",
        }
        for r in ex.by_fiche.itertuples(index=False)
    ]
    rows.append(
        {
            "": "Total",
            "Prévu": _euros(ex.planned_total),
            "Réalisé": _euros(ex.actual_total),
            "Exécution": formatting.percent(ex.rate),
            "Part du réalisé": "",
        }
    )
    frame = pd.DataFrame(rows)
    if not ex.has_actual:
        frame[["Réalisé", "Exécution", "Part du réalisé"]] = "—"
    return frame


def payments_table(payments: pd.DataFrame) -> pd.DataFrame:
    from indicators.budget import PAYMENT_KINDS

    return pd.DataFrame(
        {
            "N°": payments["id"],
            "Année": payments["year"].astype(str),
            "Type": [PAYMENT_KINDS.get(k, k) for k in payments["kind"]],
            "Date": [formatting.date(pd.Timestamp(d).date(), long=False) for d in payments["paid_on"]],
            "Montant": [_euros(a) for a in payments["amount"]],
            "Référence": payments["reference"].fillna(""),
            "Saisi par": payments["user_name"],
            "État": [
                f"annulé ({r})" if c and isinstance(r, str) else ("annulé" if c else "en vigueur")
                for c, r in zip(payments["cancelled"], payments["cancel_reason"], strict=True)
            ],
        }
    )


def training_costs_frame(eco) -> pd.DataFrame:
    """The training's direct costs, item by item: the formula from the annex's rates, the amount
    recomputed, the amount printed in the scanned forecast, and their disagreement."""
    return pd.DataFrame(
        {
            "Partenaire": [c.partner for c in eco.costs],
            "Charge": [c.label for c in eco.costs],
            "Calcul": [c.formula for c in eco.costs],
            "Recalculé": [formatting.money(c.amount) for c in eco.costs],
            "Imprimé": [formatting.money(c.printed) for c in eco.costs],
            "Écart": [c.flag or "" for c in eco.costs],
        }
    )


def training_records_frame(records: pd.DataFrame, partners: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "Année": records["year"].astype(str),
            "Alternants": [formatting.number(v) for v in records["learners"]],
            "Heures": [formatting.number(v) for v in records["hours"]],
            "Recettes": [formatting.money(v) for v in records["revenue"]],
        }
    )
    for partner in partners:
        frame[f"Charges {partner}"] = [formatting.money(v) for v in records[f"costs_{partner}"]]
    frame["Marge brute"] = [formatting.money(v) for v in records["margin"]]
    for partner in partners:
        frame[f"Part {partner}"] = [formatting.money(v) for v in records[f"margin_{partner}"]]
    frame["Note"] = records["note"].fillna("")
    frame["Saisi par"] = records["user_name"]
    return frame
