"""End to end from Python: an OVA catalog (OVF + VMDK made by qemu-img) migrated by the runner."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

import forklift
from conftest import catalog

MANIFESTS = """
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {{name: ova, namespace: mtv}}
spec: {{type: ova, url: "{catalog}"}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {{name: host, namespace: mtv}}
spec: {{type: openshift, url: ""}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: NetworkMap
metadata: {{name: net, namespace: mtv}}
spec:
  provider: {{source: {{name: ova, namespace: mtv}}, destination: {{name: host, namespace: mtv}}}}
  map: [{{source: {{name: VM Network}}, destination: {{type: pod}}}}]
---
apiVersion: forklift.konveyor.io/v1beta1
kind: StorageMap
metadata: {{name: disks, namespace: mtv}}
spec:
  provider: {{source: {{name: ova, namespace: mtv}}, destination: {{name: host, namespace: mtv}}}}
  map:
    - source: {{name: Dummy storage for source provider ova}}
      destination: {{storageClass: local, accessMode: ReadWriteOnce, volumeMode: Filesystem}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Plan
metadata: {{name: wave, namespace: mtv}}
spec:
  targetNamespace: apps
  targetPowerState: "off"
  skipGuestConversion: true
  provider: {{source: {{name: ova, namespace: mtv}}, destination: {{name: host, namespace: mtv}}}}
  map: {{network: {{name: net, namespace: mtv}}, storage: {{name: disks, namespace: mtv}}}}
  vms: [{{name: App Server}}]
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Migration
metadata: {{name: wave-run, namespace: mtv}}
spec: {{plan: {{name: wave, namespace: mtv}}}}
"""


def manifests(tmp_path: Path, size_mib: int = 64, random_mib: int = 0) -> forklift.Manifests:
    return forklift.loads(MANIFESTS.format(catalog=catalog(tmp_path, size_mib, random_mib)))


# How long a cancelled migration may take to end its events and its result.
CANCEL_BOUND = 10.0


def big_catalog(tmp_path: Path) -> forklift.Manifests:
    """A catalog whose 256 MiB disk (128 MiB of random bytes) takes seconds to copy."""
    objects = manifests(tmp_path, 256, 128)
    (tmp_path / "disk.raw").unlink()
    return objects


def copying(migration: forklift.Migration) -> None:
    """Reads events until the disk copy is under way."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        event = migration.next_event(timeout=60)
        assert event is not None, "the migration ended before its copy was seen"
        if event.kind == "diskProgress":
            return
    raise AssertionError("no copy progress within 60 s")


def ends_within_bound(migration: forklift.Migration) -> List[str]:
    """The kinds of the events left; fails if iteration or result() outlast CANCEL_BOUND."""
    started = time.monotonic()
    kinds: List[str] = []
    while True:
        left = CANCEL_BOUND - (time.monotonic() - started)
        assert left > 0, f"events still open {CANCEL_BOUND} s after cancel: {kinds}"
        event = migration.next_event(timeout=left)
        if event is None:
            break
        kinds.append(event.kind)
    assert migration.wait(timeout=max(0.0, CANCEL_BOUND - (time.monotonic() - started)))
    return kinds


@pytest.mark.parametrize("how", ["cancel", "token", "cancel_vm"])
def test_cancelling_mid_copy_ends_events_and_result_within_bound(tmp_path: Path, how: str) -> None:
    token = forklift.CancelToken()
    migration = forklift.start_migration(big_catalog(tmp_path), tmp_path / "out", cancel=token)
    copying(migration)
    if how == "cancel":
        migration.cancel()
    elif how == "token":
        token.cancel()
    else:
        assert migration.cancel_vm("App Server").source_name == "App Server"
    kinds = ends_within_bound(migration)
    assert "diskCopied" not in kinds and kinds[-1] == "planCompleted"
    try:
        report = migration.result(timeout=0)
    except forklift.CancelledError:
        return
    assert [vm.outcome for vm in report.vms] == ["canceled"]


def test_cancel_vm_accepts_id_source_name_and_target_name(tmp_path: Path) -> None:
    objects = big_catalog(tmp_path)
    for reference in ["5b0c5c9e-2f4e-4a51-9a0e-0c1f3a5c7d11", "App Server", "app-server"]:
        migration = forklift.start_migration(objects, tmp_path / f"out-{len(reference)}")
        copying(migration)
        cancelled = migration.cancel_vm(reference)
        assert cancelled == forklift.CancelledVm(
            id="5b0c5c9e-2f4e-4a51-9a0e-0c1f3a5c7d11", source_name="App Server", target_name="app-server"
        )
        ends_within_bound(migration)
        assert [vm.outcome for vm in migration.result(timeout=0).vms] == ["canceled"]
        with pytest.raises(LookupError, match="not-in-the-plan"):
            migration.cancel_vm("not-in-the-plan")


def test_migrate_with_events_writes_the_rendered_objects(tmp_path: Path) -> None:
    objects = manifests(tmp_path)
    events: List[forklift.MigrationEvent] = []
    report = forklift.migrate(objects, tmp_path / "out", on_event=events.append, verify=True)
    [vm] = report.vms
    assert vm.outcome == "succeeded", report.to_dict()
    assert vm.target_name == "app-server"
    [disk] = vm.disks
    assert disk.verified
    assert Path(disk.path).read_bytes() == (tmp_path / "disk.raw").read_bytes()
    kinds = [event.kind for event in events]
    assert kinds[0] == "validated" and kinds[-1] == "planCompleted"
    assert {"vmStarted", "phaseStarted", "diskCopied", "vmCompleted"} <= set(kinds)
    phases = [e.phase for e in events if e.kind == "phaseStarted"]
    assert phases.index("CopyDisks") < phases.index("CreateVM")
    # What was created is what render says.
    target = forklift.render(objects, forklift.inventory("mtv/ova", manifests=objects))
    machine = next(m for m in target.manifests if m.kind == "VirtualMachine")
    written = tmp_path / "out" / "apps" / "virtualmachines" / "app-server.yaml"
    assert forklift.loads(written.read_text(), strict=False)[0].spec == machine.spec


def test_iterating_a_started_migration_and_async(tmp_path: Path) -> None:
    objects = manifests(tmp_path)
    migration = forklift.start_migration(objects, tmp_path / "out")
    kinds = [event.kind for event in migration]
    assert kinds[-1] == "planCompleted"
    assert migration.done() and migration.next_event() is None
    assert migration.result().vms[0].outcome == "succeeded"
    with pytest.raises(LookupError, match="no-such-vm"):
        migration.cancel_vm("no-such-vm")

    async def main() -> str:
        seen: List[str] = []
        report = await forklift.async_migrate(objects, tmp_path / "again", on_event=lambda e: seen.append(e.kind))
        assert seen[-1] == "planCompleted"
        return str(report.vms[0].outcome)

    assert asyncio.run(main()) == "succeeded"


def test_a_plan_with_blockers_raises_validation_error(tmp_path: Path) -> None:
    objects = manifests(tmp_path)
    plan = objects.get("Plan", "wave")
    assert plan is not None
    plan.spec.vms = [{"name": "Not There"}]
    with pytest.raises(forklift.ValidationError, match="VMNotFound") as info:
        forklift.migrate(objects, tmp_path / "out")
    assert any(c.type == "VMNotFound" and c.is_blocker for c in info.value.conditions)


def test_a_cancelled_migration_reports_cancelled_vms(tmp_path: Path) -> None:
    # As in MTV, cancelling a migration cancels its VMs: the run still ends with a report.
    token = forklift.CancelToken()
    token.cancel()
    migration = forklift.start_migration(manifests(tmp_path), tmp_path / "out", cancel=token)
    kinds = [event.kind for event in migration]
    assert "diskCopied" not in kinds
    report = migration.result(timeout=60)
    assert [vm.outcome for vm in report.vms] == ["canceled"]
    assert report.bytes_written == 0


HOOKED = """
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Hook
metadata: {name: announce, namespace: mtv}
spec: {image: quay.io/konveyor/hook-runner, playbook: LSBob3N0czogbG9jYWxob3N0Cg==}
"""


def hooked(tmp_path: Path) -> forklift.Manifests:
    text = MANIFESTS.format(catalog=catalog(tmp_path)).replace(
        "vms: [{name: App Server}]",
        "vms: [{name: App Server, hooks: [{step: PreHook, hook: {name: announce, namespace: mtv}},"
        " {step: PostHook, hook: {name: announce, namespace: mtv}}]}]",
    )
    return forklift.loads(text + HOOKED)


def test_hooks_run_as_python_callbacks(tmp_path: Path) -> None:
    calls: List[str] = []

    def run_hook(hook: Dict[str, Any], context: Dict[str, Any]) -> str:
        calls.append(f"{context['step']}:{context['vmName']}:{hook['metadata']['name']}")
        return "ok"

    report = forklift.migrate(
        hooked(tmp_path), tmp_path / "out", hooks=run_hook, request_size=65536, requests=2
    )
    [vm] = report.vms
    assert vm.outcome == "succeeded", report.to_dict()
    [disk] = vm.disks
    assert disk.summary.request_size == 65536, disk.to_dict()
    assert calls == ["PreHook:App Server:announce", "PostHook:App Server:announce"]


def test_hooks_are_refused_unless_a_runner_is_given(tmp_path: Path) -> None:
    objects = hooked(tmp_path)
    with pytest.raises(forklift.ValidationError) as refused:
        forklift.migrate(objects, tmp_path / "out")
    [condition] = [c for c in refused.value.conditions if c.type == "HookRunnerNotAvailable"]
    assert "--hooks local" in condition.message and 'hooks="local"' in condition.message
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.img"))
    inventory = forklift.inventory("mtv/ova", manifests=objects)
    # validate and render describe the same run: refused without hooks, not with them.
    refusal = "HookRunnerNotAvailable"
    assert refusal in {c.type for c in forklift.validate(objects, inventory)}
    assert refusal not in {c.type for c in forklift.validate(objects, inventory, hooks="local")}
    rendered = forklift.render(objects, inventory).to_dict()
    assert refusal in {c["type"] for c in rendered["conditions"]}
    rendered = forklift.render(objects, inventory, hooks="local").to_dict()
    assert refusal not in {c["type"] for c in rendered["conditions"]}
    with pytest.raises(ValueError, match="hooks"):
        forklift.validate(objects, inventory, hooks="remote")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hooks"):
        forklift.start_migration(objects, tmp_path / "out", hooks="remote")  # type: ignore[arg-type]


def test_a_failing_hook_callback_fails_the_vm_with_its_message(tmp_path: Path) -> None:
    def run_hook(hook: Dict[str, Any], context: Dict[str, Any]) -> None:
        raise RuntimeError("playbook exploded")

    report = forklift.migrate(hooked(tmp_path), tmp_path / "out", hooks=run_hook)
    [vm] = report.vms
    assert vm.outcome == "failed", report.to_dict()
    assert "playbook exploded" in str(vm.error)


def test_copy_tuning_is_checked(tmp_path: Path) -> None:
    objects = manifests(tmp_path)
    with pytest.raises(ValueError, match="request_size"):
        forklift.start_migration(objects, tmp_path / "out", request_size=3000)
    with pytest.raises(ValueError, match="requests"):
        forklift.start_migration(objects, tmp_path / "out", requests=0)
    with pytest.raises(ValueError, match="io_timeout"):
        forklift.start_migration(objects, tmp_path / "out", io_timeout=-1.0)


def test_a_failed_vm_resumes_its_disk_and_restart_copies_from_zero(tmp_path: Path) -> None:
    objects = forklift.loads(
        MANIFESTS.format(catalog=catalog(tmp_path)).replace(
            "  skipGuestConversion: true\n", "  skipGuestConversion: true\n  deleteVmOnFailMigration: false\n"
        )
    )
    out = tmp_path / "out"
    # A directory where the VirtualMachine goes: the VM fails after its disk was copied.
    blocker = out / "apps" / "virtualmachines" / "app-server.yaml"
    blocker.mkdir(parents=True)
    first = forklift.migrate(objects, out)
    assert first.vms[0].outcome == "failed", first.to_dict()
    [disk] = first.vms[0].disks
    assert disk.summary.bytes_resumed == 0
    # restart=True: the disk's checkpoint is discarded and it is copied from zero again.
    second = forklift.migrate(objects, out, restart=True)
    assert second.vms[0].outcome == "failed", second.to_dict()
    [disk] = second.vms[0].disks
    assert disk.summary.bytes_resumed == 0 and disk.summary.bytes_written > 0
    # Without it, the disk resumes from its complete checkpoint: nothing is written again.
    blocker.rmdir()
    third = forklift.migrate(objects, out, verify=True)
    assert third.vms[0].outcome == "succeeded", third.to_dict()
    [disk] = third.vms[0].disks
    assert disk.summary.bytes_resumed == disk.summary.bytes_total
    assert disk.summary.bytes_written == 0 and disk.verified
    assert Path(disk.path).read_bytes() == (tmp_path / "disk.raw").read_bytes()


def test_cutover_takes_rfc3339_or_an_aware_datetime_and_refuses_other_times(tmp_path: Path) -> None:
    import datetime

    migration = forklift.start_migration(manifests(tmp_path), tmp_path / "out")
    with pytest.raises(ValueError, match="spec.cutover \"noon\" is not an RFC 3339 time"):
        migration.cutover("noon")
    with pytest.raises(ValueError, match="timezone-aware"):
        migration.cutover(datetime.datetime(2026, 1, 1))
    migration.cutover(datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
    migration.cutover("2026-01-01T00:00:00Z")
    migration.cutover()
    # A cold plan has nothing to cut over: it runs as before.
    assert [vm.outcome for vm in migration.result(timeout=60).vms] == ["succeeded"]


def test_conversion_is_refused_unless_a_converter_is_given(tmp_path: Path) -> None:
    # The same plan without raw copy: its guests need conversion.
    text = MANIFESTS.format(catalog=catalog(tmp_path)).replace(
        "skipGuestConversion: true", "skipGuestConversion: false"
    )
    objects = forklift.loads(text)
    with pytest.raises(forklift.ValidationError) as refused:
        forklift.migrate(objects, tmp_path / "out")
    [condition] = [c for c in refused.value.conditions if c.type == "GuestConversionNotAvailable"]
    assert "--converter virt-v2v" in condition.message
    assert 'converter="virt-v2v"' in condition.message
    with pytest.raises(ValueError, match="converter must be"):
        forklift.migrate(objects, tmp_path / "out", converter="qemu-img")  # type: ignore[arg-type]


def test_a_python_converter_converts_the_copied_disks_and_validate_and_render_agree(
    tmp_path: Path,
) -> None:
    text = MANIFESTS.format(catalog=catalog(tmp_path)).replace(
        "skipGuestConversion: true", "skipGuestConversion: false"
    )
    objects = forklift.loads(text)
    inventory = forklift.inventory("mtv/ova", manifests=objects)
    calls: List[Dict[str, Any]] = []

    def convert(disks: List[Dict[str, Any]], vm: Dict[str, Any]) -> Dict[str, Any]:
        calls.append({"disks": disks, "vm": vm})
        for disk in disks:
            with open(disk["path"], "r+b") as image:
                image.write(b"converted")
        return {"osinfo": "debian12", "osType": "linux", "warnings": ["made up by the test"]}

    # validate and render describe the run with a converter: no refusal, the conversion phases.
    refusal = "GuestConversionNotAvailable"
    assert refusal in {c.type for c in forklift.validate(objects, inventory)}
    assert refusal not in {c.type for c in forklift.validate(objects, inventory, converter=convert)}
    rendered = forklift.render(objects, inventory, converter=convert).to_dict()
    assert refusal not in {c["type"] for c in rendered["conditions"]}
    assert "ConvertGuest" in str(rendered)

    report = forklift.migrate(objects, tmp_path / "out", converter=convert)
    [vm] = report.vms
    assert vm.outcome == "succeeded", report.to_dict()
    [call] = calls
    assert [d["path"] for d in call["disks"]] == [d.path for d in vm.disks]
    assert call["vm"]["name"] == vm.target_name and "macs" in call["vm"]
    assert Path(vm.disks[0].path).read_bytes().startswith(b"converted")
    status = Path(report.status_path).read_text()
    assert "operatingSystem: debian12_64Guest" in status
    assert "made up by the test" in status


def test_a_failing_python_converter_fails_the_vm_with_its_message(tmp_path: Path) -> None:
    text = MANIFESTS.format(catalog=catalog(tmp_path)).replace(
        "skipGuestConversion: true", "skipGuestConversion: false"
    )

    def convert(disks: List[Dict[str, Any]], vm: Dict[str, Any]) -> None:
        raise RuntimeError("no drivers for this guest")

    report = forklift.migrate(forklift.loads(text), tmp_path / "out", converter=convert)
    [vm] = report.vms
    assert vm.outcome == "failed"
    assert vm.error is not None and "no drivers for this guest" in vm.error
