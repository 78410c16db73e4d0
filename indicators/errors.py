"""The project's exceptions. Every message is French and meant for the person at the screen."""

from __future__ import annotations

from dataclasses import dataclass


class KpiError(Exception):
    """Base class: a failure the user can understand and act on (never a bug)."""


class FrameworkError(KpiError):
    """The framework file is missing, unreadable or inconsistent."""


class StoreError(KpiError):
    """The store cannot be opened or written."""


class StoreBusy(StoreError):
    """Another program holds the store's write lock for longer than the wait allows."""


class StoreDamaged(StoreError):
    """The store file opens no more, or a query fails reading it (truncated, corrupt): `kpi restore` is the way back."""


class NotFound(KpiError):
    """A journal entry, indicator or year that the caller named does not exist."""


class Refused(KpiError):
    """An operation that is understood but not allowed in the store's current state."""


@dataclass(frozen=True, order=True)
class InputError:
    """One problem found in an input file, located as a spreadsheet shows it (header = line 1)."""

    line: int
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"ligne {self.line}"
        if self.column:
            where += f", colonne « {self.column} »"
        return f"{where} : {self.message}"


class ImportRefused(KpiError):
    """One or more files with errors: nothing was written. `refusals` maps each refused file to every
    problem found in it; `errors` is the flat list (for the common case of one file)."""

    def __init__(self, refusals: list[tuple[str, list[InputError]]]):
        self.refusals = refusals
        parts = []
        for name, errors in refusals:
            n = len(errors)
            parts.append(f"fichier « {name} » refusé : {n} erreur{'s' if n > 1 else ''}")
        super().__init__("; ".join(parts) + " — rien n'a été importé.")

    @property
    def errors(self) -> list[InputError]:
        return [e for _, errors in self.refusals for e in errors]

    @property
    def file_name(self) -> str:
        return self.refusals[0][0]
