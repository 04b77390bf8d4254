"""The field map of the official documents, loaded from ``config/fields/*.toml``.

Everything the template writer and the readers know about the application form
and the budget template comes from this data: field keys, PDF field names,
printed labels, types, the budget's defined names and column-A labels.

Stable API::

    load_fieldmap(name: str = "application-v1") -> FieldMap
    FieldMap.form_version: str                 # "1.0"
    FieldMap.fields: list[FormField]           # in form order
    FieldMap.field(key) -> FormField
    FieldMap.budget: BudgetMap                 # .lines: list[BudgetLine], .total: BudgetLine
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

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


@dataclass(frozen=True)
class FieldMap:
    """The application form and budget template of one version."""

    name: str
    form_version: str
    title: str
    owner: str
    form_filename: str
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


def _parse(name: str, data: dict) -> FieldMap:
    form = data["form"]
    fields = []
    for f in form["fields"]:
        if f["type"] not in FIELD_TYPES:
            raise ValueError(f"field map {name}: unknown type {f['type']!r} for {f['key']}")
        fields.append(FormField(
            key=f["key"], pdf_field=f["pdf_field"], label=f["label"], type=f["type"],
            required=bool(f.get("required", False)), multiline=bool(f.get("multiline", False)),
            options=tuple(ChoiceOption(**o) for o in f.get("options", ())),
        ))
    b = data["budget"]

    def line(d: dict) -> BudgetLine:
        return BudgetLine(key=d["key"], label=d["label"], names=dict(d["names"]),
                          template=dict(d.get("template", {})))

    budget = BudgetMap(
        filename=b["filename"], sheet=b["sheet"], label_column=b["label_column"],
        header_row=int(b["header_row"]), columns=dict(b["columns"]), headers=dict(b["headers"]),
        lines=tuple(line(x) for x in b["lines"]), total=line(b["total"]),
    )
    return FieldMap(
        name=name, form_version=str(data["form_version"]), title=data["title"], owner=data["owner"],
        form_filename=form["filename"], stop_texts=tuple(form.get("stop_texts", ())),
        sections=tuple(FormSection(s["heading"], tuple(s["keys"])) for s in form.get("sections", ())),
        fields=tuple(fields), budget=budget,
    )


@cache
def load_fieldmap(name: str = "application-v1") -> FieldMap:
    """Load ``config/fields/<name>.toml`` (shipped inside the package)."""
    text = resources.files("config").joinpath("fields", f"{name}.toml").read_text(encoding="utf-8")
    return _parse(name, tomllib.loads(text))


