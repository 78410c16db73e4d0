"""Roles against every write function, accounts and login, the approval of a year, the page refusals."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from streamlit.testing.v1 import AppTest

from indicators import access, backup, budget, milestones, texts, training
from indicators.errors import Refused
from indicators.history import activity, revert
from indicators.importing import import_file, record_value
from indicators.spending import record_expense
from indicators.storage import Store

from .conftest import imp, snapshot

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "mot de passe long"
ROLES = ["lecteur", "charge_de_mission", "evaluateur", "admin"]


@pytest.fixture
def accounts(store):
    access.add_user(store, "admin", "admin", PASSWORD, "installation")
    for role in ROLES[:3]:
        access.add_user(store, role, role, PASSWORD, "admin")
    return store


def test_open_until_the_first_admin(store):
    assert access.allowed(store, "quiconque", "write")
    imp(store, "indicateur;2016\nF1.1;45\n")  # a fresh install writes as today
    with pytest.raises(Refused, match="premier compte doit être un administrateur"):
        access.add_user(store, "bruno", "charge_de_mission", PASSWORD, "bruno")
    access.add_user(store, "alice", "admin", PASSWORD, "alice")
    with pytest.raises(Refused, match="« inconnu » n'a pas de compte actif"):
        import_file(store, "f.csv", b"indicateur;2016\nF1.1;46\n", "inconnu")
    with pytest.raises(Refused, match="au moins 10 caractères"):
        access.add_user(store, "bob", "lecteur", "court", "alice")
    with pytest.raises(Refused, match="il faut le rôle administrateur"):
        access.add_user(store, "bob", "lecteur", PASSWORD, "inconnu")


def write_calls(store):
    """Every function that writes, as (name, permission, call(user))."""
    first = imp(store, "indicateur;2017\nF2.1;600\n")  # written before the accounts exist (open mode)
    paid = budget.record_payment(store, 2017, "avance", dt.date(2017, 7, 1), 63_105, "installation")
    return [
        ("import", "write", lambda u: import_file(store, "f.csv", b"indicateur;2016\nF1.1;45\n", u)),
        ("saisie", "write", lambda u: record_value(store, "F1.3", 2016, 8, u, "raison")),
        ("annulation", "write", lambda u: revert(store, first.changeset_id, u, "raison")),
        ("explication", "write", lambda u: texts.write_text(store, "explanation", "x", u, "F1.1", 2016)),
        ("conclusions", "conclude", lambda u: texts.write_text(store, "conclusions", "x", u)),
        ("jalon", "write", lambda u: milestones.set_state(store, "J1", "en_cours", u)),
        ("budget prévu", "write", lambda u: budget.amend_plan(store, 2017, "locaux", "CNAM", 11_000, u, "bail")),
        ("versement", "write", lambda u: budget.record_payment(store, 2016, "avance", dt.date(2016, 12, 1), 100, u)),
        ("dépense", "write", lambda u: record_expense(store, 2016, "locaux", "CNAM", 100, u, "facture")),
        ("formation", "write", lambda u: training.record_year(store, 2016, 1, 1, 1, {"CNAM": 0, "CFA": 0}, u)),
        ("annulation de versement", "write", lambda u: budget.cancel_payment(store, paid, u, "saisi à tort")),
        ("changement de rôle", "admin", lambda u: access.set_role(store, "lecteur", "lecteur", u)),
        ("soumission", "submit", lambda u: access.submit_year(store, 2018, u)),
        # last: a restore puts back a copy of this same store (accounts included)
        ("restauration", "admin", lambda u: backup.restore(store, backup.backup(store, reason="test").path, u)),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_against_each_write_function(store, role):
    calls = write_calls(store)
    access.add_user(store, "admin", "admin", PASSWORD, "installation")
    access.add_user(store, "lecteur", "lecteur", PASSWORD, "admin")
    if role not in ("admin", "lecteur"):
        access.add_user(store, role, role, PASSWORD, "admin")
    for name, permission, call in calls:
        allowed = role in access.PERMISSIONS[permission][0]
        before = snapshot(store)
        if allowed:
            call(role)
        else:
            with pytest.raises(Refused, match="ne peut pas"):
                call(role)
            assert snapshot(store) == before, name


def test_login_wrong_password_disabled_account_and_rate_limit(accounts):
    assert access.authenticate(accounts, "evaluateur", PASSWORD) == "evaluateur"
    with pytest.raises(Refused, match="Nom ou mot de passe incorrect"):
        access.authenticate(accounts, "evaluateur", "mauvais mot de passe")
    with pytest.raises(Refused, match="Nom ou mot de passe incorrect"):
        access.authenticate(accounts, "personne", PASSWORD)  # same message: names are not revealed
    access.disable(accounts, "lecteur", "admin")
    with pytest.raises(Refused, match="désactivé"):
        access.authenticate(accounts, "lecteur", PASSWORD)
    for _ in range(access.MAX_FAILURES):
        with pytest.raises(Refused):
            access.authenticate(accounts, "charge_de_mission", "faux")
    with pytest.raises(Refused, match="Trop d'essais"):
        access.authenticate(accounts, "charge_de_mission", PASSWORD)  # even the right one, for a while
    actions = list(activity(accounts)["action"])
    assert {"login", "login_failed", "login_blocked", "user_disabled"} <= set(actions)
    with pytest.raises(Refused, match="au moins un administrateur actif"):
        access.disable(accounts, "admin", "admin")


def test_password_is_hashed_with_argon2(accounts):
    with accounts.connect() as con:
        stored = con.execute("SELECT password_hash FROM users WHERE name = 'admin'").fetchone()[0]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_the_approval_workflow_locks_a_year(accounts):
    imp_as = lambda user, text: import_file(accounts, "f.csv", text.encode(), user)  # noqa: E731
    imp_as("charge_de_mission", "indicateur;2017\nF1.1;64\n")
    access.submit_year(accounts, 2017, "charge_de_mission")
    with pytest.raises(Refused, match="Année verrouillée : 2017 \\(soumis\\)"):
        imp_as("charge_de_mission", "indicateur;2017\nF1.1;65\n")
    with pytest.raises(Refused, match="verrouillée"):
        record_value(accounts, "F1.1", 2017, 66, "charge_de_mission", "correction")
    with pytest.raises(Refused, match="verrouillée"):
        texts.write_text(accounts, "explanation", "x", "charge_de_mission", "F1.1", 2017)
    imp_as("charge_de_mission", "indicateur;2016\nF1.1;42\n")  # another year is not locked
    with pytest.raises(Refused, match="il faut le rôle"):
        access.approve_year(accounts, 2017, "charge_de_mission")
    with pytest.raises(Refused, match="raison"):
        access.return_year(accounts, 2017, "evaluateur", "")
    access.return_year(accounts, 2017, "evaluateur", "F1.1 à vérifier")
    imp_as("charge_de_mission", "indicateur;2017\nF1.1;65\n")
    access.submit_year(accounts, 2017, "charge_de_mission")
    access.approve_year(accounts, 2017, "evaluateur")
    assert access.year_states(accounts)[2017][0] == "valide"
    with pytest.raises(Refused, match="validé"):
        imp_as("charge_de_mission", "indicateur;2017\nF1.1;70\n")
    with pytest.raises(Refused, match="impossible de la passer"):
        access.submit_year(accounts, 2017, "charge_de_mission")
    access.unlock_year(accounts, 2017, "evaluateur", "erreur découverte par la CNAM")
    imp_as("charge_de_mission", "indicateur;2017\nF1.1;70\n")
    trail = [
        json.loads(d)
        for a, d in zip(activity(accounts)["action"], activity(accounts)["details"], strict=True)
        if a == "year_state"
    ]
    assert [(t["before"], t["after"]) for t in reversed(trail)] == [
        ("brouillon", "soumis"),
        ("soumis", "brouillon"),
        ("brouillon", "soumis"),
        ("soumis", "valide"),
        ("valide", "brouillon"),
    ]


def run_page(default: str) -> None:
    from dashboard import common, navigation

    navigation.build(common.framework(common.get_store()), default=default).run()


# What each page shows only when it is allowed: its write form, or for a read page its figures.
PAGE_CONTENT = {
    "import": lambda at: bool(at.file_uploader),
    "saisie": lambda at: any(t.key == "edit_reason" for t in at.text_area),
    "rapports": lambda at: any(b.key == "make_report" for b in at.button),
    "synthese": lambda at: any(m.label.startswith("Objectifs atteints") for m in at.metric),
}


def has_form(at: AppTest, page: str) -> bool:
    """Whether the page shows what it guards. A page not in PAGE_CONTENT is an error, not a pass."""
    return PAGE_CONTENT[page](at)


@pytest.mark.parametrize(
    ("login", "page", "refused"),
    [
        (None, "import", True),
        ("lecteur", "import", True),
        ("lecteur", "saisie", True),
        ("charge_de_mission", "import", False),
        ("charge_de_mission", "saisie", False),
        ("lecteur", "rapports", True),
        ("evaluateur", "rapports", False),
        (None, "synthese", False),
    ],
)
def test_pages_refuse_without_the_right_role(accounts, monkeypatch, login, page, refused):
    from .test_dashboard import clear_caches

    monkeypatch.setenv("KPI_DB", str(accounts.path))
    clear_caches()
    at = AppTest.from_function(run_page, args=(page,), default_timeout=30)
    if login:
        at.session_state["login"] = {"name": login, "at": time.time()}
    at.run()
    assert not at.exception
    refusals = [e.value for e in at.error if "il faut le rôle" in e.value]
    assert bool(refusals) == refused
    assert has_form(at, page) == (not refused)  # no form behind a refusal
    clear_caches()


def test_an_evaluator_writes_only_the_conclusions_on_the_saisie_page(accounts, monkeypatch):
    from .test_dashboard import clear_caches

    monkeypatch.setenv("KPI_DB", str(accounts.path))
    clear_caches()
    at = AppTest.from_function(run_page, args=("saisie",), default_timeout=30)
    at.session_state["login"] = {"name": "evaluateur", "at": time.time()}
    at.run()
    assert not has_form(at, "saisie")
    at.text_area(key="conclusions_text").input("Objectifs largement atteints.").run()
    at.button(key="save_conclusions").click().run()
    assert "Conclusions enregistrées." in at.success[0].value
    assert activity(accounts).iloc[0]["user_name"] == "evaluateur"
    clear_caches()


def test_an_expired_session_asks_to_log_in_again(accounts, monkeypatch):
    from .test_dashboard import clear_caches

    monkeypatch.setenv("KPI_DB", str(accounts.path))
    monkeypatch.setenv("KPI_SESSION_MINUTES", "1")
    clear_caches()
    at = AppTest.from_function(run_page, args=("import",), default_timeout=30)
    at.session_state["login"] = {"name": "charge_de_mission", "at": time.time() - 120}
    at.run()
    assert any("Connectez-vous" in e.value for e in at.error)
    clear_caches()


def test_user_and_year_commands(tmp_path):
    db = tmp_path / "cli.duckdb"
    env = {**os.environ, "KPI_DB": str(db), "KPI_LOCK_TIMEOUT": "30"}

    def kpi(*args, user="alice", stdin=None):
        return subprocess.run(
            [sys.executable, "-m", "indicators.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**env, "KPI_USER": user},
            timeout=120,
        )

    assert kpi("init").returncode == 0
    assert kpi("user", "add", "alice", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    added = kpi("user", "add", "bruno", "--role", "charge_de_mission", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "bruno" in kpi("user", "list").stdout
    refused = kpi("year", "submit", "2017", user="personne")
    assert refused.returncode == 1 and "n'a pas de compte actif" in refused.stderr
    assert kpi("user", "disable", "bruno").returncode == 0
    assert "désactivé" in kpi("user", "list").stdout
    assert "n'a pas de compte actif" in kpi("year", "submit", "2017", user="bruno").stderr
    enabled = kpi("user", "enable", "bruno")
    assert enabled.returncode == 0 and "Compte « bruno » réactivé." in enabled.stdout
    assert kpi("year", "submit", "2017", user="bruno").returncode == 0
    assert "2017 : soumis" in kpi("year", "status").stdout


def test_a_session_signed_in_with_the_identity_provider_gets_its_local_role(accounts, monkeypatch):
    from .test_dashboard import clear_caches

    access.add_user(accounts, "marie@ampmetropole.fr", "charge_de_mission", PASSWORD, "admin")
    monkeypatch.setenv("KPI_DB", str(accounts.path))
    clear_caches()
    at = AppTest.from_function(run_page, args=("import",), default_timeout=30)
    at.user = {"is_logged_in": True, "email": "marie@ampmetropole.fr"}
    at.run()
    assert has_form(at, "import")
    at = AppTest.from_function(run_page, args=("import",), default_timeout=30)
    at.user = {"is_logged_in": True, "email": "inconnu@example.org"}
    at.run()
    assert not has_form(at, "import")
    assert any("Connectez-vous" in e.value for e in at.error)
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=30)
    app.user = {"is_logged_in": True, "email": "inconnu@example.org"}
    app.run()
    assert any("« inconnu@example.org » n'a pas de compte actif" in w.value for w in app.sidebar.warning)
    clear_caches()


def test_the_login_form_in_the_sidebar(accounts, monkeypatch):
    from .test_dashboard import clear_caches

    monkeypatch.setenv("KPI_DB", str(accounts.path))
    clear_caches()
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=30).run()
    app.sidebar.text_input(key="login_name").input("charge_de_mission")
    app.sidebar.text_input(key="login_password").input("pas le bon")
    next(b for b in app.sidebar.button if b.label == "Se connecter").click().run()
    assert any("Nom ou mot de passe incorrect" in e.value for e in app.sidebar.error)
    app.sidebar.text_input(key="login_name").input("charge_de_mission")
    app.sidebar.text_input(key="login_password").input(PASSWORD)
    next(b for b in app.sidebar.button if b.label == "Se connecter").click().run()
    assert not app.exception
    assert any("Connecté : charge_de_mission (chargé(e) de mission)" in c.value for c in app.sidebar.caption)
    app.sidebar.button(key="logout").click().run()
    assert any(b.label == "Se connecter" for b in app.sidebar.button)
    clear_caches()


def test_year_states_show_in_reports_and_on_synthese(accounts, monkeypatch):
    from indicators import reports

    from .test_dashboard import clear_caches

    access.submit_year(accounts, 2016, "charge_de_mission")
    access.approve_year(accounts, 2016, "evaluateur")
    report = reports.build(accounts, year=2016)
    assert report.status_line.startswith("État des chiffres : 2016 validé (par evaluateur le ")
    final = reports.build(accounts, final=True)
    assert "2017 brouillon ; 2018 brouillon" in final.status_line
    monkeypatch.setenv("KPI_DB", str(accounts.path))
    clear_caches()
    at = AppTest.from_function(run_page, args=("synthese",), default_timeout=30).run()
    assert any(c.value == "Validation des chiffres : 2016 validé · 2017 brouillon · 2018 brouillon" for c in at.caption)
    clear_caches()


# -- accounts: rate limit under concurrency, disabled sessions, names, passwords, timing ------------
class VerifySpy:
    """Wraps the module's PasswordHasher: counts (and optionally slows) every verify."""

    def __init__(self, hasher, delay: float = 0.0):
        self.hasher, self.delay, self.calls = hasher, delay, []
        self._lock = threading.Lock()

    def verify(self, hash_, password):
        with self._lock:
            self.calls.append(hash_)
        time.sleep(self.delay)
        return self.hasher.verify(hash_, password)

    def __getattr__(self, name):
        return getattr(self.hasher, name)


