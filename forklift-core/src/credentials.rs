//! Typed provider credentials, parsed from the Secret a [`Provider`] references.
//!
//! Each provider type reads its own keys: vSphere and oVirt `user`, `password`, `cacert`
//! (or `ca.crt`) and `insecureSkipVerify`; OpenStack one of five auth types selected by
//! `authType`, exactly as the user guide's Secret examples spell them; KubeVirt a `token`
//! (or nothing for the local cluster, whose provider has an empty URL); OVA nothing.
//! A missing key is an error naming the key and the auth type. Secret values are held in
//! [`SecretString`], whose `Debug` and `Display` print `<redacted>`, so neither a
//! [`Credentials`] value nor an error ever prints a password or token.

use std::borrow::Cow;
use std::fmt;

use crate::resources::{Provider, ProviderType, Secret};

/// Errors of reading credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// A key is absent (or empty) in the secret.
    #[error("Missing key {key:?} in the provider secret for {auth_type} authentication")]
    MissingKey {
        /// The key.
        key: &'static str,
        /// The authentication type that needs it.
        auth_type: &'static str,
    },
    /// The provider needs a secret and none was given.
    #[error("The {provider_type} provider needs a secret with its credentials")]
    MissingSecret {
        /// The provider type.
        provider_type: ProviderType,
    },
    /// The provider has no `spec.type`.
    #[error("The provider has no type")]
    MissingProviderType,
    /// `authType` has a value OpenStack does not know.
    #[error(
        "Unknown OpenStack authType {value:?}, expected one of password, token, applicationcredential"
    )]
    UnknownAuthType {
        /// The value found.
        value: String,
    },
    /// A value is not valid UTF-8.
    #[error("Key {key:?} in the provider secret is not valid UTF-8")]
    NotUtf8 {
        /// The key.
        key: &'static str,
    },
    /// Credentials of this provider type are not modelled.
    #[error("Credentials of {provider_type} providers are not supported")]
    Unsupported {
        /// The provider type.
        provider_type: ProviderType,
    },
}

/// Result with [`CredentialError`].
pub type Result<T, E = CredentialError> = std::result::Result<T, E>;

/// A secret value: `Debug` and `Display` print `<redacted>`; read it with [`SecretString::expose`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// TLS settings shared by every provider type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsSettings {
    /// Skip certificate verification (`insecureSkipVerify`, Go `ParseBool`; unparsable is false).
    pub insecure_skip_verify: bool,
    /// PEM CA bundle (`cacert`, or `ca.crt`); `None` means the system CAs.
    pub ca_cert: Option<String>,
    /// SHA-1 fingerprint pinning the server certificate (`thumbprint`, a forklift extension
    /// read by the vSphere provider when neither `insecureSkipVerify` nor a CA is given).
    pub thumbprint: Option<String>,
}

/// A user name and password (vSphere, oVirt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPassword {
    /// User name, e.g. `administrator@vsphere.local` or `admin@internal`.
    pub user: String,
    /// Password.
    pub password: SecretString,
}

/// OpenStack credentials: the auth method plus endpoint details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenStackCredentials {
    /// The authentication method.
    pub auth: OpenStackAuth,
    /// Keystone URL written in the secret (`url`), when present; the provider's URL wins.
    pub url: Option<String>,
    /// Region (`regionName`), when set.
    pub region_name: Option<String>,
}

