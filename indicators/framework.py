"""The convention as data: load and validate a framework file (TOML).

A framework describes one convention: its fiches action, indicators with yearly and period targets,
baselines, milestones, calendar of obligations, budget lines and subsidy rules. Another convention
needs only another file. Loading validates everything and raises `FrameworkError` listing every
inconsistency found; totals are always derived from the budget lines, and checked against the
figures the convention prints (`[budget.stated]`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from indicators.errors import FrameworkError

KINDS = {"flow": "flux (s'additionne d'une année sur l'autre)", "headcount": "effectif (ne s'additionne pas)"}
CEILING_LABELS = {
    "operation_per_year": "coût de l'opération, par an",
    "party_per_year": "participation de chaque partenaire, par an",
    "party_over_convention": "participation de chaque partenaire sur toute la convention",
}
PERIOD_KINDS = {"total": "total sur la période", "minimum": "au moins"}


@dataclass(frozen=True, slots=True)
class Baseline:
    year: int
    value: float
    source: str


@dataclass(frozen=True, slots=True)
class Indicator:
    code: str
    fiche: int
    label: str
    short_label: str
    unit: str
    kind: str
    whole: bool
    max: float
    targets: dict[int, float]
    period_target: float | None
    period_target_kind: str | None
    baselines: tuple[Baseline, ...]
    notes: str
    source: str

    @property
    def baseline_reference(self) -> Baseline | None:
        """The most recent baseline, the one results are compared with."""
        return max(self.baselines, key=lambda b: b.year) if self.baselines else None


@dataclass(frozen=True, slots=True)
class Fiche:
    number: int
    title: str
    pilot: str
    objectives: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class Milestone:
    code: str
    label: str
    fiches: tuple[int, ...]
    source: str


@dataclass(frozen=True, slots=True)
class Deadline:
    code: str
    label: str
    source: str
    yearly: bool = False
    month_day: str | None = None
    year_offset: int = 0
    date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class BudgetLine:
    code: str
    group: str
    label: str
    amounts: dict[str, float]
    in_kind: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        return sum(self.amounts.values())


@dataclass(frozen=True, slots=True)
class FicheBudgetLine:
    label: str
    lines: tuple[str, ...]
    amounts: dict[int, float]


@dataclass(frozen=True, slots=True)
class Budget:
    parties: tuple[str, ...]
    groups: tuple[str, ...]
    fiches: tuple[int, ...]
    lines: tuple[BudgetLine, ...]
    by_fiche_lines: tuple[FicheBudgetLine, ...]
    stated: dict
    source: str

    @property
    def total(self) -> float:
        return sum(line.total for line in self.lines)

    def by_party(self) -> dict[str, float]:
        out = dict.fromkeys(self.parties, 0.0)
        for line in self.lines:
            for party, amount in line.amounts.items():
                out[party] += amount
        return out

    def by_group(self) -> dict[str, dict[str, float]]:
        """{group: {party: amount, "total": amount}} derived from the lines."""
        out = {g: dict.fromkeys((*self.parties, "total"), 0.0) for g in self.groups}
        for line in self.lines:
            for party, amount in line.amounts.items():
                out[line.group][party] += amount
                out[line.group]["total"] += amount
        return out

    def by_fiche(self) -> dict[int, float]:
        out = dict.fromkeys(self.fiches, 0.0)
        for fl in self.by_fiche_lines:
            for fiche, amount in fl.amounts.items():
                out[fiche] += amount
        return out

    def in_kind(self, party: str) -> float:
        return sum(line.amounts.get(party, 0) for line in self.lines if party in line.in_kind)


@dataclass(frozen=True, slots=True)
class Subsidy:
    payer: str
    advance_share: float
    balance_share: float
    prorata: bool
    ceilings: dict[str, float]
    source: str


@dataclass(frozen=True, slots=True)
class TrainingCost:
    partner: str
    label: str
    factors: tuple[str | float, ...]  # numbers, or names of assumptions or rates
    rate: str | float  # a number, or the name of a rate
    printed: float | None
    printed_factors: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Training:
    """A partnership training's economics (convention de partenariat and its financial annex)."""

    title: str
    partners: tuple[str, ...]
    margin_shares: dict[str, float]
    rates: dict[str, float]
    assumptions: dict[str, float]
    costs: tuple[TrainingCost, ...]
    printed_per_learner: float | None
    printed_rows: tuple[tuple[float | None, float | None], ...]  # (hours, amount) as the scan prints them
    printed_totals: dict[str, float]
    source: str


