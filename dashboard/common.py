"""What every page shares: the store (one cached Store object, never an open connection), cached
reads that writes clear precisely, the demo banner, and small rendering helpers.

Cache rule: each `load_*` function caches one read; a write made from the dashboard clears the reads
it made stale (`after_values_write`, `after_text_write`, `after_milestone_write`, `after_budget_write`,
`after_training_write`, `after_demo_removal`), and every page's view model (`load_view`, which draws on
many reads). The TTLs pick up what the `kpi` command writes while the dashboard runs (within a minute).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from indicators import access, amounts, budget, charts, demo, history, ledger, milestones, settings, texts, training
from indicators.errors import ImportRefused, KpiError
from indicators.framework import Framework
from indicators.importing import ImportResult
from indicators.kpis import STATUS_STYLE, kpi_table
from indicators.storage import Store

_HERE = Path(__file__).resolve().parent
# Absolute paths: st.page_link and st.Page accept them from any entry point (the app or a test).
PAGES = {
    "synthese": str(_HERE / "views" / "synthese.py"),
    "import": str(_HERE / "views" / "import_fichiers.py"),
    "saisie": str(_HERE / "views" / "saisie.py"),
    "historique": str(_HERE / "views" / "historique.py"),
    "referentiel": str(_HERE / "views" / "referentiel.py"),
    "budget": str(_HERE / "views" / "budget.py"),
    "formation": str(_HERE / "views" / "formation.py"),
    "rapports": str(_HERE / "views" / "rapports.py"),
    "audit": str(_HERE / "views" / "audit.py"),
}


@st.cache_resource
def get_store() -> Store:
    """One Store per server process; it opens a connection per unit of work, so the CLI can write too."""
    return Store(settings.get("db"))


@st.cache_resource(ttl=30, show_spinner=False)
def load_framework(_store: Store, db_path: str) -> Framework:
    """The store's framework. An immutable object (frozen dataclasses), so shared rather than copied;
    it changes only through `kpi init`, which the TTL picks up."""
    return _store.framework()


def framework(store: Store) -> Framework:
    return load_framework(store, str(store.path))


@st.cache_data(ttl=30, show_spinner=False)
def load_values(_store: Store, db_path: str) -> pd.DataFrame:
    """Current values (`db_path` keys the cache: one entry per store file)."""
    return history.current_values(_store)


@st.cache_data(ttl=30, show_spinner=False)
def load_journal(_store: Store, db_path: str) -> pd.DataFrame:
    return history.journal(_store)


@st.cache_data(ttl=30, show_spinner=False)
def load_texts(_store: Store, db_path: str) -> pd.DataFrame:
    return texts.current_texts(_store)


@st.cache_data(ttl=30, show_spinner=False)
def load_milestones(_store: Store, db_path: str) -> pd.DataFrame:
    return milestones.milestone_table(_store)


@st.cache_data(ttl=30, show_spinner=False)
def load_budget(_store: Store, db_path: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(planned budget, actual spending, payments), see `indicators.budget`."""
    return budget.plan_frame(_store), budget.actual_frame(_store), budget.payments_frame(_store)


@st.cache_data(ttl=30, show_spinner=False)
def load_training(_store: Store, db_path: str) -> pd.DataFrame:
    return training.records(_store)


@st.cache_resource(ttl=30, show_spinner=False)
def load_view(_store: Store, db_path: str, name: str, *key) -> dict:
    """A page's view model — every number, sentence and figure it shows, computed once per data change
    (pages then only draw): `name` is a function of `dashboard.viewmodels`, called with the store and `key`.

    Shared by all sessions without copying (figures included), so pages only read it, never change it."""
    from dashboard import viewmodels

    return getattr(viewmodels, name)(_store, *key)


@st.cache_data(ttl=10, show_spinner=False)
def load_activity(_store: Store, db_path: str) -> pd.DataFrame:
    """Every write, newest first (a short TTL: many kinds of writes add to it)."""
    return history.activity(_store, limit=5000)


@st.cache_data(ttl=30, show_spinner=False)
def has_demo(_store: Store, db_path: str) -> bool:
    return _store.has_demo()


