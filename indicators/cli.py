"""The `kpi` command: the contract that other tools, the README and the tests rely on.

Exit codes: 0 done, 1 refused (every error on its own line on stderr, each starting with `ligne N`
for file errors), 2 usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from indicators import formatting, settings
from indicators.errors import ImportRefused, KpiError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Suivi de la convention CNAM PACA – Territoire du Pays d'Aix : magasin, import, indicateurs.",
)

DbOption = Annotated[Path | None, typer.Option("--db", help="Magasin DuckDB (défaut : KPI_DB, sinon data/kpi.duckdb).")]
UserOption = Annotated[
    str | None, typer.Option("--user", help="Nom inscrit au journal (défaut : KPI_USER ou le compte).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Sortie JSON sur stdout.")]


def _store(db: Path | None):
    from indicators.storage import Store

    return Store(db)


def _user(user: str | None) -> str:
    return user or settings.default_user()


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _one_line(text) -> str:
    """A text typed by a person, on one line of the terminal (a newline would forge the next line)."""
    return " ".join(str(text).split()) if isinstance(text, str) else ""


def _demo_banner(store) -> None:
    if store.has_demo():
        typer.echo("*** DONNÉES D'EXEMPLE — fictives ; « kpi demo --remove » les retire. ***")


@app.command()
def init(
    db: DbOption = None,
    framework: Annotated[Path | None, typer.Option(help="Fichier du référentiel (défaut : KPI_FRAMEWORK).")] = None,
    demo_if_new: Annotated[
        bool, typer.Option("--demo-if-new", help="Charger les données d'exemple si le magasin vient d'être créé.")
    ] = False,
    user: UserOption = None,
) -> None:
    """Créer ou mettre à jour le magasin et y charger le référentiel (sans effet si rien n'a changé)."""
    from indicators import access
    from indicators.demo import load_demo
    from indicators.framework import load_framework

    store = _store(db)
    is_new = not store.path.exists()
    fw = load_framework(framework or settings.get("framework"))
    if not is_new and access.accounts_exist(store) and store.framework().sha256 != fw.sha256:
        access.require(store, _user(user), "admin")  # amending the framework is the admin's
    changed = store.load_framework(fw, _user(user))
    typer.echo(f"Magasin : {store.path} (schéma v{store.schema_version()})")
    typer.echo(f"Référentiel : {fw.short_title} — " + ("chargé." if changed else "déjà à jour."))
    if demo_if_new and is_new:
        n = load_demo(store)
        typer.echo(f"Données d'exemple chargées : {n} valeurs fictives.")


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="Fichiers CSV ou XLSX à importer.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Montrer ce qui changerait, sans rien écrire.")] = False,
    user: UserOption = None,
    comment: Annotated[str | None, typer.Option(help="Commentaire inscrit au journal de l'import.")] = None,
    db: DbOption = None,
) -> None:
    """Importer des valeurs d'indicateurs ou des dépenses réelles (reconnues à leurs colonnes) — tout ou
    rien : un fichier avec une erreur ne change rien."""
    from indicators.importing import import_files

    payload = []
    for path in files:
        try:
            payload.append((path.name, path.read_bytes()))
        except OSError as e:
            _fail(f"Fichier « {path} » illisible : {e.strerror}.", 2)
    store = _store(db)
    try:
        results = import_files(store, payload, _user(user), comment, dry_run=dry_run)
    except ImportRefused as e:
        for name, errors in e.refusals:
            typer.echo(f"Fichier « {name} » refusé : {formatting.plural(len(errors), 'erreur')}.", err=True)
            for error in errors:
                typer.echo(str(error), err=True)
        typer.echo("Rien n'a été importé.", err=True)
        raise typer.Exit(1) from None
    for r in results:
        counts = (
            f"{formatting.plural(r.added, 'nouvelle valeur', 'nouvelles valeurs')}, "
            f"{formatting.plural(r.changed, 'modifiée')}, {formatting.plural(r.unchanged, 'inchangée')}"
        )
        if r.dry_run:
            typer.echo(f"Simulation « {r.file_name} » : {counts}. Rien n'a été écrit.")
            for c in r.changes.itertuples(index=False):
                old = "" if c.change == "nouveau" else f"{formatting.number(c.old_value)} → "
                what = f"{c.poste} {c.party}" if r.domain == "expenses" else c.indicator
                typer.echo(f"  {what} {c.year} : {old}{formatting.number(c.value)} ({c.change})")
        else:
            typer.echo(f"Import n° {r.changeset_id} appliqué (« {r.file_name} ») : {counts}.")
        for w in r.warnings:
            typer.echo(f"Attention : {w}")


