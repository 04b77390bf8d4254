"""A table of a TOML settings file, read with the file and key path in every error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from intake.errors import ConfigError
from intake.secrets import SecretRef, in_credentials_dir


class Table:
    """A TOML table with the file and key path for error messages."""

    def __init__(self, data: dict[str, Any], where: str, file: str):
        self.data, self.where, self.file = data, where, file

    def _err(self, key: str, msg: str) -> ConfigError:
        """A ConfigError naming the file and the key."""
        path = f"{self.where}.{key}" if self.where else key
        return ConfigError(f"{self.file}: {path}: {msg}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...,
            choices: tuple[str, ...] | None = None) -> Any:
        """The value of ``key`` checked against ``kind`` (and ``choices``); ``default`` if absent."""
        if key not in self.data:
            if default is ...:
                raise self._err(key, "is required")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self._err(key, f"expected {names}, got {value!r}")
        if choices is not None and value not in choices:
            raise self._err(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def table(self, key: str) -> Table:
        """The sub-table ``key`` (empty if absent)."""
        value = self.get(key, dict, {})
        return Table(value, f"{self.where}.{key}" if self.where else key, self.file)

    def path(self, key: str, base: Path, default: str | None = None) -> Path:
        """A path; a relative one resolves against ``base``. Required unless ``default`` is given."""
        p = Path(self.get(key, str, ... if default is None else default)).expanduser()
        return p if p.is_absolute() else base / p

    def optional_path(self, key: str, base: Path) -> Path | None:
        """A path as :meth:`path`, or None if absent."""
        return self.path(key, base) if key in self.data else None

    def secret(self, base: Path, key: str = "password") -> SecretRef:
        """``<key>_env`` or ``<key>_file`` (one, not both); a file may be in ``${CREDENTIALS_DIRECTORY}``."""
        env, file_key = self.get(f"{key}_env", str, None), f"{key}_file"
        file = None
        if file_key in self.data:
            value = self.get(file_key, str)
            file = Path(value) if in_credentials_dir(value) else self.path(file_key, base)
        if env and file:
            raise self._err(file_key, f"set {key}_env or {key}_file, not both")
        return SecretRef(env=env, file=file, key=key)

    def positive(self, key: str, default: float) -> float:
        """A number above zero."""
        value: float = self.get(key, float, default)
        if value <= 0:
            raise self._err(key, f"must be above 0, got {value:g}")
        return value

    def check_unknown(self, known: set[str]) -> None:
        """ConfigError naming the first key that is not in ``known``."""
        for key in self.data:
            if key not in known:
                raise self._err(key, "unknown setting")
