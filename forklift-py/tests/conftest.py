"""Shared fixtures: paths into the repository and the read-only shared references."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"


@pytest.fixture
def seed_manifests() -> Path:
    """The guide's YAML examples (`../shared/fixtures/seed-manifests`)."""
    path = SHARED / "fixtures" / "seed-manifests"
    assert path.is_dir(), f"missing shared references at {SHARED}"
    return path
