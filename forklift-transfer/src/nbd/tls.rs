//! TLS for NBD (`NBD_OPT_STARTTLS`) with rustls and x509 certificates.
//!
//! Certificates follow the directory layout qemu-nbd, nbdkit and libnbd share:
//! `ca-cert.pem` (trusted CAs) and, for client authentication, `client-cert.pem` and
//! `client-key.pem`. Without a directory the Mozilla root store is used. Verification is
//! on unless the caller turns it off explicitly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_rustls::TlsConnector;

use crate::error::{Error, ErrorKind, Op, Result};

/// How to set up TLS for one server.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// Directory with `ca-cert.pem` and optional `client-cert.pem`/`client-key.pem`.
    pub certificates: Option<PathBuf>,
    /// Verify the server certificate (default true).
    pub verify_peer: bool,
    /// Name the server certificate must be valid for.
    pub server_name: String,
}

/// Builds a connector and the server name to verify.
pub fn connector(settings: &TlsSettings) -> Result<(TlsConnector, ServerName<'static>)> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("TLS protocol setup failed").with_source(e))?;
    let builder = if settings.verify_peer {
        let mut roots = RootCertStore::empty();
        match &settings.certificates {
            Some(dir) => {
                for cert in read_certs(&dir.join("ca-cert.pem"))? {
                    roots.add(cert).map_err(|e| {
                        tls_error(format!("Bad CA certificate in {}", dir.display())).with_source(e)
                    })?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification))
    };
    let client_cert = settings
        .certificates
        .as_ref()
        .map(|dir| (dir.join("client-cert.pem"), dir.join("client-key.pem")))
        .filter(|(cert, key)| cert.exists() && key.exists());
    let config = match client_cert {
        Some((cert, key)) => builder
            .with_client_auth_cert(read_certs(&cert)?, read_key(&key)?)
            .map_err(|e| tls_error("Bad client certificate or key").with_source(e))?,
        None => builder.with_no_client_auth(),
    };
    let name = ServerName::try_from(settings.server_name.clone()).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("Invalid TLS server name {:?}", settings.server_name),
        )
        .with_source(e)
    })?;
    Ok((TlsConnector::from(Arc::new(config)), name))
}

fn tls_error(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorKind::Tls, message).with_op(Op::Handshake)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path)
        .map_err(|e| Error::io(Op::Connect, e).with_target(path.display().to_string()))?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| tls_error(format!("Bad PEM in {}", path.display())).with_source(e))?;
    if certs.is_empty() {
        return Err(tls_error(format!("No certificate in {}", path.display())));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    let pem = std::fs::read(path)
        .map_err(|e| Error::io(Op::Connect, e).with_target(path.display().to_string()))?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| tls_error(format!("Bad PEM in {}", path.display())).with_source(e))?
        .ok_or_else(|| tls_error(format!("No private key in {}", path.display())))
}

/// Checks nothing: any certificate, any handshake signature, any key size. Used when the user
/// turns verification off (`tls-verify-peer=false` here, `insecureSkipVerify: true` for
/// vSphere), where it must accept what Go's `InsecureSkipVerify` accepts, 1024-bit RSA keys of
/// old ESXi hosts included, which ring's signature checks refuse (2048 bits minimum). Without
/// a trusted certificate a signature check proves nothing: whoever answers can sign with the
/// key of the certificate it sends.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoVerification;

impl NoVerification {
    /// Every signature scheme TLS defines, legacy SHA-1 ones included, offered in the
    /// `signature_algorithms` extension so that no server is turned away for its key.
    pub const SCHEMES: [SignatureScheme; 13] = [
        SignatureScheme::RSA_PKCS1_SHA1,
        SignatureScheme::ECDSA_SHA1_Legacy,
        SignatureScheme::RSA_PKCS1_SHA256,
        SignatureScheme::ECDSA_NISTP256_SHA256,
        SignatureScheme::RSA_PKCS1_SHA384,
        SignatureScheme::ECDSA_NISTP384_SHA384,
        SignatureScheme::RSA_PKCS1_SHA512,
        SignatureScheme::ECDSA_NISTP521_SHA512,
        SignatureScheme::RSA_PSS_SHA256,
        SignatureScheme::RSA_PSS_SHA384,
        SignatureScheme::RSA_PSS_SHA512,
        SignatureScheme::ED25519,
        SignatureScheme::ED448,
    ];
}

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        Self::SCHEMES.to_vec()
    }
}
