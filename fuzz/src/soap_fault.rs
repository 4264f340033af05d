//! Fuzzes the vim25 answer path of the SOAP client after the HTTP exchange: the bytes are
//! read as the client reads a response body (lossy UTF-8, then the XML reader), and the
//! envelope is turned into the method's response or an error, faults included
//! ([`take_response`]). Any answer must give a response or an error, never panic,
//! and the error's message, which carries the server's fault text, must be safe to print
//! on a terminal.

use forklift_core::error::chain;
use forklift_providers::vsphere::{take_response, xml};

/// vim25 methods the client calls, chosen by the first input byte.
const METHODS: [&str; 4] = [
    "Login",
    "RetrieveServiceContent",
    "RetrievePropertiesEx",
    "QueryChangedDiskAreas",
];

/// The target: see the module documentation.
pub fn run(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let method = METHODS[usize::from(selector) % METHODS.len()];
    let text = String::from_utf8_lossy(body);
    let Ok(root) = xml::parse(&text) else {
        return;
    };
    if let Err(error) = take_response(method, root) {
        crate::assert_terminal_safe(&chain(&error));
    }
}
