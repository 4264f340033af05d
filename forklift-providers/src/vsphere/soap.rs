//! SOAP over HTTPS for vim25: envelopes, the session cookie and faults.

use std::sync::Mutex;
use std::time::Duration;

use tracing::{debug, trace};

use super::limits::{MAX_RESPONSE_BYTES, SoapLimit};
use super::xml::{self, Node, escape};
use crate::capability::SecretString;
use crate::error::{Error, Result};
use crate::http::{BodyError, BodyLimits, ErrorBody, read_capped};

/// API version sent before the server's own version is known; every vCenter and ESXi
/// still in support accepts it.
pub const BOOTSTRAP_VERSION: &str = "6.5";

/// A managed object reference (`<obj type="VirtualMachine">vm-42</obj>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MoRef {
    /// Managed object type, e.g. `VirtualMachine`.
    pub kind: String,
    /// Identifier, e.g. `vm-42`.
    pub value: String,
}

impl MoRef {
    /// A reference from type and value.
    pub fn new(kind: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            value: value.into(),
        }
    }

    /// Reads a reference from an element with a `type` attribute.
    pub fn from_node(node: &Node) -> Option<Self> {
        let kind = node.attr("type")?;
        let value = node.text.trim();
        (!value.is_empty()).then(|| Self::new(kind, value))
    }

    /// Renders the reference as an element named `tag`.
    pub fn to_xml(&self, tag: &str) -> String {
        format!(
            "<{tag} type=\"{}\">{}</{tag}>",
            escape(&self.kind),
            escape(&self.value)
        )
    }
}

impl std::fmt::Display for MoRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

/// The HTTP side of a vim25 session.
pub struct SoapTransport {
    http: reqwest::Client,
    sdk_url: url::Url,
    version: Mutex<String>,
    cookie: Mutex<Option<SecretString>>,
}

impl std::fmt::Debug for SoapTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoapTransport")
            .field("sdk_url", &self.sdk_url.as_str())
            .finish_non_exhaustive()
    }
}

impl SoapTransport {
    /// A transport to `sdk_url` (ending in `/sdk`) with a ready HTTP client.
    pub fn new(http: reqwest::Client, sdk_url: url::Url) -> Self {
        Self {
            http,
            sdk_url,
            version: Mutex::new(BOOTSTRAP_VERSION.to_owned()),
            cookie: Mutex::new(None),
        }
    }

    /// The SDK URL.
    pub fn sdk_url(&self) -> &url::Url {
        &self.sdk_url
    }

    /// The HTTP client (shared with datastore file access).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Uses the server's API version in `SOAPAction` from now on.
    pub fn set_version(&self, version: &str) {
        *self.version.lock().unwrap_or_else(|e| e.into_inner()) = version.to_owned();
    }

    /// The session cookie, for requests outside SOAP (datastore files).
    pub fn cookie(&self) -> Option<SecretString> {
        self.cookie
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Forgets the session cookie.
    pub fn clear_cookie(&self) {
        *self.cookie.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Calls `method` with the given inner XML (already escaped) and returns the
    /// `<returnval>`-holding response element.
    pub async fn call(&self, method: &str, body: &str) -> Result<Node> {
        let envelope = envelope(method, body);
        let version = self
            .version
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut request = self
            .http
            .post(self.sdk_url.clone())
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", format!("urn:vim25/{version}"))
            .body(envelope);
        if let Some(cookie) = self.cookie() {
            request = request.header("Cookie", cookie.expose());
        }
        trace!(method, "vim25 request");
        let response = request.send().await.map_err(|source| Error::Http {
            url: self.sdk_url.to_string(),
            source,
        })?;
        let status = response.status();
        for value in response.headers().get_all(reqwest::header::SET_COOKIE) {
            if let Ok(text) = value.to_str() {
                if let Some(pair) = text.split(';').next() {
                    if pair.trim_start().starts_with("vmware_soap_session") {
                        *self.cookie.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(SecretString::new(pair.trim()));
                    }
                }
            }
        }
        let bytes = read_limited(response, method, &self.sdk_url).await?;
        let text = String::from_utf8_lossy(&bytes);
        let parsed = xml::parse(&text);
        debug!(
            method,
            status = status.as_u16(),
            bytes = bytes.len(),
            "vim25 response"
        );
        let root = match parsed {
            Ok(root) => root,
            Err(source) if status.is_success() => {
                return Err(Error::Xml {
                    method: method.to_owned(),
                    source,
                });
            }
            Err(_) => {
                return Err(Error::HttpStatus {
                    url: self.sdk_url.to_string(),
                    status: status.as_u16(),
                });
            }
        };
        take_response(method, root).map_err(|e| {
            if status.is_success() || matches!(e, Error::Fault { .. }) {
                e
            } else {
                Error::HttpStatus {
                    url: self.sdk_url.to_string(),
                    status: status.as_u16(),
                }
            }
        })
    }
}

/// Reads a whole answer, refusing it once it passes [`MAX_RESPONSE_BYTES`] (a declared
/// `Content-Length` beyond it is refused before any byte is read). A fault (HTTP 500) is
/// parsed like any answer, so it is refused past the limit too, not cut.
async fn read_limited(
    response: reqwest::Response,
    method: &str,
    url: &url::Url,
) -> Result<Vec<u8>> {
    let limits = BodyLimits {
        success: MAX_RESPONSE_BYTES,
        error: ErrorBody::Refuse(MAX_RESPONSE_BYTES),
    };
    read_capped(response, limits).await.map_err(|e| match e {
        BodyError::Transport(source) => Error::Http {
            url: url.to_string(),
            source,
        },
        BodyError::TooLarge { .. } => Error::LimitExceeded {
            method: method.to_owned(),
            limit: SoapLimit::ResponseBytes,
        },
    })
}

/// Wraps a method call in a SOAP 1.1 envelope; the body is in the `urn:vim25` namespace.
pub fn envelope(method: &str, body: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" "#,
            r#"xmlns:xsd="http://www.w3.org/2001/XMLSchema" "#,
            r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
            r#"<soapenv:Body><{method} xmlns="urn:vim25">{body}</{method}></soapenv:Body>"#,
            r#"</soapenv:Envelope>"#
        ),
        method = method,
        body = body
    )
}

