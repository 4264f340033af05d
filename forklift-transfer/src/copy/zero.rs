//! Zero detection on read buffers.

/// Whether every byte of `buf` is zero.
///
/// Compares 16-byte words (the compiler vectorises the loop), so a 256 KiB buffer of
/// zeroes takes microseconds and a data buffer usually stops at its first word.
pub fn is_zero(buf: &[u8]) -> bool {
    // SAFETY: u128 has no invalid bit patterns; align_to returns correctly aligned middles.
    let (head, words, tail) = unsafe { buf.align_to::<u128>() };
    head.iter().all(|&b| b == 0)
        && words
            .chunks(16)
            .all(|chunk| chunk.iter().fold(0, |acc, &w| acc | w) == 0)
        && tail.iter().all(|&b| b == 0)
}

/// Splits `buf` into alternating runs of data and zeroes, each a multiple of `granularity`
/// bytes (except at the end), merging neighbours of the same kind. Yields
/// `(start, end, is_zero)`.
pub fn zero_runs(buf: &[u8], granularity: usize) -> Vec<(usize, usize, bool)> {
    let granularity = granularity.max(1);
    let mut runs: Vec<(usize, usize, bool)> = Vec::new();
    for (i, block) in buf.chunks(granularity).enumerate() {
        let start = i * granularity;
        let end = start + block.len();
        let zero = is_zero(block);
        match runs.last_mut() {
            Some(last) if last.2 == zero => last.1 = end,
            _ => runs.push((start, end, zero)),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn detects_zeroes_at_any_alignment() {
        let mut buf = vec![0u8; 70_001];
        assert!(is_zero(&buf));
        assert!(is_zero(&buf[3..]));
        for at in [0, 1, 15, 16, 4095, 70_000] {
            buf[at] = 1;
            assert!(!is_zero(&buf), "{at}");
            buf[at] = 0;
        }
        assert!(is_zero(&[]));
    }

    #[test]
    fn runs_merge_neighbours() {
        let mut buf = vec![0u8; 5 * 4096 + 100];
        buf[4096] = 1;
        buf[2 * 4096 + 5] = 1;
        buf[5 * 4096 + 50] = 1;
        assert_eq!(
            zero_runs(&buf, 4096),
            vec![
                (0, 4096, true),
                (4096, 3 * 4096, false),
                (3 * 4096, 5 * 4096, true),
                (5 * 4096, 5 * 4096 + 100, false)
            ]
        );
    }

    proptest! {
        #[test]
        fn runs_cover_the_buffer_and_agree_with_bytes(
            ones in proptest::collection::vec(0usize..20_000, 0..6),
            len in 1usize..20_000,
        ) {
            let mut buf = vec![0u8; len];
            for i in ones { if i < len { buf[i] = 0xff; } }
            let runs = zero_runs(&buf, 512);
            prop_assert_eq!(runs.first().unwrap().0, 0);
            prop_assert_eq!(runs.last().unwrap().1, len);
            for w in runs.windows(2) {
                prop_assert_eq!(w[0].1, w[1].0);
                prop_assert_ne!(w[0].2, w[1].2);
            }
            for (s, e, zero) in runs {
                prop_assert_eq!(buf[s..e].iter().all(|&b| b == 0), zero);
            }
        }
    }
}
