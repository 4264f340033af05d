"""Disk copies against real images made by qemu-img and real NBD servers (nbdkit)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

import forklift

MIB = 1024 * 1024


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is missing: scripts/setup.sh installs it")
        pytest.skip(f"{tool} is not installed")
    return path


def sparse_raw(path: Path, size: int, chunks: List[int]) -> bytes:
    """A raw image of `size` bytes holding a 64 KiB pattern at each offset in `chunks`."""
    with open(path, "wb") as file:
        file.truncate(size)
        for offset in chunks:
            file.seek(offset)
            file.write(bytes((offset // 65536 + i) % 251 for i in range(65536)))
    return path.read_bytes()


def test_copies_raw_to_raw_skipping_holes(tmp_path: Path) -> None:
    expected = sparse_raw(tmp_path / "src.raw", 16 * MIB, [0, 5 * MIB, 15 * MIB])
    seen: List[forklift.CopyProgress] = []
    summary = forklift.copy(tmp_path / "src.raw", tmp_path / "dst.raw", progress=seen.append)
    assert (tmp_path / "dst.raw").read_bytes() == expected
    assert summary.bytes_total == 16 * MIB
    assert summary.bytes_written < 16 * MIB  # holes were not written as data
    assert seen and seen[-1].bytes_done == seen[-1].bytes_total == 16 * MIB
    assert seen[-1].fraction == 1.0
    # The data rate counts what was read, not the holes skipped over.
    assert seen[-1].bytes_read == summary.bytes_read < 16 * MIB
    assert seen[-1].read_bytes_per_second < seen[-1].bytes_per_second


def test_copies_qcow2_made_by_qemu_img_into_a_new_qcow2(tmp_path: Path) -> None:
    qemu_img = need("qemu-img")
    expected = sparse_raw(tmp_path / "src.raw", 8 * MIB, [MIB, 7 * MIB])
    subprocess.run([qemu_img, "convert", "-O", "qcow2", tmp_path / "src.raw", tmp_path / "src.qcow2"], check=True)
    forklift.copy(str(tmp_path / "src.qcow2"), str(tmp_path / "dst.qcow2"))
    # -U: the qemu-nbd child that wrote the image may still be exiting and hold its lock
    # (forklift-transfer's QemuNbd only starts the kill when dropped); the data is flushed.
    subprocess.run([qemu_img, "convert", "-U", "-O", "raw", tmp_path / "dst.qcow2", tmp_path / "back.raw"], check=True)
    assert (tmp_path / "back.raw").read_bytes() == expected


def test_copies_from_an_nbd_export(tmp_path: Path) -> None:
    nbdkit = need("nbdkit")
    socket = tmp_path / "nbd.sock"
    server = subprocess.Popen(
        [nbdkit, "--foreground", "--exit-with-parent", "-U", str(socket), "pattern", "size=4M"],
    )
    try:
        for _ in range(100):
            if socket.exists():
                break
            subprocess.run(["sleep", "0.05"], check=True)
        summary = forklift.copy(f"nbd+unix:///?socket={socket}", tmp_path / "dst.raw")
    finally:
        server.terminate()
        server.wait()
    data = (tmp_path / "dst.raw").read_bytes()
    assert summary.bytes_total == len(data) == 4 * MIB
    # nbdkit's pattern plugin: each 8-byte word holds its own offset, big-endian.
    assert data[8 * 1000 : 8 * 1001] == (8 * 1000).to_bytes(8, "big")


@pytest.mark.parametrize("lanes", [True, False])
def test_copies_between_two_nbd_exports_with_and_without_lanes(tmp_path: Path, lanes: bool) -> None:
    nbdkit = need("nbdkit")
    servers = []
    try:
        for name, plugin in [("src", "pattern"), ("dst", "memory")]:
            socket = tmp_path / f"{name}.sock"
            servers.append(
                subprocess.Popen(
                    [nbdkit, "--foreground", "--exit-with-parent", "-U", str(socket), plugin, "size=8M"],
                )
            )
            for _ in range(100):
                if socket.exists():
                    break
                subprocess.run(["sleep", "0.05"], check=True)
        source = f"nbd+unix:///?socket={tmp_path / 'src.sock'}"
        target = f"nbd+unix:///?socket={tmp_path / 'dst.sock'}"
        summary = forklift.copy(source, target, lanes=lanes, sparse_granularity=0)
        assert summary.bytes_written == 8 * MIB
        forklift.copy(target, tmp_path / "back.raw")
    finally:
        for server in servers:
            server.terminate()
            server.wait()
    data = (tmp_path / "back.raw").read_bytes()
    assert data[8 * 5000 : 8 * 5001] == (8 * 5000).to_bytes(8, "big")
    assert data[-8:] == (8 * MIB - 8).to_bytes(8, "big")


def test_progress_callback_errors_cancel_the_copy_and_propagate(tmp_path: Path) -> None:
    sparse_raw(tmp_path / "src.raw", 4 * MIB, [0])

    def explode(progress: forklift.CopyProgress) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        forklift.copy(tmp_path / "src.raw", tmp_path / "dst.raw", progress=explode, progress_interval=0)


def test_a_cancelled_token_stops_the_copy(tmp_path: Path) -> None:
    sparse_raw(tmp_path / "src.raw", 4 * MIB, [0])
    token = forklift.CancelToken()
    token.cancel()
    with pytest.raises(forklift.CancelledError):
        forklift.copy(tmp_path / "src.raw", tmp_path / "dst.raw", cancel=token)


def test_errors_are_typed(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        forklift.copy(tmp_path / "missing.raw", tmp_path / "dst.raw")
    with pytest.raises(ValueError, match="requests"):
        forklift.copy(tmp_path / "missing.raw", tmp_path / "dst.raw", requests=0)
    sparse_raw(tmp_path / "big.raw", 2 * MIB, [])
    sparse_raw(tmp_path / "small.raw", MIB, [])
    with pytest.raises(ValueError, match="smaller"):
        forklift.copy(tmp_path / "big.raw", tmp_path / "small.raw")


def test_io_timeout_is_checked_and_passed_on(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="io_timeout"):
        forklift.copy(tmp_path / "missing.raw", tmp_path / "dst.raw", io_timeout=-1.0)
    expected = sparse_raw(tmp_path / "src.raw", 2 * MIB, [MIB])
    forklift.copy(tmp_path / "src.raw", tmp_path / "dst.raw", io_timeout=0.5)
    assert (tmp_path / "dst.raw").read_bytes() == expected


def test_a_checkpoint_of_a_deleted_destination_is_discarded(tmp_path: Path) -> None:
    expected = sparse_raw(tmp_path / "src.raw", 2 * MIB, [0, MIB])
    checkpoint = tmp_path / "copy.ckpt"
    first = forklift.copy(tmp_path / "src.raw", tmp_path / "dst.raw", checkpoint=checkpoint)
    assert first.checkpoint_discarded is None
    (tmp_path / "dst.raw").unlink()
    again = forklift.copy(tmp_path / "src.raw", tmp_path / "dst.raw", checkpoint=checkpoint)
    assert again.checkpoint_discarded is not None and "copy.ckpt" in again.checkpoint_discarded
    assert (tmp_path / "dst.raw").read_bytes() == expected


def test_async_copy(tmp_path: Path) -> None:
    expected = sparse_raw(tmp_path / "src.raw", 4 * MIB, [MIB])

    async def main() -> forklift.CopySummary:
        return await forklift.async_copy(tmp_path / "src.raw", tmp_path / "dst.raw")

    summary = asyncio.run(main())
    assert summary.bytes_total == 4 * MIB
    assert (tmp_path / "dst.raw").read_bytes() == expected


def test_the_event_loop_keeps_running_during_async_copy(tmp_path: Path) -> None:
    sparse_raw(tmp_path / "src.raw", 64 * MIB, list(range(0, 64 * MIB, 2 * MIB)))

    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        beat = asyncio.ensure_future(ticker())
        await forklift.async_copy(tmp_path / "src.raw", tmp_path / "dst.raw")
        beat.cancel()
        return ticks

    assert asyncio.run(main()) > 5


def test_unknown_options_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="request_sise"):
        forklift.copy(tmp_path / "a.raw", tmp_path / "b.raw", request_sise=4096)  # type: ignore[call-arg]
    assert "checksums" in forklift.CopyOptions.__optional_keys__
