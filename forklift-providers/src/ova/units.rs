//! OVF allocation units (`byte * 2^20`, `MegaBytes`, ...), after upstream's
//! `getResourceCapacity`.

/// Converts `value` expressed in `units` to bytes.
///
/// Empty units mean bytes. `megabytes` (any case) means 2^20 bytes; `kilobytes` and
/// `gigabytes` are accepted likewise. Otherwise the units are a product split on `*`: the
/// first factor must be `byte` (or empty), each further factor an integer or `base^exp`.
/// Returns an error message for anything else or on overflow.
pub fn to_bytes(value: u64, units: &str) -> Result<u64, String> {
    let units = units.trim();
    if units.is_empty() {
        return Ok(value);
    }
    let named = match units.to_ascii_lowercase().as_str() {
        "megabytes" | "megabyte" => Some(1u64 << 20),
        "kilobytes" | "kilobyte" => Some(1 << 10),
        "gigabytes" | "gigabyte" => Some(1 << 30),
        "bytes" => Some(1),
        _ => None,
    };
    let overflow = || format!("{value} {units} overflows 64 bits");
    if let Some(factor) = named {
        return value.checked_mul(factor).ok_or_else(overflow);
    }
    let mut factors = units.split('*').map(str::trim);
    let first = factors.next().unwrap_or_default();
    if !(first.is_empty()
        || first.eq_ignore_ascii_case("byte")
        || first.eq_ignore_ascii_case("bytes"))
    {
        return Err(format!(
            "allocation units {units:?} do not start with `byte`"
        ));
    }
    let mut total = value;
    for factor in factors {
        let multiplier = match factor.split_once('^') {
            Some((base, exp)) => {
                let base: u64 = base
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad factor {factor:?} in {units:?}"))?;
                let exp: u32 = exp
                    .trim()
                    .parse()
                    .map_err(|_| format!("bad factor {factor:?} in {units:?}"))?;
                base.checked_pow(exp).ok_or_else(overflow)?
            }
            None => factor
                .parse()
                .map_err(|_| format!("bad factor {factor:?} in {units:?}"))?,
        };
        total = total.checked_mul(multiplier).ok_or_else(overflow)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::to_bytes;

    #[test]
    fn upstream_unit_forms() {
        assert_eq!(to_bytes(4096, "byte * 2^20"), Ok(4096 << 20));
        assert_eq!(to_bytes(16, "byte * 2^30"), Ok(16 << 30));
        assert_eq!(to_bytes(512, "MegaBytes"), Ok(512 << 20));
        assert_eq!(to_bytes(7, ""), Ok(7));
        assert_eq!(to_bytes(3, "byte * 1024 * 2^10"), Ok(3 << 20));
        assert_eq!(to_bytes(3, "* 10^3"), Ok(3000));
        assert!(to_bytes(1, "hertz * 10^6").is_err());
        assert!(to_bytes(1, "byte * x").is_err());
        assert!(
            to_bytes(u64::MAX, "byte * 2^20")
                .unwrap_err()
                .contains("overflows")
        );
        assert!(to_bytes(1, "byte * 2^99").is_err());
    }
}