def failed_logins(store, name: str) -> int:
    with store.connect() as con:
        return con.execute("SELECT count(*) FROM login_attempts WHERE name = ? AND NOT ok", [name]).fetchone()[0]


def test_simultaneous_logins_check_no_more_passwords_than_the_limit(accounts, monkeypatch):
    spy = VerifySpy(access._hasher, delay=0.05)  # a verify as slow as on a loaded server
    monkeypatch.setattr(access, "_hasher", spy)
    start = threading.Barrier(20)
    outcomes = []

    def attempt():
        start.wait()
        try:
            access.authenticate(accounts, "evaluateur", "pas le bon mot de passe")
        except Refused as e:
            outcomes.append(str(e))

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(spy.calls) == access.MAX_FAILURES
    assert failed_logins(accounts, "evaluateur") == access.MAX_FAILURES
    assert sum("Trop d'essais" in o for o in outcomes) == 20 - access.MAX_FAILURES


PARALLEL_LOGINS = """
import sys, threading
from indicators import access
from indicators.errors import Refused
from indicators.storage import Store

store = Store(sys.argv[1], lock_timeout=60)
calls = []


class Spy:
    def __init__(self, hasher):
        self.hasher = hasher

    def verify(self, hash_, password):
        calls.append(1)
        return self.hasher.verify(hash_, password)

    def __getattr__(self, name):
        return getattr(self.hasher, name)


access._hasher = Spy(access._hasher)
start = threading.Barrier(10)

def attempt():
    start.wait()
    try:
        access.authenticate(store, "evaluateur", "pas le bon mot de passe")
    except Refused:
        pass

threads = [threading.Thread(target=attempt) for _ in range(10)]
[t.start() for t in threads]
[t.join() for t in threads]
print(len(calls))
"""