@st.cache_data(ttl=30, show_spinner=False)
def load_kpis(_store: Store, db_path: str) -> pd.DataFrame:
    return kpi_table(framework(_store), load_values(_store, db_path))


def kpis(store: Store) -> pd.DataFrame:
    """The KPI table of the current values (computed in `indicators.kpis`)."""
    return load_kpis(store, str(store.path))


@st.cache_data(ttl=30, show_spinner=False)
def load_value_history(_store: Store, db_path: str, indicator: str, year: int) -> pd.DataFrame:
    return history.value_history(_store, indicator, year)


@st.cache_data(ttl=30, show_spinner=False)
def load_revert_plan(_store: Store, db_path: str, changeset_id: int, reinstate: bool = False) -> ledger.Cancellation:
    """What cancelling (or re-establishing) a change would do, cell by cell (a dry run), for the confirmation."""
    action = history.reinstate if reinstate else history.revert
    return action(_store, changeset_id, current_user(), dry_run=True)


def _stale(*caches) -> None:
    """Clear `caches`, and what every write makes stale: the view models and the activity journal."""
    for cache in (*caches, load_view, load_activity):
        cache.clear()


def after_values_write() -> None:
    """An import, an edit or a revert: values or actual spending (an import may hold expenses), what
    derives from them, the journal."""
    _stale(load_values, load_kpis, load_journal, load_value_history, load_revert_plan, load_budget)


def after_budget_write() -> None:
    """A plan amendment or a payment: the budget, and the journal of changes it adds to."""
    _stale(load_budget, load_journal, load_revert_plan)


def after_training_write() -> None:
    _stale(load_training, load_journal, load_revert_plan)


def after_text_write() -> None:
    _stale(load_texts, load_journal, load_revert_plan)


def after_milestone_write() -> None:
    _stale(load_milestones, load_journal, load_revert_plan)


def after_ledger_write() -> None:
    """A cancellation or a re-establishment: it may bear on any domain."""
    after_demo_removal()


def after_demo_removal() -> None:
    """The demo touched everything."""
    _stale(
        load_values,
        load_kpis,
        load_journal,
        load_value_history,
        load_revert_plan,
        load_texts,
        load_milestones,
        load_budget,
        load_training,
        has_demo,
    )


# The status colours of the charts (Okabe-Ito) as Streamlit badge colours, always with the word and icon.
STATUS_BADGE = {"atteint": "green", "partiel": "orange", "insuffisant": "red", "non_renseigne": "gray"}


def status_badge(status: str) -> str:
    """`:green-badge[✔ Atteint]`: a coloured badge that also says the status in words."""
    word, icon, _ = STATUS_STYLE[status]
    return f":{STATUS_BADGE.get(status, 'gray')}-badge[{icon} {word}]"


@st.cache_data(ttl=30, show_spinner=False)
def load_accounts_exist(_store: Store, db_path: str) -> bool:
    return access.accounts_exist(_store)


def role(user: str | None) -> str | None:
    """The active role of `user`, read from the store at each call, never cached: an account disabled
    (or given another role) takes effect at the session's next page run, not at the end of its 480
    minutes. One primary-key lookup."""
    return access.role_of(get_store(), user)


def current_user() -> str | None:
    """Who the journal records for the dashboard's writes: before the first account, KPI_USER (or the
    server's account); afterwards the person logged in this session (None when nobody is, or the
    session expired)."""
    store = get_store()
    if not load_accounts_exist(store, str(store.path)):
        return settings.default_user()
    identity = oidc_identity()
    if identity:  # signed in with the identity provider: the local account of the same name gives the role
        return identity if role(identity) else None
    login = st.session_state.get("login")
    if not login:
        return None
    if time.time() - login["at"] > settings.get_float("session_minutes") * 60:
        st.session_state.pop("login", None)
        st.session_state["login_expired"] = True
        return None
    if role(login["name"]) is None:  # disabled (or removed by a restore) since the login
        st.session_state.pop("login", None)
        st.session_state["login_disabled"] = login["name"]
        return None
    return login["name"]


