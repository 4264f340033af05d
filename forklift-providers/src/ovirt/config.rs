//! [`OvirtConfig`]: the engine API URL, the user and password and the TLS trust of an oVirt
//! provider, read from its Provider resource and Secret (`user`, `password`, `cacert`,
//! `insecureSkipVerify`) with the same trust rules as every other provider.

use forklift_core::credentials::{Credentials, SecretString};

use crate::capability::ProviderConfig;
use crate::error::{Error, Result};
use crate::vsphere::TlsTrust;

/// Everything the engine client needs.
#[derive(Debug, Clone)]
pub struct OvirtConfig {
    /// Provider name, for messages and inventory.
    pub provider_name: String,
    /// The engine's API URL, `https://engine/ovirt-engine/api` (no trailing slash).
    pub api_url: url::Url,
    /// Engine user, e.g. `admin@internal`.
    pub user: String,
    /// The user's password.
    pub password: SecretString,
    /// How the engine's certificate is checked (`cacert`, `insecureSkipVerify`).
    pub trust: TlsTrust,
    /// Longest one exchange with the engine may take, its answer's body included (an
    /// engine trickling bytes is given up here). Default
    /// [`EXCHANGE_LIMIT`](super::limits::EXCHANGE_LIMIT).
    pub exchange_timeout: std::time::Duration,
}

impl OvirtConfig {
    /// A configuration for `api_url` trusting the system roots.
    pub fn new(
        provider_name: &str,
        api_url: &str,
        user: &str,
        password: SecretString,
    ) -> Result<Self> {
        Ok(Self {
            provider_name: provider_name.to_owned(),
            api_url: engine_api_url(api_url)?,
            user: user.to_owned(),
            password,
            trust: TlsTrust::SystemRoots,
            exchange_timeout: super::limits::EXCHANGE_LIMIT,
        })
    }

    /// Reads the Provider's URL and the Secret's `user`, `password`, `cacert` and
    /// `insecureSkipVerify`.
    pub fn from_provider(config: &ProviderConfig) -> Result<Self> {
        let credentials = config
            .credentials
            .as_ref()
            .ok_or_else(|| Error::config("spec.secret", "an oVirt provider needs a Secret"))?;
        let Credentials::OVirt(up) = &credentials.credentials else {
            return Err(Error::config("spec.secret", "holds no oVirt credentials"));
        };
        let mut this = Self::new(&config.name, &config.url, &up.user, up.password.clone())?;
        if this.api_url.scheme() == "http" && !config.allow_plain_http {
            return Err(Error::PlainHttp {
                url: config.url.clone(),
            });
        }
        this.trust = crate::vsphere::config::trust(&credentials.tls)?;
        Ok(this)
    }

    /// The engine's base URL (`…/ovirt-engine`), under which SSO lives.
    fn engine_base(&self) -> String {
        let api = self.api_url.as_str().trim_end_matches('/');
        api.strip_suffix("/api").unwrap_or(api).to_owned()
    }

    /// The SSO token URL (`…/ovirt-engine/sso/oauth/token`).
    pub fn token_url(&self) -> String {
        format!("{}/sso/oauth/token", self.engine_base())
    }

    /// The SSO logout URL (`…/ovirt-engine/services/sso-logout`).
    pub fn logout_url(&self) -> String {
        format!("{}/services/sso-logout", self.engine_base())
    }

    /// The full URL of an API path (starting with `/`), or of an engine `href`
    /// (`/ovirt-engine/api/...`), always on the configured host.
    pub fn url(&self, path: &str) -> String {
        let api = self.api_url.as_str().trim_end_matches('/');
        let api_path = self.api_url.path().trim_end_matches('/');
        match path.strip_prefix(api_path) {
            Some(rest) if !api_path.is_empty() => format!("{api}{rest}"),
            _ => format!("{api}{path}"),
        }
    }
}

/// The engine API URL of `url`: `https://engine/ovirt-engine/api` as given, or with
/// `/ovirt-engine/api` (or `/api`) appended when `url` names only the host or the engine.
fn engine_api_url(url: &str) -> Result<url::Url> {
    let field = "spec.url";
    let mut parsed = url::Url::parse(url.trim())
        .map_err(|e| Error::config(field, format!("'{url}' is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::config(
            field,
            format!("'{url}' is not an http(s) oVirt engine URL"),
        ));
    }
    let path = parsed.path().trim_end_matches('/').to_owned();
    let path = if path.ends_with("/api") {
        path
    } else if path.ends_with("/ovirt-engine") {
        format!("{path}/api")
    } else if path.is_empty() {
        "/ovirt-engine/api".to_owned()
    } else {
        return Err(Error::config(
            field,
            format!("'{url}' is not an oVirt engine API URL (https://ENGINE/ovirt-engine/api)"),
        ));
    };
    parsed.set_path(&path);
    parsed.set_query(None);
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_urls_gain_the_api_path_and_derive_sso() {
        let c = |u: &str| OvirtConfig::new("p", u, "admin@internal", SecretString::new("pw"));
        let full = c("https://engine.example.com/ovirt-engine/api/").unwrap();
        assert_eq!(
            full.api_url.as_str(),
            "https://engine.example.com/ovirt-engine/api"
        );
        assert_eq!(
            full.token_url(),
            "https://engine.example.com/ovirt-engine/sso/oauth/token"
        );
        assert_eq!(
            full.logout_url(),
            "https://engine.example.com/ovirt-engine/services/sso-logout"
        );
        assert_eq!(
            c("https://e:8443").unwrap().api_url.as_str(),
            "https://e:8443/ovirt-engine/api"
        );
        assert_eq!(
            c("https://e/ovirt-engine").unwrap().api_url.as_str(),
            "https://e/ovirt-engine/api"
        );
        assert!(c("https://e/somewhere").is_err());
        assert!(c("ftp://e/ovirt-engine/api").is_err());
    }

    #[test]
    fn hrefs_and_paths_stay_on_the_configured_engine() {
        let c = OvirtConfig::new(
            "p",
            "https://e/ovirt-engine/api",
            "u",
            SecretString::new("pw"),
        )
        .unwrap();
        assert_eq!(c.url("/vms/1"), "https://e/ovirt-engine/api/vms/1");
        assert_eq!(
            c.url("/ovirt-engine/api/vms/1/nics"),
            "https://e/ovirt-engine/api/vms/1/nics"
        );
    }
}
