"""Typed results: reports, inventories, render results and events are dataclasses that mypy
checks (a misspelt attribute is an error under ``mypy --strict``), ``to_dict()`` everywhere,
structured condition items, futures like ``concurrent.futures``, options listed by ``help()``."""

from __future__ import annotations

import inspect
import os
import pydoc
import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, Dict, List

import pytest

import forklift
from forklift import _native
from conftest import REPO

PLAN_REPORT: Dict[str, Any] = {
    "plan": "mtv/wave-1",
    "vms": [
        {
            "id": "vm-1",
            "sourceName": "web",
            "targetName": "web",
            "namespace": "apps",
            "outcome": "succeeded",
            "error": None,
            "phases": [{"phase": "DiskTransfer"}, {"phase": "CreateVM", "skipped": "exists"}],
            "disks": [
                {
                    "index": 0,
                    "claim": "web-disk-0",
                    "path": "/out/apps/disks/web-disk-0.img",
                    "summary": {"bytesTotal": 4096, "bytesRead": 4096, "bytesWritten": 4096, "bytesZeroed": 0,
                                "bytesSkipped": 0, "bytesResumed": 0, "seconds": 1, "mibPerS": 0.5,
                                "requestSize": 1048576, "requests": 16},
                    "verified": True,
                }
            ],
        }
    ],
    "conditions": [{"type": "VMNotFound", "status": "True", "category": "Critical",
                    "items": ["id:vm-9 name:'gone' ", "openshift-mtv/net"]}],
    "bytesWritten": 4096,
    "bytesTotal": 4096,
    "seconds": 1.5,
    "statusPath": "/out/.forklift/mtv/wave-1.status.yaml",
}


def test_reports_are_typed_dataclasses_that_round_trip() -> None:
    report = forklift.PlanReport.from_dict(PLAN_REPORT)
    [vm] = report.vms
    assert (vm.source_name, vm.outcome, report.succeeded, report.count("succeeded")) == ("web", "succeeded", True, 1)
    assert [(p.phase, p.skipped) for p in vm.phases] == [("DiskTransfer", None), ("CreateVM", "exists")]
    summary = vm.disks[0].summary
    assert isinstance(summary, forklift.DiskCopySummary)
    assert (summary.bytes_written, summary.seconds, summary.checkpoint_discarded) == (4096, 1.0, None)
    assert isinstance(summary.seconds, float)
    [condition] = report.conditions
    assert isinstance(condition, forklift.Condition) and condition.is_blocker
    assert report.to_dict() == PLAN_REPORT
    with pytest.raises(AttributeError):
        getattr(report, "bytes_writen")


def test_condition_items_name_their_vm() -> None:
    [condition] = forklift.PlanReport.from_dict(PLAN_REPORT).conditions
    vm, network = condition.items
    assert (vm.id, vm.name, vm.type, vm.text) == ("vm-9", "gone", None, "id:vm-9 name:'gone' ")
    assert (network.id, network.name, str(network)) == (None, None, "openshift-mtv/net")
    # An item equals (and hashes as) the text MTV writes.
    assert vm == "id:vm-9 name:'gone' " and {vm, "id:vm-9 name:'gone' "} == {vm}
    assert vm.to_dict() == {"text": "id:vm-9 name:'gone' ", "id": "vm-9", "name": "gone", "type": None}
    typed = forklift.Condition.from_dict({"type": "X", "status": "True", "category": "Warn",
                                          "items": ["(pod) id:n-1 name:'it''s' "]})
    assert (typed.items[0].type, typed.items[0].id, typed.items[0].name) == ("pod", "n-1", "it''s")


def test_events_are_typed_by_kind() -> None:
    event = forklift.MigrationEvent.from_dict(
        {"event": "diskProgress", "vm": "vm-1", "disk": "web-disk-0", "bytesDone": 10, "bytesTotal": 20,
         "bytesPerSecond": 5}
    )
    assert (event.kind, event.bytes_done, event.bytes_per_second, event.summary) == ("diskProgress", 10, 5.0, None)
    assert "diskProgress" in repr(event) and event.to_dict()["event"] == "diskProgress"
    copied = forklift.MigrationEvent.from_dict(
        {"event": "diskCopied", "vm": "vm-1", "disk": "d", "path": "p", "verified": True,
         "summary": PLAN_REPORT["vms"][0]["disks"][0]["summary"]}
    )
    assert copied.summary is not None and copied.summary.bytes_total == 4096


