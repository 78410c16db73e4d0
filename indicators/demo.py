"""Illustrative data for 2016-2018: plausible, clearly fictitious, and never mixed with real data.

Demo values are written as one changeset of kind 'demo'. While it exists, every screen, export and
report says « DONNÉES D'EXEMPLE », and real imports and edits are refused. `remove_demo` deletes it
entirely (the only deletion the store ever makes) and journals the removal in the audit table.
"""

from __future__ import annotations

import pyarrow as pa

from indicators.errors import Refused
from indicators.storage import Store, utcnow

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
        changeset_id = con.execute("SELECT nextval('changeset_seq')").fetchone()[0]
        con.execute(
            "INSERT INTO changesets (id, kind, user_name, created_at, comment, added) VALUES (?, 'demo', ?, ?, ?, ?)",
            [changeset_id, DEMO_USER, utcnow(), DEMO_COMMENT, len(rows)],
        )
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
            "INSERT INTO value_versions SELECT nextval('version_seq'), ?, indicator, year, value, comment, NULL "
            "FROM demo_rows",
            [changeset_id],
        )
        con.unregister("demo_rows")
        now = utcnow()
        for (topic, indicator, year), body in DEMO_TEXTS.items():
            if (not indicator or indicator in codes) and year in fw.years:
                con.execute(
                    "INSERT INTO text_versions VALUES (nextval('text_seq'), ?, ?, ?, ?, ?, ?, true)",
                    [topic, indicator, year, body, DEMO_USER, now],
                )
        milestones = {m.code for m in fw.milestones}
        for code, (state, year, note) in DEMO_MILESTONES.items():
            if code in milestones:
                con.execute(
                    "INSERT INTO milestone_versions VALUES (nextval('milestone_seq'), ?, ?, ?, ?, ?, ?, true)",
                    [code, state, year, note, DEMO_USER, now],
                )
        Store.audit(con, DEMO_USER, "demo_loaded", {"values": len(rows)})
    return len(rows)


def remove_demo(store: Store, user: str) -> int:
    """Delete every demo value, changeset, text and milestone state. Returns how many values were removed."""
    with store.transaction() as con:
        ids = [r[0] for r in con.execute("SELECT id FROM changesets WHERE kind = 'demo'").fetchall()]
        if not ids:
            return 0
        n = con.execute("SELECT count(*) FROM value_versions WHERE list_contains(?, changeset_id)", [ids]).fetchone()[0]
        con.execute("DELETE FROM value_versions WHERE list_contains(?, changeset_id)", [ids])
        con.execute("DELETE FROM changesets WHERE list_contains(?, id)", [ids])
        con.execute("DELETE FROM text_versions WHERE demo")
        con.execute("DELETE FROM milestone_versions WHERE demo")
        Store.audit(con, user, "demo_removed", {"values": n})
    return n
