//! Hostile manifests and inventory files: names that would escape the destination, deep
//! nesting, endless or blocking files, oversized files and duplicate keys. Each case runs the
//! real binary and asserts the refusal (exit code, a message naming the file and field), and
//! that it came quickly and in little memory.

use std::path::Path;
use std::time::Duration;

use forklift::demo::catalog::{build_catalog, demo_vms};
use forklift::demo::manifests::{NAMESPACE, PLAN, demo_manifests};
use forklift_core::manifest::MAX_FLOW_NESTING;

use crate::support::{forklift, run_bounded};

/// Every refusal here comes well within this (the deep-nesting manifest took 337 s before).
const QUICK: Duration = Duration::from_secs(10);
/// Peak memory of a refusal, in MiB: the binary itself needs about 20.
const SMALL_MIB: u64 = 80;

fn mkfifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
}

/// The demo plan (an OVA catalog built in `dir`) with the Plan's metadata lines replaced.
fn demo_plan(dir: &Path, name: &str, namespace: &str) -> String {
    let catalog = dir.join("catalog");
    build_catalog(&catalog, &dir.join("work"), &demo_vms()).unwrap();
    let names: Vec<String> = demo_vms().iter().map(|v| v.name.clone()).collect();
    let text = demo_manifests(&catalog, &names);
    let original = format!("kind: Plan\nmetadata:\n  name: {PLAN}\n  namespace: {NAMESPACE}\n");
    assert!(text.contains(&original));
    text.replace(
        &original,
        &format!("kind: Plan\nmetadata:\n  name: {name:?}\n  namespace: {namespace:?}\n"),
    )
}

#[test]
fn plan_names_that_would_escape_the_destination_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    let cases = [
        // An absolute namespace: the status file was written under it, exit 0.
        (
            PLAN.to_owned(),
            outside.display().to_string(),
            "metadata.namespace",
        ),
        // A namespace climbing out of DEST/.forklift/: the same, exit 0.
        (
            PLAN.to_owned(),
            "../../outside".to_owned(),
            "metadata.namespace",
        ),
        // A name doing the same (the PVC name template refused this one already).
        (
            "../../../outside/escaped".to_owned(),
            NAMESPACE.to_owned(),
            "metadata.name",
        ),
    ];
    for (name, namespace, field) in cases {
        let manifests = dir.path().join("plan.yaml");
        std::fs::write(&manifests, demo_plan(dir.path(), &name, &namespace)).unwrap();
        let run = run_bounded(
            forklift(
                dir.path(),
                &[
                    "migrate",
                    "--manifests",
                    "plan.yaml",
                    "--destination",
                    "local:dest",
                ],
            ),
            Duration::from_secs(60),
            200,
        );
        assert_eq!(run.code, Some(2), "{name} {namespace}: {}", run.output());
        assert!(
            run.stderr.contains(&format!("plan.yaml#5: {field}: "))
                && run.stderr.contains("is not a valid Kubernetes name"),
            "{}",
            run.stderr
        );
        assert!(
            !outside.exists(),
            "nothing is written outside the destination"
        );
        assert!(
            !dir.path().join("dest").exists(),
            "nothing is written at all"
        );
    }
}

#[test]
fn deep_flow_nesting_is_refused_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    // The attack pass's 400 KB file: 337 s to refuse before.
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {}\n",
        "[".repeat(400_000)
    );
    std::fs::write(dir.path().join("deep.yaml"), text).unwrap();
    let run = run_bounded(
        forklift(dir.path(), &["manifests", "check", "deep.yaml"]),
        Duration::from_secs(3),
        SMALL_MIB,
    );
    assert_eq!(run.code, Some(2), "{}", run.output());
    assert!(
        run.output().contains(&format!(
            "deep.yaml: Flow collections ([...], {{...}}) nest deeper than {MAX_FLOW_NESTING} levels at line 4, column {}",
            7 + MAX_FLOW_NESTING
        )),
        "{}",
        run.output()
    );
    // At the limit, the same shape loads.
    let limit = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{k: {}1{}}}\n",
        "[".repeat(MAX_FLOW_NESTING - 1),
        "]".repeat(MAX_FLOW_NESTING - 1)
    );
    std::fs::write(dir.path().join("limit.yaml"), limit).unwrap();
    let run = run_bounded(
        forklift(dir.path(), &["manifests", "check", "limit.yaml"]),
        QUICK,
        SMALL_MIB,
    );
    assert!(!run.output().contains("nest deeper"), "{}", run.output());
}

#[test]
fn devices_symlinks_to_them_and_fifos_in_a_manifests_directory_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("manifests");
    std::fs::create_dir(&manifests).unwrap();
    std::os::unix::fs::symlink("/dev/zero", manifests.join("a-zero.yaml")).unwrap();
    mkfifo(&manifests.join("b-fifo.yaml"));
    std::fs::write(
        manifests.join("c-hook.yaml"),
        "apiVersion: forklift.konveyor.io/v1beta1\nkind: Hook\nmetadata: {name: h, namespace: n}\nspec: {image: quay.io/konveyor/hook-runner}\n",
    )
    .unwrap();
    let run = run_bounded(
        forklift(dir.path(), &["manifests", "check", "manifests"]),
        QUICK,
        SMALL_MIB,
    );
    assert_eq!(run.code, Some(2), "{}", run.output());
    let out = run.output();
    assert!(
        out.contains("manifests/a-zero.yaml: Not a regular file (a character device)"),
        "{out}"
    );
    assert!(
        out.contains("manifests/b-fifo.yaml: Not a regular file (a FIFO)"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().take(3).eq(["ok", "Hook", "n/h"])),
        "the regular file still loads: {out}"
    );
}

