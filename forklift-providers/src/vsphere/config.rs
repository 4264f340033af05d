//! vSphere provider configuration from a Provider resource and its Secret.

use std::time::Duration;

use forklift_core::credentials::{Credentials, TlsSettings};

use super::tls::{TlsTrust, normalize_thumbprint};
use crate::capability::{ProviderConfig, SecretString};
use crate::error::{Error, Result};

/// Which SDK the URL points at (`spec.settings.sdkEndpoint`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SdkEndpoint {
    /// A vCenter server (default).
    #[default]
    Vcenter,
    /// A single ESXi host.
    Esxi,
}

/// Reading disks through VMware's VDDK instead of datastore HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VddkSettings {
    /// Directory of the VDDK distribution (holding `lib64/libvixDiskLib.so.*`).
    pub libdir: std::path::PathBuf,
    /// Optional VDDK configuration file passed to `VixDiskLib_InitEx`.
    pub config_file: Option<std::path::PathBuf>,
    /// Transport modes in order of preference.
    pub transports: String,
}

impl VddkSettings {
    /// VDDK from `libdir` with migration's transports `file:nbdssl:nbd`.
    pub fn new(libdir: impl Into<std::path::PathBuf>) -> Self {
        Self {
            libdir: libdir.into(),
            config_file: None,
            transports: forklift_transfer::vddk::ConnectSpec::DEFAULT_TRANSPORTS.to_owned(),
        }
    }
}

/// How to reach and authenticate to a vSphere endpoint.
#[derive(Debug, Clone)]
pub struct VsphereConfig {
    /// Name of the Provider resource, recorded in the inventory.
    pub provider_name: String,
    /// The SDK URL, always ending in `/sdk`.
    pub sdk_url: url::Url,
    /// vCenter or ESXi.
    pub endpoint: SdkEndpoint,
    /// User name.
    pub user: String,
    /// Password (never logged).
    pub password: SecretString,
    /// Certificate checking.
    pub trust: TlsTrust,
    /// Timeout of one HTTP exchange.
    pub request_timeout: Duration,
    /// Read disks with VDDK (when set) rather than over datastore HTTP.
    pub vddk: Option<VddkSettings>,
}

impl VsphereConfig {
    /// A configuration with the default timeout. `url` must be `https://`: a plain
    /// `http://` URL is refused with [`Error::PlainHttp`] (see [`Self::new_plain_http`]).
    pub fn new(url: &str, user: &str, password: SecretString, trust: TlsTrust) -> Result<Self> {
        Self::build(url, user, password, trust, PlainHttp::Refuse)
    }

    /// Like [`Self::new`], but `url` may also be a plain `http://` URL, over which the
    /// password travels in clear text: for test servers and lab endpoints only.
    pub fn new_plain_http(url: &str, user: &str, password: SecretString) -> Result<Self> {
        Self::build(url, user, password, TlsTrust::SystemRoots, PlainHttp::Allow)
    }

    fn build(
        url: &str,
        user: &str,
        password: SecretString,
        trust: TlsTrust,
        plain_http: PlainHttp,
    ) -> Result<Self> {
        Ok(Self {
            provider_name: String::new(),
            sdk_url: sdk_url(url, plain_http)?,
            endpoint: SdkEndpoint::Vcenter,
            user: user.to_owned(),
            password,
            trust,
            request_timeout: super::soap::REQUEST_TIMEOUT,
            vddk: None,
        })
    }

