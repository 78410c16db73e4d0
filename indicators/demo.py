"""Illustrative data for 2016-2018: plausible, clearly fictitious, and never mixed with real data.

Demo values are written as one changeset of kind 'demo'. While it exists, every screen, export and
report says « DONNÉES D'EXEMPLE », and real imports and edits are refused. `remove_demo` deletes it
entirely (the only deletion the store ever makes) and journals the removal in the audit table.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from indicators import ledger
from indicators.errors import Refused
from indicators.storage import NEW_VERSION_ID, VERSION_BLOCK, Store, utcnow

DEMO_LABEL = "DONNÉES D'EXEMPLE"
DEMO_USER = "démonstration"
DEMO_COMMENT = "Données fictives, pour découvrir l'outil"

# indicator -> {year: value}, with a comment for some values. Chosen to show every status.
DEMO_VALUES: dict[str, dict[int, float]] = {
    "F1.1": {2016: 42, 2017: 64, 2018: 85},
    "F1.2": {2016: 12, 2017: 25, 2018: 31},
    "F1.3": {2016: 8, 2017: 21, 2018: 27},
    "F1.4": {2016: 0, 2017: 1, 2018: 1},
    "F2.1": {2016: 540, 2017: 585, 2018: 662},
    "F2.2": {2016: 0, 2017: 1, 2018: 0},
    "F2.3": {2016: 0, 2017: 0, 2018: 0},
    "F2.4": {2016: 1, 2017: 4, 2018: 9},
    "F3.1": {2016: 16, 2017: 34, 2018: 52},
    "F3.2": {2016: 1, 2017: 0, 2018: 1},
}
DEMO_COMMENTS = {
    ("F1.1", 2016): "Démarrage au second semestre, après la signature d'octobre (exemple).",
    ("F2.3", 2018): "Projet Cadarache reporté faute de financement des sous-traitants (exemple).",
    ("F3.2", 2017): "DEUST Arts et métiers de bouche encore à l'étude (exemple).",
}

# Explanations (topic, indicator, year) -> text, and milestone states, so that a newcomer sees them too.
DEMO_TEXTS = {
    ("explanation", "F1.1", 2016): "Le dispositif ARDAN n'a démarré qu'au second semestre 2016, après la "
    "signature de la convention en octobre : 42 entreprises accompagnées au lieu de 50 (exemple).",
    ("explanation", "F2.1", 2017): "Effectif en hausse de 45 élèves, porté par les cours du soir au centre de la "
    "zone d'activité (exemple).",
    ("next_actions", "", 2017): "Ouvrir une seconde session du module « Émergence » et lancer la licence "
    "professionnelle cybersécurité (exemple).",
}
DEMO_MILESTONES = {
    "J1": ("realise", 2016, "Centre ouvert en septembre 2016 (exemple)."),
    "J2": ("en_cours", None, "Convention avec le CFA en cours de signature (exemple)."),
}

# Actual spending as a share of each planned line, per year (2018: nothing recorded yet), a 2017
# amendment of the plan, and the subsidy payments received, so that the Budget page shows every case.
DEMO_EXECUTION = {2016: 0.96, 2017: 0.88}
DEMO_LINE_FACTORS = {"communication": 0.55, "equipements": 1.0, "formation_personnels": 0.4, "locaux": 1.0}
DEMO_AMENDMENT = (2017, "communication", "CNAM", 3_000.0, "Plaquettes de la licence professionnelle (exemple).")
DEMO_PAYMENTS = [
    (2016, "avance", dt.date(2016, 12, 15), 63_105.0, "Mandat 2016-1 (exemple)"),
    (2016, "solde", dt.date(2017, 6, 20), 21_019.86, "Mandat 2017-7, solde au prorata (exemple)"),
    (2017, "avance", dt.date(2017, 7, 3), 63_105.0, "Mandat 2017-3 (exemple)"),
]
DEMO_TRAINING = {2016: (14, 446.0, 57_132.60, 28_450.0, 34_900.0, "Première promotion : 14 alternants (exemple).")}


def _demo_changeset(con, domain: str, rows: int = 1) -> int:
    return ledger.new_changeset(con, "demo", domain, DEMO_USER, DEMO_COMMENT, added=rows)


def _demo_budget(con, fw, now) -> int:
    """Write the demo's budget data (expenses as a second 'demo' changeset). Returns the expense rows."""
    if fw.budget is None:
        return 0
    rows = []
    for year, share in DEMO_EXECUTION.items():
        if year not in fw.years:
            continue
        for line in fw.budget.lines:
            for party, planned in line.amounts.items():
                factor = DEMO_LINE_FACTORS.get(line.code, share)
                rows.append((year, line.code, party, 0, round(planned * factor, 2)))
    changeset_id = ledger.new_changeset(con, "demo", "expenses", DEMO_USER, DEMO_COMMENT, added=len(rows))
    con.executemany(
        f"INSERT INTO expense_versions VALUES ($cs * {VERSION_BLOCK} + $position, $cs, $year, $line, $party, "
        "$fiche, $amount, NULL, NULL)",
        [
            {"cs": changeset_id, "position": k, "year": y, "line": li, "party": p, "fiche": f, "amount": a}
            for k, (y, li, p, f, a) in enumerate(rows, start=1)
        ],
    )
    year, line, party, amount, reason = DEMO_AMENDMENT
    if year in fw.years and any(x.code == line for x in fw.budget.lines):
        con.execute(
            "INSERT INTO plan_versions (id, year, line, party, amount, reason, user_name, created_at, demo, changeset_id) "
            "VALUES (nextval('plan_seq'), ?, ?, ?, ?, ?, ?, ?, true, ?)",
            [year, line, party, amount, reason, DEMO_USER, now, _demo_changeset(con, "plan")],
        )
    payments = [p for p in DEMO_PAYMENTS if p[0] in fw.years]
    cs = _demo_changeset(con, "payments", len(payments)) if payments else None
    for year, kind, paid_on, amount, reference in payments:
        con.execute(
            "INSERT INTO payments (id, year, kind, paid_on, amount, reference, user_name, created_at, cancels, demo, "
            "changeset_id) VALUES (nextval('payment_seq'), ?, ?, ?, ?, ?, ?, ?, NULL, true, ?)",
            [year, kind, paid_on, amount, reference, DEMO_USER, now, cs],
        )
    for year, (learners, hours, revenue, cnam, cfa, note) in DEMO_TRAINING.items():
        if year in fw.years:
            con.execute(
                "INSERT INTO training_records (id, year, learners, hours, revenue, costs_cnam, costs_cfa, note, "
                "user_name, created_at, demo, changeset_id) "
                "VALUES (nextval('training_seq'), ?, ?, ?, ?, ?, ?, ?, ?, ?, true, ?)",
                [year, learners, hours, revenue, cnam, cfa, note, DEMO_USER, now, _demo_changeset(con, "training")],
            )
    return len(rows)


