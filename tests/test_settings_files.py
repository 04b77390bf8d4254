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
