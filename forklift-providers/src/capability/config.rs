//! [`ProviderConfig`]: what opening a provider needs, built from a Provider resource and the
//! Secret it references.
//!
//! The Secret is read by `forklift-core`'s [`ProviderCredentials`], the one parser of
//! provider Secrets; providers read the typed credentials, never Secret keys.

use std::collections::BTreeMap;

use forklift_core::credentials::{CredentialError, ProviderCredentials};
use forklift_core::manifest::ManifestSet;
use forklift_core::resources::{Provider, Secret};

use super::ProviderType;
use crate::error::{Error, Result};

/// Everything needed to open a provider: the Provider resource's type, URL and settings and
/// the credentials read from the referenced Secret.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// `spec.type`.
    pub provider_type: ProviderType,
    /// Provider name, used in messages.
    pub name: String,
    /// `spec.url` (vSphere: `https://vcenter.example.com/sdk`; OVA: `server:/path` or a
    /// local directory).
    pub url: String,
    /// `spec.settings`, e.g. `sdkEndpoint`, `vddkInitImage`.
    pub settings: BTreeMap<String, String>,
    /// Credentials and TLS settings of the Secret. `None` when the configuration was built
    /// without one ([`ProviderConfig::new`]) or when `forklift-core` does not model the
    /// type's credentials (EC2, Hyper-V, Nutanix: [`open_provider`](super::open_provider)
    /// rejects those types anyway).
    pub credentials: Option<ProviderCredentials>,
    /// Lets a vSphere `spec.url` be plain `http://`, over which the password travels in
    /// clear text. Off by default: such a URL is refused with
    /// [`Error::PlainHttp`]. `forklift --allow-plain-http` sets it.
    pub allow_plain_http: bool,
}

impl ProviderConfig {
    /// A configuration with no settings and no credentials.
    pub fn new(
        provider_type: ProviderType,
        name: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        Self {
            provider_type,
            name: name.into(),
            url: url.into(),
            settings: BTreeMap::new(),
            credentials: None,
            allow_plain_http: false,
        }
    }

    /// This configuration with `credentials`.
    pub fn with_credentials(mut self, credentials: ProviderCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Builds the configuration from a Provider resource and the Secret it references,
    /// parsing the Secret into typed credentials (a missing key is an error here, before
    /// any connection).
    pub fn from_resources(provider: &Provider, secret: Option<&Secret>) -> Result<Self> {
        let provider_type = provider
            .spec
            .type_
            .ok_or_else(|| Error::config("spec.type", "is missing"))?;
        let credentials = match ProviderCredentials::from_provider(provider, secret) {
            Ok(credentials) => Some(credentials),
            // The type has no provider implementation either; `open_provider` says so.
            Err(CredentialError::Unsupported { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let mut config = Self::new(
            provider_type,
            provider.metadata.name_or_empty(),
            provider.spec.url.clone(),
        );
        config.settings = provider.spec.settings.clone();
        config.credentials = credentials;
        Ok(config)
    }

    /// Finds the Provider `name` (`namespace/name`, or a name unique across namespaces) in a
    /// manifest set, with the Secret its `spec.secret` names (namespace defaulting to the
    /// provider's).
    pub fn from_manifests(set: &ManifestSet, name: &str) -> Result<Self> {
        let (namespace, name) = match name.split_once('/') {
            Some((ns, n)) => (Some(ns), n),
            None => (None, name),
        };
        let mut matches = set.all::<Provider>().filter(|p| {
            p.metadata.name_or_empty() == name
                && namespace.is_none_or(|ns| p.metadata.namespace_or_empty() == ns)
        });
        let provider = match (matches.next(), matches.next()) {
            (Some(p), None) => p,
            (None, _) => {
                return Err(Error::NotFound {
                    kind: "Provider",
                    id: name.to_owned(),
                });
            }
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "--provider",
                    format!("'{name}' names Providers in several namespaces; use namespace/name"),
                ));
            }
        };
        let secret =
            match provider.secret_key() {
                None => None,
                Some((ns, secret_name)) => Some(set.provider_secret(provider).ok_or_else(
                    || Error::NotFound {
                        kind: "Secret",
                        id: format!("{ns}/{secret_name}"),
                    },
                )?),
            };
        Self::from_resources(provider, secret)
    }
}

#[cfg(test)]
mod tests {
    use forklift_core::credentials::{Credentials, SecretString, TlsSettings, UserPassword};