#[test]
fn an_inventory_that_is_a_device_or_a_fifo_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // A plan that selects (its catalog need not exist: nothing connects to it).
    let names: Vec<String> = demo_vms().iter().map(|v| v.name.clone()).collect();
    std::fs::write(
        dir.path().join("plan.yaml"),
        demo_manifests(&dir.path().join("catalog"), &names),
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.json")).unwrap();
    mkfifo(&dir.path().join("fifo.json"));
    for (inventory, what) in [("zero.json", "a character device"), ("fifo.json", "a FIFO")] {
        for verb in [
            &[
                "validate",
                "--manifests",
                "plan.yaml",
                "--inventory",
                inventory,
            ][..],
            &[
                "validate",
                "--manifests",
                "plan.yaml",
                "--destination",
                inventory,
            ][..],
            &["render", "-m", "plan.yaml", "-i", inventory][..],
            &["schedule", "-m", "plan.yaml", "-i", inventory][..],
        ] {
            let run = run_bounded(forklift(dir.path(), verb), QUICK, SMALL_MIB);
            assert_ne!(run.code, Some(0), "{verb:?}: {}", run.output());
            assert!(
                run.stderr
                    .contains(&format!("{inventory} is {what}, not a regular file")),
                "{verb:?}: {}",
                run.stderr
            );
        }
    }
}

#[test]
fn files_over_the_size_cap_are_refused_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    // A sparse file just over the default cap: refused from its size, never read.
    let big = dir.path().join("big.yaml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(forklift::input::DEFAULT_MAX_INPUT_SIZE + 1)
        .unwrap();
    let run = run_bounded(
        forklift(dir.path(), &["manifests", "check", "big.yaml"]),
        QUICK,
        SMALL_MIB,
    );
    assert_eq!(run.code, Some(2), "{}", run.output());
    assert!(
        run.output().contains(&format!(
            "big.yaml: Larger than {} bytes (the input size limit; raise it with --max-input-size)",
            forklift::input::DEFAULT_MAX_INPUT_SIZE
        )),
        "{}",
        run.output()
    );
    // --max-input-size moves the cap, in both directions, for every verb that reads files.
    let hook = "apiVersion: forklift.konveyor.io/v1beta1\nkind: Hook\nmetadata: {name: h, namespace: n}\nspec: {image: quay.io/konveyor/hook-runner}\n";
    std::fs::write(dir.path().join("hook.yaml"), hook).unwrap();
    let exact = hook.len().to_string();
    let under = (hook.len() - 1).to_string();
    let run = run_bounded(
        forklift(
            dir.path(),
            &[
                "manifests",
                "check",
                "--max-input-size",
                &exact,
                "hook.yaml",
            ],
        ),
        QUICK,
        SMALL_MIB,
    );
    assert_eq!(run.code, Some(0), "{}", run.output());
    let run = run_bounded(
        forklift(
            dir.path(),
            &[
                "--max-input-size",
                &under,
                "manifests",
                "check",
                "hook.yaml",
            ],
        ),
        QUICK,
        SMALL_MIB,
    );
    assert_eq!(run.code, Some(2), "{}", run.output());
    assert!(
        run.output()
            .contains(&format!("hook.yaml: Larger than {under} bytes")),
        "{}",
        run.output()
    );
    // Standard input is empty (within the cap); the destination inventory is over it.
    std::fs::write(dir.path().join("inventory.json"), "{}").unwrap();
    let run = run_bounded(
        forklift(
            dir.path(),
            &[
                "validate",
                "--max-input-size",
                "1",
                "--manifests",
                "-",
                "--destination",
                "inventory.json",
            ],
        ),
        QUICK,
        SMALL_MIB,
    );
    assert_eq!(run.code, Some(2), "{}", run.output());
    assert!(
        run.stderr
            .contains("inventory.json is larger than 1 bytes (the input size limit"),
        "{}",
        run.stderr
    );
}

#[test]
fn duplicate_mapping_keys_are_refused_naming_document_and_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dup.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n\
         apiVersion: forklift.konveyor.io/v1beta1\nkind: Hook\nmetadata:\n  name: a\n  namespace: n\n  name: b\nspec: {image: quay.io/konveyor/hook-runner}\n",
    )
    .unwrap();
    let run = run_bounded(
        forklift(dir.path(), &["manifests", "check", "dup.yaml"]),
        QUICK,
        SMALL_MIB,
    );
    assert_eq!(run.code, Some(2), "{}", run.output());
    assert!(
        run.output()
            .contains("dup.yaml#2: metadata.name: Duplicate mapping key \"name\""),
        "{}",
        run.output()
    );
}