/// Like [`parse_response`], but moves the response element out of the envelope.
pub fn take_response(method: &str, mut root: Node) -> Result<Node> {
    parse_response(method, &root)?;
    let expected = format!("{method}Response");
    root.take_child("Body")
        .and_then(|mut body| body.take_child(&expected))
        .ok_or_else(|| Error::protocol(method, format!("no {expected} in SOAP Body")))
}

/// Finds `<MethodResponse>` in an envelope, or turns a `<Fault>` into [`Error::Fault`].
pub fn parse_response<'a>(method: &str, root: &'a Node) -> Result<&'a Node> {
    let body = root
        .child("Body")
        .ok_or_else(|| Error::protocol(method, "no SOAP Body"))?;
    if let Some(fault) = body.child("Fault") {
        return Err(fault_error(method, fault));
    }
    let expected = format!("{method}Response");
    body.child(&expected)
        .ok_or_else(|| Error::protocol(method, format!("no {expected} in SOAP Body")))
}

fn fault_error(method: &str, fault: &Node) -> Error {
    let message = fault
        .child_text("faultstring")
        .unwrap_or("")
        .trim()
        .to_owned();
    let kind = fault
        .child("detail")
        .and_then(|detail| detail.children.first())
        .map(|first| {
            first
                .xsi_type()
                .map(str::to_owned)
                .unwrap_or_else(|| first.name.trim_end_matches("Fault").to_owned())
        })
        .or_else(|| fault.child_text("faultcode").map(|c| c.trim().to_owned()))
        .unwrap_or_else(|| "Fault".to_owned());
    Error::Fault {
        method: method.to_owned(),
        fault: kind,
        message,
    }
}

/// Default timeout of one HTTP exchange.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_carry_their_type_and_message() {
        let doc = r#"<soapenv:Envelope xmlns:soapenv="s"><soapenv:Body><soapenv:Fault>
            <faultcode>ServerFaultCode</faultcode><faultstring>Login failed</faultstring>
            <detail><InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin" xmlns:xsi="x"/></detail>
            </soapenv:Fault></soapenv:Body></soapenv:Envelope>"#;
        let root = xml::parse(doc).unwrap();
        let err = parse_response("Login", &root).unwrap_err();
        assert_eq!(err.to_string(), "Login failed: InvalidLogin: Login failed");
    }

    #[test]
    fn fault_text_is_escaped_when_shown() {
        let doc = "<Envelope><Body><Fault><faultcode>\u{1b}]0;x\u{7}</faultcode>\
            <faultstring>bad&#27;[2J\u{9b}31m</faultstring></Fault></Body></Envelope>";
        let err = parse_response("Login", &xml::parse(doc).unwrap()).unwrap_err();
        let Error::Fault { message, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(
            message, "bad\u{1b}[2J\u{9b}31m",
            "the error keeps the server's text"
        );
        assert_eq!(
            err.to_string(),
            "Login failed: \\x1b]0;x\\x07: bad\\x1b[2J\\u{009b}31m"
        );
    }

    #[test]
    fn envelopes_put_the_method_in_the_vim25_namespace() {
        let e = envelope(
            "Logout",
            &MoRef::new("SessionManager", "SM").to_xml("_this"),
        );
        assert!(e.contains(
            r#"<Logout xmlns="urn:vim25"><_this type="SessionManager">SM</_this></Logout>"#
        ));
    }
}
