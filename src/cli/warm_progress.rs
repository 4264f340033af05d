//! What `forklift migrate` prints about a warm VM's precopies and its downtime forecast.

use forklift_core::error::PeerText;
use forklift_core::resources::{DowntimeForecast, PowerOffMethod, SourcePowerOff};

/// One line per disk (`vm-11: precopy 2: disk [ds] web/a.vmdk copied 65536 bytes`), then
/// the forecast after it when one could be made, or predicted against actual after the
/// final precopy.
pub(super) fn precopy_lines(
    vm: &str,
    precopy: usize,
    last: bool,
    bytes: &[(String, u64)],
    forecast: Option<&DowntimeForecast>,
) -> Vec<String> {
    let kind = if last { " (final)" } else { "" };
    let mut lines: Vec<String> = bytes
        .iter()
        .map(|(disk, n)| format!("{vm}: precopy {precopy}{kind}: disk {disk} copied {n} bytes"))
        .collect();
    if let Some(f) = forecast.filter(|_| !last) {
        lines.push(format!(
            "{vm}: forecast if cut over now: final sync {:.1} s ({} MiB at {} MiB/s), downtime {:.1} s (guest dirties {:.2} MiB/s)",
            secs(f.final_sync_millis),
            f.final_bytes >> 20,
            f.copy_bytes_per_second >> 20,
            secs(f.downtime_millis),
            f.dirty_bytes_per_second as f64 / f64::from(1 << 20),
        ));
    }
    lines
}

/// How the source was powered off at the cutover (`vm-11: source off in 1.2 s: guest
/// shutdown`); the reason is the source's text, escaped.
pub(super) fn power_off_line(vm: &str, power_off: &SourcePowerOff) -> String {
    let how = match power_off.method {
        PowerOffMethod::GuestShutdown => "guest shutdown",
        PowerOffMethod::HardPowerOff => "hard power-off",
        PowerOffMethod::HardPowerOffAfterTimeout => {
            "hard power-off after the guest shutdown timed out"
        }
        _ => "already off",
    };
    let mut line = format!("{vm}: source off in {:.1} s: {how}", secs(power_off.millis));
    if !power_off.reason.is_empty() {
        line.push_str(&format!(" ({})", PeerText(&power_off.reason)));
    }
    line
}

fn secs(millis: u64) -> f64 {
    millis as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_disk_then_the_forecast() {
        let forecast = DowntimeForecast {
            dirty_bytes_per_second: 1 << 19,
            copy_bytes_per_second: 100 << 20,
            final_bytes: 10 << 20,
            final_sync_millis: 100,
            downtime_millis: 6100,
            ..DowntimeForecast::default()
        };
        let bytes = [("a.vmdk".to_owned(), 65536), ("b.vmdk".to_owned(), 0)];
        assert_eq!(
            precopy_lines("vm-1", 2, false, &bytes, Some(&forecast)),
            [
                "vm-1: precopy 2: disk a.vmdk copied 65536 bytes",
                "vm-1: precopy 2: disk b.vmdk copied 0 bytes",
                "vm-1: forecast if cut over now: final sync 0.1 s (10 MiB at 100 MiB/s), downtime 6.1 s (guest dirties 0.50 MiB/s)",
            ]
        );
        assert_eq!(
            precopy_lines("vm-1", 3, true, &bytes[..1], Some(&forecast)),
            ["vm-1: precopy 3 (final): disk a.vmdk copied 65536 bytes"]
        );
    }

    #[test]
    fn the_power_off_line_says_how_and_escapes_the_sources_reason() {
        let hard = SourcePowerOff {
            method: PowerOffMethod::HardPowerOff,
            millis: 1300,
            reason: "ToolsUnavailable: \u{1b}[2Jno tools".into(),
        };
        let line = power_off_line("vm-1", &hard);
        assert!(
            line.starts_with("vm-1: source off in 1.3 s: hard power-off ("),
            "{line}"
        );
        assert!(!line.contains('\u{1b}'), "{line}");
        let guest = SourcePowerOff {
            method: PowerOffMethod::GuestShutdown,
            millis: 2000,
            reason: String::new(),
        };
        assert_eq!(
            power_off_line("vm-2", &guest),
            "vm-2: source off in 2.0 s: guest shutdown"
        );
    }
}
