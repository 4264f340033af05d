//! NBD URIs: `nbd://`, `nbds://`, `nbd+unix://`, `nbds+unix://`.
//!
//! ```text
//!   nbd://HOST[:PORT]/EXPORT              TCP, default port 10809
//!   nbds://HOST[:PORT]/EXPORT             TCP with STARTTLS required
//!   nbd+unix:///EXPORT?socket=PATH        Unix socket
//!   nbds+unix:///EXPORT?socket=PATH       Unix socket with STARTTLS required
//! ```
//!
//! TLS query parameters (libnbd's names): `tls-certificates=DIR` (holding `ca-cert.pem` and
//! optionally `client-cert.pem`/`client-key.pem`), `tls-verify-peer=false` to skip
//! verification (off only when asked), `tls-hostname=NAME` for the name to verify.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Default NBD TCP port.
pub const DEFAULT_PORT: u16 = 10809;

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A TCP host and port.
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
    /// A Unix domain socket.
    Unix(PathBuf),
}

/// A parsed NBD URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NbdUri {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// Export name (may be empty: the default export).
    pub export: String,
    /// Whether TLS is required (`nbds`).
    pub tls: bool,
    /// Directory with `ca-cert.pem` and optional client certificate and key.
    pub tls_certificates: Option<PathBuf>,
    /// Whether to verify the server's certificate (default on).
    pub tls_verify_peer: bool,
    /// Name to verify the certificate against (default: the host, or `localhost`).
    pub tls_hostname: Option<String>,
}

impl NbdUri {
    /// Parses an NBD URI.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: String| Error::invalid_input(format!("Invalid NBD URI {text:?}: {why}"));
        let url = url::Url::parse(text).map_err(|e| bad(e.to_string()))?;
        let (tls, unix) = match url.scheme() {
            "nbd" => (false, false),
            "nbds" => (true, false),
            "nbd+unix" => (false, true),
            "nbds+unix" => (true, true),
            other => return Err(bad(format!("unknown scheme {other:?}"))),
        };
        let path = url.path();
        let export = percent_decode(path.strip_prefix('/').unwrap_or(path))
            .ok_or_else(|| bad("export name is not valid UTF-8".into()))?;
        let mut socket = None;
        let mut uri = Self {
            endpoint: Endpoint::Unix(PathBuf::new()),
            export,
            tls,
            tls_certificates: None,
            tls_verify_peer: true,
            tls_hostname: None,
        };
        for (key, value) in url.query_pairs() {
            match &*key {
                "socket" => socket = Some(PathBuf::from(value.as_ref())),
                "tls-certificates" => uri.tls_certificates = Some(PathBuf::from(value.as_ref())),
                "tls-verify-peer" => {
                    uri.tls_verify_peer = match &*value {
                        "true" | "1" | "on" | "yes" => true,
                        "false" | "0" | "off" | "no" => false,
                        other => return Err(bad(format!("tls-verify-peer={other:?}"))),
                    }
                }
                "tls-hostname" => uri.tls_hostname = Some(value.into_owned()),
                // libnbd accepts more parameters (tls-psk-file, tls-username); refuse
                // rather than silently ignore security settings we do not implement.
                other => return Err(bad(format!("unsupported query parameter {other:?}"))),
            }
        }
        if unix {
            if url.host_str().is_some_and(|h| !h.is_empty()) {
                return Err(bad("a Unix socket URI has no host".into()));
            }
            uri.endpoint =
                Endpoint::Unix(socket.ok_or_else(|| bad("missing ?socket=PATH".into()))?);
        } else {
            if socket.is_some() {
                return Err(bad("socket= is only valid with nbd+unix".into()));
            }
            let host = url
                .host_str()
                .filter(|h| !h.is_empty())
                .ok_or_else(|| bad("missing host".into()))?;
            let host = host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host);
            uri.endpoint = Endpoint::Tcp {
                host: host.to_owned(),
                port: url.port().unwrap_or(DEFAULT_PORT),
            };
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("credentials in NBD URIs are not supported".into()));
        }
        Ok(uri)
    }

    /// Name the server's certificate must carry.
    pub fn tls_server_name(&self) -> String {
        if let Some(name) = &self.tls_hostname {
            return name.clone();
        }
        match &self.endpoint {
            Endpoint::Tcp { host, .. } => host.clone(),
            Endpoint::Unix(_) => "localhost".to_owned(),
        }
    }
}

impl fmt::Display for NbdUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = if self.tls { "s" } else { "" };
        match &self.endpoint {
            Endpoint::Tcp { host, port } if host.contains(':') => {
                write!(f, "nbd{s}://[{host}]:{port}/{}", self.export)
            }
            Endpoint::Tcp { host, port } => write!(f, "nbd{s}://{host}:{port}/{}", self.export),
            Endpoint::Unix(path) => write!(
                f,
                "nbd{s}+unix:///{}?socket={}",
                self.export,
                path.display()
            ),
        }
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_scheme() {
        let tcp = NbdUri::parse("nbd://example.com/disk%201").unwrap();
        assert_eq!(
            tcp.endpoint,
            Endpoint::Tcp {
                host: "example.com".into(),
                port: 10809
            }
        );
        assert_eq!(tcp.export, "disk 1");
        assert!(!tcp.tls);
        let v6 = NbdUri::parse("nbds://[::1]:1234/").unwrap();
        assert_eq!(
            v6.endpoint,
            Endpoint::Tcp {
                host: "::1".into(),
                port: 1234
            }
        );
        assert!(v6.tls);
        assert_eq!(v6.export, "");
        assert_eq!(v6.to_string(), "nbds://[::1]:1234/");
        let unix = NbdUri::parse(
            "nbds+unix:///e?socket=/tmp/s.sock&tls-certificates=/pki&tls-verify-peer=false",
        )
        .unwrap();
        assert_eq!(unix.endpoint, Endpoint::Unix("/tmp/s.sock".into()));
        assert_eq!(unix.export, "e");
        assert_eq!(unix.tls_certificates, Some(PathBuf::from("/pki")));
        assert!(!unix.tls_verify_peer);
        assert_eq!(unix.tls_server_name(), "localhost");
        assert_eq!(unix.to_string(), "nbds+unix:///e?socket=/tmp/s.sock");
    }

    #[test]
    fn rejects_bad_uris() {
        for bad in [
            "http://x/",
            "nbd+unix:///e",
            "nbd:///e",
            "nbd://h/e?socket=/s",
            "nbd://u:p@h/e",
            "nbd://h/e?tls-psk-file=/k",
            "nbd://h/e?tls-verify-peer=maybe",
            "nbd://h/%ff",
            "not a uri",
        ] {
            let error = NbdUri::parse(bad).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::InvalidInput, "{bad}");
        }
    }
}
