//! The docs say what runs: README.md, `forklift --help` and the Python package docs list as
//! working exactly the source types `open_provider` opens and every other type as planned,
//! and README names the refusal condition of every capability `forklift migrate` lacks. When
//! a provider or a capability lands, these tests fail until the docs say so.

use std::path::Path;
use std::process::Command;

use forklift::core::render::ExecutorCapability;
use forklift::migrate::{HookPolicy, local_executor_profile};
use forklift::providers::{ProviderType, implemented_provider_types};

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_forklift"))
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "forklift {args:?} --help failed");
    String::from_utf8(output.stdout).unwrap()
}

/// The README section "What works today", up to the next `## ` heading.
fn readme_section(readme: &str) -> &str {
    let start = readme
        .find("## What works today")
        .expect("README has a \"What works today\" section");
    let rest = &readme[start..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

/// The README's table rows, split into (working, planned) by their status cell.
fn readme_buckets(section: &str) -> (String, String) {
    let rows = |status: &str| {
        section
            .lines()
            .filter(|line| line.starts_with('|') && line.contains(status))
            .collect::<Vec<_>>()
            .join("\n")
    };
    (rows("| works end to end"), rows("| planned"))
}

/// A prose summary split into (working, planned): from "Runs end to end today:" to
/// "Planned:", then to the end of that paragraph.
fn prose_buckets(text: &str) -> (String, String) {
    let start = text
        .find("Runs end to end today:")
        .expect("the text says what runs end to end today");
    let planned = start
        + text[start..]
            .find("Planned:")
            .expect("the text says what is planned");
    let end = text[planned..]
        .find("\n\n")
        .map_or(text.len(), |i| planned + i);
    (
        text[start..planned].to_owned(),
        text[planned..end].to_owned(),
    )
}

/// Every provider type sits in exactly the bucket `open_provider` puts it in.
fn assert_sources_listed(doc: &str, (works, planned): (String, String)) {
    for &provider_type in ProviderType::ALL {
        let name = format!("`{}`", provider_type.as_str());
        let implemented = implemented_provider_types().contains(&provider_type);
        assert_eq!(
            works.contains(&name),
            implemented,
            "{doc}: {name} listed as working: {}",
            works.contains(&name)
        );
        assert_eq!(
            planned.contains(&name),
            !implemented,
            "{doc}: {name} listed as planned: {}",
            planned.contains(&name)
        );
    }
}

#[test]
fn readme_lists_working_and_planned_sources() {
    let readme = read("README.md");
    assert_sources_listed("README.md", readme_buckets(readme_section(&readme)));
}

#[test]
fn readme_names_the_refusal_of_every_missing_capability_and_no_other() {
    let readme = read("README.md");
    let section = readme_section(&readme);
    // What `forklift migrate` does without options: hooks are refused unless asked for.
    let profile = local_executor_profile(HookPolicy::Refuse);
    for &capability in ExecutorCapability::ALL {
        let condition = capability.condition_type();
        assert_eq!(
            section.contains(condition),
            !profile.has(capability),
            "README \"What works today\" and {condition}"
        );
    }
}

#[test]
fn readme_and_help_say_how_to_run_hooks() {
    let section = readme_section(&read("README.md")).to_owned();
    assert!(
        !local_executor_profile(HookPolicy::Refuse).has(ExecutorCapability::HookRunner)
            && local_executor_profile(HookPolicy::Run).has(ExecutorCapability::HookRunner)
    );
    let help = help(&["migrate", "--help"]);
    for (doc, text) in [("README.md", &section), ("forklift migrate --help", &help)] {
        assert!(
            text.contains("--hooks local"),
            "{doc} says how to run hooks"
        );
        assert!(
            text.contains("HookRunnerNotAvailable"),
            "{doc} names the refusal"
        );
    }
}

#[test]
fn help_lists_working_and_planned_sources() {
    let text = help(&["--help"]);
    assert_sources_listed("forklift --help", prose_buckets(&text));
}

#[test]
fn migrate_help_states_how_guests_are_converted_or_copied_raw() {
    let text = help(&["migrate", "--help"]);
    // Without a converter (the default) the engine cannot convert: the help names the flag
    // that adds one, and the raw-copy alternative.
    assert!(!local_executor_profile(HookPolicy::Refuse).has(ExecutorCapability::GuestConversion));
    assert!(text.contains("--converter virt-v2v"), "{text}");
    assert!(text.contains("skipGuestConversion: true"), "{text}");
}

#[test]
fn python_docs_list_working_and_planned_sources() {
    for doc in [
        "forklift-py/README.md",
        "forklift-py/python/forklift/__init__.py",
    ] {
        assert_sources_listed(doc, prose_buckets(&read(doc)));
    }
}
