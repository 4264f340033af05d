//! Reading virt-v2v's output as it runs: what it said (stages, inspection, warnings, the
//! lines to quote when it fails), line by bounded line.

use std::collections::VecDeque;

use forklift_core::error::escape_peer_text;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use super::super::output::{OutputLine, parse_line};
use super::super::{
    CONVERSION_ERROR_LINES, ConversionProgress, MAX_CONVERSION_WARNINGS, MAX_OUTPUT_LINE,
};

/// What the output said so far.
#[derive(Default)]
pub(super) struct Seen {
    pub(super) osinfo: Option<String>,
    pub(super) os_type: Option<String>,
    pub(super) product_name: Option<String>,
    pub(super) virtio: bool,
    pub(super) warnings: Vec<String>,
    /// The last lines that are not libguestfs' own debug output.
    tail: VecDeque<String>,
    /// The lines saying what failed (`virt-v2v: error: ...`), quoted first.
    errors: Vec<String>,
    /// What virt-v2v said when no key opened an encrypted volume.
    pub(super) luks_rejected: Option<String>,
}

impl Seen {
    /// Records `line`; a new stage is returned as progress.
    pub(super) fn take(&mut self, line: &str) -> Option<ConversionProgress> {
        if !is_debug_noise(line) {
            if self.tail.len() == CONVERSION_ERROR_LINES {
                self.tail.pop_front();
            }
            self.tail.push_back(line.to_owned());
            if line.starts_with("virt-v2v") && line.contains(": error: ") && self.errors.len() < 5 {
                self.errors.push(line.to_owned());
            }
            let rejected = LUKS_REJECTIONS.iter().any(|p| line.contains(p));
            if rejected && self.luks_rejected.is_none() {
                self.luks_rejected = Some(escape_peer_text(line.trim()).into_owned());
            }
        }
        match parse_line(line) {
            OutputLine::Stage { seconds, text } => {
                return Some(ConversionProgress {
                    seconds,
                    stage: text,
                });
            }
            OutputLine::Warning(text) => {
                if self.warnings.len() < MAX_CONVERSION_WARNINGS {
                    self.warnings.push(text);
                }
            }
            OutputLine::VirtioInstalled => self.virtio = true,
            OutputLine::Inspection { field, value } => {
                let slot = match field.as_str() {
                    "osinfo" => &mut self.osinfo,
                    "type" => &mut self.os_type,
                    "product_name" => &mut self.product_name,
                    _ => return None,
                };
                // The first inspection is the source guest's; later ones repeat it.
                if slot.is_none() && !value.is_empty() && value != "unknown" {
                    *slot = Some(value);
                }
            }
            OutputLine::Other => {}
        }
        None
    }

    pub(super) fn tail(&self) -> String {
        let mut lines: Vec<&str> = self.errors.iter().map(String::as_str).collect();
        lines.extend(
            self.tail
                .iter()
                .map(String::as_str)
                .filter(|l| !self.errors.iter().any(|e| e == l)),
        );
        lines
            .iter()
            .map(|l| escape_peer_text(l))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// What virt-v2v (and cryptsetup) print when no key opens an encrypted volume: asking for a
/// passphrase it cannot read (there is no terminal, stdin is empty), or a key rejected.
const LUKS_REJECTIONS: [&str; 3] = [
    "could not read key from user",
    "could not find key to open LUKS",
    "No key available with this passphrase",
];

/// libguestfs' and the appliance's debug lines (`-v -x`), which say little to a user.
fn is_debug_noise(line: &str) -> bool {
    const PREFIXES: [&str; 6] = [
        "libguestfs: ",
        "guestfsd: ",
        "commandrvf: ",
        "supermin: ",
        "nbdkit: ",
        "chroot: ",
    ];
    PREFIXES.iter().any(|p| line.starts_with(p))
}

/// Sends every line of `reader` (each cut to [`MAX_OUTPUT_LINE`] bytes, lossy UTF-8).
pub(super) async fn read_lines(mut reader: impl AsyncRead + Unpin, lines: mpsc::Sender<String>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut line: Vec<u8> = Vec::new();
    let mut dropping = false;
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b == b'\n' {
                let text = String::from_utf8_lossy(&line)
                    .trim_end_matches('\r')
                    .to_owned();
                if lines.send(text).await.is_err() {
                    return;
                }
                line.clear();
                dropping = false;
            } else if !dropping {
                if line.len() < MAX_OUTPUT_LINE {
                    line.push(b);
                } else {
                    dropping = true;
                }
            }
        }
    }
    if !line.is_empty() {
        let _ = lines
            .send(String::from_utf8_lossy(&line).into_owned())
            .await;
    }
}
