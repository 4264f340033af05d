#!/usr/bin/env python3
"""Runs the workspace's test binaries several at a time, each exactly as `cargo test` would.

`cargo test` runs its test binaries one after another. Most of forklift's integration suites
spend their time waiting on real peers (qemu-nbd, the vCenter simulator, OpenStack's services,
virt-v2v's appliance), so on a 2-core machine two binaries at a time finish the suite sooner.

    record  DIR BINARY ARGS...   (cargo's target runner) write how cargo would run BINARY, with
                                 its environment and working folder, into DIR; run nothing
    run     DIR [--jobs N]       run every recorded binary, N at a time (default 2), the ones
                                 that took longest last time first; print each one's output
                                 whole when it ends, then a table of wall and CPU seconds;
                                 exit 1 if any failed

scripts/test.sh uses it as:

    CARGO_TARGET_<HOST>_RUNNER="python3 scripts/test-queue.py record DIR" cargo test ...
    python3 scripts/test-queue.py run DIR

Wall times of the last run are kept in DIR/../test-times.json to order the next one; a new
machine starts from scripts/test-times.json (the suites that took over 20 s, by name).
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def record(queue: Path, argv: list[str]) -> int:
    queue.mkdir(mode=0o700, parents=True, exist_ok=True)
    entry = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
    # Cargo runs its binaries one at a time, so a counter file needs no lock.
    number = len(list(queue.glob("*.json")))
    # The whole environment is kept (the opt-in real-server tests take passwords from it):
    # readable by this user only.
    fd = os.open(queue / f"{number:04}.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(entry))
    return 0


def label(entry: dict[str, Any]) -> str:
    binary = Path(entry["argv"][0]).name
    # cargo names test binaries NAME-HASH; the hash stays while the target's name, kind and
    # profile do, so it tells apart two targets of one package with the same name.
    name, _, digest = binary.rpartition("-")
    package = entry["env"].get("CARGO_PKG_NAME", Path(entry["cwd"]).name)
    return f"{package}/{name or binary} ({digest[:6]})"


def run_one(entry: dict[str, Any]) -> tuple[int, float, str]:
    """Runs one recorded binary: its exit code, CPU seconds and whole output."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            entry["argv"],
            cwd=entry["cwd"],
            env=entry["env"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        # wait4: this binary's own CPU time, apart from the ones running beside it.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return proc.returncode, usage.ru_utime + usage.ru_stime, text


def run(queue: Path, jobs: int) -> int:
    entries = [json.loads(p.read_text()) for p in sorted(queue.glob("*.json"))]
    if not entries:
        # cargo recorded nothing (a runner that never ran): no test ran, so none passed.
        print(f"==== FAILED: no test binary was recorded in {queue}", flush=True)
        return 1
    times_file = queue.parent / "test-times.json"
    last: dict[str, float] = {}
    # This machine's last run, else the times committed beside this script (a new machine).
    for source in (times_file, Path(__file__).with_name("test-times.json")):
        try:
            last = json.loads(source.read_text())
            break
        except (OSError, ValueError):
            continue
    by_name = {k.split(" (")[0]: v for k, v in last.items()}

    def expected(entry: dict[str, Any]) -> float:
        name = label(entry)
        return float(last.get(name, by_name.get(name.split(" (")[0], 0.0)))

    # Longest first, so the long suites overlap the many short ones instead of ending alone.
    entries.sort(key=lambda e: -expected(e))
    lock = threading.Lock()
    results: dict[str, tuple[int, float, float]] = {}
    pending = list(entries)
    started_all = time.monotonic()

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                entry = pending.pop(0)
            name = label(entry)
            started = time.monotonic()
            try:
                code, cpu, text = run_one(entry)
            except Exception as error:  # noqa: BLE001 - any failure to run is a failure
                # A binary that cannot even start (gone, not executable, a bad folder) fails
                # the run; an exception would otherwise end this worker and leave the
                # binary out of the results, counted as neither passed nor failed.
                code, cpu, text = 127, 0.0, f"cannot run {entry['argv'][0]}: {error!r}\n"
            wall = time.monotonic() - started
            with lock:
                results[name] = (code, wall, cpu)
                done = len(results)
                outcome = "ok" if code == 0 else f"FAILED (exit {code})"
                print(f"\n==== [{done}/{len(entries)}] {name}: {outcome} in {wall:.1f} s", flush=True)
                sys.stdout.write(text)
                sys.stdout.flush()

    threads = [threading.Thread(target=worker) for _ in range(max(1, jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.monotonic() - started_all

    print(f"\n==== test binaries: {len(entries)} in {total:.0f} s, {jobs} at a time")
    for name, (code, wall, cpu) in sorted(results.items(), key=lambda r: -r[1][1]):
        mark = "" if code == 0 else "  FAILED"
        print(f"{wall:8.1f} s wall {cpu:8.1f} s cpu  {name}{mark}")
    try:
        times_file.write_text(json.dumps({n: r[1] for n, r in results.items()}, indent=1))
    except OSError:
        pass
    failed = [n for n, r in results.items() if r[0] != 0]
    failed += [label(e) for e in entries if label(e) not in results]
    if failed:
        print(f"==== FAILED: {', '.join(sorted(failed))}")
        return 1
    return 0


def main() -> int:
    if len(sys.argv) >= 4 and sys.argv[1] == "record":
        return record(Path(sys.argv[2]), sys.argv[3:])
    if len(sys.argv) >= 3 and sys.argv[1] == "run":
        jobs = 2
        if len(sys.argv) == 5 and sys.argv[3] == "--jobs":
            jobs = int(sys.argv[4])
        return run(Path(sys.argv[2]), jobs)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
