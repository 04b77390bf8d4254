"""Problems as applicants and staff read them: code, field, Danish message, severity.

The texts live in ``config/problems.da.toml`` (data, not code). Readers and checks
hand over ``{"code", "field", "params"}``; :func:`render` turns that into the
contract shape ``{"code", "field", "message", "severity"}``.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any

ERROR = "error"
WARNING = "warning"

_FALLBACK = "Der er et problem med {label}, som sekretariatet ser på (kode {code})."


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Any]:
    """The parsed ``config/problems.da.toml``: ``{"labels": {...}, "problems": {...}}``."""
    text = resources.files("config").joinpath("problems.da.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@lru_cache(maxsize=1)
def _labels() -> dict[str, str]:
    """Printed labels of the form fields and budget lines (field map), then the catalogue's."""
    from parsers.fieldmap import load_fieldmap

    fm = load_fieldmap()
    labels = {f.key: f.label for f in fm.fields}
    labels.update({line.key: line.label for line in (*fm.budget.lines, fm.budget.total)})
    labels.update(catalogue().get("labels", {}))
    return labels


def label(field: str | None) -> str:
    """The Danish name of a form field or budget line (``salary_2026.rate`` → ``Løn 2026``)."""
    if not field:
        return "ansøgningen"
    key = field.split(".", 1)[0]
    return _labels().get(field) or _labels().get(key) or field


class _Params(dict):
    """Missing placeholders print as an empty string rather than raising."""

    def __missing__(self, key: str) -> str:
        return ""


def render(code: str, field: str | None = None, params: dict[str, Any] | None = None,
           severity: str | None = None) -> dict[str, Any]:
    """Build a problem in the contract shape; unknown codes get a generic message."""
    entry = catalogue()["problems"].get(code, {})
    values = _Params({k: "" if v is None else v for k, v in (params or {}).items()})
    values.setdefault("label", label(field))
    values["code"] = code
    text = entry.get("text", _FALLBACK)
    try:
        message = text.format_map(values)
    except (ValueError, IndexError, AttributeError):  # a stray brace in a param-less text
        message = text
    return {"code": code, "field": field, "message": message,
            "severity": severity or entry.get("severity", ERROR)}


def render_all(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Render reader problems (``{"code", "field", "params"}``) into the contract shape."""
    return [render(p["code"], p.get("field"), p.get("params"), p.get("severity")) for p in raw]


