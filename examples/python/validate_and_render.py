"""Validate and render a migration plan from Python, offline.

    python examples/python/validate_and_render.py [PLAN.yaml INVENTORY.json] [--out DIR]

Loads the Plan with its Providers and maps, asks forklift whether MTV would accept it (the same
condition types, categories and reasons the Forklift controller sets), and when nothing blocks
it, renders exactly what the migration will create: the target VM names and the
DataVolumes and VirtualMachines, written as YAML for ``kubectl apply -f``.
Exits with 1 when a condition blocks the plan.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

import forklift

HERE = Path(__file__).resolve().parent


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plan", nargs="?", default=HERE / "plan.yaml", type=Path)
    parser.add_argument("inventory", nargs="?", default=HERE / "inventory.json", type=Path)
    parser.add_argument("--out", type=Path, help="file for the rendered manifests (default: stdout)")
    args = parser.parse_args(argv)

    manifests = forklift.load(args.plan)
    for warning in manifests.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    plan = manifests.of_kind("Plan")[0]
    print(f"Plan {plan.namespace}/{plan.name}: {len(plan.spec.vms)} VMs into namespace {plan.spec.target_namespace}")

    # The example's vSphere plan converts its guests with virt-v2v, as MTV's controller does;
    # `executor="mtv"` validates and renders for that engine. Without it, forklift's own
    # runner is described, which refuses plans that need conversion (GuestConversionNotAvailable).
    conditions = forklift.validate(manifests, args.inventory, executor="mtv")
    for condition in conditions:
        marker = "BLOCKER" if condition.is_blocker else condition.category
        items = f" {[str(item) for item in condition.items]}" if condition.items else ""
        print(f"  [{marker}] {condition.type}: {condition.message}{items}")
    if not forklift.is_ready(conditions):
        print("The plan is not ready: fix the blockers above.")
        return 1

    target = forklift.render(manifests, args.inventory, executor="mtv")
    for vm in target.vms:
        renamed = f" (renamed from {vm.source_name})" if vm.renamed else ""
        disks = ", ".join(f"{disk.claim_name} ({disk.requested_bytes // 2**30} GiB)" for disk in vm.disks)
        print(f"  VM {vm.target_name}{renamed}: disks {disks}; itinerary {vm.itinerary}")
    if args.out is None:
        print(target.to_yaml())
    else:
        args.out.write_text(target.to_yaml())
        kinds = ", ".join(f"{m.kind} {m.name}" for m in target.manifests)
        print(f"  wrote {args.out}: {kinds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