def test_two_processes_share_the_rate_limit(accounts):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PARALLEL_LOGINS, str(accounts.path)], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    checked = [int(p.communicate(timeout=120)[0]) for p in procs]
    assert sum(checked) == access.MAX_FAILURES
    assert failed_logins(accounts, "evaluateur") == access.MAX_FAILURES


def test_unknown_names_verify_a_password_too(accounts, monkeypatch):
    spy = VerifySpy(access._hasher)
    monkeypatch.setattr(access, "_hasher", spy)
    for name, password in [("personne", PASSWORD), ("evaluateur", "faux mot de passe"), ("evaluateur", PASSWORD)]:
        with contextlib.suppress(Refused):
            access.authenticate(accounts, name, password)
    assert len(spy.calls) == 3  # once per attempt, whether the account exists or not
    assert spy.calls[0].startswith("$argon2id$")  # the same work as for a real account


@pytest.mark.parametrize("name", ["x" * 65, "é" * 1_000_000])
def test_login_names_are_bounded_before_anything_is_written(accounts, name):
    before = snapshot(accounts), failed_logins(accounts, name)
    with pytest.raises(Refused, match="64 caractères au plus"):
        access.authenticate(accounts, name, PASSWORD)
    assert (snapshot(accounts), failed_logins(accounts, name)) == before


