"""The field map of the official documents, loaded from ``config/fields/*.toml``.

Everything the template writer and the readers know about the application form
and the budget template comes from this data: field keys, PDF field names,
printed labels, types, the budget's defined names and column-A labels.

Stable API::

    load_fieldmap(name: str = "application-v1") -> FieldMap
    FieldMap.form_version: str                 # "1.0"
    FieldMap.fields: list[FormField]           # in form order
    FieldMap.field(key) -> FormField
    FieldMap.form_hints: tuple[str, ...]      # folded file-name fragments that mean "the form"
    FieldMap.required: tuple[str, ...]        # the keys of the required fields, in form order
    FieldMap.budget: BudgetMap                 # .lines: list[BudgetLine], .total: BudgetLine, .hints

A malformed map raises :class:`FieldMapError` (a ``ValueError``) naming the file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from parsers.danish import fold_compact


class FieldMapError(ValueError):
    """A field map that cannot be used; the message names the file and the key."""


FIELD_TYPES = ("text", "cvr", "email", "phone", "municipality", "decimal", "integer", "money", "date", "choice")


@dataclass(frozen=True)
class ChoiceOption:
    """One option of a radio group: PDF export value, normalised value, printed text."""

    export: str
    value: str
    label: str


@dataclass(frozen=True)
class FormField:
    """One field of the application form."""

    key: str
    pdf_field: str
    label: str
    type: str
    required: bool = False
    multiline: bool = False
    options: tuple[ChoiceOption, ...] = ()


@dataclass(frozen=True)
class FormSection:
    """A printed heading and the keys below it."""

    heading: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class BudgetLine:
    """One budget line: its key, column-A label and the defined name of each value cell."""

    key: str
    label: str
    names: dict[str, str]
    template: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BudgetMap:
    """Where the budget template keeps its values."""

    filename: str
    sheet: str
    label_column: str
    header_row: int
    columns: dict[str, str]
    headers: dict[str, str]
    lines: tuple[BudgetLine, ...]
    total: BudgetLine
    hints: tuple[str, ...] = ()  # folded file-name fragments that mean "the budget"


@dataclass(frozen=True)
class FieldMap:
    """The application form and budget template of one version."""

    name: str
    form_version: str
    title: str
    owner: str
    form_filename: str
    form_hints: tuple[str, ...]
    stop_texts: tuple[str, ...]
    sections: tuple[FormSection, ...]
    fields: tuple[FormField, ...]
    budget: BudgetMap

    def field(self, key: str) -> FormField:
        """The form field with this key (KeyError if there is none)."""
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    @property
    def keys(self) -> list[str]:
        """The form keys in form order."""
        return [f.key for f in self.fields]

    @property
    def required(self) -> tuple[str, ...]:
        """The keys of the fields an application must fill in, in form order."""
        return tuple(f.key for f in self.fields if f.required)


def _hints(table: dict[str, Any], where: str) -> tuple[str, ...]:
    hints = table.get("filename_hints", [])
    if not isinstance(hints, list) or not all(isinstance(h, str) and h for h in hints):
        raise FieldMapError(f"{where}: filename_hints must be a list of words")
    for h in hints:
        if fold_compact(h) != h:
            raise FieldMapError(f"{where}: filename_hints: write {h!r} folded, as {fold_compact(h)!r}")
    return tuple(hints)


def _parse(name: str, data: dict[str, Any]) -> FieldMap:
    where = f"config/fields/{name}.toml"
    form = data["form"]
    fields = []
    for f in form["fields"]:
        if f["type"] not in FIELD_TYPES:
            raise FieldMapError(f"{where}: unknown type {f['type']!r} for {f['key']}")
        options = tuple(ChoiceOption(**o) for o in f.get("options", ()))
        if f["type"] == "choice" and not options:
            raise FieldMapError(f"{where} [[form.fields]] {f['key']}: a choice needs options")
        fields.append(FormField(
            key=f["key"], pdf_field=f["pdf_field"], label=f["label"], type=f["type"],
            required=bool(f.get("required", False)), multiline=bool(f.get("multiline", False)),
            options=options,
        ))
    b = data["budget"]

    def line(d: dict[str, Any]) -> BudgetLine:
        return BudgetLine(key=d["key"], label=d["label"], names=dict(d["names"]),
                          template=dict(d.get("template", {})))

    budget = BudgetMap(
        filename=b["filename"], sheet=b["sheet"], label_column=b["label_column"],
        header_row=int(b["header_row"]), columns=dict(b["columns"]), headers=dict(b["headers"]),
        lines=tuple(line(x) for x in b["lines"]), total=line(b["total"]),
        hints=_hints(b, f"{where} [budget]"),
    )
    return FieldMap(
        name=name, form_version=str(data["form_version"]), title=data["title"], owner=data["owner"],
        form_filename=form["filename"], form_hints=_hints(form, f"{where} [form]"),
        stop_texts=tuple(form.get("stop_texts", ())),
        sections=tuple(FormSection(s["heading"], tuple(s["keys"])) for s in form.get("sections", ())),
        fields=tuple(fields), budget=budget,
    )


DEFAULT = "application-v1"  # the map the worker reads with


@cache
def load_fieldmap(name: str = DEFAULT) -> FieldMap:
    """Load ``config/fields/<name>.toml`` (shipped inside the package)."""
    where = f"config/fields/{name}.toml"
    res = resources.files("config").joinpath("fields", f"{name}.toml")
    if not res.is_file():
        raise FieldMapError(f"{where}: no such field map")
    try:
        return _parse(name, tomllib.loads(res.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise FieldMapError(f"{where}: not valid TOML: {exc}") from None
    except (KeyError, TypeError) as exc:
        raise FieldMapError(f"{where}: missing or malformed key {exc}") from None


