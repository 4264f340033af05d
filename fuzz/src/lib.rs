//! The bodies of forklift's fuzz targets, one module each.
//!
//! Each `fuzz_targets/<name>.rs` binary is a one-line libFuzzer wrapper around
//! [`TARGETS`]' function of the same name, so the same body runs under the fuzzer
//! (`scripts/fuzz.sh`) and, on the plain stable build, in the corpus replay test
//! (`tests/corpus.rs`), which feeds it every file of `fuzz/corpus/<name>/`.

pub mod checkpoint;
pub mod imageio;
pub mod manifest;
pub mod nbd_reply;
pub mod ova_dir;
pub mod ovf;
pub mod ovirt_vms;
pub mod scratch;
pub mod soap_fault;
pub mod template;
pub mod vim25_xml;
pub mod vmdk;

/// A fuzz target body: any input must return, never panic, hang or grow without bound.
pub type Target = fn(&[u8]);

/// Every fuzz target by name: the name of its binary and of its corpus folder.
pub const TARGETS: &[(&str, Target)] = &[
    ("checkpoint", checkpoint::run),
    ("imageio", imageio::run),
    ("manifest", manifest::run),
    ("nbd_reply", nbd_reply::run),
    ("ova_dir", ova_dir::run),
    ("ovf", ovf::run),
    ("ovirt_vms", ovirt_vms::run),
    ("soap_fault", soap_fault::run),
    ("template", template::run),
    ("vim25_xml", vim25_xml::run),
    ("vmdk", vmdk::run),
];

/// Panics if `text` holds a character that must not reach a terminal raw: peer text in
/// messages goes through `forklift_core::error::PeerText`, which escapes them.
pub fn assert_terminal_safe(text: &str) {
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
    {
        panic!("raw control character {c:?} in a message: {text:?}");
    }
}
