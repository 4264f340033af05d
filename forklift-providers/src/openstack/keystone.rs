//! Keystone v3: the five authentication methods of the guide's Secrets, project scoping, the
//! service catalog and token renewal before expiry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use forklift_core::credentials::{OpenStackAuth, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::config::OpenstackConfig;
use super::error::{OpenstackError, Result};
use super::http::{fault_message, read_limited};

/// A Keystone token with what it was issued for.
#[derive(Clone)]
pub struct Token {
    /// The token (`X-Subject-Token`).
    pub value: SecretString,
    /// When Keystone says it expires; `None` when it did not say.
    pub expires_at: Option<SystemTime>,
    /// Project the token is scoped to.
    pub project_id: Option<String>,
    /// User the token belongs to.
    pub user_id: String,
    catalog: Vec<CatalogService>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("expires_at", &self.expires_at)
            .field("project_id", &self.project_id)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
struct CatalogService {
    #[serde(rename = "type", default)]
    service_type: String,
    #[serde(default)]
    endpoints: Vec<CatalogEndpoint>,
}

#[derive(Debug, Clone, Deserialize)]
struct CatalogEndpoint {
    #[serde(default)]
    interface: String,
    #[serde(default)]
    region_id: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    url: String,
}

#[derive(Deserialize)]
struct TokenBody {
    token: TokenDetail,
}

#[derive(Deserialize)]
struct TokenDetail {
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    catalog: Vec<CatalogService>,
    #[serde(default)]
    project: Option<IdOnly>,
    #[serde(default)]
    user: Option<IdOnly>,
}

#[derive(Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: String,
}

impl Token {
    /// The URL of the `service_type` endpoint for `interface`, in `region` when given.
    pub fn endpoint(
        &self,
        service_type: &str,
        interface: &str,
        region: Option<&str>,
    ) -> Option<url::Url> {
        self.catalog
            .iter()
            .filter(|s| s.service_type == service_type)
            .flat_map(|s| &s.endpoints)
            .filter(|e| e.interface == interface)
            .find(|e| {
                region.is_none_or(|r| {
                    e.region_id.as_deref() == Some(r) || e.region.as_deref() == Some(r)
                })
            })
            .and_then(|e| url::Url::parse(&e.url).ok())
    }

    /// Whether the token expires within `margin` from now.
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.expires_at
            .is_some_and(|at| at <= SystemTime::now() + margin)
    }
}

impl crate::rest::Expiring for Token {
    fn expires_within(&self, margin: Duration) -> bool {
        Token::expires_within(self, margin)
    }
}

/// The request body of an authentication; `scoped: false` leaves the project scope out
/// (used to tell refused credentials from a refused project).
fn auth_body(auth: &OpenStackAuth, scoped: bool) -> Value {
    let (identity, scope) = match auth {
        OpenStackAuth::Password {
            username,
            password,
            project_name,
            domain_name,
        } => (
            json!({"methods": ["password"], "password": {"user": {
                "name": username, "domain": {"name": domain_name}, "password": password.expose()}}}),
            Some(json!({"project": {"name": project_name, "domain": {"name": domain_name}}})),
        ),
        OpenStackAuth::PasswordWithUserId {
            user_id,
            password,
            project_id,
        } => (
            json!({"methods": ["password"], "password": {"user": {
                "id": user_id, "password": password.expose()}}}),
            Some(json!({"project": {"id": project_id}})),
        ),
        OpenStackAuth::TokenWithUserId {
            token, project_id, ..
        } => (
            json!({"methods": ["token"], "token": {"id": token.expose()}}),
            Some(json!({"project": {"id": project_id}})),
        ),
        OpenStackAuth::TokenWithUserName {
            token,
            project_name,
            domain_name,
            ..
        } => (
            json!({"methods": ["token"], "token": {"id": token.expose()}}),
            Some(json!({"project": {"name": project_name, "domain": {"name": domain_name}}})),
        ),
        // Application credentials carry their own scope; Keystone refuses another one.
        OpenStackAuth::ApplicationCredentialId { id, secret } => (
            json!({"methods": ["application_credential"],
                "application_credential": {"id": id, "secret": secret.expose()}}),
            None,
        ),
        OpenStackAuth::ApplicationCredentialName {
            name,
            secret,
            username,
            domain_name,
        } => (
            json!({"methods": ["application_credential"], "application_credential": {
                "name": name, "secret": secret.expose(),
                "user": {"name": username, "domain": {"name": domain_name}}}}),
            None,
        ),
        // `OpenStackAuth` is non-exhaustive; a method this client does not know sends an
        // empty identity, which Keystone refuses with a message naming it.
        _ => (json!({"methods": []}), None),
    };
    match scope {
        Some(scope) if scoped => json!({"auth": {"identity": identity, "scope": scope}}),
        _ => json!({"auth": {"identity": identity}}),
    }
}

/// The project as the Secret names it, for messages.
fn project_of(auth: &OpenStackAuth) -> Option<String> {
    match auth {
        OpenStackAuth::Password {
            project_name,
            domain_name,
            ..
        }
        | OpenStackAuth::TokenWithUserName {
            project_name,
            domain_name,
            ..
        } => Some(format!("'{project_name}' in domain '{domain_name}'")),
        OpenStackAuth::PasswordWithUserId { project_id, .. }
        | OpenStackAuth::TokenWithUserId { project_id, .. } => {
            Some(format!("with ID '{project_id}'"))
        }
        _ => None,
    }
}