def oidc_configured() -> bool:
    """True when `.streamlit/secrets.toml` has an [auth] section (OpenID Connect through st.login)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises its own error type
        return False


def oidc_identity() -> str | None:
    """The e-mail (else the name) the identity provider gave, when the session signed in with it."""
    user = st.user.to_dict() if hasattr(st.user, "to_dict") else dict(st.user)
    if not user.get("is_logged_in"):
        return None
    return user.get("email") or user.get("name")


def allowed(permission: str) -> bool:
    store = get_store()
    if not load_accounts_exist(store, str(store.path)):
        return True
    return role(current_user()) in access.PERMISSIONS[permission][0]


def refused(permission: str, what: str) -> bool:
    """Show a French refusal (and return True) when the session may not do `permission`."""
    if allowed(permission):
        return False
    roles, _ = access.PERMISSIONS[permission]
    names = ", ".join(access.ROLES[r] for r in sorted(roles))
    user = current_user()
    who = "Connectez-vous (menu de gauche) pour" if user is None else f"Votre compte « {user} » ne permet pas de"
    st.error(f"{who} {what} : il faut le rôle {names}.", icon=":material/lock:")
    return True


def require_page(permission: str, what: str) -> None:
    """A page (or part of page) that writes: without the right role, a French refusal and no form."""
    if allowed(permission):
        return
    roles, _ = access.PERMISSIONS[permission]
    names = ", ".join(access.ROLES[r] for r in sorted(roles))
    user = current_user()
    who = "Connectez-vous (menu de gauche) pour" if user is None else f"Votre compte « {user} » ne permet pas de"
    st.error(f"{who} {what} : il faut le rôle {names}.", icon=":material/lock:")
    st.stop()


def login_box() -> None:
    """In the sidebar, once accounts exist: log in (rate-limited, sessions expire) or out."""
    store = get_store()
    if not load_accounts_exist(store, str(store.path)):
        st.caption(f"Utilisateur : {settings.default_user()} (aucun compte créé : « kpi user add NOM --role admin »)")
        return
    user = current_user()
    if user:
        st.caption(f"Connecté : {user} ({access.ROLES.get(role(user), 'compte désactivé')})")
        if st.button("Se déconnecter", key="logout"):
            st.session_state.pop("login", None)
            if oidc_identity():
                st.logout()
            st.rerun()
        return
    if (identity := oidc_identity()) and not role(identity):
        st.warning(f"« {identity} » n'a pas de compte actif dans l'outil : demandez-le à l'administrateur.")
    if oidc_configured() and st.button("Se connecter avec le compte de la Métropole", key="oidc_login"):
        st.login()
    if st.session_state.pop("login_expired", False):
        st.info("Votre session a expiré : reconnectez-vous.", icon=":material/timer:")
    if disabled := st.session_state.pop("login_disabled", None):
        st.warning(f"Le compte « {plain(disabled)} » a été désactivé : la session est fermée.", icon=":material/block:")
    with st.form("login_form", clear_on_submit=True):
        name = st.text_input("Compte", key="login_name")
        password = st.text_input("Mot de passe", type="password", key="login_password")
        if st.form_submit_button("Se connecter"):
            try:
                access.authenticate(store, name, password)
            except KpiError as e:
                st.error(plain(str(e)), icon=":material/block:")
            else:
                st.session_state["login"] = {"name": name, "at": time.time()}
                st.rerun()


def demo_banner(store: Store) -> None:
    """The « DONNÉES D'EXEMPLE » banner with the action that removes them, on every page."""
    if not has_demo(store, str(store.path)):
        return
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.warning(
        f"**{demo.DEMO_LABEL}** — les chiffres affichés sont fictifs, pour découvrir l'outil.",
        icon=":material/warning:",
    )
    if allowed("write") and right.button("Retirer les données d'exemple", key="remove_demo", type="secondary"):
        n = demo.remove_demo(store, current_user())
        after_demo_removal()
        st.toast(f"Données d'exemple retirées ({n} valeurs).")
        st.rerun()


