//! The error type of `forklift-core`.

/// Errors of the pure layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input value is out of its allowed domain.
    #[error("Invalid value for {field}: {reason}")]
    InvalidValue {
        /// Path of the offending field.
        field: String,
        /// Why it is invalid.
        reason: String,
    },
}

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The message of `error` followed by `: cause` for each error in its [`source`] chain, on
/// one line, for terminals, status fields and Python exceptions. A cause whose text already
/// ends the message is skipped: `#[error(transparent)]` wrappers and messages that embed
/// their source (`"{path}: {source}"`) would otherwise print it twice.
///
/// The text is returned as the errors display it; nothing more is escaped here. Errors that
/// carry peer text escape it in their own `Display` ([`PeerText`]); the one safety net for
/// everything else (a library error quoting a server, a path) is where text meets the
/// terminal: the `forklift` CLI prints every error chain through its `terminal` module, which
/// passes the whole line through [`escape_peer_text`]. Escaping twice changes nothing, as an
/// escape is plain printable text.
///
/// [`source`]: std::error::Error::source
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// Text that came from a peer (a server's error string, a SOAP fault, a file or VM name from
/// a package), made safe to print: every control character (C0, DEL, C1) and every Unicode
/// bidirectional override is written as an escape (`\x1b`, `\n`, `\u{202e}`), so peer text can
/// neither move the cursor, retitle or clear a terminal, nor forge extra log lines.
///
/// Use it wherever peer text is formatted into a message: `format!("{}", PeerText(&reply))`,
/// or in a `thiserror` attribute, `#[error("server said: {}", PeerText(message))]`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PeerText<'a>(pub &'a str);

impl std::fmt::Display for PeerText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(needs_escape) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().unwrap_or_default();
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if (c as u32) < 0x80 => write!(f, "\\x{:02x}", c as u32)?,
                c => write!(f, "\\u{{{:04x}}}", c as u32)?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)?;
        Ok(())
    }
}

impl std::fmt::Debug for PeerText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Whether `c` must not reach a terminal raw (see [`PeerText`]).
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// [`PeerText`] as an owned string, borrowing when nothing needs escaping.
pub fn escape_peer_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(needs_escape) {
        std::borrow::Cow::Owned(PeerText(text).to_string())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// serde_json output made safe for a terminal without changing what it means: every
/// character [`PeerText`] would escape and serde_json leaves raw (DEL, the C1 controls such
/// as U+009B CSI, bidirectional overrides, and any other control) is written as a JSON
/// `\uXXXX` escape. Newlines, carriage returns and tabs are kept: valid JSON holds them only
/// as whitespace between tokens (serde_json escapes them inside strings), and every other
/// such character only inside strings, so the result parses to the same value.
pub fn terminal_safe_json(json: &str) -> std::borrow::Cow<'_, str> {
    let escaped = |c: char| needs_escape(c) && !matches!(c, '\n' | '\r' | '\t');
    if !json.contains(escaped) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escaped(c) {
            // Every such character is in the Basic Multilingual Plane: one \u escape.
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("Cannot read plan.yaml")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error(transparent)]
    struct Transparent(std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("Copy failed")]
    struct Top(#[source] Outer);

    #[derive(Debug, thiserror::Error)]
    #[error("plan.yaml: {0}")]
    struct Embeds(#[source] std::io::Error);

    #[test]
    fn chain_joins_sources_once() {
        let inner = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        assert_eq!(chain(&Outer(inner)), "Cannot read plan.yaml: No such file");
        let transparent = Transparent(std::io::Error::other("Disk full"));
        assert_eq!(chain(&transparent), "Disk full");
        let nested = Top(Outer(std::io::Error::other("Disk full")));
        assert_eq!(
            chain(&nested),
            "Copy failed: Cannot read plan.yaml: Disk full"
        );
        assert_eq!(chain(&std::io::Error::other("alone")), "alone");
        let embeds = Embeds(std::io::Error::other("Permission denied"));
        assert_eq!(chain(&embeds), "plan.yaml: Permission denied");
    }

    #[test]
    fn peer_text_escapes_controls_and_bidi_overrides() {
        let hostile = "bad\x1b]0;pwned\x07\x1b[2J\nINFO forged\u{202e}txt.exe\u{9b}";
        let shown = PeerText(hostile).to_string();
        assert_eq!(
            shown,
            "bad\\x1b]0;pwned\\x07\\x1b[2J\\nINFO forged\\u{202e}txt.exe\\u{009b}"
        );
        assert!(!shown.chars().any(needs_escape));
        assert_eq!(escape_peer_text("plain ünïcode"), "plain ünïcode");
        assert!(matches!(
            escape_peer_text("ok"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(escape_peer_text("a\tb"), "a\\tb");
        assert_eq!(format!("{:?}", PeerText("x\ry")), "\"x\\ry\"");
    }

    #[test]
    fn terminal_safe_json_keeps_the_value() {
        let value = serde_json::json!({"name": "vm\u{1b}[2J\u{9b}31m\u{7f}\u{202e}end", "n": 1});
        let raw = serde_json::to_string(&value).unwrap();
        assert!(raw.contains('\u{9b}'), "serde_json leaves C1 raw: {raw:?}");
        let safe = terminal_safe_json(&raw);
        assert!(!safe.chars().any(needs_escape), "{safe:?}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&safe).unwrap(),
            value
        );
        assert!(matches!(
            terminal_safe_json("{\"a\":\"ok\"}"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
