//! [`OpenstackConfig`]: the Keystone URL, authentication method, region, endpoint interface
//! and TLS trust of an OpenStack provider, read from its Provider resource and Secret.

use std::path::PathBuf;
use std::str::FromStr;

use forklift_core::credentials::{Credentials, OpenStackAuth};

use crate::capability::ProviderConfig;
use crate::error::{Error, Result};
use crate::vsphere::TlsTrust;

/// Provider setting choosing the catalog interface of the service endpoints
/// (`public`, the default, `internal` or `admin`).
pub const INTERFACE_SETTING: &str = "interface";

/// Provider setting naming the folder where image data is staged while it is copied
/// (default: the system's temporary folder).
pub const STAGING_SETTING: &str = "imageStagingDir";

/// Which of a service's catalog endpoints is used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Interface {
    /// `public`.
    #[default]
    Public,
    /// `internal`.
    Internal,
    /// `admin`.
    Admin,
}

impl Interface {
    /// The catalog's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Admin => "admin",
        }
    }
}

impl FromStr for Interface {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self> {
        match value.trim().trim_end_matches("URL") {
            "public" => Ok(Self::Public),
            "internal" => Ok(Self::Internal),
            "admin" => Ok(Self::Admin),
            other => Err(Error::config(
                format!("spec.settings.{INTERFACE_SETTING}"),
                format!("'{other}' is not one of public, internal, admin"),
            )),
        }
    }
}

/// Everything the OpenStack client needs.
#[derive(Debug, Clone)]
pub struct OpenstackConfig {
    /// Provider name, for messages and inventory.
    pub provider_name: String,
    /// Keystone v3 base URL (`…/v3`).
    pub auth_url: url::Url,
    /// The authentication method with its secrets.
    pub auth: OpenStackAuth,
    /// Region of the endpoints (`regionName`); any region when unset.
    pub region: Option<String>,
    /// Catalog interface of the endpoints.
    pub interface: Interface,
    /// How server certificates are checked (`cacert`, `insecureSkipVerify`).
    pub trust: TlsTrust,
    /// Where image data is staged while copied.
    pub staging_dir: PathBuf,
}

impl OpenstackConfig {
    /// A configuration with public endpoints in any region, system CAs and the system's
    /// temporary folder for staging.
    pub fn new(provider_name: &str, auth_url: &str, auth: OpenStackAuth) -> Result<Self> {
        Ok(Self {
            provider_name: provider_name.to_owned(),
            auth_url: keystone_v3_url(auth_url)?,
            auth,
            region: None,
            interface: Interface::Public,
            trust: TlsTrust::SystemRoots,
            staging_dir: std::env::temp_dir(),
        })
    }

    /// Reads the Provider's URL (else the Secret's `url`), the Secret's authentication
    /// method, `regionName`, `cacert` and `insecureSkipVerify`, and the provider settings
    /// [`INTERFACE_SETTING`] and [`STAGING_SETTING`].
    pub fn from_provider(config: &ProviderConfig) -> Result<Self> {
        let credentials = config
            .credentials
            .as_ref()
            .ok_or_else(|| Error::config("spec.secret", "an OpenStack provider needs a Secret"))?;
        let Credentials::OpenStack(os) = &credentials.credentials else {
            return Err(Error::config(
                "spec.secret",
                "holds no OpenStack credentials",
            ));
        };
        let url = if config.url.trim().is_empty() {
            os.url.as_deref().unwrap_or_default()
        } else {
            config.url.as_str()
        };
        let mut this = Self::new(&config.name, url, os.auth.clone())?;
        if this.auth_url.scheme() == "http" && !config.allow_plain_http {
            return Err(Error::PlainHttp {
                url: url.to_owned(),
            });
        }
        this.region = os.region_name.clone().filter(|r| !r.is_empty());
        if let Some(interface) = config.settings.get(INTERFACE_SETTING) {
            this.interface = interface.parse()?;
        }
        if let Some(dir) = config.settings.get(STAGING_SETTING) {
            this.staging_dir = PathBuf::from(dir);
        }
        let tls = &credentials.tls;
        this.trust = if tls.insecure_skip_verify {
            TlsTrust::InsecureSkipVerify
        } else if let Some(ca) = &tls.ca_cert {
            TlsTrust::CustomCa(ca.as_bytes().to_vec())
        } else {
            TlsTrust::SystemRoots
        };
        Ok(this)
    }

    /// Keystone's token URL.
    pub fn token_url(&self) -> String {
        format!(
            "{}/auth/tokens",
            self.auth_url.as_str().trim_end_matches('/')
        )
    }
}

/// The Keystone v3 base URL of `url`: as given when it names a version path, `…/v3`
/// appended when it is the bare service URL (`http://keystone:5000`).
fn keystone_v3_url(url: &str) -> Result<url::Url> {
    let field = "spec.url";
    let parsed = url::Url::parse(url.trim())
        .map_err(|e| Error::config(field, format!("'{url}' is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::config(
            field,
            format!("'{url}' is not an http(s) Keystone URL"),
        ));
    }
    let path = parsed.path().trim_end_matches('/');
    if path.ends_with("/v3") {
        return Ok(parsed);
    }
    if path.ends_with("/v2.0") {
        return Err(Error::config(
            field,
            format!("'{url}' is Keystone v2.0, which forklift does not speak; use the /v3 URL"),
        ));
    }
    let mut v3 = parsed.clone();
    v3.set_path(&format!("{path}/v3"));
    Ok(v3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keystone_urls_gain_v3_and_refuse_v2() {
        let v3 = |u: &str| keystone_v3_url(u).map(|u| u.to_string());
        assert_eq!(v3("http://k:5000").unwrap(), "http://k:5000/v3");
        assert_eq!(
            v3("http://k:5000/identity/").unwrap(),
            "http://k:5000/identity/v3"
        );
        assert_eq!(v3("https://k/v3/").unwrap(), "https://k/v3/");
        assert!(
            v3("http://k:5000/v2.0")
                .unwrap_err()
                .to_string()
                .contains("v2.0")
        );
        assert!(v3("ftp://k").is_err());
        assert!(v3("not a url").is_err());
    }

    #[test]
    fn interfaces_parse_with_or_without_url_suffix() {
        assert_eq!(
            "internal".parse::<Interface>().unwrap(),
            Interface::Internal
        );
        assert_eq!("publicURL".parse::<Interface>().unwrap(), Interface::Public);
        let err = "private".parse::<Interface>().unwrap_err();
        assert!(err.to_string().contains("spec.settings.interface"), "{err}");
    }
}
