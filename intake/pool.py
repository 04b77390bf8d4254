"""The pool file: subjects, dates, rates, report parts and reminder offsets of one funding round.

The file is data (TOML under ``config/pools/``); this module only reads and
validates it into immutable objects the rest of the worker is given. A new
round is a new file: nothing about a round lives in code.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from intake.errors import ConfigError
from intake.poolterms import Contact, Letters, parse_contact, parse_letters, parse_quarters
from parsers import danish
from parsers.quarters import Quarter
from parsers.report import ReportPart, ReportSpec

T = TypeVar("T")


@dataclass(frozen=True)
class MailKind:
    """One kind of mail the pool expects, recognised by its subject."""

    kind: str
    action: str  # "case" or "triage"
    match: str  # "prefix" or "contains"
    subjects: tuple[str, ...]


@dataclass(frozen=True)
class SalaryRate:
    """The funded hourly rate and share for one calendar year."""

    year: int
    hourly_rate: Decimal
    share: Decimal


@dataclass(frozen=True)
class Reminder:
    """A reminder sent ``days`` relative to a named deadline."""

    id: str
    deadline: str
    days: int
    applies_to: str


@dataclass(frozen=True)
class Documentation:
    """What a quarter's documentation holds (parts found like a report's) and when it is late."""

    spec: ReportSpec
    required: tuple[str, ...]  # the parts without which a quarter cannot be approved
    reminder_days: int  # days after a quarter ends before one reminder goes


@dataclass(frozen=True)
class Pool:
    """A funding round as described by its pool file."""

    id: str
    name: str
    owner: str
    inbox: str
    case_prefix: str
    case_year: int
    timezone: ZoneInfo
    dates: dict[str, dt.date]
    assessment: str
    annual_norm_hours: Decimal
    activity_funds_per_year: Decimal
    salary: tuple[SalaryRate, ...]
    kinds: tuple[MailKind, ...]
    reminders: tuple[Reminder, ...]
    report: ReportSpec
    source: str
    quarters: tuple[Quarter, ...] = ()
    documentation: Documentation | None = None
    contact: Contact | None = None
    letters: Letters | None = None

    @property
    def application_deadline(self) -> dt.date:
        """The last day (local time) an application may arrive."""
        return self.dates["application_deadline"]

    def deadline_end(self, name: str) -> dt.datetime:
        """The first instant after the named deadline day, as an aware datetime."""
        day = self.dates[name] + dt.timedelta(days=1)
        return dt.datetime.combine(day, dt.time(0, 0), tzinfo=self.timezone)

    @property
    def documentation_reminder_days(self) -> int:
        """Days after a quarter's end that its documentation is on time (then one reminder)."""
        return self.documentation.reminder_days if self.documentation is not None else 0

    @property
    def answer_warning_days(self) -> int:
        """Days before ``answer_by`` from which applicants without an answer are a warning."""
        return self.letters.answer_warning_days if self.letters is not None else 0

    @property
    def ceiling_per_fte(self) -> Decimal:
        """The most one full-time caretaker can be funded for over the whole period."""
        salary = sum(
            (r.hourly_rate * self.annual_norm_hours * r.share for r in self.salary), Decimal(0)
        )
        return salary + self.activity_funds_per_year * len(self.salary)


