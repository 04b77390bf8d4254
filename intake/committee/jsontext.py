"""``json.dump(value, out, ensure_ascii=False, indent=2)``, byte for byte, several times faster.

With ``indent`` the standard library never uses its C encoder: it walks the
value with Python generators and writes every piece to the stream (10,000
cases of the JSON export: ~3 s of ~4 s, bench/RESULTS.md). This walks the value
with plain loops, encodes strings with the same C function the standard library
uses, and writes once. It checks the types in the order ``json.encoder`` does, so
every value comes out as ``json.dump`` writes it (tests/test_jsontext.py compares
the two); a value ``json`` cannot encode raises ``TypeError`` as it does.
"""

from __future__ import annotations

from json.encoder import encode_basestring  # the C version when there is one, as json.dump uses
from typing import IO, Any

_INDENT = "  "
_INF = float("inf")


def _float(o: float) -> str:
    # json.encoder's floatstr with allow_nan=True
    if o != o:
        return "NaN"
    if o == _INF:
        return "Infinity"
    if o == -_INF:
        return "-Infinity"
    return float.__repr__(o)


def _scalar(o: Any) -> str | None:
    """The text of a str, None, bool, int or float (as json.encoder checks them); None for a container."""
    if isinstance(o, str):
        return encode_basestring(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, int):
        return int.__repr__(o)
    if isinstance(o, float):
        return _float(o)
    return None


def _key(key: Any) -> str:
    # json.encoder's key conversion with skipkeys=False
    if isinstance(key, str):
        pass
    elif isinstance(key, float):
        key = _float(key)
    elif key is True:
        key = "true"
    elif key is False:
        key = "false"
    elif key is None:
        key = "null"
    elif isinstance(key, int):
        key = int.__repr__(key)
    else:
        raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")
    return encode_basestring(key)


def _walk(o: Any, level: int, parts: list[str]) -> None:
    text = _scalar(o)
    if text is not None:
        parts.append(text)
        return
    if isinstance(o, (list, tuple)):
        if not o:
            parts.append("[]")
            return
        inner = "\n" + _INDENT * (level + 1)
        sep = "[" + inner
        for item in o:
            # a plain str first: most values are (the same text _scalar gives)
            text = encode_basestring(item) if type(item) is str else _scalar(item)
            if text is not None:
                parts.append(sep + text)
            else:
                parts.append(sep)
                _walk(item, level + 1, parts)
            sep = "," + inner
        parts.append("\n" + _INDENT * level + "]")
        return
    if isinstance(o, dict):
        if not o:
            parts.append("{}")
            return
        inner = "\n" + _INDENT * (level + 1)
        sep = "{" + inner
        for key, value in o.items():
            key = encode_basestring(key) if type(key) is str else _key(key)
            text = encode_basestring(value) if type(value) is str else _scalar(value)
            if text is not None:
                parts.append(f"{sep}{key}: {text}")
            else:
                parts.append(f"{sep}{key}: ")
                _walk(value, level + 1, parts)
            sep = "," + inner
        parts.append("\n" + _INDENT * level + "}")
        return
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, indent=2)``."""
    parts: list[str] = []
    _walk(value, 0, parts)
    return "".join(parts)


def dump(value: Any, out: IO[str]) -> None:
    """``json.dump(value, out, ensure_ascii=False, indent=2)``."""
    out.write(dumps(value))