    /// Reads `spec.url`, `spec.settings.sdkEndpoint` and the vSphere credentials that
    /// `forklift-core` parsed from the secret (`user`, `password`, `insecureSkipVerify`,
    /// `cacert` or `ca.crt`, and the forklift extension `thumbprint`, which pins the server
    /// certificate). The setting `vddkLibDir`, another extension, reads disks with the VDDK
    /// found there. A plain `http://` URL is refused unless
    /// [`ProviderConfig::allow_plain_http`] is set.
    pub fn from_provider(provider: &ProviderConfig) -> Result<Self> {
        let credentials = provider
            .credentials
            .as_ref()
            .ok_or_else(|| Error::config("spec.secret", "vSphere providers need a secret"))?;
        let Credentials::VSphere(login) = &credentials.credentials else {
            return Err(Error::config(
                "spec.secret",
                format!("holds {}, not vSphere credentials", credentials.credentials),
            ));
        };
        let trust = trust(&credentials.tls)?;
        let endpoint = match provider.settings.get("sdkEndpoint").map(String::as_str) {
            None | Some("") | Some("vcenter") => SdkEndpoint::Vcenter,
            Some("esxi") => SdkEndpoint::Esxi,
            Some(other) => {
                return Err(Error::config(
                    "spec.settings.sdkEndpoint",
                    format!("'{other}' is neither 'vcenter' nor 'esxi'"),
                ));
            }
        };
        let plain_http = if provider.allow_plain_http {
            PlainHttp::Allow
        } else {
            PlainHttp::Refuse
        };
        let mut config = Self::build(
            &provider.url,
            &login.user,
            login.password.clone(),
            trust,
            plain_http,
        )?;
        config.endpoint = endpoint;
        config.provider_name = provider.name.clone();
        config.vddk = provider
            .settings
            .get(VDDK_LIBDIR_SETTING)
            .filter(|dir| !dir.is_empty())
            .map(VddkSettings::new);
        Ok(config)
    }
}

/// How the secret's TLS settings choose certificate checking: skipping wins over a CA
/// bundle, which wins over a pinned thumbprint; with none of them, the system roots.
pub(crate) fn trust(tls: &TlsSettings) -> Result<TlsTrust> {
    Ok(if tls.insecure_skip_verify {
        TlsTrust::InsecureSkipVerify
    } else if let Some(ca) = &tls.ca_cert {
        TlsTrust::CustomCa(ca.as_bytes().to_vec())
    } else if let Some(pin) = &tls.thumbprint {
        TlsTrust::Thumbprint(normalize_thumbprint(pin)?)
    } else {
        TlsTrust::SystemRoots
    })
}

/// Setting naming a local VDDK directory (a forklift extension; upstream ships VDDK in an
/// init image, `vddkInitImage`).
pub const VDDK_LIBDIR_SETTING: &str = "vddkLibDir";

/// Whether a vSphere URL may be plain `http://`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainHttp {
    /// Only `https://` (the default everywhere).
    Refuse,
    /// `http://` too: the password then travels in clear text.
    Allow,
}

