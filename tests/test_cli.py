"""The `kpi` command's contract: exit codes, messages, `status --json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def kpi(*args, db: Path, check: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "KPI_DB": str(db), "KPI_USER": "cli-test", "KPI_LOCK_TIMEOUT": "5"}
    done = subprocess.run(
        [sys.executable, "-m", "indicators.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "cli.duckdb"
    kpi("init", db=path, check=True)
    return path


def test_init_is_idempotent(db):
    again = kpi("init", db=db, check=True)
    assert "déjà à jour" in again.stdout


def test_import_applied_refused_and_usage(db, tmp_path):
    good = tmp_path / "bon.csv"
    good.write_text("indicateur;année;valeur\nF1.1;2016;42\nF1.3;2016;8\n", encoding="utf-8")
    done = kpi("import", good, db=db)
    assert done.returncode == 0
    assert "Import n° 1 appliqué (« bon.csv ») : 2 nouvelles valeurs, 0 modifiée, 0 inchangée." in done.stdout

    bad = tmp_path / "mauvais.csv"
    bad.write_text("indicateur;année;valeur\nF1.1;2016;cinquante\nF9;2017;3\n", encoding="utf-8")
    done = kpi("import", bad, db=db)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "Fichier « mauvais.csv » refusé : 2 erreurs."
    assert lines[1] == "ligne 2, colonne « valeur » : « cinquante » n'est pas un nombre (attendu : un entier ≥ 0)"
    errors = lines[1:-1]
    assert len(errors) == 2 and all(line.startswith("ligne ") for line in errors)
    assert "Traceback" not in done.stderr

    assert kpi("import", db=db).returncode == 2
    assert kpi("import", tmp_path / "absent.csv", db=db).returncode == 2
    assert kpi("status", "--year", "2030", db=db).returncode == 2


def test_dry_run(db, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("indicateur;année;valeur\nF1.1;2016;42\n", encoding="utf-8")
    done = kpi("import", "--dry-run", f, db=db, check=True)
    assert "Simulation « a.csv » : 1 nouvelle valeur" in done.stdout
    assert "F1.1 2016 : 42 (nouveau)" in done.stdout
    assert json.loads(kpi("history", "--json", db=db, check=True).stdout) == []


def test_status_json_contract(db, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("indicateur;année;valeur\nF1.1;2016;42\nF1.4;2017;2\n", encoding="utf-8")
    kpi("import", f, db=db, check=True)
    doc = json.loads(kpi("status", "--json", db=db, check=True).stdout)
    assert doc["convention"] == "cnam-pays-aix-2016-2018"
    assert doc["demo"] is False
    rows = {(r["indicator"], r["period"]): r for r in doc["rows"]}
    assert len(rows) == 37
    assert {k: rows[("F1.1", "2016")][k] for k in ("target", "actual", "rate", "status")} == {
        "target": 50,
        "actual": 42,
        "rate": 0.84,
        "status": "partiel",
    }
    assert rows[("F1.1", "2017")]["actual"] is None and rows[("F1.1", "2017")]["status"] == "non_renseigne"
    assert rows[("F1.2", "2016")]["target"] is None and rows[("F1.2", "2016")]["status"] == "sans_objectif"
    assert rows[("F1.4", "2016-2018")] | {"flags": []} == {
        "indicator": "F1.4",
        "period": "2016-2018",
        "target": 2,
        "actual": 2,
        "rate": 1.0,
        "status": "atteint",
        "target_kind": "minimum",
        "flags": [],
    }
    year = json.loads(kpi("status", "--json", "--year", "2017", db=db, check=True).stdout)
    assert {r["period"] for r in year["rows"]} == {"2017"}


def test_history_revert_template_export_demo(db, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("indicateur;année;valeur;commentaire\nF1.1;2016;42;=cmd|' /C calc'!A0\n", encoding="utf-8")
    kpi("import", f, db=db, check=True)
    history = json.loads(kpi("history", "--json", db=db, check=True).stdout)
    assert [(h["id"], h["kind"], h["state"], h["file_name"]) for h in history] == [(1, "import", "applied", "a.csv")]
    out = tmp_path / "export.csv"
    kpi("export", "--format", "csv", "--out", out, db=db, check=True)
    text = out.read_bytes().decode("utf-8-sig")
    assert "'=cmd|' /C calc'!A0" in text and ";=cmd" not in text
    assert kpi("revert", "1", db=db).returncode == 1  # a cancellation says why
    assert kpi("revert", "1", "--dry-run", db=db, check=True).stdout.splitlines() == [
        "Simulation (annulation du changement n° 1) : 1 valeur retirée.",
        "  F1.1 2016 : 42 → aucune valeur",
    ]
    assert kpi("revert", "1", "--reason", "erreur", db=db, check=True).stdout.startswith(
        "Annulation n° 2 : 1 valeur retirée"
    )
    assert kpi("revert", "1", "--reason", "encore", db=db).returncode == 1  # already cancelled
    assert kpi("reinstate", "1", "--reason", "bon fichier", db=db, check=True).stdout.startswith(
        "Rétablissement n° 3 : 1 valeur rendue"
    )
    assert json.loads(kpi("history", "--json", db=db, check=True).stdout)[-1]["state"] == "applied"
    kpi("revert", "1", "--reason", "ligne 1\nligne 2", db=db, check=True)
    versions = kpi("history", "--indicator", "F1.1", "--year", "2016", db=db, check=True).stdout
    assert versions.rstrip().endswith("import n° 1 : 42 (ANNULÉE)")
    journal_lines = kpi("history", db=db, check=True).stdout.splitlines()
    assert (
        journal_lines[0].endswith("ligne 1 ligne 2 (porte sur le n° 1)")
        and "annulation (en vigueur)" in journal_lines[0]
    )
    assert "rétablissement (annulé)" in journal_lines[1]  # the new annulation cancels it in turn
    assert kpi("history", "--indicator", "F9.9", "--year", "2016", db=db).returncode == 1
    huge = kpi("payment", "add", "--year", "2016", "--amount", "1e308", db=db)
    assert huge.returncode == 1 and "trop grand" in huge.stderr and "Traceback" not in huge.stderr
    for fmt in ("csv", "xlsx"):
        kpi("template", "--format", fmt, "--out", tmp_path / f"modele.{fmt}", db=db, check=True)
        assert (tmp_path / f"modele.{fmt}").stat().st_size > 100
    # Demo data is refused in a store that already holds values, and says so everywhere when present.
    assert kpi("demo", db=db).returncode == 1
    fresh = tmp_path / "demo.duckdb"
    kpi("init", "--demo-if-new", db=fresh, check=True)
    assert json.loads(kpi("status", "--json", db=fresh, check=True).stdout)["demo"] is True
    assert "DONNÉES D'EXEMPLE" in kpi("status", db=fresh, check=True).stdout
    kpi("export", "--format", "csv", "--out", tmp_path / "d.csv", db=fresh, check=True)
    assert "DONNÉES D'EXEMPLE" in (tmp_path / "d.csv").read_text(encoding="utf-8-sig")
    assert "retirées (30 valeurs)" in kpi("demo", "--remove", db=fresh, check=True).stdout
    assert json.loads(kpi("status", "--json", db=fresh, check=True).stdout)["demo"] is False


def test_set_value(db):
    assert kpi("set", "F1.1", "2016", "42", db=db).returncode == 1  # no reason
    done = kpi("set", "F1.1", "2016", "42", "--reason", "chiffre du rapport", db=db, check=True)
    assert "F1.1 2016 = 42" in done.stdout


def test_budget_json_and_expense_import(db, tmp_path):
    doc = json.loads(kpi("budget", "--year", "2016", "--json", db=db, check=True).stdout)
    year = doc["years"][0]
    expected = {"planned_total": 230300, "subsidy_planned": 90150, "advance": 63105, "balance_planned": 27045}
    assert {k: year[k] for k in expected} == expected
    assert year["planned_by_party"] == {"CNAM": 115150, "Territoire": 115150}
    assert (year["actual_total"], year["execution_rate"], year["subsidy_prorated"], year["balance"]) == (None,) * 4
    assert year["payments"] == [] and year["warnings"] == []
    expenses = tmp_path / "depenses.csv"
    expenses.write_text(
        "année;poste;partenaire;montant\n2016;developpeur_eco;CNAM;92 120\n2016;developpeur_alternance;Territoire;92 120\n",
        encoding="utf-8",
    )
    dry = kpi("import", expenses, "--dry-run", db=db, check=True)
    assert "developpeur_eco CNAM 2016 : 92\u202f120 (nouveau)" in dry.stdout
    kpi("import", expenses, db=db, check=True)
    year = json.loads(kpi("budget", "--year", "2016", "--json", db=db, check=True).stdout)["years"][0]
    assert (year["execution_rate"], year["subsidy_prorated"], year["balance"]) == (0.8, 72120, 9015)
    text = kpi("budget", "--year", "2016", db=db, check=True).stdout
    assert (
        "Subvention due au prorata = 90\u202f150\u00a0€ × 184\u202f240\u00a0€ / 230\u202f300\u00a0€ = 72\u202f120\u00a0€."
        in text
    )
    assert kpi("budget", "--year", "2020", db=db).returncode == 1