/// Authenticates with the configured method and returns the project-scoped token.
///
/// A 401 on a scoped method is retried once unscoped: if that succeeds the credentials are
/// fine and the project is what Keystone refused ([`OpenstackError::UnknownProject`]).
pub async fn authenticate(http: &reqwest::Client, config: &OpenstackConfig) -> Result<Token> {
    let method = config.auth.method_name();
    let url = config.token_url();
    match request_token(http, &url, method, &auth_body(&config.auth, true)).await {
        Err(Attempt::Status(401, message)) => {
            let Some(project) = project_of(&config.auth) else {
                return Err(OpenstackError::AuthRefused {
                    method,
                    url,
                    message,
                });
            };
            match request_token(http, &url, method, &auth_body(&config.auth, false)).await {
                Ok(_) => Err(OpenstackError::UnknownProject {
                    method,
                    url,
                    project,
                    message,
                }),
                Err(_) => Err(OpenstackError::AuthRefused {
                    method,
                    url,
                    message,
                }),
            }
        }
        Err(Attempt::Status(status, message)) => Err(OpenstackError::AuthFailed {
            method,
            url,
            status,
            message,
        }),
        Err(Attempt::Failed(e)) => Err(e),
        Ok(token) => Ok(token),
    }
}

enum Attempt {
    Status(u16, String),
    Failed(OpenstackError),
}

async fn request_token(
    http: &reqwest::Client,
    url: &str,
    method: &'static str,
    body: &Value,
) -> std::result::Result<Token, Attempt> {
    let operation = || format!("{method} authentication");
    let response = http
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|source| {
            Attempt::Failed(OpenstackError::Transport {
                service: "Keystone",
                operation: operation(),
                url: url.to_owned(),
                source,
            })
        })?;
    let status = response.status();
    let subject = response
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = read_limited(response, "Keystone", &operation(), url)
        .await
        .map_err(Attempt::Failed)?;
    if !status.is_success() {
        return Err(Attempt::Status(status.as_u16(), fault_message(&body)));
    }
    let bad = |reason| {
        Attempt::Failed(OpenstackError::BadToken {
            method,
            url: url.to_owned(),
            reason,
        })
    };
    let subject = subject.ok_or_else(|| bad("no X-Subject-Token header"))?;
    let parsed: TokenBody =
        serde_json::from_slice(&body).map_err(|_| bad("the body is not a token"))?;
    let detail = parsed.token;
    Ok(Token {
        value: SecretString::new(subject),
        expires_at: detail.expires_at.as_deref().and_then(parse_expiry),
        project_id: detail.project.map(|p| p.id).filter(|id| !id.is_empty()),
        user_id: detail.user.map(|u| u.id).unwrap_or_default(),
        catalog: detail.catalog,
    })
}

/// Parses Keystone's `expires_at` (`2026-12-02T15:48:33.000000Z`, UTC); `None` when it is
/// not in that form (the token is then never renewed ahead of time, only on a 401).
pub fn parse_expiry(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    // Keystone's times are UTC; some releases leave out the zone.
    let has_zone = text.ends_with(['Z', 'z'])
        || text
            .get(text.len().saturating_sub(6)..)
            .is_some_and(|tail| tail.starts_with(['+', '-']));
    let secs = if has_zone {
        forklift_core::time::parse_rfc3339(text)?
    } else {
        forklift_core::time::parse_rfc3339(&format!("{text}Z"))?
    };
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_parses_keystone_timestamps() {
        let at = parse_expiry("2026-12-02T15:48:33.000000Z").unwrap();
        assert_eq!(
            at.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_796_226_513
        );
        assert_eq!(parse_expiry("1970-01-01T00:00:00Z"), Some(UNIX_EPOCH));
        assert_eq!(parse_expiry("2026-13-02T00:00:00Z"), None);
        assert_eq!(parse_expiry("yesterday"), None);
        assert_eq!(parse_expiry("1969-12-31T23:59:59Z"), None);
    }

    #[test]
    fn bodies_scope_projects_but_not_application_credentials() {
        let password = OpenStackAuth::Password {
            username: "u".into(),
            password: SecretString::new("pw"),
            project_name: "p".into(),
            domain_name: "d".into(),
        };
        let body = auth_body(&password, true);
        assert_eq!(body["auth"]["scope"]["project"]["domain"]["name"], "d");
        assert_eq!(
            body["auth"]["identity"]["password"]["user"]["password"],
            "pw"
        );
        assert!(auth_body(&password, false)["auth"].get("scope").is_none());
        let appcred = OpenStackAuth::ApplicationCredentialId {
            id: "i".into(),
            secret: SecretString::new("s"),
        };
        let body = auth_body(&appcred, true);
        assert!(body["auth"].get("scope").is_none());
        assert_eq!(
            body["auth"]["identity"]["methods"][0],
            "application_credential"
        );
    }
}