def test_a_failed_attempt_stores_the_name_once(accounts):
    name = "quelqu'un-" + "z" * 54
    with pytest.raises(Refused, match="Nom ou mot de passe incorrect"):
        access.authenticate(accounts, name, PASSWORD)
    with accounts.connect() as con:
        stored = con.execute(
            "SELECT (SELECT count(*) FROM login_attempts WHERE name = ?) + "
            "(SELECT count(*) FROM audit WHERE user_name = ? OR contains(details, ?))",
            [name, name, name],
        ).fetchone()[0]
    assert stored == 1
    assert "login_failed" in set(activity(accounts, user=name)["action"])  # still in the journal


@pytest.mark.parametrize(
    "password",
    [
        " " * 10,
        " \t" * 8,
        "a" * 12,
        "éééééééééé",
        "motdepasse",
        "azertyuiop",
        "AZERTYUIOP",
        "1234567890",
        "motdepasse2024!",
        "Soleil123456",
        "password123",
        "qwertyuiop",
    ],
)
def test_weak_passwords_are_refused_with_the_rule(accounts, password):
    with pytest.raises(Refused, match="mot de passe trop courant"):
        access.add_user(accounts, "nouveau", "lecteur", password, "admin")
    with pytest.raises(Refused, match="mot de passe trop courant"):
        access.set_password(accounts, "lecteur", password, "admin")
    assert access.authenticate(accounts, "lecteur", PASSWORD) == "lecteur"