    use super::*;

    const MANIFESTS: &str = r#"
apiVersion: v1
kind: Secret
metadata: {name: vc-secret, namespace: konveyor-forklift}
type: Opaque
stringData: {user: administrator@vsphere.local, password: S3cret!, insecureSkipVerify: "true"}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {name: vcenter, namespace: konveyor-forklift}
spec:
  type: vsphere
  url: https://vcenter.example.com/sdk
  secret: {name: vc-secret, namespace: konveyor-forklift}
  settings: {sdkEndpoint: vcenter}
"#;

    #[test]
    fn secrets_never_print() {
        let config = ProviderConfig::new(ProviderType::VSphere, "vc", "https://vc/sdk")
            .with_credentials(ProviderCredentials {
                credentials: Credentials::VSphere(UserPassword {
                    user: "u".into(),
                    password: SecretString::new("hunter2"),
                }),
                tls: TlsSettings::default(),
            });
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn provider_and_secret_manifests_become_a_config() {
        let set = ManifestSet::parse("test.yaml", MANIFESTS);
        let config = ProviderConfig::from_manifests(&set, "vcenter").unwrap();
        assert_eq!(config.provider_type, ProviderType::VSphere);
        assert_eq!(config.url, "https://vcenter.example.com/sdk");
        let credentials = config.credentials.as_ref().unwrap();
        let Credentials::VSphere(up) = &credentials.credentials else {
            panic!("{credentials:?}")
        };
        assert_eq!(up.user, "administrator@vsphere.local");
        assert_eq!(up.password.expose(), "S3cret!");
        assert!(credentials.tls.insecure_skip_verify);
        assert_eq!(config.settings["sdkEndpoint"], "vcenter");
        assert!(ProviderConfig::from_manifests(&set, "konveyor-forklift/vcenter").is_ok());
        assert!(matches!(
            ProviderConfig::from_manifests(&set, "other/vcenter"),
            Err(Error::NotFound { .. })
        ));
        let provider_only = MANIFESTS.split("---").nth(1).unwrap();
        let no_secret = ManifestSet::parse("test.yaml", provider_only);
        let err = ProviderConfig::from_manifests(&no_secret, "vcenter").unwrap_err();
        assert!(
            err.to_string().contains("konveyor-forklift/vc-secret"),
            "{err}"
        );
    }

    #[test]
    fn secret_errors_surface_when_the_config_is_built() {
        let without_password = MANIFESTS.replace(" password: S3cret!,", "");
        let set = ManifestSet::parse("test.yaml", &without_password);
        let err = ProviderConfig::from_manifests(&set, "vcenter").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Credentials(CredentialError::MissingKey {
                    key: "password",
                    ..
                })
            ),
            "{err}"
        );
        // Types without modelled credentials still build; opening them is what fails.
        let hyperv = MANIFESTS.replace("type: vsphere", "type: hyperv");
        let set = ManifestSet::parse("test.yaml", &hyperv);
        let config = ProviderConfig::from_manifests(&set, "vcenter").unwrap();
        assert_eq!(config.provider_type, ProviderType::HyperV);
        assert!(config.credentials.is_none());
    }

    #[test]
    fn provider_types_parse_through_the_re_export() {
        for t in [
            "vsphere",
            "ovirt",
            "openstack",
            "ova",
            "openshift",
            "hyperv",
            "ec2",
        ] {
            assert_eq!(t.parse::<crate::ProviderType>().unwrap().as_str(), t);
        }
        let err = "vmware".parse::<crate::ProviderType>().unwrap_err();
        assert!(err.to_string().contains("vmware"), "{err}");
    }
}