_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: str) -> str:
    """User text made inert for st.markdown: every markdown or HTML character is escaped, so that it is
    shown exactly as typed and never interpreted."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text)).replace("\n", "  \n")


def number_field(
    container, label: str, key: str, *, money: bool = True, whole: bool = False, unit: str = "", value: str = ""
) -> amounts.Reading:
    """A text field for a number or an amount typed the French way, read by the core's parser (the
    importer's): what it read is echoed under it (« Montant lu : 63 105,00 € ») before anything is saved,
    or the French error naming the field. Returns the reading: `.text` for a write function that reads text,
    `.checked()` for the value (Refused, naming the field, when it cannot be read).
    A text field, not st.number_input, which reads `63 105,00` as 6 310 500."""
    text = container.text_input(
        label,
        value=value,
        key=key,
        placeholder=amounts.EXAMPLE_AMOUNT if money else None,
        help="Un montant à la française : 63 105,00 (espaces et « € » acceptés)"
        if money
        else "Un nombre écrit à la française (1 234 ou 12,5)" + ("; un nombre entier." if whole else "."),
    )
    reading = amounts.read(text, label, money=money, whole=whole, unit=unit)
    if reading.echo:
        container.caption(reading.echo)  # built from a float and the framework's unit: no typed text in it
    elif text.strip():
        container.error(plain(reading.error), icon=":material/block:")
    return reading


def empty_state(message: str) -> None:
    """No data yet: say so, and offer the next step (the Import page and its template)."""
    st.info(message, icon=":material/info:")
    st.page_link(
        PAGES["import"],
        label="Importer un fichier (modèle à télécharger sur la page Import)",
        icon=":material/upload_file:",
    )


def write(action, after, done, unchanged: str = "Rien n'a changé.", forget: tuple[str, ...] = ()) -> None:
    """Run one write asked for by a form or a button. A refusal is shown in French (each error of a
    refused entry on its own line) and changes nothing; a write that changed nothing says so; otherwise
    `after` clears the caches it made stale, `done` (a message, or a function of the result) is kept for
    the next run, the `forget` widgets are emptied, and the page reruns to show the new state."""
    try:
        result = action()
    except ImportRefused as refused:
        for error in refused.errors:
            st.error(plain(f"« {error.column} » : {error.message}"), icon=":material/block:")
        return
    except KpiError as e:
        st.error(plain(str(e)), icon=":material/block:")
        return
    if result is False or (isinstance(result, ImportResult) and not result.added + result.changed):
        st.info(unchanged, icon=":material/info:")
        return
    after()
    flash(done(result) if callable(done) else done)
    # Emptied at the top of the next run, before the widgets exist: popping a text field's key now would
    # not empty it (the browser sends its text back), and a second click would record the amount twice.
    st.session_state["_forget"] = list(forget)
    st.rerun()


def flash(message: str) -> None:
    """Keep a confirmation for the next run (the page reruns after a write, to show the new state)."""
    st.session_state["_flash"] = message


def show_flash() -> None:
    """The last write's confirmation, once; and the fields it asked to empty, emptied (call it before
    the page's widgets)."""
    for key in st.session_state.pop("_forget", []):
        if isinstance(st.session_state.get(key), bool):
            st.session_state[key] = False
        elif isinstance(st.session_state.get(key), str):
            st.session_state[key] = ""
    if message := st.session_state.pop("_flash", None):
        st.success(message, icon=":material/check_circle:")


def chart_spec(finding: str, fig: go.Figure, key: str) -> None:
    """A figure of a view model, drawn with its finding written above it (st.plotly_chart copies it)."""
    st.markdown(f"**{plain(finding)}**")
    st.plotly_chart(fig, theme=None, config=charts.CONFIG, key=key, alt=finding)


def chart(fig: go.Figure, key: str) -> None:
    """An untitled figure from `indicators.charts` (titled=False), its finding written above it as text (it
    wraps on a phone, where a Plotly title would be cut) and kept as the chart's alternative text."""
    title = charts.finding_of(fig)
    st.markdown(f"**{plain(title)}**")
    st.plotly_chart(fig, theme=None, config=charts.CONFIG, key=key, alt=title)