@pytest.mark.parametrize("password", ["soleil de provence", "Cnam-Aix 2016!", "x7#kP2qL9z"])
def test_reasonable_passwords_are_accepted(accounts, password):
    access.add_user(accounts, "nouveau", "lecteur", password, "admin")
    assert access.authenticate(accounts, "nouveau", password) == "lecteur"


def test_the_common_password_list_ships_with_the_package():
    words = access.common_passwords()
    assert {"azerty", "motdepasse", "soleil", "123456", "password"} <= words
    assert len(words) >= 200


def test_enable_gives_a_disabled_account_back(accounts):
    access.disable(accounts, "lecteur", "admin")
    with pytest.raises(Refused, match="désactivé"):
        access.authenticate(accounts, "lecteur", PASSWORD)
    with pytest.raises(Refused, match="il faut le rôle administrateur"):
        access.enable(accounts, "lecteur", "evaluateur")
    with pytest.raises(Refused, match="Aucun compte « personne »"):
        access.enable(accounts, "personne", "admin")
    access.enable(accounts, "lecteur", "admin")
    assert access.authenticate(accounts, "lecteur", PASSWORD) == "lecteur"
    assert "user_enabled" in set(activity(accounts)["action"])


def test_a_disabled_account_stops_reading_at_the_next_page_run(accounts, monkeypatch):
    from .test_dashboard import clear_caches

    monkeypatch.setenv("KPI_DB", str(accounts.path))
    monkeypatch.setenv("KPI_LOGIN_TO_VIEW", "1")
    clear_caches()
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=30)
    app.session_state["login"] = {"name": "lecteur", "at": time.time()}
    app.run()
    assert not app.exception
    assert not any("pour consulter le tableau de bord" in i.value for i in app.info)
    access.disable(accounts, "lecteur", "admin")
    app.run()
    assert any("pour consulter le tableau de bord" in i.value for i in app.info)
    assert any("« lecteur » a été désactivé" in w.value for w in app.sidebar.warning)
    assert not app.metric  # nothing of the figures
    clear_caches()