/// Normalizes a provider URL to its SDK URL: `https://host` → `https://host/sdk`. A plain
/// `http://` URL is refused with [`Error::PlainHttp`] unless `plain_http` allows it.
pub fn sdk_url(url: &str, plain_http: PlainHttp) -> Result<url::Url> {
    let mut parsed =
        url::Url::parse(url).map_err(|e| Error::config("spec.url", format!("'{url}': {e}")))?;
    match (parsed.scheme(), plain_http) {
        ("https", _) | ("http", PlainHttp::Allow) => {}
        ("http", PlainHttp::Refuse) => {
            return Err(Error::PlainHttp {
                url: url.to_owned(),
            });
        }
        _ => {
            return Err(Error::config(
                "spec.url",
                format!("'{url}' must be an https URL"),
            ));
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::config("spec.url", format!("'{url}' has no host")));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::config(
            "spec.url",
            "must not carry credentials; put them in the secret",
        ));
    }
    if matches!(parsed.path(), "" | "/") {
        parsed.set_path("/sdk");
    }
    parsed.set_query(None);
    parsed.set_fragment(None);
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use forklift_core::credentials::{ProviderCredentials, UserPassword};

    use super::*;
    use crate::capability::ProviderType;

    #[test]
    fn urls_get_the_sdk_path() {
        let refuse = PlainHttp::Refuse;
        assert_eq!(
            sdk_url("https://vc.example.com", refuse).unwrap().as_str(),
            "https://vc.example.com/sdk"
        );
        assert_eq!(
            sdk_url("https://vc:8443/sdk", refuse).unwrap().as_str(),
            "https://vc:8443/sdk"
        );
        assert!(sdk_url("ftp://vc", PlainHttp::Allow).is_err());
        assert!(sdk_url("https://u:p@vc/sdk", refuse).is_err());
        assert!(sdk_url("not a url", refuse).is_err());
    }

    #[test]
    fn plain_http_is_refused_unless_allowed() {
        let err = sdk_url("http://vc.example.com", PlainHttp::Refuse).unwrap_err();
        assert!(matches!(&err, Error::PlainHttp { url } if url == "http://vc.example.com"));
        let text = err.to_string();
        assert!(
            text.contains("spec.url") && text.contains("--allow-plain-http"),
            "{text}"
        );
        assert_eq!(
            sdk_url("http://vc.example.com", PlainHttp::Allow)
                .unwrap()
                .as_str(),
            "http://vc.example.com/sdk"
        );
        let mut p = ProviderConfig::new(ProviderType::VSphere, "vc", "http://vc/sdk")
            .with_credentials(ProviderCredentials {
                credentials: Credentials::VSphere(UserPassword {
                    user: "u".into(),
                    password: "p".into(),
                }),
                tls: TlsSettings::default(),
            });
        assert!(matches!(
            VsphereConfig::from_provider(&p),
            Err(Error::PlainHttp { .. })
        ));
        p.allow_plain_http = true;
        assert_eq!(
            VsphereConfig::from_provider(&p).unwrap().sdk_url.as_str(),
            "http://vc/sdk"
        );
        assert!(VsphereConfig::new("http://vc", "u", "p".into(), TlsTrust::SystemRoots).is_err());
        assert!(VsphereConfig::new_plain_http("http://vc", "u", "p".into()).is_ok());
    }

    #[test]
    fn provider_secret_selects_trust_and_endpoint() {
        let mut p = ProviderConfig::new(ProviderType::VSphere, "vc", "https://vc/sdk");
        assert!(
            VsphereConfig::from_provider(&p)
                .unwrap_err()
                .to_string()
                .contains("spec.secret")
        );
        p.credentials = Some(ProviderCredentials {
            credentials: Credentials::VSphere(UserPassword {
                user: "administrator@vsphere.local".into(),
                password: "s3cret".into(),
            }),
            tls: TlsSettings {
                insecure_skip_verify: true,
                ..TlsSettings::default()
            },
        });
        p.settings.insert("sdkEndpoint".into(), "esxi".into());
        let c = VsphereConfig::from_provider(&p).unwrap();
        assert_eq!(c.trust, TlsTrust::InsecureSkipVerify);
        assert_eq!(c.endpoint, SdkEndpoint::Esxi);
        assert_eq!(c.user, "administrator@vsphere.local");
        assert!(!format!("{c:?}").contains("s3cret"));
        p.settings.insert("sdkEndpoint".into(), "host".into());
        assert!(VsphereConfig::from_provider(&p).is_err());
    }

    #[test]
    fn tls_settings_choose_trust_in_order() {
        let pin = "ab".repeat(20);
        let mut tls = TlsSettings {
            insecure_skip_verify: true,
            ca_cert: Some("pem".into()),
            thumbprint: Some(pin.clone()),
        };
        assert_eq!(trust(&tls).unwrap(), TlsTrust::InsecureSkipVerify);
        tls.insecure_skip_verify = false;
        assert_eq!(trust(&tls).unwrap(), TlsTrust::CustomCa(b"pem".to_vec()));
        tls.ca_cert = None;
        assert_eq!(
            trust(&tls).unwrap(),
            TlsTrust::Thumbprint(normalize_thumbprint(&pin).unwrap())
        );
        tls.thumbprint = Some("not hex".into());
        assert!(trust(&tls).is_err());
        tls.thumbprint = None;
        assert_eq!(trust(&tls).unwrap(), TlsTrust::SystemRoots);
    }

    #[test]
    fn other_credentials_are_rejected() {
        let p = ProviderConfig::new(ProviderType::VSphere, "vc", "https://vc/sdk")
            .with_credentials(ProviderCredentials {
                credentials: Credentials::Ova,
                tls: TlsSettings::default(),
            });
        let err = VsphereConfig::from_provider(&p).unwrap_err().to_string();
        assert!(err.contains("not vSphere credentials"), "{err}");
    }
}