/// The five OpenStack authentication methods of the user guide.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenStackAuth {
    /// `authType: password` (the default): `username`, `password`, `projectName`, `domainName`.
    Password {
        /// `username`.
        username: String,
        /// `password`.
        password: SecretString,
        /// `projectName`.
        project_name: String,
        /// `domainName`.
        domain_name: String,
    },
    /// `authType: password` with `userID`, `password`, `projectID`: the user and project by
    /// ID instead of by name and domain.
    PasswordWithUserId {
        /// `userID`.
        user_id: String,
        /// `password`.
        password: SecretString,
        /// `projectID`.
        project_id: String,
    },
    /// `authType: token` with `token`, `userID`, `projectID`.
    TokenWithUserId {
        /// `token`.
        token: SecretString,
        /// `userID`.
        user_id: String,
        /// `projectID`.
        project_id: String,
    },
    /// `authType: token` with `token`, `username`, `projectName`, `domainName`.
    TokenWithUserName {
        /// `token`.
        token: SecretString,
        /// `username`.
        username: String,
        /// `projectName`.
        project_name: String,
        /// `domainName`.
        domain_name: String,
    },
    /// `authType: applicationcredential` with `applicationCredentialID`, `applicationCredentialSecret`.
    ApplicationCredentialId {
        /// `applicationCredentialID`.
        id: String,
        /// `applicationCredentialSecret`.
        secret: SecretString,
    },
    /// `authType: applicationcredential` with `applicationCredentialName`,
    /// `applicationCredentialSecret`, `username`, `domainName`.
    ApplicationCredentialName {
        /// `applicationCredentialName`.
        name: String,
        /// `applicationCredentialSecret`.
        secret: SecretString,
        /// `username`.
        username: String,
        /// `domainName`.
        domain_name: String,
    },
}

impl OpenStackAuth {
    /// The guide's name of the method.
    pub fn method_name(&self) -> &'static str {
        match self {
            OpenStackAuth::Password { .. } => auth::OS_PASSWORD,
            OpenStackAuth::PasswordWithUserId { .. } => auth::OS_PASSWORD_USER_ID,
            OpenStackAuth::TokenWithUserId { .. } => auth::OS_TOKEN_USER_ID,
            OpenStackAuth::TokenWithUserName { .. } => auth::OS_TOKEN_USER_NAME,
            OpenStackAuth::ApplicationCredentialId { .. } => auth::OS_APPCRED_ID,
            OpenStackAuth::ApplicationCredentialName { .. } => auth::OS_APPCRED_NAME,
        }
    }
}

/// KubeVirt credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeVirtCredentials {
    /// The cluster forklift runs in (provider URL empty): its own service account.
    LocalCluster,
    /// A remote cluster reached with a service-account bearer token.
    Token(SecretString),
}

/// Credentials of a provider, by provider type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// vSphere user and password.
    VSphere(UserPassword),
    /// oVirt user and password.
    OVirt(UserPassword),
    /// OpenStack.
    OpenStack(OpenStackCredentials),
    /// KubeVirt.
    KubeVirt(KubeVirtCredentials),
    /// OVA: files on NFS, no credentials.
    Ova,
}

/// Provider credentials with their TLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCredentials {
    /// The credentials.
    pub credentials: Credentials,
    /// TLS settings.
    pub tls: TlsSettings,
}

mod auth {
    pub(super) const VSPHERE: &str = "vSphere";
    pub(super) const OVIRT: &str = "oVirt";
    pub(super) const KUBEVIRT: &str = "KubeVirt token";
    pub(super) const OS_PASSWORD: &str = "OpenStack password";
    pub(super) const OS_PASSWORD_USER_ID: &str = "OpenStack password with user ID";
    pub(super) const OS_TOKEN_USER_ID: &str = "OpenStack token with user ID";
    pub(super) const OS_TOKEN_USER_NAME: &str = "OpenStack token with user name";
    pub(super) const OS_TOKEN: &str = "OpenStack token (with user ID or user name)";
    pub(super) const OS_APPCRED_ID: &str = "OpenStack application credential ID";
    pub(super) const OS_APPCRED_NAME: &str = "OpenStack application credential name";
    pub(super) const OS_APPCRED: &str = "OpenStack application credential (ID or name)";
}

/// Reads keys of a secret, treating empty values as absent.
struct Keys<'a>(Option<&'a Secret>);

