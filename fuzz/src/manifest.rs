//! Fuzzes the manifest parser: any bytes parse without panicking, and whatever loads saves
//! to YAML and JSON that load back to equal objects.

use forklift_core::manifest::ManifestSet;

/// The target: see the module documentation.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let set = ManifestSet::parse("fuzz", text);
    let known: Vec<_> = set.objects().filter(|o| o.is_known()).cloned().collect();
    for saved in [set.to_yaml(), set.to_json()] {
        let saved = saved.expect("saving loaded objects cannot fail");
        let again = ManifestSet::parse("saved", &saved);
        let reloaded: Vec<_> = again.objects().filter(|o| o.is_known()).cloned().collect();
        assert_eq!(reloaded, known, "round trip changed objects:\n{saved}");
    }
}