def load_demo(store: Store) -> int:
    """Write the demo values as one 'demo' changeset. Refused when the store already holds values."""
    fw = store.framework()
    codes = {i.code for i in fw.indicators}
    rows = [
        (code, year, value, DEMO_COMMENTS.get((code, year)))
        for code, years in DEMO_VALUES.items()
        if code in codes
        for year, value in years.items()
        if year in fw.years
    ]
    with store.transaction() as con:
        if con.execute("SELECT count(*) FROM changesets").fetchone()[0]:
            raise Refused(
                "Le magasin contient déjà des valeurs : les données d'exemple ne se chargent que dans un "
                "magasin vide, pour ne jamais se mélanger aux vraies données."
            )
        changeset_id = ledger.new_changeset(con, "demo", "values", DEMO_USER, DEMO_COMMENT, added=len(rows))
        demo = pa.table(
            {
                "indicator": [r[0] for r in rows],
                "year": [r[1] for r in rows],
                "value": [float(r[2]) for r in rows],
                "comment": [r[3] for r in rows],
            }
        )
        con.register("demo_rows", demo)
        con.execute(
            f"INSERT INTO value_versions SELECT {NEW_VERSION_ID}, $cs, indicator, year, value, comment, NULL "
            "FROM demo_rows",
            {"cs": changeset_id},
        )
        con.unregister("demo_rows")
        now = utcnow()
        demo_texts = [(k, body) for k, body in DEMO_TEXTS.items() if (not k[1] or k[1] in codes) and k[2] in fw.years]
        cs = _demo_changeset(con, "texts", len(demo_texts)) if demo_texts else None
        for (topic, indicator, year), body in demo_texts:
            con.execute(
                "INSERT INTO text_versions (id, topic, indicator, year, body, user_name, created_at, demo, "
                "changeset_id) VALUES (nextval('text_seq'), ?, ?, ?, ?, ?, ?, true, ?)",
                [topic, indicator, year, body, DEMO_USER, now, cs],
            )
        milestones = {m.code for m in fw.milestones}
        demo_milestones = [(c, x) for c, x in DEMO_MILESTONES.items() if c in milestones]
        cs = _demo_changeset(con, "milestones", len(demo_milestones)) if demo_milestones else None
        for code, (state, year, note) in demo_milestones:
            con.execute(
                "INSERT INTO milestone_versions (id, milestone, state, year, note, user_name, created_at, demo, "
                "changeset_id) VALUES (nextval('milestone_seq'), ?, ?, ?, ?, ?, ?, true, ?)",
                [code, state, year, note, DEMO_USER, now, cs],
            )
        expenses = _demo_budget(con, fw, now)
        Store.audit(con, DEMO_USER, "demo_loaded", {"values": len(rows), "expenses": expenses})
    return len(rows)


def remove_demo(store: Store, user: str) -> int:
    """Delete every demo row (values, expenses, texts, milestones, plan, payments, training). Returns how
    many indicator values were removed."""
    from indicators.access import require

    require(store, user, "write")
    with store.transaction() as con:
        ids = [r[0] for r in con.execute("SELECT id FROM changesets WHERE kind = 'demo'").fetchall()]
        if not ids:
            return 0
        n = con.execute("SELECT count(*) FROM value_versions WHERE list_contains(?, changeset_id)", [ids]).fetchone()[0]
        con.execute("DELETE FROM value_versions WHERE list_contains(?, changeset_id)", [ids])
        con.execute("DELETE FROM expense_versions WHERE list_contains(?, changeset_id)", [ids])
        con.execute("DELETE FROM changesets WHERE list_contains(?, id)", [ids])
        con.execute("DELETE FROM text_versions WHERE demo")
        con.execute("DELETE FROM milestone_versions WHERE demo")
        for table in ("plan_versions", "payments", "training_records"):
            con.execute(f"DELETE FROM {table} WHERE demo")  # table names from this code
        Store.audit(con, user, "demo_removed", {"values": n})
    return n
