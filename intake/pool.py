"""The pool file: subjects, dates, rates and reminder offsets of one funding round.

The file is data (TOML under ``config/pools/``); this module only reads and
validates it into immutable objects the rest of the worker is given.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from intake.errors import ConfigError


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
    source: str

    @property
    def application_deadline(self) -> dt.date:
        """The last day (local time) an application may arrive."""
        return self.dates["application_deadline"]

    def deadline_end(self, name: str) -> dt.datetime:
        """The first instant after the named deadline day, as an aware datetime."""
        day = self.dates[name] + dt.timedelta(days=1)
        return dt.datetime.combine(day, dt.time(0, 0), tzinfo=self.timezone)

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


def _require(table: dict, key: str, where: str, kind: type | tuple[type, ...]):
    if key not in table:
        raise ConfigError(f"{where}: missing key '{key}'")
    value = table[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: key '{key}' has the wrong type ({type(value).__name__})")
    return value


def parse_pool(data: dict, source: str) -> Pool:
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
    return Pool(
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
        source=source,
    )


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