# -- accounts and logins against a reference model --------------------------------------------------
NAMES = ["root", "anne", "bruno", "chloe"]
GOOD = ["cheval de bataille", "Vent du Nord 2016 !"]


class AccountsModel(RuleBasedStateMachine):
    """Accounts added, disabled, enabled, their role changed, and logins (right or wrong password, for
    known and unknown names, as the clock moves on), against a dict and a list of failure times."""

    def __init__(self):
        super().__init__()
        self.dir = tempfile.mkdtemp()
        self.store = Store(Path(self.dir) / "kpi.duckdb", lock_timeout=5)
        self.saved = access._hasher, access._DUMMY_HASH, access.utcnow
        access._hasher, access._DUMMY_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1), None
        self.now = dt.datetime(2017, 3, 1, 9, 0)
        access.utcnow = lambda: self.now
        access.add_user(self.store, "root", "admin", GOOD[0], "installation")
        self.accounts = {"root": ["admin", GOOD[0], True]}  # name -> [role, password, active]
        self.failures: dict[str, list[dt.datetime]] = {}

    def teardown(self):
        access._hasher, access._DUMMY_HASH, access.utcnow = self.saved
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def admin(self) -> str:
        """Who does the admin's changes: an active admin (the model says there is always one)."""
        return next(n for n, (r, _, a) in sorted(self.accounts.items()) if r == "admin" and a)

    def admins_left(self, name, role=None, active=None) -> int:
        """Active admins if `name` took this role / active state."""
        after = {n: list(a) for n, a in self.accounts.items()}
        if role is not None:
            after[name][0] = role
        if active is not None:
            after[name][2] = active
        return sum(1 for r, _, a in after.values() if r == "admin" and a)

    @rule(name=st.sampled_from(NAMES[1:]), role=st.sampled_from(ROLES), password=st.sampled_from(GOOD))
    def add(self, name, role, password):
        if name in self.accounts:
            with pytest.raises(Refused, match="existe déjà"):
                access.add_user(self.store, name, role, password, self.admin)
        else:
            access.add_user(self.store, name, role, password, self.admin)
            self.accounts[name] = [role, password, True]

    @rule(name=st.sampled_from(NAMES), active=st.booleans())
    def disable_or_enable(self, name, active):
        change = access.enable if active else access.disable
        if name not in self.accounts:
            with pytest.raises(Refused, match="Aucun compte"):
                change(self.store, name, self.admin)
        elif self.admins_left(name, active=active) == 0:
            with pytest.raises(Refused, match="au moins un administrateur actif"):
                change(self.store, name, self.admin)
        else:
            change(self.store, name, self.admin)
            self.accounts[name][2] = active

    @rule(name=st.sampled_from(NAMES), role=st.sampled_from(ROLES))
    def set_role(self, name, role):
        if name not in self.accounts or self.admins_left(name, role=role) == 0 or self.accounts["root"][0] != "admin":
            with pytest.raises(Refused):
                access.set_role(self.store, name, role, "root")
        else:
            access.set_role(self.store, name, role, "root")
            self.accounts[name][0] = role

    @rule(name=st.sampled_from(["root", "anne", "inconnu"]), right=st.booleans(), times=st.integers(1, 3))
    def login(self, name, right, times):
        for _ in range(times):  # several in a row, so that the rate limit is reached within a run
            self.one_login(name, right)

    def one_login(self, name, right):
        account = self.accounts.get(name)
        password = account[1] if account and right else "pas le bon mot de passe"
        recent = [t for t in self.failures.get(name, []) if t > self.now - access.FAILURE_WINDOW]
        if len(recent) >= access.MAX_FAILURES:
            with pytest.raises(Refused, match="Trop d'essais"):
                access.authenticate(self.store, name, password)
            return
        if account and right and account[2]:
            assert access.authenticate(self.store, name, password) == account[0]
            return
        self.failures.setdefault(name, []).append(self.now)
        expected = "désactivé" if account and right else "Nom ou mot de passe incorrect"
        with pytest.raises(Refused, match=expected):
            access.authenticate(self.store, name, password)

    @rule(name=st.sampled_from(NAMES), role=st.sampled_from(ROLES))
    def non_admin_is_refused(self, name, role):
        by = next((n for n, (r, _, a) in sorted(self.accounts.items()) if r != "admin" or not a), "inconnu")
        with pytest.raises(Refused, match="il faut le rôle administrateur"):
            access.set_role(self.store, name, role, by)

    @rule(minutes=st.sampled_from([1, 5, 14, 16]))
    def wait(self, minutes):
        self.now += dt.timedelta(minutes=minutes)

    @invariant()
    def who_may_log_in(self):
        active = {u["name"]: u["role"] for u in access.list_users(self.store) if u["active"]}
        assert active == {n: r for n, (r, _, a) in self.accounts.items() if a}


TestAccountsModel = AccountsModel.TestCase
TestAccountsModel.settings = settings(
    max_examples=12, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
