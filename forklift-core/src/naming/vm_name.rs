//! VM name adjustment: upstream's `ChangeVmName`, the collision rule applied when a migration
//! starts, and the name used inside templates (`ResolveTargetVmName`).

use super::dns1123::{
    DNS1123_LABEL_MAX_LENGTH, dns1123_subdomain_errors, is_dns1123_label, is_dns1123_subdomain,
};
use super::{Error, Result};

/// Length a colliding name is cut to before `-` and 4 random characters are appended.
pub const COLLISION_CUT_LENGTH: usize = 58;
/// Length of the random suffixes upstream generates.
pub const RANDOM_SUFFIX_LENGTH: usize = 4;

const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The source of random characters (`[a-z0-9]`) for generated names; injectable so that
/// tests are deterministic.
pub trait RandomSource {
    /// Returns an index in `0..bound`.
    fn next_index(&mut self, bound: usize) -> usize;

    /// `len` random characters from `[a-z0-9]` (upstream's `GenerateRandomSuffix`).
    fn suffix(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| ALPHABET[self.next_index(ALPHABET.len()) % ALPHABET.len()] as char)
            .collect()
    }
}

/// A small xorshift generator; seed it from the clock with [`SeededRandom::from_time`].
#[derive(Debug, Clone)]
pub struct SeededRandom(u64);

impl SeededRandom {
    /// A generator with a fixed seed.
    pub fn new(seed: u64) -> Self {
        SeededRandom(seed | 1)
    }

    /// A generator seeded from the current time, as upstream seeds its generator.
    pub fn from_time() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        SeededRandom::new(nanos)
    }
}

impl RandomSource for SeededRandom {
    fn next_index(&mut self, bound: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x % bound.max(1) as u64) as usize
    }
}

fn trim_chars<'s>(s: &'s str, chars: &[char]) -> &'s str {
    s.trim_matches(|c| chars.contains(&c))
}

/// Cuts `s` (ASCII at this point) to at most `n` bytes.
fn cut(s: &str, n: usize) -> &str {
    if s.len() > n { &s[..n] } else { s }
}

fn adjust_part(part: &str) -> String {
    let replaced: String = part
        .chars()
        .map(|c| {
            if matches!(c, '_' | '+' | '*' | ' ' | '/' | '\\') {
                '-'
            } else {
                c
            }
        })
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect();
    let trimmed = trim_chars(&replaced, &['-', '.']);
    let collapsed = trimmed
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if collapsed.len() > DNS1123_LABEL_MAX_LENGTH {
        return trim_chars(cut(&collapsed, DNS1123_LABEL_MAX_LENGTH), &['-']).to_owned();
    }
    collapsed
}

/// Upstream's `ChangeVmName`: turns any VM name into a DNS-1123 compliant one.
///
/// Lower-cases, splits on `.`, replaces `_ + * space / \` with `-`, drops every other
/// character outside `[a-z0-9-]`, collapses dashes, cuts parts and the whole name to 63
/// characters; when nothing is left the name is `vm-` and 4 random characters. Dots are
/// kept, so the result is a valid subdomain of at most 63 characters.
pub fn change_vm_name(name: &str, random: &mut dyn RandomSource) -> String {
    let lowered = name.to_lowercase();
    let lowered = trim_chars(&lowered, &['.', '-']);
    let parts: Vec<String> = lowered
        .split('.')
        .map(adjust_part)
        .filter(|p| !p.is_empty())
        .collect();
    let joined = parts.join(".");
    let mut result = joined.as_str();
    if result.len() > DNS1123_LABEL_MAX_LENGTH {
        result = trim_chars(cut(result, DNS1123_LABEL_MAX_LENGTH), &['.', '-']);
    }
    if result.is_empty() {
        return format!("vm-{}", random.suffix(RANDOM_SUFFIX_LENGTH));
    }
    result.to_owned()
}

/// Upstream's `changeVmNameDNS1123`: adjusts the name and, when `taken` says the candidate
/// is in use (a VM of that name in the target namespace, or a VM of the migration with that
/// name), cuts it to 58 characters and appends `-` and 4 random characters. Only one
/// attempt is made; the suffixed name is not checked again.
pub fn change_vm_name_avoiding(
    name: &str,
    taken: &dyn Fn(&str) -> bool,
    random: &mut dyn RandomSource,
) -> String {
    let candidate = change_vm_name(name, random);
    if !taken(&candidate) {
        return candidate;
    }
    let base = cut(&candidate, COLLISION_CUT_LENGTH);
    format!("{base}-{}", random.suffix(RANDOM_SUFFIX_LENGTH))
}

/// The name a VM gets in the target namespace when its migration starts (upstream's
/// `Started` phase), or `None` when the source name is kept.
///
/// An explicit `target_name` is never changed: it is an error when it is not a DNS-1123
/// subdomain or when `taken` reports it in use. Without one, the source name is adjusted
/// only if it is not a valid DNS-1123 subdomain.
pub fn new_vm_name(
    source_name: &str,
    target_name: Option<&str>,
    taken: &dyn Fn(&str) -> bool,
    random: &mut dyn RandomSource,
) -> Result<Option<String>> {
    if let Some(target) = target_name.filter(|t| !t.is_empty()) {
        let reasons = dns1123_subdomain_errors(target);
        if !reasons.is_empty() {
            return Err(Error::InvalidTargetName {
                name: target.to_owned(),
                reasons,
            });
        }
        if taken(target) {
            return Err(Error::TargetNameTaken {
                name: target.to_owned(),
            });
        }
        return Ok(Some(target.to_owned()));
    }
    if is_dns1123_subdomain(source_name) {
        return Ok(None);
    }
    Ok(Some(change_vm_name_avoiding(source_name, taken, random)))
}