def _decimal(value: object, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{where}: expected a number, got {value!r}") from None


def _require(table: dict[str, Any], key: str, where: str, kind: type[T] | tuple[type[T], ...]) -> T:
    if key not in table:
        raise ConfigError(f"{where}: missing key '{key}'")
    value = table[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: key '{key}' has the wrong type ({type(value).__name__})")
    return value


def _words(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    """A list of folded keywords (``ledelsens erklaering``): what :func:`danish.fold` gives."""
    words = table.get(key, [])
    if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
        raise ConfigError(f"{where}: key '{key}' must be a list of words")
    for w in words:
        if danish.fold(w) != w:
            raise ConfigError(f"{where}: key '{key}': write {w!r} folded, as {danish.fold(w)!r}")
    return tuple(words)


_PART_KEYS = {"key", "name", "missing", "keywords", "weak_keywords", "max_pages"}


def _report_part(p: dict[str, Any], where: str) -> ReportPart:
    unknown = sorted(set(p) - _PART_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}'")
    key = _require(p, "key", where, str)
    where = f"{where} ({key})"
    max_pages = None
    if "max_pages" in p:
        max_pages = _decimal(p["max_pages"], f"{where} max_pages")
        if max_pages <= 0:
            raise ConfigError(f"{where}: max_pages must be above 0")
    missing = _require(p, "missing", where, str)
    try:
        missing = missing.format_map({"max_pages": danish.pages_da(max_pages)} if max_pages else {})
    except (KeyError, ValueError, IndexError) as exc:
        raise ConfigError(f"{where}: key 'missing' may use only {{max_pages}}, and only with "
                          f"max_pages set ({exc!r})") from None
    keywords = _words(p, "keywords", where)
    if not keywords:
        raise ConfigError(f"{where}: key 'keywords' needs at least one word")
    return ReportPart(key=key, name=_require(p, "name", where, str), missing=missing,
                      keywords=keywords, weak_keywords=_words(p, "weak_keywords", where),
                      max_pages=max_pages)


def _report(data: dict[str, Any], source: str) -> ReportSpec:
    """``[report]``: the final report's parts and the order their keywords are tried in."""
    table = _require(data, "report", source, dict)
    unknown = sorted(set(table) - {"parts", "match_order"})
    if unknown:
        raise ConfigError(f"{source} [report]: unknown key '{unknown[0]}'")
    parts: list[ReportPart] = []
    for i, p in enumerate(_require(table, "parts", f"{source} [report]", list)):
        where = f"{source} [[report.parts]] #{i + 1}"
        if not isinstance(p, dict):
            raise ConfigError(f"{where}: expected a table")
        parts.append(_report_part(p, where))
    keys = [p.key for p in parts]
    if not parts or len(set(keys)) != len(keys):
        raise ConfigError(f"{source} [report]: parts need unique keys (got {keys})")
    order = _require(table, "match_order", f"{source} [report]", list)
    if sorted(order) != sorted(keys):
        raise ConfigError(f"{source} [report]: match_order must name every part once "
                          f"({', '.join(keys)}), not {order}")
    return ReportSpec(parts=tuple(parts), match_order=tuple(order))


def _documentation(data: dict[str, Any], source: str) -> Documentation | None:
    """``[documentation]``: its parts (as the report's), which are required, the reminder offset."""
    if "documentation" not in data:
        return None
    where = f"{source} [documentation]"
    table = _require(data, "documentation", source, dict)
    unknown = sorted(set(table) - {"parts", "match_order", "reminder_days"})
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}'")
    required = []
    parts = []
    for i, p in enumerate(_require(table, "parts", where, list)):
        here = f"{source} [[documentation.parts]] #{i + 1}"
        if not isinstance(p, dict):
            raise ConfigError(f"{here}: expected a table")
        p = dict(p)
        needed = p.pop("required", False)
        if not isinstance(needed, bool):
            raise ConfigError(f"{here}: required must be true or false")
        parts.append(_report_part(p, here))
        if needed:
            required.append(parts[-1].key)
    keys = [p.key for p in parts]
    order = _require(table, "match_order", where, list)
    if not parts or len(set(keys)) != len(keys) or sorted(order) != sorted(keys):
        raise ConfigError(f"{where}: parts need unique keys and match_order must name each once "
                          f"({', '.join(keys)})")
    spec = ReportSpec(parts=tuple(parts), match_order=tuple(order))
    days = _require(table, "reminder_days", where, int)
    if days < 0:
        raise ConfigError(f"{where}: reminder_days must be 0 or more")
    return Documentation(spec=spec, required=tuple(required), reminder_days=days)


def condition_values(pool: Pool, dates: dict[str, dt.date] | None = None) -> dict[str, str]:
    """What a grant condition's ``{placeholders}`` stand for: the dates (a ``*_deadline`` with its
    last minute), the report's parts, the inbox and the documentation's reminder offset."""
    values = {key: danish.deadline_da(day) if key.endswith("deadline") else danish.date_da(day)
              for key, day in (dates or pool.dates).items()}
    names = [part.name for part in pool.report.parts]
    values["report_parts"] = ", ".join(names[:-1]) + " og " + names[-1] if len(names) > 1 else "".join(names)
    values["inbox"] = pool.inbox
    values["reminder_days"] = str(pool.documentation.reminder_days) if pool.documentation else ""
    return values


def grant_conditions(pool: Pool) -> tuple[str, ...]:
    """The conditions of a grant as the grant letter lists them (``[letters] conditions``)."""
    if pool.letters is None:
        return ()
    values = condition_values(pool)
    return tuple(c.format_map(values) for c in pool.letters.conditions)


def _check_conditions(pool: Pool) -> None:
    """Every ``{placeholder}`` of a condition is one :func:`condition_values` fills."""
    if pool.letters is None:
        return
    values = condition_values(pool)
    for c in pool.letters.conditions:
        try:
            c.format_map(values)
        except (KeyError, ValueError, IndexError) as exc:
            raise ConfigError(f"{pool.source} [letters] conditions: {c!r}: unknown placeholder "
                              f"{exc} (known: {', '.join(sorted(values))})") from None


def parse_pool(data: dict[str, Any], source: str) -> Pool:
    """Validate the parsed TOML of a pool file and build a :class:`Pool`."""
    pool = _require(data, "pool", source, dict)
    dates_t = _require(data, "dates", source, dict)
    rates = _require(data, "rates", source, dict)
    dates: dict[str, dt.date] = {}
    for key, value in dates_t.items():
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            dates[key] = value
    for needed in ("application_deadline", "report_deadline"):
        if needed not in dates:
            raise ConfigError(f"{source}: [dates] needs a date '{needed}'")
    try:
        tz = ZoneInfo(_require(pool, "timezone", f"{source} [pool]", str))
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"{source}: [pool] timezone is not a known time zone: {exc}") from None
    kinds = []
    for i, k in enumerate(_require(data, "kinds", source, list)):
        where = f"{source} [[kinds]] #{i + 1}"
        action = k.get("action", "case")
        match = k.get("match", "prefix")
        if action not in ("case", "triage"):
            raise ConfigError(f"{where}: action must be 'case' or 'triage', not {action!r}")
        if match not in ("prefix", "contains"):
            raise ConfigError(f"{where}: match must be 'prefix' or 'contains', not {match!r}")
        subjects = tuple(_require(k, "subjects", where, list))
        kinds.append(MailKind(_require(k, "kind", where, str), action, match, subjects))
    salary = tuple(
        SalaryRate(
            int(_require(s, "year", f"{source} [[rates.salary]]", int)),
            _decimal(s.get("hourly_rate"), f"{source} [[rates.salary]] hourly_rate"),
            _decimal(s.get("share"), f"{source} [[rates.salary]] share"),
        )
        for s in _require(rates, "salary", f"{source} [rates]", list)
    )
    reminders = tuple(
        Reminder(
            _require(r, "id", f"{source} [[reminders]]", str),
            _require(r, "deadline", f"{source} [[reminders]]", str),
            int(_require(r, "days", f"{source} [[reminders]]", int)),
            _require(r, "applies_to", f"{source} [[reminders]]", str),
        )
        for r in data.get("reminders", [])
    )
    for r in reminders:
        if r.deadline not in dates:
            raise ConfigError(f"{source}: reminder '{r.id}' names unknown deadline '{r.deadline}'")
    result = Pool(
        id=_require(pool, "id", f"{source} [pool]", str),
        name=_require(pool, "name", f"{source} [pool]", str),
        owner=pool.get("owner", ""),
        inbox=_require(pool, "inbox", f"{source} [pool]", str),
        case_prefix=_require(pool, "case_prefix", f"{source} [pool]", str),
        case_year=_require(pool, "case_year", f"{source} [pool]", int),
        timezone=tz,
        dates=dates,
        assessment=str(dates_t.get("assessment", "")),
        annual_norm_hours=_decimal(rates.get("annual_norm_hours"), f"{source} [rates] annual_norm_hours"),
        activity_funds_per_year=_decimal(
            rates.get("activity_funds_per_year"), f"{source} [rates] activity_funds_per_year"
        ),
        salary=salary,
        kinds=tuple(kinds),
        reminders=reminders,
        report=_report(data, source),
        source=source,
        quarters=parse_quarters(data, source),
        documentation=_documentation(data, source),
        contact=parse_contact(data, source),
        letters=parse_letters(data, source),
    )
    _check_conditions(result)
    return result


def load_pool(name_or_path: str, base_dir: Path | None = None) -> Pool:
    """Load a pool by its name under ``config/pools`` or by a path to a TOML file."""
    candidate = Path(name_or_path)
    if not candidate.is_absolute() and base_dir is not None:
        candidate = base_dir / candidate
    if name_or_path.endswith(".toml") and candidate.is_file():
        text, source = candidate.read_text(encoding="utf-8"), str(candidate)
    else:
        res = resources.files("config").joinpath("pools", f"{name_or_path}.toml")
        if not res.is_file():
            raise ConfigError(f"no pool file named '{name_or_path}' (looked in config/pools/)")
        text, source = res.read_text(encoding="utf-8"), f"config/pools/{name_or_path}.toml"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return parse_pool(data, source)