def test_native_results_have_to_dict(tmp_path: Path) -> None:
    source = tmp_path / "src.raw"
    source.write_bytes(b"\x01" * 65536)
    summary = forklift.copy(source, tmp_path / "dst.raw")
    assert summary.to_dict()["bytesWritten"] == summary.bytes_written == 65536
    _, diagnostics = _native.parse_manifests("x.yaml", "kind: Plan\nspec: [\n", False)
    assert diagnostics[0].to_dict()["severity"] == "error"


def test_tasks_behave_like_concurrent_futures() -> None:
    task = _native._sleep(30)
    assert task.running() and not task.done()
    seen: List[forklift.Task[float]] = []
    called = threading.Event()

    def done(finished: forklift.Task[float]) -> None:
        seen.append(finished)
        called.set()

    task.add_done_callback(done)
    assert task.cancel() is True
    assert task.wait(10) and called.wait(10)
    assert len(seen) == 1 and seen[0].done() and not task.running()
    assert isinstance(task.exception(), forklift.CancelledError)
    assert task.cancel() is False  # finished: nothing left to cancel


@pytest.mark.parametrize("function", [forklift.copy, forklift.migrate, forklift.validate, forklift.render])
def test_help_lists_every_option(function: Any) -> None:
    # help() prints this text, headings in bold (a character, a backspace, the character).
    text = re.sub(".\b", "", pydoc.render_doc(function))
    options = [
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    if function is forklift.copy:
        options = sorted(forklift.CopyOptions.__optional_keys__)
    else:
        options += sorted(forklift.MigrationCopyOptions.__optional_keys__) if function is forklift.migrate else []
    assert options, function
    section = text[text.index("Options:"):]
    for name in options:
        # The option's name on a line of its own, its text indented below.
        assert re.search(rf"\n( +){name}\n\1    \S", section), f"{function.__name__}: {name} undocumented\n{section}"


# The typed results under mypy --strict: the good file passes, each misspelling is an error.
GOOD = """
import forklift

def use(report: forklift.PlanReport, inv: forklift.Inventory, target: forklift.Target,
        event: forklift.MigrationEvent, condition: forklift.Condition) -> None:
    written: int = report.bytes_written
    memory: int = inv.vms[0].memory_mib
    done: int = event.bytes_done
    name: str = target.vms[0].target_name
    vm: object = condition.items[0].id
    print(written, memory, done, name, vm, report.vms[0].disks[0].summary.bytes_total)
"""

BAD = {
    "report.bytes_writen": "bytes_writen",
    "inv.vms[0].memory_mb": "memory_mb",
    "event.bytes_dne": "bytes_dne",
    "target.vms[0].target_nam": "target_nam",
    "condition.items[0].idd": "idd",
}


def test_mypy_strict_rejects_misspelt_result_attributes(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(GOOD)
    lines = "\n".join(f"    print({expression})" for expression in BAD)
    (tmp_path / "bad.py").write_text(GOOD.split("def use")[0] + textwrap.dedent(
        """
        def use(report: forklift.PlanReport, inv: forklift.Inventory, target: forklift.Target,
                event: forklift.MigrationEvent, condition: forklift.Condition) -> None:
        """
    ) + lines + "\n")
    package = REPO / "forklift-py" / "python"
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--config-file",
         str(REPO / "forklift-py" / "pyproject.toml"), "good.py", "bad.py"],
        cwd=tmp_path,
        env={**os.environ, "MYPYPATH": str(package)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    errors = [line for line in output.splitlines() if ": error:" in line]
    assert not [line for line in errors if line.startswith("good.py")], output
    for attribute in BAD.values():
        assert any(f'has no attribute "{attribute}"' in line for line in errors), f"{attribute}: {output}"
    assert len(errors) == len(BAD), output