/// A random source for paths where upstream can never draw a random character.
struct NeverRandom;

impl RandomSource for NeverRandom {
    fn next_index(&mut self, _bound: usize) -> usize {
        0
    }
}

/// Upstream's `ResolveTargetVmName`: the `.TargetVmName` of naming templates.
///
/// In order: the trimmed `target_name`; the `new_name` recorded in the VM's migration
/// status; when the source name is not a DNS-1123 *label*, the adjusted source name if it
/// holds an ASCII letter or digit, else the adjusted VM ID if that does, else `vm-0000`;
/// finally the source name itself.
pub fn resolve_target_vm_name(
    target_name: Option<&str>,
    new_name: Option<&str>,
    source_name: &str,
    vm_id: &str,
) -> String {
    if let Some(t) = target_name.map(str::trim).filter(|t| !t.is_empty()) {
        return t.to_owned();
    }
    if let Some(n) = new_name.filter(|n| !n.is_empty()) {
        return n.to_owned();
    }
    if !is_dns1123_label(source_name) {
        let has_alnum = |s: &str| s.bytes().any(|c| c.is_ascii_alphanumeric());
        if has_alnum(source_name) {
            return change_vm_name(source_name, &mut NeverRandom);
        }
        if has_alnum(vm_id) {
            return change_vm_name(vm_id, &mut NeverRandom);
        }
        return "vm-0000".to_owned();
    }
    source_name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random source that always returns the same index.
    struct Fixed(usize);

    impl RandomSource for Fixed {
        fn next_index(&mut self, _bound: usize) -> usize {
            self.0
        }
    }

    fn adjust(name: &str) -> String {
        change_vm_name(name, &mut Fixed(0))
    }

    #[test]
    fn guide_table_of_naming_conflicts() {
        assert_eq!(adjust("App_VM_01"), "app-vm-01");
        assert_eq!(adjust("-app-server"), "app-server");
        assert_eq!(adjust("app--server"), "app-server");
        let long = "long-name-for-server-that-contains-more-than-sixty-three-characters";
        let adjusted = adjust(long);
        assert_eq!(
            adjusted,
            "long-name-for-server-that-contains-more-than-sixty-three-charac"
        );
        assert_eq!(adjusted.len(), 63);
    }

    #[test]
    fn upstream_rules() {
        assert_eq!(adjust("My VM.Prod_01"), "my-vm.prod-01");
        assert_eq!(adjust("a+b*c/d\\e"), "a-b-c-d-e");
        assert_eq!(adjust("Ωmega-vm"), "mega-vm");
        assert_eq!(adjust("..a..b.."), "a.b");
        assert_eq!(adjust("x-.-y"), "x.y");
        assert_eq!(adjust("!!!"), "vm-aaaa");
        assert_eq!(change_vm_name("日本", &mut Fixed(35)), "vm-9999");
        let part = format!("{}-b", "a".repeat(62));
        assert_eq!(adjust(&part), "a".repeat(62));
        let two = format!("{}.{}", "a".repeat(40), "b".repeat(40));
        assert_eq!(
            adjust(&two),
            format!("{}.{}", "a".repeat(40), "b".repeat(22))
        );
        let dot_at_cut = format!("{}.{}", "a".repeat(62), "b".repeat(5));
        assert_eq!(adjust(&dot_at_cut), "a".repeat(62));
    }

    #[test]
    fn collisions_get_a_suffix_once() {
        let taken = |n: &str| n == "web";
        assert_eq!(
            change_vm_name_avoiding("WEB", &taken, &mut Fixed(1)),
            "web-bbbb"
        );
        let long = "x".repeat(70);
        let taken_all = |_: &str| true;
        let name = change_vm_name_avoiding(&long, &taken_all, &mut Fixed(2));
        assert_eq!(name, format!("{}-cccc", "x".repeat(58)));
        assert_eq!(name.len(), 63);
    }

    #[test]
    fn explicit_target_names_are_never_changed() {
        let free = |_: &str| false;
        let taken = |n: &str| n == "db";
        let mut r = Fixed(0);
        assert_eq!(
            new_vm_name("X", Some("my.vm"), &free, &mut r).unwrap(),
            Some("my.vm".into())
        );
        assert!(matches!(
            new_vm_name("X", Some("My_VM"), &free, &mut r),
            Err(Error::InvalidTargetName { .. })
        ));
        assert!(matches!(
            new_vm_name("X", Some("db"), &taken, &mut r),
            Err(Error::TargetNameTaken { .. })
        ));
        assert_eq!(new_vm_name("ok.name", None, &free, &mut r).unwrap(), None);
        assert_eq!(
            new_vm_name("DB", None, &taken, &mut r).unwrap(),
            Some("db-aaaa".into())
        );
    }

    #[test]
    fn template_name_resolution_order() {
        assert_eq!(
            resolve_target_vm_name(Some("  t1 "), Some("n"), "S", "id"),
            "t1"
        );
        assert_eq!(
            resolve_target_vm_name(Some(" "), Some("n1"), "S", "id"),
            "n1"
        );
        assert_eq!(resolve_target_vm_name(None, None, "My.VM", "id"), "my.vm");
        assert_eq!(resolve_target_vm_name(None, None, "日本", "vm-42"), "vm-42");
        assert_eq!(
            resolve_target_vm_name(None, None, "日本", "日本"),
            "vm-0000"
        );
        assert_eq!(resolve_target_vm_name(None, None, "web-1", "id"), "web-1");
    }

    #[test]
    fn seeded_random_is_deterministic_and_in_alphabet() {
        let a = SeededRandom::new(7).suffix(16);
        assert_eq!(a, SeededRandom::new(7).suffix(16));
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
