//! Reading virt-v2v's output: stage lines become progress, warnings and the inspection
//! summary (printed with `-v`) go into the VM's status.

/// What one line of virt-v2v output says.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputLine {
    /// `[  12.3] Inspecting the source`: a new stage, at seconds since start.
    Stage {
        /// Seconds since virt-v2v started.
        seconds: f64,
        /// The stage.
        text: String,
    },
    /// `virt-v2v: warning: ...`.
    Warning(String),
    /// `virt-v2v: This guest has virtio drivers installed.`
    VirtioInstalled,
    /// `i_osinfo = debian12` and the like, from the inspection summary.
    Inspection {
        /// The field without its `i_` prefix (`osinfo`, `type`, `product_name`).
        field: String,
        /// Its value.
        value: String,
    },
    /// Anything else (libguestfs debug output, tracing).
    Other,
}

/// Classifies one line of output (without its line ending).
pub fn parse_line(line: &str) -> OutputLine {
    let trimmed = line.trim_end();
    if let Some(rest) = trimmed.strip_prefix('[') {
        if let Some((secs, text)) = rest.split_once(']') {
            // virt-v2v prints one decimal (`[  12.3]`); the appliance kernel's messages, in
            // the same output with -v, print six (`[    0.000000]`).
            let one_decimal = secs.trim().split_once('.').is_some_and(|(whole, frac)| {
                !whole.is_empty()
                    && whole.chars().all(|c| c.is_ascii_digit())
                    && frac.len() == 1
                    && frac.chars().all(|c| c.is_ascii_digit())
            });
            if let Some(seconds) = one_decimal
                .then(|| secs.trim().parse::<f64>().ok())
                .flatten()
            {
                let text = text.trim();
                if !text.is_empty() {
                    return OutputLine::Stage {
                        seconds,
                        text: text.to_owned(),
                    };
                }
            }
        }
    }
    if let Some((program, message)) = trimmed.split_once(": ") {
        if program.starts_with("virt-v2v") && !program.contains(' ') {
            if let Some(warning) = message.strip_prefix("warning: ") {
                return OutputLine::Warning(warning.trim().to_owned());
            }
            if message.contains("has virtio drivers installed") {
                return OutputLine::VirtioInstalled;
            }
        }
    }
    if let Some((field, value)) = trimmed.trim_start().split_once(" = ") {
        if let Some(field) = field.strip_prefix("i_") {
            if !field.is_empty() && field.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                return OutputLine::Inspection {
                    field: field.to_owned(),
                    value: value.trim().to_owned(),
                };
            }
        }
    }
    OutputLine::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_warnings_and_inspection() {
        assert_eq!(
            parse_line("[  12.3] Inspecting the source"),
            OutputLine::Stage {
                seconds: 12.3,
                text: "Inspecting the source".into()
            }
        );
        assert_eq!(
            parse_line(
                "virt-v2v-in-place: warning: could not determine a way to update the configuration of Grub2"
            ),
            OutputLine::Warning(
                "could not determine a way to update the configuration of Grub2".into()
            )
        );
        assert_eq!(
            parse_line("virt-v2v-in-place: This guest has virtio drivers installed."),
            OutputLine::VirtioInstalled
        );
        assert_eq!(
            parse_line("  i_osinfo = debian12"),
            OutputLine::Inspection {
                field: "osinfo".into(),
                value: "debian12".into()
            }
        );
        assert_eq!(
            parse_line("    i_product_name = Debian GNU/Linux 12 (bookworm)"),
            OutputLine::Inspection {
                field: "product_name".into(),
                value: "Debian GNU/Linux 12 (bookworm)".into()
            }
        );
        // Not ours: a guest's own text, an unindented assignment, a bracket without seconds.
        assert_eq!(
            parse_line("libguestfs: trace: v2v: launch"),
            OutputLine::Other
        );
        assert_eq!(
            parse_line("i_type = linux"),
            OutputLine::Inspection {
                field: "type".into(),
                value: "linux".into()
            }
        );
        assert_eq!(parse_line("i_ = x"), OutputLine::Other);
        assert_eq!(parse_line("i_Type = x"), OutputLine::Other);
        assert_eq!(parse_line("[abc] x"), OutputLine::Other);
        assert_eq!(parse_line("[ 1.0]"), OutputLine::Other);
        // The appliance kernel's log, interleaved with -v.
        assert_eq!(
            parse_line("[    0.000000] Command line: panic=1 console=ttyS0"),
            OutputLine::Other
        );
        assert_eq!(parse_line("guest: warning: x"), OutputLine::Other);
    }
}