impl Keys<'_> {
    fn optional(&self, key: &'static str) -> Result<Option<String>> {
        let Some(secret) = self.0 else {
            return Ok(None);
        };
        match secret.get(key) {
            None => Ok(None),
            Some(bytes) => {
                let text = match bytes {
                    Cow::Borrowed(b) => std::str::from_utf8(b).map(str::to_owned),
                    Cow::Owned(b) => String::from_utf8(b).map_err(|e| e.utf8_error()),
                }
                .map_err(|_| CredentialError::NotUtf8 { key })?;
                Ok((!text.is_empty()).then_some(text))
            }
        }
    }

    fn required(&self, key: &'static str, auth_type: &'static str) -> Result<String> {
        self.optional(key)?
            .ok_or(CredentialError::MissingKey { key, auth_type })
    }

    fn secret(&self, key: &'static str, auth_type: &'static str) -> Result<SecretString> {
        self.required(key, auth_type).map(SecretString)
    }

    fn tls(&self) -> Result<TlsSettings> {
        let insecure = self.optional("insecureSkipVerify")?;
        let ca_cert = match self.optional("cacert")? {
            Some(ca) => Some(ca),
            None => self.optional("ca.crt")?,
        };
        Ok(TlsSettings {
            // Upstream ignores ParseBool's error: unparsable text verifies certificates.
            insecure_skip_verify: insecure.as_deref().and_then(parse_go_bool).unwrap_or(false),
            ca_cert,
            thumbprint: self.optional("thumbprint")?,
        })
    }
}

/// Go's `strconv.ParseBool`: `1 t T TRUE true True` are true, `0 f F FALSE false False` are
/// false, anything else is `None`, so each caller decides what unparsable text means.
pub fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

impl ProviderCredentials {
    /// Reads the credentials of `provider` from `secret` (the Secret its `spec.secret` names).
    pub fn from_provider(provider: &Provider, secret: Option<&Secret>) -> Result<Self> {
        let provider_type = provider
            .spec
            .type_
            .ok_or(CredentialError::MissingProviderType)?;
        let local = provider_type == ProviderType::OpenShift && provider.spec.url.is_empty();
        Self::from_secret(provider_type, local, secret)
    }

    /// Reads credentials of a provider type from a secret. `local_cluster` marks a KubeVirt
    /// provider with an empty URL (the cluster forklift runs in), which needs no secret.
    pub fn from_secret(
        provider_type: ProviderType,
        local_cluster: bool,
        secret: Option<&Secret>,
    ) -> Result<Self> {
        let keys = Keys(secret);
        let needs_secret = match provider_type {
            ProviderType::Ova => false,
            ProviderType::OpenShift => !local_cluster,
            _ => true,
        };
        if needs_secret && secret.is_none() {
            return Err(CredentialError::MissingSecret { provider_type });
        }
        let credentials = match provider_type {
            ProviderType::VSphere => Credentials::VSphere(user_password(&keys, auth::VSPHERE)?),
            ProviderType::OVirt => Credentials::OVirt(user_password(&keys, auth::OVIRT)?),
            ProviderType::OpenStack => Credentials::OpenStack(openstack(&keys)?),
            ProviderType::OpenShift if local_cluster => {
                Credentials::KubeVirt(KubeVirtCredentials::LocalCluster)
            }
            ProviderType::OpenShift => Credentials::KubeVirt(KubeVirtCredentials::Token(
                keys.secret("token", auth::KUBEVIRT)?,
            )),
            ProviderType::Ova => Credentials::Ova,
            ProviderType::Ec2 | ProviderType::HyperV | ProviderType::Nutanix => {
                return Err(CredentialError::Unsupported { provider_type });
            }
        };
        Ok(Self {
            credentials,
            tls: keys.tls()?,
        })
    }
}

fn user_password(keys: &Keys<'_>, auth_type: &'static str) -> Result<UserPassword> {
    Ok(UserPassword {
        user: keys.required("user", auth_type)?,
        password: keys.secret("password", auth_type)?,
    })
}

