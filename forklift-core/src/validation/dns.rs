//! Value checks used by validation (DNS-1123 names come from [`crate::naming`]).

/// A Kubernetes resource quantity (`10Gi`, `500M`, `1.5`, `1e3`).
pub(crate) fn is_quantity(s: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E", "",
    ];
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (number, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let valid_number = |n: &str| {
        let mut parts = n.splitn(2, '.');
        let int = parts.next().unwrap_or_default();
        let frac = parts.next();
        int.bytes().all(|c| c.is_ascii_digit())
            && frac.is_none_or(|f| f.bytes().all(|c| c.is_ascii_digit()))
            && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()))
    };
    match exponent {
        Some(e) => {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            valid_number(number) && !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit())
        }
        None => SUFFIXES.iter().any(|suffix| {
            s.strip_suffix(suffix)
                .is_some_and(|n| !n.is_empty() && valid_number(n))
        }),
    }
}

/// A container image reference with a registry or repository path (`a/b[:tag][@digest]`).
pub(crate) fn is_image_reference(s: &str) -> bool {
    use std::sync::OnceLock;
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    let re = RE.get_or_init(|| {
        let component = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
        let domain = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?";
        let pattern = format!(
            r"^(?:{domain}/)?{component}(?:/{component})*(?::[\w][\w.-]{{0,127}})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{{32,}})?$"
        );
        regex::Regex::new(&pattern).ok()
    });
    s.contains('/') && re.as_ref().is_some_and(|re| re.is_match(s))
}

/// Compares dotted versions numerically (`1.25.3` < `1.26`).
pub(crate) fn version_less(version: &str, minimum: &[u64]) -> Option<bool> {
    let trimmed = version.trim_start_matches('v');
    let parts: Vec<u64> = trimmed
        .split(['.', '-', '+'])
        .take(minimum.len())
        .map(|p| p.parse::<u64>())
        .collect::<Result<_, _>>()
        .ok()?;
    let mut padded = parts;
    padded.resize(minimum.len(), 0);
    Some(padded.as_slice() < minimum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_quantities_images_versions() {
        assert!(
            is_quantity("10Gi") && is_quantity("1.5") && is_quantity("1e3") && is_quantity("500M")
        );
        assert!(!is_quantity("Gi") && !is_quantity("10 Gi") && !is_quantity("ten"));
        assert!(is_image_reference("quay.io/kubev2v/virt-v2v:latest"));
        assert!(is_image_reference(
            "registry:5000/ns/img@sha256:0123456789abcdef0123456789abcdef"
        ));
        assert!(!is_image_reference("virt-v2v"));
        assert!(!is_image_reference("quay.io/UPPER/img"));
        assert_eq!(version_less("v1.25.9", &[1, 26]), Some(true));
        assert_eq!(version_less("1.26", &[1, 26]), Some(false));
        assert_eq!(version_less("4.5.2.1", &[4, 5, 2, 1]), Some(false));
        assert_eq!(version_less("4.5.2", &[4, 5, 2, 1]), Some(true));
        assert_eq!(version_less("x", &[1]), None);
    }
}

/// Whether `ip` lies inside `cidr` (`10.0.0.0/16`, `fd00::/64`); `None` when either is invalid.
pub(crate) fn cidr_contains(cidr: &str, ip: &str) -> Option<bool> {
    use std::net::IpAddr;
    let (net, prefix) = cidr.trim().split_once('/')?;
    let net: IpAddr = net.parse().ok()?;
    let ip: IpAddr = ip.trim().parse().ok()?;
    let prefix: u32 = prefix.parse().ok()?;
    let (net, ip, bits) = match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => (u128::from(u32::from(n)), u128::from(u32::from(i)), 32),
        (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
        _ => return Some(false),
    };
    if prefix > bits {
        return None;
    }
    let shift = bits - prefix;
    Some(shift >= 128 || (net >> shift) == (ip >> shift))
}

#[cfg(test)]
mod cidr_tests {
    use super::cidr_contains;

    #[test]
    fn cidr_membership() {
        assert_eq!(cidr_contains("10.100.0.0/16", "10.100.7.9"), Some(true));
        assert_eq!(cidr_contains("10.100.0.0/16", "10.101.0.1"), Some(false));
        assert_eq!(cidr_contains("0.0.0.0/0", "1.2.3.4"), Some(true));
        assert_eq!(cidr_contains("fd00::/64", "fd00::1"), Some(true));
        assert_eq!(cidr_contains("fd00::/64", "10.0.0.1"), Some(false));
        assert_eq!(cidr_contains("10.0.0.0/33", "10.0.0.1"), None);
        assert_eq!(cidr_contains("bogus", "10.0.0.1"), None);
    }
}
