"""The settings files we ship are valid: an operator can start from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.pool import load_pool
from intake.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", ["config/settings.example.toml", "deploy/settings.toml"])
def test_shipped_settings_load(path):
    settings = load_settings(ROOT / path)
    assert settings.sources
    assert load_pool(settings.pool).case_prefix == "PSV"


def test_pool_file_numbers_match_the_announcement():
    pool = load_pool("sociale-viceværter-2025")
    assert str(pool.ceiling_per_fte) == "1012497.75"
    assert pool.application_deadline.isoformat() == "2025-08-01"
    end = pool.deadline_end("application_deadline")
    assert end.isoformat() == "2025-08-02T00:00:00+02:00"


def test_web_settings_are_typed_and_unknown_keys_are_errors(tmp_path):
    from intake.errors import ConfigError

    def load(web: str):
        path = tmp_path / "settings.toml"
        path.write_text(f"[web]\n{web}\n", encoding="utf-8")
        return load_settings(path).web

    web = load('port = 9000\nbase_url = "https://pulje.bl.dk/"')
    assert (web.listen, web.port, web.base_url, web.secure_cookies) == ("127.0.0.1", 9000, "https://pulje.bl.dk", True)
    default = load("")
    assert (default.base_url, default.secure_cookies, default.proxy_user_header) == (
        "http://127.0.0.1:8080", False, None)
    for bad, said in (('prot = 1', "web.prot: unknown setting"), ('port = "8080"', "web.port: expected int"),
                      ('proxy_user_header = "X-User"', "needs trusted_proxies"),
                      ('trusted_proxies = ["proxy.bl.dk"]', "expected IP addresses"),
                      ('base_url = "pulje.bl.dk"', "must start with https://")):
        with pytest.raises(ConfigError, match=said):
            load(bad)
