"""Measures what the Python layer costs, and compares a copy from Python with real tools.

    python forklift-py/bench/overhead.py [--size-mib 512]

Prints one line per figure: per-call cost of small functions, the task round trip, validation
of the example plan, and copying a half-allocated raw image with ``forklift.copy`` against
``nbdcopy`` and ``qemu-img convert`` on the same files (ratios > 1 mean forklift is faster),
plus how much a pure-Python thread got done while the copy ran (the GIL is released).
Build the extension with ``--release`` (``pip install ./forklift-py``) for meaningful numbers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, List

import forklift
from forklift import _native

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "python"


def per_call(label: str, fn: Callable[[], object], seconds: float = 0.5) -> None:
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        fn()
        calls += 1
    elapsed = time.perf_counter() - started
    print(f"{label}: {elapsed / calls * 1e6:.1f} us/call ({calls} calls)")


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times: List[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def make_image(path: Path, size: int) -> None:
    chunk = os.urandom(1 << 20)
    with open(path, "wb") as file:
        file.truncate(size)
        for offset in range(0, size, 2 << 20):  # every other MiB holds data
            file.seek(offset)
            file.write(chunk)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=512)
    args = parser.parse_args()

    per_call("adjust_name", lambda: forklift.adjust_name("Database_Server.Prod-01"))
    per_call("render_template pvc", lambda: forklift.render_template("pvc", "{{trunc 15 .PlanName}}-disk-{{.DiskIndex}}", {"PlanName": "nightly", "DiskIndex": 3}))
    per_call("task round trip (spawn, wait, result)", lambda: _native._sleep(0).result())
    manifests = forklift.load(EXAMPLE / "plan.yaml")
    inventory = (EXAMPLE / "inventory.json").read_text()
    per_call("validate example plan", lambda: forklift.validate(manifests, inventory))
    per_call("render example plan", lambda: forklift.render(manifests, inventory))

    size = args.size_mib << 20
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "src.raw", Path(tmp) / "dst.raw"
        make_image(src, size)

        def fresh() -> None:
            if dst.exists():
                dst.unlink()

        def ours() -> None:
            fresh()
            forklift.copy(src, dst)

        ticks = 0
        stop = threading.Event()

        def count() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1

        counter = threading.Thread(target=count)
        counter.start()
        ours_s = best_of(3, ours)
        stop.set()
        counter.join()
        print(f"forklift.copy {args.size_mib} MiB (half allocated): {ours_s:.3f} s, {args.size_mib / ours_s:.0f} MiB/s")
        print(f"  a pure-Python thread counted {ticks} times meanwhile (GIL released)")
        for tool, command in (
            ("nbdcopy", ["nbdcopy", str(src), str(dst)]),
            ("qemu-img convert", ["qemu-img", "convert", "-f", "raw", "-O", "raw", str(src), str(dst)]),
        ):
            if shutil.which(command[0]) is None:
                print(f"{tool}: not installed")
                continue

            def theirs(command: List[str] = command) -> None:
                fresh()
                if command[0] == "nbdcopy":  # nbdcopy writes into an existing destination
                    with open(dst, "wb") as file:
                        file.truncate(size)
                subprocess.run(command, check=True)

            theirs_s = best_of(3, theirs)
            print(f"{tool}: {theirs_s:.3f} s; ratio {tool}/forklift.copy = {theirs_s / ours_s:.2f}")


if __name__ == "__main__":
    main()
