//! Where the CLI's text meets the terminal: the one safety net that keeps peer text (a SOAP
//! fault, a VM name from a server or a package) from moving the cursor, retitling or
//! clearing the user's terminal. Errors escape the peer text they carry themselves
//! ([`PeerText`](forklift_core::error::PeerText)); what is printed here is escaped again as a
//! whole, which changes nothing that is already safe.

use forklift_core::error::{chain, escape_peer_text};

pub use forklift_core::error::terminal_safe_json as json;

/// An error and its causes on one line ([`chain`]), every control character escaped.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    escape_peer_text(&chain(error)).into_owned()
}

/// One line of text, every control character (a newline too) escaped.
pub fn line(text: &str) -> String {
    escape_peer_text(text).into_owned()
}

/// Text of several lines (a table), each line escaped and the line breaks kept.
pub fn lines(text: &str) -> String {
    text.split('\n')
        .map(|l| escape_peer_text(l))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_text_carries_no_control_character() {
        let io = std::io::Error::other("peer said \u{1b}]0;pwned\u{7}");
        assert_eq!(error_chain(&io), "peer said \\x1b]0;pwned\\x07");
        assert_eq!(line("a\nb"), "a\\nb");
        assert_eq!(
            lines("VM  X\nweb\u{9b}2J  y\n"),
            "VM  X\nweb\\u{009b}2J  y\n"
        );
    }
}