@dataclass(frozen=True, slots=True)
class StatusRules:
    reached: float = 1.0
    partial: float = 0.8
    high_factor: float = 2.0
    low_baseline_factor: float = 0.5


@dataclass(frozen=True, slots=True)
class Framework:
    id: str
    title: str
    short_title: str
    parties: tuple[str, ...]
    source: str
    signed: dt.date | None
    years: tuple[int, ...]
    baseline_years: tuple[int, ...]
    status: StatusRules
    fiches: tuple[Fiche, ...]
    indicators: tuple[Indicator, ...]
    milestones: tuple[Milestone, ...]
    calendar: tuple[Deadline, ...]
    budget: Budget | None
    subsidy: Subsidy | None
    sha256: str
    text: str = field(repr=False)  # the TOML, for the store to record; empty when read back from a store
    training: Training | None = None

    @property
    def period_label(self) -> str:
        return f"{self.years[0]}-{self.years[-1]}"

    def indicator(self, code: str) -> Indicator:
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise KeyError(code)

    def fiche(self, number: int) -> Fiche:
        for fiche in self.fiches:
            if fiche.number == number:
                return fiche
        raise KeyError(number)

    @property
    def cash_subsidy(self) -> float | None:
        """The payer's part minus what it gives in kind (art. 5: 115 150 − 25 000 = 90 150 €)."""
        if self.budget is None or self.subsidy is None:
            return None
        payer = self.subsidy.payer
        return self.budget.by_party()[payer] - self.budget.in_kind(payer)

    def deadlines(self) -> list[tuple[dt.date, str, str]]:
        """Every dated obligation of the convention as (date, French label, source), in date order."""
        out: list[tuple[dt.date, str, str]] = []
        for item in self.calendar:
            if item.yearly:
                month, day = (int(p) for p in item.month_day.split("-"))
                for year in self.years:
                    when = dt.date(year + item.year_offset, month, day)
                    out.append((when, item.label.format(annee=year), item.source))
            else:
                out.append((item.date, item.label, item.source))
        return sorted(out)

    def next_deadline(self, today: dt.date) -> tuple[dt.date, str, str] | None:
        """The first obligation on or after `today`, or None when the calendar is over."""
        return next((d for d in self.deadlines() if d[0] >= today), None)


DEFAULT_FRAMEWORK = Path(__file__).resolve().parent.parent / "data" / "convention_2016_2018.toml"


def load_framework(path: str | Path | None = None) -> Framework:
    """Read and validate a framework file. Raises FrameworkError naming every problem found."""
    path = Path(path) if path else DEFAULT_FRAMEWORK
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise FrameworkError(f"Référentiel introuvable ou illisible : {path} ({e.strerror}).") from e
    except UnicodeDecodeError as e:
        raise FrameworkError(f"Référentiel {path} : le fichier doit être encodé en UTF-8.") from e
    return parse_framework(text, origin=str(path))


