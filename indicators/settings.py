"""Settings, declared as data: every one has a name, an environment variable, a default and a help.

`tests/test_docs.py` fails when a setting is missing from the README, so the table there stays true.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str
    help: str

    def value(self) -> str:
        return os.environ.get(self.env) or self.default


SETTINGS = (
    Setting(
        "db",
        "KPI_DB",
        str(PROJECT_ROOT / "data" / "kpi.duckdb"),
        "Chemin du magasin DuckDB (l'option --db de la commande kpi a priorité).",
    ),
    Setting(
        "framework",
        "KPI_FRAMEWORK",
        str(PROJECT_ROOT / "data" / "convention_2016_2018.toml"),
        "Fichier du référentiel chargé par « kpi init » dans un magasin neuf ou mis à jour.",
    ),
    Setting(
        "lock_timeout",
        "KPI_LOCK_TIMEOUT",
        "15",
        "Secondes d'attente quand un autre programme écrit dans le magasin, avant d'abandonner.",
    ),
    Setting("max_file_mb", "KPI_MAX_FILE_MB", "100", "Taille maximale d'un fichier importé, en mégaoctets."),
    Setting("max_rows", "KPI_MAX_ROWS", "2000000", "Nombre maximal de lignes d'un fichier importé."),
    Setting(
        "backup_dir",
        "KPI_BACKUP_DIR",
        "",
        "Dossier des sauvegardes automatiques (à défaut : le dossier « sauvegardes » à côté du magasin).",
    ),
    Setting(
        "backups_kept",
        "KPI_BACKUPS_KEPT",
        "20",
        "Nombre de sauvegardes automatiques gardées (les plus anciennes sont effacées ; 0 les désactive).",
    ),
    Setting(
        "session_minutes",
        "KPI_SESSION_MINUTES",
        "480",
        "Durée d'une connexion au tableau de bord, en minutes, avant qu'il faille se reconnecter.",
    ),
    Setting(
        "login_to_view",
        "KPI_LOGIN_TO_VIEW",
        "0",
        "1 : il faut se connecter même pour consulter le tableau de bord (par défaut, seule l'écriture l'exige).",
    ),
    Setting(
        "user",
        "KPI_USER",
        "",
        "Nom enregistré dans le journal quand --user n'est pas donné (à défaut : le compte système).",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str:
    """The current value of a setting (environment first, then default)."""
    return _BY_NAME[name].value()


def get_float(name: str) -> float:
    return float(get(name))


def get_int(name: str) -> int:
    return int(get(name))


def default_user() -> str:
    """Who the journal records when no user is given: KPI_USER, else the operating-system login."""
    if user := get("user"):
        return user
    try:
        import getpass

        return getpass.getuser()
    except (OSError, KeyError):
        return "inconnu"