fn openstack(keys: &Keys<'_>) -> Result<OpenStackCredentials> {
    let auth_type = keys.optional("authType")?;
    let auth = match auth_type.as_deref().unwrap_or("password") {
        "password" if keys.optional("userID")?.is_some() => OpenStackAuth::PasswordWithUserId {
            user_id: keys.required("userID", auth::OS_PASSWORD_USER_ID)?,
            password: keys.secret("password", auth::OS_PASSWORD_USER_ID)?,
            project_id: keys.required("projectID", auth::OS_PASSWORD_USER_ID)?,
        },
        "password" => OpenStackAuth::Password {
            username: keys.required("username", auth::OS_PASSWORD)?,
            password: keys.secret("password", auth::OS_PASSWORD)?,
            project_name: keys.required("projectName", auth::OS_PASSWORD)?,
            domain_name: keys.required("domainName", auth::OS_PASSWORD)?,
        },
        "token" => {
            let token = keys.secret("token", auth::OS_TOKEN)?;
            if keys.optional("userID")?.is_some() {
                OpenStackAuth::TokenWithUserId {
                    token,
                    user_id: keys.required("userID", auth::OS_TOKEN_USER_ID)?,
                    project_id: keys.required("projectID", auth::OS_TOKEN_USER_ID)?,
                }
            } else if keys.optional("username")?.is_some() {
                OpenStackAuth::TokenWithUserName {
                    token,
                    username: keys.required("username", auth::OS_TOKEN_USER_NAME)?,
                    project_name: keys.required("projectName", auth::OS_TOKEN_USER_NAME)?,
                    domain_name: keys.required("domainName", auth::OS_TOKEN_USER_NAME)?,
                }
            } else {
                return Err(CredentialError::MissingKey {
                    key: "userID",
                    auth_type: auth::OS_TOKEN,
                });
            }
        }
        "applicationcredential" => {
            let secret = keys.secret("applicationCredentialSecret", auth::OS_APPCRED)?;
            if let Some(id) = keys.optional("applicationCredentialID")? {
                OpenStackAuth::ApplicationCredentialId { id, secret }
            } else if let Some(name) = keys.optional("applicationCredentialName")? {
                OpenStackAuth::ApplicationCredentialName {
                    name,
                    secret,
                    username: keys.required("username", auth::OS_APPCRED_NAME)?,
                    domain_name: keys.required("domainName", auth::OS_APPCRED_NAME)?,
                }
            } else {
                return Err(CredentialError::MissingKey {
                    key: "applicationCredentialID",
                    auth_type: auth::OS_APPCRED,
                });
            }
        }
        other => {
            return Err(CredentialError::UnknownAuthType {
                value: other.to_owned(),
            });
        }
    };
    Ok(OpenStackCredentials {
        auth,
        url: keys.optional("url")?,
        region_name: keys.optional("regionName")?,
    })
}

impl fmt::Display for Credentials {
    /// A one-line description without any secret value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::VSphere(up) => write!(f, "vSphere user {} with password", up.user),
            Credentials::OVirt(up) => write!(f, "oVirt user {} with password", up.user),
            Credentials::OpenStack(os) => f.write_str(os.auth.method_name()),
            Credentials::KubeVirt(KubeVirtCredentials::LocalCluster) => {
                f.write_str("KubeVirt local cluster")
            }
            Credentials::KubeVirt(KubeVirtCredentials::Token(_)) => {
                f.write_str("KubeVirt service account token")
            }
            Credentials::Ova => f.write_str("OVA (no credentials)"),
        }
    }
}

impl fmt::Display for ProviderCredentials {
    /// The credentials and how TLS is verified, without any secret value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // OVA reads NFS and the local cluster uses its in-cluster CA: no TLS choice to show.
        if matches!(
            self.credentials,
            Credentials::Ova | Credentials::KubeVirt(KubeVirtCredentials::LocalCluster)
        ) {
            return write!(f, "{}", self.credentials);
        }
        let tls = match (
            self.tls.insecure_skip_verify,
            &self.tls.ca_cert,
            &self.tls.thumbprint,
        ) {
            (true, _, _) => "TLS verification skipped",
            (false, Some(_), _) => "custom CA",
            (false, None, Some(_)) => "pinned certificate thumbprint",
            (false, None, None) => "system CAs",
        };
        write!(f, "{}, {tls}", self.credentials)
    }
}

#[cfg(test)]
mod tests;
