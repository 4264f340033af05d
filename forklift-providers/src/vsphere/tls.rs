//! TLS for vim25 and datastore HTTP: CA choice, explicit opt-out, thumbprint pinning and the
//! SHA-1 thumbprint probe (upstream `util.Fingerprint`).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use forklift_transfer::nbd::tls::NoVerification;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha1::{Digest, Sha1};

use crate::error::{Error, Result};

/// How the server certificate is checked.
#[derive(Clone, PartialEq, Eq)]
pub enum TlsTrust {
    /// The bundled Mozilla roots (webpki-roots).
    SystemRoots,
    /// Only these PEM-encoded CA certificates (the secret's `cacert`).
    CustomCa(Vec<u8>),
    /// Accept the leaf certificate whose SHA-1 thumbprint is this (`AA:BB:...`), as VDDK
    /// and virt-v2v pin ESXi hosts; chain and name are not checked.
    Thumbprint(String),
    /// No verification at all (`insecureSkipVerify: true`): an explicit opt-in.
    InsecureSkipVerify,
}

impl std::fmt::Debug for TlsTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SystemRoots => f.write_str("SystemRoots"),
            Self::CustomCa(pem) => write!(f, "CustomCa({} bytes)", pem.len()),
            Self::Thumbprint(t) => write!(f, "Thumbprint({t})"),
            Self::InsecureSkipVerify => f.write_str("InsecureSkipVerify"),
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls client configuration for a trust choice.
pub fn client_config(trust: &TlsTrust) -> Result<ClientConfig> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let config = match trust {
        TlsTrust::SystemRoots => {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        TlsTrust::CustomCa(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert.map_err(|e| Error::config("secret.cacert", e.to_string()))?;
                roots
                    .add(cert)
                    .map_err(|e| Error::config("secret.cacert", e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(Error::config(
                    "secret.cacert",
                    "contains no PEM certificate",
                ));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        TlsTrust::Thumbprint(expected) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(LeafVerifier {
                expected: normalize_thumbprint(expected)?,
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
        // Nothing checked, key sizes and signature schemes included, as Go's
        // `InsecureSkipVerify` (old ESXi hosts and govmomi's simulator use 1024-bit RSA keys).
        TlsTrust::InsecureSkipVerify => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// SHA-1 over the DER bytes, as 20 upper-case hex pairs joined by `:`.
pub fn thumbprint_of(der: &[u8]) -> String {
    let digest = Sha1::digest(der);
    digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Canonical form of a user-supplied thumbprint (case and separators ignored).
pub fn normalize_thumbprint(thumbprint: &str) -> Result<String> {
    let hex: String = thumbprint
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect();
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::config(
            "thumbprint",
            "expected a SHA-1 thumbprint of 20 hex byte pairs",
        ));
    }
    let upper = hex.to_ascii_uppercase();
    Ok(upper
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":"))
}

/// Accepts the pinned leaf whatever its chain, but still checks handshake signatures, so the
/// peer must hold the certificate's private key.
#[derive(Debug)]
struct LeafVerifier {
    expected: String,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for LeafVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if self.expected == thumbprint_of(end_entity) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "server certificate does not match the pinned thumbprint".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Connects to the URL's host (port 443 unless given), completes a TLS handshake without
/// verification and returns the SHA-1 thumbprint of the leaf certificate.
///
/// Blocking; async callers run it on a blocking thread (see [`fetch_thumbprint`]).
pub fn fetch_thumbprint_blocking(url: &url::Url, timeout: Duration) -> Result<String> {
    let host = url
        .host_str()
        .ok_or_else(|| Error::config("spec.url", "has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url.port().unwrap_or(443);
    let tls_error = |e: &dyn std::fmt::Display| Error::Tls(format!("{host}:{port}: {e}"));
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| tls_error(&e))?
        .next()
        .ok_or_else(|| tls_error(&"no address"))?;
    let mut tcp = TcpStream::connect_timeout(&addr, timeout).map_err(|e| tls_error(&e))?;
    tcp.set_read_timeout(Some(timeout))
        .map_err(|e| tls_error(&e))?;
    tcp.set_write_timeout(Some(timeout))
        .map_err(|e| tls_error(&e))?;
    let config = client_config(&TlsTrust::InsecureSkipVerify)?;
    let name = ServerName::try_from(host.clone()).map_err(|e| tls_error(&e))?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| tls_error(&e))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| tls_error(&e))?;
    }
    let leaf = conn
        .peer_certificates()
        .and_then(|certs| certs.first())
        .ok_or_else(|| tls_error(&"server sent no certificate"))?;
    let thumbprint = thumbprint_of(leaf);
    // Close politely; errors here do not matter, the thumbprint is known.
    conn.send_close_notify();
    let _ = conn.complete_io(&mut tcp);
    let _ = tcp.flush();
    let mut sink = [0u8; 0];
    let _ = tcp.read(&mut sink);
    Ok(thumbprint)
}

/// Connects to the URL's host and returns the SHA-1 thumbprint of its leaf certificate
/// (the blocking probe runs on a blocking thread).
pub async fn fetch_thumbprint(url: &url::Url, timeout: Duration) -> Result<String> {
    let url = url.clone();
    tokio::task::spawn_blocking(move || fetch_thumbprint_blocking(&url, timeout))
        .await
        .map_err(|e| Error::Tls(format!("thumbprint probe task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_are_upper_case_pairs() {
        let t = thumbprint_of(b"abc");
        assert_eq!(
            t,
            "A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D"
        );
        assert_eq!(normalize_thumbprint(&t.to_lowercase()).unwrap(), t);
        assert!(normalize_thumbprint("AA:BB").is_err());
    }

    /// `openssl s_server` on 127.0.0.1 with a 1024-bit RSA leaf signed by a 2048-bit CA (as
    /// old ESXi hosts present); killed on drop. rustls cannot serve such a key (ring signs with
    /// 2048 bits or more), hence openssl.
    struct OldHost {
        dir: tempfile::TempDir,
        port: u16,
        server: std::process::Child,
    }

    impl OldHost {
        fn start(protocol: &str) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let openssl = |args: &[&str]| {
                let out = std::process::Command::new("openssl")
                    .args(args)
                    .current_dir(dir.path())
                    .output()
                    .unwrap();
                assert!(out.status.success(), "openssl {args:?}: {out:?}");
            };
            std::fs::write(dir.path().join("ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=test-ca",
                "-days",
                "1",
            ]);
            openssl(&[
                "req",
                "-newkey",
                "rsa:1024",
                "-nodes",
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=127.0.0.1",
            ]);
            openssl(&[
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "leaf.pem",
                "-days",
                "1",
                "-extfile",
                "ext",
            ]);
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let server = std::process::Command::new("openssl")
                .args(["s_server", "-quiet", "-www", protocol, "-accept"])
                .arg(format!("127.0.0.1:{port}"))
                // OpenSSL's default security level refuses to serve a 1024-bit key.
                .args(["-cert", "leaf.pem", "-key", "leaf.key"])
                .args(["-cipher", "DEFAULT:@SECLEVEL=0"])
                .current_dir(dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let host = Self { dir, port, server };
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "s_server did not start"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            host
        }

        fn pem(&self, name: &str) -> Vec<u8> {
            std::fs::read(self.dir.path().join(name)).unwrap()
        }

        /// Completes a handshake with this trust choice.
        fn handshake(&self, trust: &TlsTrust) -> std::result::Result<(), String> {
            let config = client_config(trust).map_err(|e| e.to_string())?;
            let mut tcp = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let name = ServerName::try_from("127.0.0.1").unwrap();
            let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
            while conn.is_handshaking() {
                conn.complete_io(&mut tcp).map_err(|e| e.to_string())?;
            }
            Ok(())
        }
    }

    impl Drop for OldHost {
        fn drop(&mut self) {
            let _ = self.server.kill();
            let _ = self.server.wait();
        }
    }

    #[test]
    fn insecure_skip_verify_accepts_a_1024_bit_rsa_host_and_verification_refuses_it() {
        for protocol in ["-tls1_2", "-tls1_3"] {
            let host = OldHost::start(protocol);
            host.handshake(&TlsTrust::InsecureSkipVerify)
                .unwrap_or_else(|e| panic!("{protocol}: insecure handshake failed: {e}"));
            // The thumbprint probe runs insecure too and sees the 1024-bit leaf.
            let url = url::Url::parse(&format!("https://127.0.0.1:{}/sdk", host.port)).unwrap();
            let leaf = rustls_pemfile::certs(&mut host.pem("leaf.pem").as_slice())
                .next()
                .unwrap()
                .unwrap();
            assert_eq!(
                fetch_thumbprint_blocking(&url, Duration::from_secs(5)).unwrap(),
                thumbprint_of(&leaf),
                "{protocol}"
            );
            // Verification on stays strict: the chain is trusted, the name matches, yet the
            // 1024-bit key's handshake signature is refused.
            let err = host
                .handshake(&TlsTrust::CustomCa(host.pem("ca.pem")))
                .expect_err(protocol);
            assert!(err.contains("BadSignature"), "{protocol}: {err}");
            // So is a pinned thumbprint: pinning replaces the chain, not the signature check.
            assert!(
                host.handshake(&TlsTrust::Thumbprint(thumbprint_of(&leaf)))
                    .is_err(),
                "{protocol}"
            );
        }
    }

    #[test]
    fn bad_ca_bundles_are_config_errors() {
        let err = client_config(&TlsTrust::CustomCa(b"not pem".to_vec())).unwrap_err();
        assert!(err.to_string().contains("secret.cacert"), "{err}");
    }
}