@app.command("set")
def set_value(
    indicator: Annotated[str, typer.Argument(help="Code de l'indicateur, par exemple F1.1.")],
    year: Annotated[int, typer.Argument(help="Année.")],
    value: Annotated[str, typer.Argument(help="Valeur, écrite à la française (1 234 ou 12,5).")],
    reason: Annotated[str, typer.Option(help="Raison de la modification (obligatoire).")] = "",
    comment: Annotated[str | None, typer.Option(help="Commentaire de la valeur.")] = None,
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Saisir ou corriger une valeur à la main (avec une raison, inscrite au journal)."""
    from indicators.importing import record_value

    try:
        r = record_value(_store(db), indicator, year, value, _user(user), reason, comment)
    except ImportRefused as e:
        _fail("\n".join(error.message for error in e.errors))
    typer.echo(
        f"Saisie n° {r.changeset_id} enregistrée : {indicator.upper()} {year} = {value}"
        + (" (valeur identique, rien n'a changé)" if r.unchanged else "")
    )


@app.command()
def status(
    year: Annotated[int | None, typer.Option(help="Une seule année.")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Le tableau des indicateurs : objectif, réalisé, taux d'atteinte et statut."""
    from indicators.history import current_values
    from indicators.kpis import STATUS_STYLE, kpi_table, status_rows

    store = _store(db)
    fw = store.framework()
    if year is not None and year not in fw.years:
        _fail(f"Année {year} hors de la convention (attendu : de {fw.years[0]} à {fw.years[-1]}).", 2)
    table = kpi_table(fw, current_values(store))
    if year is not None:
        table = table[table["period"] == str(year)]
    if as_json:
        doc = {"convention": fw.id, "title": fw.title, "demo": store.has_demo(), "rows": status_rows(table, fw)}
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    _demo_banner(store)
    typer.echo(fw.title)
    typer.echo(f"{'Indicateur':<10} {'Période':<10} {'Objectif':>10} {'Réalisé':>10} {'Taux':>7}  Statut")
    for row in table.itertuples(index=False):
        word, icon, _ = STATUS_STYLE[row.status]
        target = formatting.number(row.target, empty="—")
        if row.target_kind == "minimum":
            target = "≥ " + target
        typer.echo(
            f"{row.indicator:<10} {row.period:<10} {target:>10} {formatting.number(row.actual):>10} "
            f"{formatting.percent(row.rate):>7}  {icon} {word}"
        )


@app.command()
def history(
    as_json: JsonOption = False,
    indicator: Annotated[str | None, typer.Option(help="Historique d'une seule valeur : code…")] = None,
    year: Annotated[int | None, typer.Option(help="… et année.")] = None,
    db: DbOption = None,
) -> None:
    """Le journal des imports et saisies, ou toutes les versions d'une valeur."""
    from indicators import history as h

    store = _store(db)
    if (indicator is None) != (year is None):
        _fail("Donnez --indicator et --year ensemble pour l'historique d'une valeur.", 2)
    if indicator and indicator.upper() not in {i.code for i in store.framework().indicators}:
        _fail(f"Indicateur inconnu : « {indicator} » (attendu : un code du référentiel, par exemple F1.1).", 1)
    frame = h.value_history(store, indicator.upper(), year) if indicator else h.journal(store)
    if as_json:
        typer.echo(frame.to_json(orient="records", date_format="iso", force_ascii=False, indent=2))
        return
    _demo_banner(store)
    if indicator:
        for r in frame.itertuples(index=False):
            value = "retirée" if r.value is None or r.value != r.value else formatting.number(r.value)
            state = "ANNULÉE" if r.cancelled else ("en vigueur" if r.current else "remplacée")
            typer.echo(
                f"version {r.version} · {formatting.timestamp(r.created_at)} · {r.user_name} · "
                f"{h.KIND_LABELS.get(r.kind, r.kind)} n° {r.changeset_id} : {value} ({state})"
                + (f" — {_one_line(r.reason)}" if isinstance(r.reason, str) else "")
            )
        return
    for r in frame.itertuples(index=False):
        what = r.file_name if isinstance(r.file_name, str) else (r.comment if isinstance(r.comment, str) else "")
        what = _one_line(what) + (f" (porte sur le n° {r.root})" if r.kind == "revert" else "")
        typer.echo(
            f"n° {r.id} · {formatting.timestamp(r.created_at)} · {r.user_name} · "
            f"{r.action} ({h.STATE_LABELS.get(r.state, r.state)}) · "
            f"+{r.added} ~{r.changed} ={r.unchanged} · {what}"
            + (f" · sha256 {r.file_sha256[:12]}…" if isinstance(r.file_sha256, str) else "")
        )


def _print_cancellation(r, dry_run: bool) -> None:
    word = "Annulation" if r.action == "annulation" else "Rétablissement"
    head = f"Simulation ({r.action} du changement n° {r.target}) : " if dry_run else f"{word} n° {r.changeset_id} : "
    typer.echo(f"{head}{r.summary}.")
    for c in r.cells.itertuples(index=False):
        if c.effect == "inchangée":
            by = f" : couverte par le changement n° {int(c.covered_by)}" if c.covered_by else " : même valeur avant"
            typer.echo(f"  {c.cell} : reste {c.after}{by}")
        else:
            typer.echo(f"  {c.cell} : {c.before} → {c.after}")


@app.command()
def revert(
    change_id: Annotated[int, typer.Argument(help="Numéro du changement (voir « kpi history »).")],
    reason: Annotated[
        str | None, typer.Option(help="Raison de l'annulation (obligatoire, sauf en simulation).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Montrer ce que l'annulation changerait.")] = False,
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Annuler un changement (import, saisie, texte, jalon, budget, versement) : chaque valeur reprend celle du
    dernier changement en vigueur ; l'annulation est un changement journalisé, qui s'annule à son tour."""
    from indicators.history import revert as do_revert

    _print_cancellation(do_revert(_store(db), change_id, _user(user), reason, dry_run), dry_run)


@app.command()
def reinstate(
    change_id: Annotated[int, typer.Argument(help="Numéro du changement annulé (voir « kpi history »).")],
    reason: Annotated[
        str | None, typer.Option(help="Raison du rétablissement (obligatoire, sauf en simulation).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Montrer ce que le rétablissement changerait.")] = False,
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Rétablir un changement annulé : ses valeurs reviennent là où aucun changement plus récent ne les couvre."""
    from indicators.history import reinstate as do_reinstate

    _print_cancellation(do_reinstate(_store(db), change_id, _user(user), reason, dry_run), dry_run)


@app.command()
def template(
    out: Annotated[Path, typer.Option(help="Fichier à écrire.")],
    fmt: Annotated[str, typer.Option("--format", help="csv ou xlsx.")] = "xlsx",
    db: DbOption = None,
) -> None:
    """Écrire le modèle d'import pré-rempli avec les codes et libellés des indicateurs."""
    from indicators.exporting import write_template

    if fmt not in ("csv", "xlsx"):
        _fail("Format inconnu : choisissez csv ou xlsx.", 2)
    path = write_template(_store(db).framework(), fmt, out)
    typer.echo(f"Modèle écrit : {path}")


@app.command()
def export(
    out: Annotated[Path, typer.Option(help="Fichier à écrire.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, xlsx ou parquet.")] = "csv",
    db: DbOption = None,
) -> None:
    """Exporter les valeurs en vigueur avec leur provenance (import, auteur, date, empreinte)."""
    from indicators.exporting import FORMATS
    from indicators.exporting import export as do_export

    if fmt not in FORMATS:
        _fail("Format inconnu : choisissez csv, xlsx ou parquet.", 2)
    from indicators.access import require

    store = _store(db)
    require(store, settings.default_user(), "export")
    path, rows = do_export(store, fmt, out)
    _demo_banner(store)
    typer.echo(f"{formatting.plural(rows, 'valeur')} exportée(s) : {path}")


@app.command()
def budget(
    year: Annotated[int | None, typer.Option(help="Une seule année (défaut : toutes).")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Budget prévu et réalisé, exécution, subvention (avance 70 %, solde 30 % au prorata), versements."""
    from indicators.budget import overview

    store = _store(db)
    doc = overview(store, year)
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    _demo_banner(store)
    e = formatting.euros
    for y in doc["years"]:
        typer.echo(f"== {y['year']} ==")
        parties = ", ".join(f"{p} {e(a)}" for p, a in y["planned_by_party"].items())
        typer.echo(f"Prévu : {e(y['planned_total'])} ({parties})")
        if y["actual_total"] is None:
            typer.echo("Réalisé : aucune dépense saisie")
        else:
            typer.echo(f"Réalisé : {e(y['actual_total'])} (exécution {formatting.percent(y['execution_rate'])})")
        for line in y["formula"]:
            typer.echo(f"  {line}")
        for w in y["warnings"]:
            typer.echo(f"Attention : {w}")
    for w in doc["warnings"]:
        typer.echo(f"Attention : {w}")


@app.command()
def report(
    out: Annotated[Path, typer.Option(help="Fichier à écrire.")],
    year: Annotated[int | None, typer.Option(help="Année du rapport annuel (rapport moral et financier).")] = None,
    final: Annotated[bool, typer.Option("--final", help="Le rapport d'évaluation de toute la convention.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="docx, pdf ou html.")] = "docx",
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Refaire le rapport tel qu'il était : au changement n° N, ou à une date (JJ/MM/AAAA)."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Produire le rapport annuel d'une année (--year) ou le rapport d'évaluation final (--final)."""
    from indicators import rendering, reports

    if fmt not in rendering.FORMATS:
        _fail("Format inconnu : choisissez docx, pdf ou html.", 2)
    if final == (year is not None):
        _fail("Indiquez soit --year ANNÉE (rapport annuel), soit --final (rapport d'évaluation).", 2)
    from indicators.access import require

    store = _store(db)
    require(store, settings.default_user(), "report")
    model = reports.build(store, year=year, final=final, as_of=as_of)
    data = rendering.render(model, fmt)
    try:
        out.write_bytes(data)
    except OSError as e:
        _fail(f"Impossible d'écrire « {out} » : {e.strerror}.", 1)
    _demo_banner(store)
    typer.echo(f"{model.title} : {out} ({formatting.number(len(data) / 1000, 0)} ko)")


@app.command("backup")
def backup_(
    out: Annotated[Path | None, typer.Option(help="Dossier où écrire la copie (défaut : KPI_BACKUP_DIR).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="Lister les sauvegardes du dossier par défaut.")] = False,
    db: DbOption = None,
) -> None:
    """Sauvegarder le magasin (copie cohérente, même pendant que le tableau de bord tourne)."""
    from indicators import backup

    store = _store(db)
    if list_:
        for path in backup.list_backups(store):
            typer.echo(f"{path}  ({formatting.number(path.stat().st_size / 1e6, 1)} Mo)")
        return
    info = backup.backup(store, out)
    typer.echo(
        f"Sauvegarde écrite : {info.path} ({formatting.plural(info.changesets, 'changement')}, "
        f"schéma v{info.schema_version}, SHA-256 {info.sha256[:12]}…)"
    )


@app.command()
def restore(
    source: Annotated[Path, typer.Argument(help="Fichier de sauvegarde (.duckdb) à remettre en place.")],
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Remettre en place une sauvegarde ; le magasin actuel est d'abord sauvegardé."""
    from indicators import backup

    store = _store(db)
    safety = backup.restore(store, source, _user(user))
    typer.echo(f"Magasin restauré depuis {source}.")
    if safety and safety.reason == "endommagé":
        typer.echo(f"Le magasin remplacé était endommagé : ses octets sont gardés tels quels dans {safety.path}.")
    elif safety:
        typer.echo(f"L'état précédent est gardé dans {safety.path}.")


@app.command()
def audit(
    as_json: JsonOption = False,
    action: Annotated[
        str | None, typer.Option(help="Seulement cette action (par exemple import, text_written).")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Seulement les actions de cette personne.")] = None,
    limit: Annotated[int, typer.Option(help="Nombre maximal d'entrées (les plus récentes).")] = 200,
    db: DbOption = None,
) -> None:
    """Le journal de toutes les écritures : imports, saisies, annulations, textes, jalons, budget, restaurations."""
    from indicators.history import activity

    frame = activity(_store(db), action=action, user=user, limit=limit)
    if as_json:
        rows = [
            {
                "at": r.logged_at.isoformat() + "Z",
                "user": r.user_name,
                "action": r.action,
                "summary": r.summary,
                "details": json.loads(r.details) if r.details else None,
            }
            for r in frame.itertuples(index=False)
        ]
        typer.echo(json.dumps({"entries": rows}, ensure_ascii=False, indent=2))
        return
    for r in frame.itertuples(index=False):
        typer.echo(f"{formatting.timestamp(r.logged_at.to_pydatetime())}  {r.user_name:<16} {r.summary}")


users_app = typer.Typer(
    help="Comptes locaux : créer, lister, désactiver, réactiver, changer le mot de passe ou le rôle."
)
app.add_typer(users_app, name="user")
years_app = typer.Typer(help="Validation d'une année : soumettre, valider, renvoyer, déverrouiller.")
app.add_typer(years_app, name="year")
payments_app = typer.Typer(help="Versements de la subvention : enregistrer, lister, annuler, rétablir.")
app.add_typer(payments_app, name="payment")


@payments_app.command("add")
def payment_add(
    year: Annotated[int, typer.Option(help="Année de la subvention versée.")],
    amount: Annotated[str, typer.Option(help="Montant en euros, écrit à la française (« 63 105,00 »).")],
    kind: Annotated[str, typer.Option(help="avance, solde, reversement ou autre.")] = "avance",
    paid_on: Annotated[
        str | None, typer.Option("--date", help="Date du versement (JJ/MM/AAAA ; défaut : aujourd'hui).")
    ] = None,
    reference: Annotated[str | None, typer.Option(help="Référence du mandat.")] = None,
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Enregistrer un versement reçu (un reversement : l'argent rendu)."""
    import datetime as dt

    from indicators import budget
    from indicators.importing import parse_number

    value = parse_number(amount)
    if value is None:
        _fail(f"Montant illisible : « {amount} » (attendu : un montant en euros, par exemple 63 105,00).", 1)
    try:
        day = dt.datetime.strptime(paid_on, "%d/%m/%Y").date() if paid_on else dt.date.today()
    except ValueError:
        _fail(f"Date illisible : « {paid_on} » (attendu : JJ/MM/AAAA).", 2)
    store = _store(db)
    new_id = budget.record_payment(
        store, year, kind, day, amount, _user(user), reference
    )  # the text: its checks name it
    typer.echo(
        f"Versement n° {new_id} enregistré : {formatting.money(value)} ({kind} {year}, le {formatting.date(day, long=False)})."
    )


@payments_app.command("list")
def payment_list(
    year: Annotated[int | None, typer.Option(help="Une seule année.")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Lister les versements enregistrés, annulés compris."""
    from indicators import budget

    frame = budget.payments_frame(_store(db))
    if year is not None:
        frame = frame[frame["year"] == year]
    if as_json:
        typer.echo(frame.to_json(orient="records", date_format="iso", force_ascii=False, indent=2))
        return
    if frame.empty:
        typer.echo("Aucun versement enregistré.")
    for r in frame.itertuples(index=False):
        state = f"ANNULÉ ({_one_line(r.cancel_reason)})" if r.cancelled else "en vigueur"
        typer.echo(
            f"n° {r.id} · {r.year} · {r.kind} · {formatting.date(r.paid_on, long=False)} · "
            f"{formatting.money(r.amount)} · {_one_line(r.reference or '')} · {state} (changement n° {r.changeset_id})"
        )


@payments_app.command("cancel")
def payment_cancel(
    payment_id: Annotated[int, typer.Argument(help="Numéro du versement (voir « kpi payment list »).")],
    reason: Annotated[str, typer.Option(help="Raison de l'annulation (obligatoire).")],
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Annuler un versement saisi par erreur (un changement journalisé ; « kpi payment reinstate » le rétablit)."""
    from indicators import budget

    _print_cancellation(budget.cancel_payment(_store(db), payment_id, _user(user), reason), False)


@payments_app.command("reinstate")
def payment_reinstate(
    payment_id: Annotated[int, typer.Argument(help="Numéro du versement annulé.")],
    reason: Annotated[str, typer.Option(help="Raison du rétablissement (obligatoire).")],
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Rétablir un versement annulé."""
    from indicators import budget

    _print_cancellation(budget.reinstate_payment(_store(db), payment_id, _user(user), reason), False)


def _password(name: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return typer.prompt(f"Mot de passe de « {name} »", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Nom du compte.")],
    role: Annotated[str, typer.Option(help="lecteur, charge_de_mission, evaluateur ou admin.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Lire le mot de passe sur l'entrée standard.")
    ] = False,
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Créer un compte (le premier doit être un administrateur ; ensuite, il faut agir en administrateur)."""
    from indicators import access

    store = _store(db)
    access.add_user(store, name, role, _password(name, password_stdin), _user(user))
    typer.echo(f"Compte « {name} » créé ({access.ROLES[role]}).")


@users_app.command("list")
def user_list(db: DbOption = None) -> None:
    """Lister les comptes."""
    from indicators import access

    for u in access.list_users(_store(db)):
        state = "actif" if u["active"] else "désactivé"
        typer.echo(f"{u['name']:<24} {access.ROLES[u['role']]:<22} {state}")


@users_app.command("disable")
def user_disable(name: str, user: UserOption = None, db: DbOption = None) -> None:
    """Désactiver un compte (il ne peut plus se connecter ni écrire)."""
    from indicators import access

    access.disable(_store(db), name, _user(user))
    typer.echo(f"Compte « {name} » désactivé.")


@users_app.command("enable")
def user_enable(name: str, user: UserOption = None, db: DbOption = None) -> None:
    """Réactiver un compte désactivé (il peut de nouveau se connecter et écrire selon son rôle)."""
    from indicators import access

    access.enable(_store(db), name, _user(user))
    typer.echo(f"Compte « {name} » réactivé.")


@users_app.command("set-password")
def user_set_password(
    name: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Lire le mot de passe sur l'entrée standard.")
    ] = False,
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Changer le mot de passe d'un compte."""
    from indicators import access

    access.set_password(_store(db), name, _password(name, password_stdin), _user(user))
    typer.echo(f"Mot de passe de « {name} » changé.")


@users_app.command("set-role")
def user_set_role(name: str, role: str, user: UserOption = None, db: DbOption = None) -> None:
    """Changer le rôle d'un compte."""
    from indicators import access

    access.set_role(_store(db), name, role, _user(user))
    typer.echo(f"Rôle de « {name} » : {access.ROLES[role]}.")


@years_app.command("status")
def year_status(db: DbOption = None) -> None:
    """L'état de chaque année : brouillon, soumis ou validé."""
    from indicators import access

    for year, (state, reason, who, when) in access.year_states(_store(db)).items():
        extra = f" — {who}, {formatting.timestamp(when)}" if when else ""
        typer.echo(f"{year} : {access.STATES[state]}{extra}" + (f" ({reason})" if reason else ""))


def _year_action(action: str, year: int, reason: str | None, user: str | None, db) -> None:
    from indicators import access

    store = _store(db)
    who = _user(user)
    if action in ("submit", "approve"):
        getattr(access, f"{action}_year")(store, year, who)
    else:
        getattr(access, f"{action}_year")(store, year, who, reason or "")
    typer.echo(f"{year} : {access.STATES[access.year_states(store)[year][0]]}.")


ReasonOption = Annotated[str | None, typer.Option(help="Raison (obligatoire pour renvoyer ou déverrouiller).")]


@years_app.command("submit")
def year_submit(year: int, user: UserOption = None, db: DbOption = None) -> None:
    """Soumettre les chiffres d'une année à la validation (ils ne bougent plus)."""
    _year_action("submit", year, None, user, db)


@years_app.command("approve")
def year_approve(year: int, user: UserOption = None, db: DbOption = None) -> None:
    """Valider une année soumise (évaluateur) : elle est verrouillée."""
    _year_action("approve", year, None, user, db)


@years_app.command("return")
def year_return(year: int, reason: ReasonOption = None, user: UserOption = None, db: DbOption = None) -> None:
    """Renvoyer une année soumise au chargé de mission, avec une raison (évaluateur)."""
    _year_action("return", year, reason, user, db)


@years_app.command("unlock")
def year_unlock(year: int, reason: ReasonOption = None, user: UserOption = None, db: DbOption = None) -> None:
    """Déverrouiller une année validée, avec une raison (évaluateur)."""
    _year_action("unlock", year, reason, user, db)


@app.command()
def demo(
    remove: Annotated[bool, typer.Option("--remove", help="Retirer entièrement les données d'exemple.")] = False,
    user: UserOption = None,
    db: DbOption = None,
) -> None:
    """Charger les données d'exemple dans un magasin vide, ou les retirer (--remove)."""
    from indicators.demo import load_demo, remove_demo

    store = _store(db)
    if remove:
        n = remove_demo(store, _user(user))
        typer.echo(f"Données d'exemple retirées ({n} valeurs)." if n else "Aucune donnée d'exemple à retirer.")
    else:
        n = load_demo(store)
        typer.echo(f"Données d'exemple chargées : {n} valeurs fictives (« kpi demo --remove » pour les retirer).")


def main() -> None:
    try:
        app()
    except KpiError as e:
        typer.echo(str(e), err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