def parse_framework(text: str, origin: str = "référentiel", keep_text: bool = True) -> Framework:
    """Parse and validate framework TOML text (as stored in the database or read from a file).

    keep_text=False for text read back from the store, which keeps it: `Framework.text` is then empty."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise FrameworkError(f"Référentiel {origin} : syntaxe TOML invalide ({e}).") from e
    problems: list[str] = []
    try:
        fw = _build(raw, text, problems, keep_text)
    except (KeyError, TypeError, ValueError) as e:
        problems.append(f"champ manquant ou mal formé : {e}")
        fw = None
    if fw is not None:
        _check(fw, problems)
    if problems:
        listing = "\n".join(f"- {p}" for p in problems)
        raise FrameworkError(f"Référentiel {origin} incohérent :\n{listing}")
    return fw


def _num_keys(table: dict) -> dict[int, float]:
    return {int(k): float(v) for k, v in table.items()}


def _build(raw: dict, text: str, problems: list[str], keep_text: bool = True) -> Framework:
    conv = raw["convention"]
    st = raw.get("status", {})
    indicators = []
    # Each indicator's parsed table is dropped as soon as its Indicator is built, so that a large
    # framework's objects reuse that memory instead of adding to it (100 000 indicators: -48 MB).
    pending = raw.pop("indicators")
    pending.reverse()
    while pending:
        i = pending.pop()
        indicators.append(
            Indicator(
                code=i["code"],
                fiche=int(i["fiche"]),
                label=i["label"],
                short_label=i.get("short_label", i["label"]),
                unit=sys.intern(str(i["unit"])),  # a few distinct words, repeated by every indicator
                kind=sys.intern(str(i["kind"])),
                whole=bool(i.get("whole", True)),
                max=float(i.get("max", 1e9)),
                targets=_num_keys(i.get("targets", {})),
                period_target=float(i["period_target"]) if "period_target" in i else None,
                period_target_kind=i.get("period_target_kind"),
                baselines=tuple(
                    Baseline(int(b["year"]), float(b["value"]), b.get("source", "")) for b in i.get("baselines", [])
                ),
                notes=i.get("notes", ""),
                source=i.get("source", ""),
            )
        )
    budget = None
    if "budget" in raw:
        b = raw["budget"]
        budget = Budget(
            parties=tuple(b["parties"]),
            groups=tuple(b["groups"]),
            fiches=tuple(int(f) for f in b["fiches"]),
            lines=tuple(
                BudgetLine(
                    code=line["code"],
                    group=line["group"],
                    label=line["label"],
                    amounts={p: float(a) for p, a in line["amounts"].items()},
                    in_kind=tuple(line.get("in_kind", ())),
                )
                for line in b["lines"]
            ),
            by_fiche_lines=tuple(
                FicheBudgetLine(fl["label"], tuple(fl["lines"]), _num_keys(fl["amounts"]))
                for fl in b.get("by_fiche", [])
            ),
            stated=b.get("stated", {}),
            source=b.get("source", ""),
        )
    subsidy = None
    if "subsidy" in raw:
        s = raw["subsidy"]
        subsidy = Subsidy(
            payer=s["payer"],
            advance_share=float(s["advance_share"]),
            balance_share=float(s["balance_share"]),
            prorata=bool(s.get("prorata", True)),
            ceilings={k: float(v) for k, v in s.get("ceilings", {}).items()},
            source=s.get("source", ""),
        )
    training = None
    if "training" in raw:
        t = raw["training"]
        printed = t.get("printed_revenue", {})
        training = Training(
            title=t["title"],
            partners=tuple(t["partners"]),
            margin_shares={k: float(v) for k, v in t["margin_shares"].items()},
            rates={k: float(v) for k, v in t.get("rates", {}).items()},
            assumptions={k: float(v) for k, v in t.get("assumptions", {}).items()},
            costs=tuple(
                TrainingCost(
                    partner=c["partner"],
                    label=c["label"],
                    factors=tuple(c.get("factors", ())),
                    rate=c["rate"],
                    printed=float(c["printed"]) if "printed" in c else None,
                    printed_factors=tuple(float(x) for x in c.get("printed_factors", ())),
                )
                for c in t.get("costs", [])
            ),
            printed_per_learner=float(printed["per_learner"]) if "per_learner" in printed else None,
            printed_rows=tuple(
                (float(r["hours"]) if "hours" in r else None, float(r["amount"]) if "amount" in r else None)
                for r in printed.get("rows", [])
            ),
            printed_totals={k: float(v) for k, v in t.get("printed_totals", {}).items()},
            source=t.get("source", ""),
        )
    return Framework(
        id=conv["id"],
        title=conv["title"],
        short_title=conv.get("short_title", conv["title"]),
        parties=tuple(conv.get("parties", ())),
        source=conv.get("source", ""),
        signed=conv.get("signed"),
        years=tuple(int(y) for y in conv["years"]),
        baseline_years=tuple(int(y) for y in conv.get("baseline_years", ())),
        status=StatusRules(**{k: float(v) for k, v in st.items()}),
        fiches=tuple(
            Fiche(int(f["number"]), f["title"], f.get("pilot", ""), tuple(f.get("objectives", ())), f.get("source", ""))
            for f in raw["fiches"]
        ),
        indicators=tuple(indicators),
        milestones=tuple(
            Milestone(m["code"], m["label"], tuple(int(x) for x in m.get("fiches", ())), m.get("source", ""))
            for m in raw.get("milestones", [])
        ),
        calendar=tuple(
            Deadline(
                code=c["code"],
                label=c["label"],
                source=c.get("source", ""),
                yearly=bool(c.get("yearly", False)),
                month_day=c.get("month_day"),
                year_offset=int(c.get("year_offset", 0)),
                date=c.get("date"),
            )
            for c in raw.get("calendar", [])
        ),
        budget=budget,
        subsidy=subsidy,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        text=text if keep_text else "",
        training=training,
    )


def _duplicates(values) -> set:
    seen, dup = set(), set()
    for v in values:
        (dup if v in seen else seen).add(v)
    return dup


def _check(fw: Framework, problems: list[str]) -> None:
    if fw.training is not None:
        _check_training(fw.training, problems)
    years = set(fw.years)
    if list(fw.years) != list(range(fw.years[0], fw.years[-1] + 1)):
        problems.append(f"les années de la convention doivent se suivre : {list(fw.years)}")
    if any(not 1000 <= y <= 9999 for y in (*fw.years, *fw.baseline_years)):  # files give years in 4 digits
        problems.append(f"les années doivent s'écrire avec quatre chiffres : {[*fw.years, *fw.baseline_years]}")
    if not 0 < fw.status.partial <= fw.status.reached:
        problems.append("seuils de statut : il faut 0 < partiel ≤ atteint")
    fiche_numbers = {f.number for f in fw.fiches}
    for dup in _duplicates(f.number for f in fw.fiches):
        problems.append(f"fiche {dup} définie deux fois")
    for dup in _duplicates(i.code for i in fw.indicators):
        problems.append(f"indicateur {dup} défini deux fois")
    for dup in _duplicates(i.label.casefold() for i in fw.indicators):
        problems.append(f"libellé d'indicateur en double : « {dup} »")
    for ind in fw.indicators:
        where = f"indicateur {ind.code}"
        if ind.fiche not in fiche_numbers:
            problems.append(f"{where} : fiche {ind.fiche} inconnue")
        if ind.kind not in KINDS:
            problems.append(f"{where} : nature « {ind.kind} » inconnue (attendu : {', '.join(KINDS)})")
        if bad := sorted(set(ind.targets) - years):
            problems.append(f"{where} : objectif pour une année hors convention {bad}")
        if any(t < 0 for t in ind.targets.values()) or (ind.period_target or 0) < 0:
            problems.append(f"{where} : objectif négatif")
        if any(t > ind.max for t in ind.targets.values()):
            problems.append(f"{where} : un objectif dépasse la borne plausible {ind.max:g}")
        if bad := sorted({b.year for b in ind.baselines} - set(fw.baseline_years)):
            problems.append(f"{where} : année de référence hors des années de référence {bad}")
        if ind.period_target is not None:
            if ind.kind != "flow":
                problems.append(f"{where} : un objectif sur la période n'a de sens que pour un flux")
            if ind.period_target_kind not in PERIOD_KINDS:
                problems.append(f"{where} : period_target_kind doit valoir « total » ou « minimum »")
            elif ind.period_target_kind == "total" and abs(sum(ind.targets.values()) - ind.period_target) > 1e-9:
                problems.append(
                    f"{where} : l'objectif sur la période ({ind.period_target:g}) n'est pas la somme des "
                    f"objectifs annuels ({sum(ind.targets.values()):g})"
                )
    for m in fw.milestones:
        if bad := sorted(set(m.fiches) - fiche_numbers):
            problems.append(f"jalon {m.code} : fiche inconnue {bad}")
    for c in fw.calendar:
        if c.yearly == (c.date is not None):
            problems.append(f"échéance {c.code} : donner soit yearly + month_day, soit date")
        if c.yearly:
            try:
                month, day = (int(p) for p in (c.month_day or "").split("-"))
                dt.date(2000, month, day)
            except ValueError:
                problems.append(f"échéance {c.code} : month_day « {c.month_day} » invalide (attendu MM-JJ)")
    if fw.budget is not None:
        _check_budget(fw, problems)


def _close(a: float, b: float) -> bool:
    return abs(a - b) < 0.005


def _check_training(t: Training, problems: list[str]) -> None:
    names = set(t.rates) | set(t.assumptions)
    if abs(sum(t.margin_shares.values()) - 1) > 1e-9 or set(t.margin_shares) != set(t.partners):
        problems.append("formation : le partage de la marge doit nommer chaque partenaire et totaliser 100 %")
    for need in ("learners", "hours_per_learner", "hourly_rate"):
        if need not in t.assumptions:
            problems.append(f"formation : hypothèse « {need} » manquante")
    for c in t.costs:
        if c.partner not in t.partners:
            problems.append(
                f"formation : « {c.label} » est à la charge de « {c.partner} », qui n'est pas un partenaire"
            )
        for ref in (*c.factors, c.rate):
            if isinstance(ref, str) and ref not in names:
                problems.append(f"formation : « {c.label} » cite « {ref} », ni un taux ni une hypothèse")


def _check_budget(fw: Framework, problems: list[str]) -> None:
    b = fw.budget
    codes = {line.code for line in b.lines}
    for dup in _duplicates(line.code for line in b.lines):
        problems.append(f"ligne budgétaire {dup} définie deux fois")
    for line in b.lines:
        if line.group not in b.groups:
            problems.append(f"ligne budgétaire {line.code} : groupe « {line.group} » inconnu")
        if bad := sorted(set(line.amounts) - set(b.parties)):
            problems.append(f"ligne budgétaire {line.code} : partie inconnue {bad}")
        if bad := sorted(set(line.in_kind) - set(line.amounts)):
            problems.append(f"ligne budgétaire {line.code} : apport en nature d'une partie sans montant {bad}")
        if any(a < 0 for a in line.amounts.values()):
            problems.append(f"ligne budgétaire {line.code} : montant négatif")
    # The fiche cross-section must cover each annex line exactly once and agree with it line by line.
    covered: dict[str, int] = defaultdict(int)
    for fl in b.by_fiche_lines:
        if bad := sorted(set(fl.amounts) - set(b.fiches)):
            problems.append(f"budget par fiche « {fl.label} » : fiche inconnue {bad}")
        unknown = [c for c in fl.lines if c not in codes]
        if unknown:
            problems.append(f"budget par fiche « {fl.label} » : ligne inconnue {unknown}")
            continue
        for c in fl.lines:
            covered[c] += 1
        annex = sum(line.total for line in b.lines if line.code in fl.lines)
        by_fiche = sum(fl.amounts.values())
        if not _close(annex, by_fiche):
            problems.append(
                f"budget par fiche « {fl.label} » : {by_fiche:,.0f} € par fiche contre {annex:,.0f} € "
                f"dans l'annexe ({' + '.join(fl.lines)})".replace(",", " ")
            )
    if b.by_fiche_lines:
        for code in sorted(codes):
            if covered[code] != 1:
                problems.append(f"ligne budgétaire {code} : présente {covered[code]} fois dans le budget par fiche")
    stated = b.stated
    derived = {
        "total": b.total,
        "by_party": b.by_party(),
        "by_group": {g: v["total"] for g, v in b.by_group().items()},
        "by_fiche": b.by_fiche() if b.by_fiche_lines else {},
    }
    if "total" in stated and not _close(stated["total"], derived["total"]):
        problems.append(
            f"total du budget : les lignes donnent {derived['total']:.0f} €, la convention {stated['total']} €"
        )
    for key in ("by_party", "by_group", "by_fiche"):
        for name, value in stated.get(key, {}).items():
            name = int(name) if key == "by_fiche" else name
            got = derived[key].get(name)
            if got is None or not _close(got, value):
                problems.append(f"budget {key} {name} : les lignes donnent {got} €, la convention {value} €")
    if fw.subsidy is not None:
        s = fw.subsidy
        if s.payer not in b.parties:
            problems.append(f"subvention : payeur « {s.payer} » inconnu")
        elif "cash_subsidy" in stated and not _close(fw.cash_subsidy, stated["cash_subsidy"]):
            problems.append(
                f"subvention : les lignes donnent {fw.cash_subsidy:.0f} € en numéraire, "
                f"la convention {stated['cash_subsidy']} €"
            )
        if not _close(s.advance_share + s.balance_share, 1.0):
            problems.append("subvention : avance + solde doivent faire 100 %")
        ceilings = s.ceilings
        if "operation_per_year" in ceilings and derived["total"] > ceilings["operation_per_year"]:
            problems.append("budget annuel au-dessus du plafond de l'opération")
        if "party_per_year" in ceilings:
            for party, amount in derived["by_party"].items():
                if amount > ceilings["party_per_year"]:
                    problems.append(f"budget annuel de {party} au-dessus du plafond par partie")
