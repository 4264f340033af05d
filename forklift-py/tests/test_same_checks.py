"""Python refuses what the CLI refuses, with the same checks (issue #21, point 6): the copy
options and URI schemes are checked by forklift-transfer, a plan name by the manifests layer,
and each failure raises the exception the docs promise."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple, Union

import pytest

import forklift
from test_inventory import provider
from test_migrate import manifests


def test_copy_options_are_refused_not_adjusted(tmp_path: Path) -> None:
    (tmp_path / "src.raw").write_bytes(b"\1" * 65536)
    # As `forklift copy --request-size 1000`: refused, naming the option, before any I/O.
    with pytest.raises(ValueError, match=r"request_size \(--request-size\) 1000 is not a power of two"):
        forklift.copy(tmp_path / "src.raw", tmp_path / "dst.raw", request_size=1000)
    with pytest.raises(ValueError, match=r"sparse_granularity \(--sparse\) 1000"):
        forklift.copy(tmp_path / "src.raw", tmp_path / "dst.raw", sparse_granularity=1000)
    assert not (tmp_path / "dst.raw").exists()
    forklift.copy(tmp_path / "src.raw", tmp_path / "dst.raw", request_size=4096)
    assert (tmp_path / "dst.raw").read_bytes() == b"\1" * 65536


def test_other_uri_schemes_are_unsupported_not_missing_files(tmp_path: Path) -> None:
    (tmp_path / "x.raw").write_bytes(b"\0" * 4096)
    pairs: List[Tuple[Union[str, Path], Union[str, Path]]] = [
        (tmp_path / "x.raw", "http://x/y"),
        ("https://x/y", tmp_path / "out.raw"),
    ]
    for source, destination in pairs:
        with pytest.raises(ValueError, match="Unsupported URI scheme 'https?'") as info:
            forklift.copy(source, destination)
        assert not isinstance(info.value, FileNotFoundError)


def test_a_wrong_plan_name_is_a_manifest_error_everywhere(tmp_path: Path) -> None:
    objects = manifests(tmp_path)
    inventory = forklift.inventory("mtv/ova", manifests=objects)
    for call in (
        lambda: forklift.validate(objects, inventory, plan="nope"),
        lambda: forklift.render(objects, inventory, plan="nope"),
        lambda: forklift.migrate(objects, tmp_path / "out", plan="nope"),
    ):
        with pytest.raises(forklift.ManifestError, match="No Plan named 'nope'"):
            call()


def test_a_missing_catalog_raises_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-catalog"
    with pytest.raises(FileNotFoundError) as info:
        forklift.inventory(provider(missing))
    assert str(info.value.filename) == str(missing)
    assert not isinstance(info.value, forklift.ProviderError)
