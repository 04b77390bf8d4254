"""The JSON export's writer writes exactly what ``json.dump(..., ensure_ascii=False, indent=2)`` writes."""

from __future__ import annotations

import enum
import io
import json

import pytest

from intake.committee import jsontext


class Level(enum.IntEnum):
    HIGH = 3


VALUES = [
    [], {}, "", None, True, False, 0, -7, 10**30, 1.5, -0.0, 1e16, 1e-7, 0.1 + 0.2,
    float("nan"), float("inf"), float("-inf"), Level.HIGH,
    "æøå Å \u2028 \u00a0 \x00\x1f\x7f \t\n\r \"quoted\" back\\slash 😀 \ud800",
    ["a", [], {}, [[]], [{}], {"x": []}],
    {"fields": {"org_name": "=HYPERLINK(\"x\")", "amount": "1.00", "n": 3, "f": 2.5, "b": None, "t": True},
     "lines": [{"line": "Løn", "hours": "37", "rate": None}], "empty": [], "nested": {"a": {"b": {"c": [1, [2]]}}}},
    {7: "int key", 2.5: "float key", True: "bool key", False: "false key", None: "none key", "s": ("tuple", "as", "list")},
]


@pytest.mark.parametrize("value", VALUES)
def test_each_value_is_written_as_json_dump_writes_it(value):
    want = io.StringIO()
    json.dump(value, want, ensure_ascii=False, indent=2)
    got = io.StringIO()
    jsontext.dump(value, got)
    assert got.getvalue() == want.getvalue()


def test_a_value_json_cannot_write_is_refused_as_json_refuses_it():
    for bad in ({"a": object()}, [b"bytes"], {("tuple", "key"): 1}):
        with pytest.raises(TypeError):
            json.dumps(bad, ensure_ascii=False, indent=2)
        with pytest.raises(TypeError):
            jsontext.dumps(bad)
