//! The authenticated JSON client of the oVirt engine API v4: one [`Engine`] holds the SSO
//! token (password grant; renewed before its `exp`, and once on a 401; revoked at
//! [`Engine::logout`]), sends `Version: 4` and `Accept: application/json`, bounds every
//! answer ([`MAX_RESPONSE_BYTES`]) and every listing ([`MAX_PAGES`], [`MAX_ITEMS`]), and turns
//! faults into [`OvirtError::Api`] quoting the engine's `reason` and `detail`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use forklift_core::credentials::SecretString;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::config::OvirtConfig;
use super::error::{OvirtError, Result};
use super::limits::{
    MAX_ERROR_BODY_BYTES, MAX_ITEMS, MAX_LISTING_BYTES, MAX_PAGES, MAX_RESPONSE_BYTES, OvirtLimit,
    PAGE_SIZE, TOKEN_RENEW_MARGIN,
};
use crate::http::{BodyError, BodyLimits, ErrorBody, read_capped};
use crate::imageio::error::excerpt;
use crate::rest::{Expiring, TokenCell, with_json};

/// An SSO access token and when it expires.
struct Token {
    value: SecretString,
    /// Seconds since the epoch, when the engine said (`exp`, milliseconds on the wire).
    expires_at: Option<u64>,
}

impl Expiring for Token {
    fn expires_within(&self, margin: Duration) -> bool {
        let Some(at) = self.expires_at else {
            return false;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        now.saturating_add(margin.as_secs()) >= at
    }
}

/// An authenticated session with one oVirt engine.
pub struct Engine {
    http: reqwest::Client,
    config: Arc<OvirtConfig>,
    token: TokenCell<Token>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("api_url", &self.config.api_url.as_str())
            .field("user", &self.config.user)
            .finish_non_exhaustive()
    }
}

/// A success body is refused past [`MAX_RESPONSE_BYTES`] (a declared length at once); an
/// error body is only quoted, so its start is kept.
const LIMITS: BodyLimits = BodyLimits {
    success: MAX_RESPONSE_BYTES,
    error: ErrorBody::Cut(MAX_ERROR_BODY_BYTES),
};

/// Reads a response body under [`LIMITS`].
async fn read_limited(response: reqwest::Response, operation: &str, url: &str) -> Result<Vec<u8>> {
    read_capped(response, LIMITS).await.map_err(|e| match e {
        BodyError::Transport(source) => OvirtError::Transport {
            operation: operation.to_owned(),
            url: url.to_owned(),
            source,
        },
        BodyError::TooLarge { .. } => OvirtError::Limit {
            operation: operation.to_owned(),
            limit: OvirtLimit::ResponseBytes,
        },
    })
}

/// The `reason` and `detail` of an engine fault body (`{"reason": …, "detail": …}`, also
/// nested as `{"fault": {…}}` in action answers), else the body's start as the reason.
pub(crate) fn fault_of(body: &[u8]) -> (String, String) {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        let fault = value.get("fault").unwrap_or(&value);
        let text = |key: &str| {
            fault
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (reason, detail) = (text("reason"), text("detail"));
        if !reason.is_empty() || !detail.is_empty() {
            return (reason, detail);
        }
    }
    (excerpt(&String::from_utf8_lossy(body)), String::new())
}

/// Reads an SSO token answer: `access_token` and `exp` (milliseconds since the epoch, a
/// string or a number), or `error` / `error_description`.
pub(crate) fn parse_token(url: &str, status: u16, body: &[u8]) -> Result<(String, Option<u64>)> {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    if let Some(code) = text("error") {
        return Err(OvirtError::SsoRefused {
            url: url.to_owned(),
            status,
            code,
            message: text("error_description").unwrap_or_default(),
        });
    }
    if !(200..300).contains(&status) {
        return Err(OvirtError::SsoRefused {
            url: url.to_owned(),
            status,
            code: String::new(),
            message: fault_of(body).0,
        });
    }
    let token = text("access_token").filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(OvirtError::BadToken {
            url: url.to_owned(),
            reason: "no access_token",
        });
    };
    let exp = match value.get("exp") {
        Some(Value::String(s)) => s.parse::<u64>().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        _ => None,
    };
    Ok((token, exp.map(|ms| ms / 1000)))
}

impl Engine {
    /// Logs in (SSO password grant).
    pub async fn open(http: reqwest::Client, config: Arc<OvirtConfig>) -> Result<Self> {
        let engine = Self {
            http,
            config,
            token: TokenCell::new(None, TOKEN_RENEW_MARGIN),
        };
        engine.token.set(engine.login().await?).await;
        Ok(engine)
    }

    /// This engine, renewing its token when it expires within `margin` instead of
    /// [`TOKEN_RENEW_MARGIN`].
    pub fn with_renew_margin(mut self, margin: Duration) -> Self {
        self.token.set_margin(margin);
        self
    }

    /// How many times the token was renewed after the first login.
    pub fn renewals(&self) -> u64 {
        self.token.renewals()
    }

    /// The configuration.
    pub fn config(&self) -> &OvirtConfig {
        &self.config
    }

    /// The HTTP client (TLS as configured), shared with the imageio data path.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// POSTs an SSO form (login, logout) and maps a transport failure to `operation`.
    async fn post_form(
        &self,
        url: &str,
        form: String,
        operation: &str,
    ) -> std::result::Result<reqwest::Response, OvirtError> {
        self.http
            .post(url)
            .header("Accept", "application/json")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|source| OvirtError::Transport {
                operation: operation.to_owned(),
                url: url.to_owned(),
                source,
            })
    }

    async fn login(&self) -> Result<Token> {
        let url = self.config.token_url();
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "password")
            .append_pair("scope", "ovirt-app-api")
            .append_pair("username", &self.config.user)
            .append_pair("password", self.config.password.expose())
            .finish();
        let operation = "SSO login";
        let response = self.post_form(&url, form, operation).await?;
        let status = response.status().as_u16();
        let body = read_limited(response, operation, &url).await?;
        let (value, expires_at) = parse_token(&url, status, &body)?;
        Ok(Token {
            value: SecretString::new(value),
            expires_at,
        })
    }

    /// The current token, renewed first when it expires within the renewal margin.
    async fn token(&self) -> Result<Arc<Token>> {
        self.token
            .current(|| async {
                tracing::debug!(user = %self.config.user, "renewing the oVirt SSO token");
                self.login().await
            })
            .await
    }

    /// Replaces the token after the engine refused it (expired or revoked early).
    async fn renew_after_refusal(&self, refused: &Arc<Token>) -> Result<()> {
        self.token
            .renew_after_refusal(refused, || self.login())
            .await
    }

    /// Revokes the SSO token; the engine is not used afterwards.
    pub async fn logout(&self) -> Result<()> {
        let Some(token) = self.token.take().await else {
            return Ok(());
        };
        let url = self.config.logout_url();
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("scope", "")
            .append_pair("token", token.value.expose())
            .finish();
        let response = self.post_form(&url, form, "SSO logout").await?;
        let status = response.status().as_u16();
        let body = read_limited(response, "SSO logout", &url).await?;
        if !(200..300).contains(&status) {
            let (reason, detail) = fault_of(&body);
            return Err(OvirtError::Api {
                operation: "SSO logout".to_owned(),
                status,
                reason,
                detail,
            });
        }
        Ok(())
    }

    /// Sends one request to an API path (or an engine `href`); a 401 renews the token once
    /// and retries. Error statuses become [`OvirtError::Api`].
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        operation: &str,
    ) -> Result<Vec<u8>> {
        let url = self.config.url(path);
        confined(path)?;
        let mut retried = false;
        loop {
            let token = self.token().await?;
            let request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(token.value.expose())
                .header("Version", "4")
                .header("Accept", "application/json");
            let response =
                with_json(request, body)
                    .send()
                    .await
                    .map_err(|source| OvirtError::Transport {
                        operation: operation.to_owned(),
                        url: url.clone(),
                        source,
                    })?;
            let status = response.status().as_u16();
            let body = read_limited(response, operation, &url).await?;
            if status == 401 && !retried {
                retried = true;
                self.renew_after_refusal(&token).await?;
                continue;
            }
            if !(200..300).contains(&status) {
                let (reason, detail) = fault_of(&body);
                return Err(OvirtError::Api {
                    operation: operation.to_owned(),
                    status,
                    reason,
                    detail,
                });
            }
            return Ok(body);
        }
    }

    /// GETs a path and decodes the JSON answer.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, operation: &str) -> Result<T> {
        let body = self.send(Method::GET, path, None, operation).await?;
        decode(operation, &body)
    }

    /// POSTs a JSON body and decodes the JSON answer.
    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
        operation: &str,
    ) -> Result<T> {
        let answer = self.send(Method::POST, path, Some(body), operation).await?;
        if answer.iter().all(u8::is_ascii_whitespace) {
            return decode(operation, b"null");
        }
        decode(operation, &answer)
    }

    /// PUTs a JSON body (an update) and decodes the JSON answer.
    pub async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
        operation: &str,
    ) -> Result<T> {
        let answer = self.send(Method::PUT, path, Some(body), operation).await?;
        if answer.iter().all(u8::is_ascii_whitespace) {
            return decode(operation, b"null");
        }
        decode(operation, &answer)
    }

    /// Lists a collection: `key` names the array in the answer (`vm`, `disk`...). With
    /// `paged`, pages are asked for with `search=page N` and `max=` ([`PAGE_SIZE`]) until a
    /// short page; `query` adds parameters (e.g. `follow=`).
    pub async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
        query: &str,
        paged: bool,
        operation: &str,
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut listed = 0usize;
        for page in 1..=MAX_PAGES {
            let mut params = if paged {
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("search", &format!("page {page}"))
                    .append_pair("max", &PAGE_SIZE.to_string())
                    .finish()
            } else {
                String::new()
            };
            if !query.is_empty() {
                if !params.is_empty() {
                    params.push('&');
                }
                params.push_str(query);
            }
            let target = if params.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{params}")
            };
            let body = self.send(Method::GET, &target, None, operation).await?;
            count_listed(&mut listed, body.len(), operation)?;
            let mut answer: Value = decode(operation, &body)?;
            drop(body);
            let values = match answer.get_mut(key) {
                Some(Value::Array(values)) => std::mem::take(values),
                _ => Vec::new(),
            };
            let count = values.len();
            if items.len() + count > MAX_ITEMS {
                return Err(OvirtError::Limit {
                    operation: operation.to_owned(),
                    limit: OvirtLimit::Items,
                });
            }
            for value in values {
                items.push(
                    serde_json::from_value(value).map_err(|source| OvirtError::Json {
                        operation: operation.to_owned(),
                        source,
                    })?,
                );
            }
            if !paged || count < PAGE_SIZE {
                return Ok(items);
            }
        }
        Err(OvirtError::Limit {
            operation: operation.to_owned(),
            limit: OvirtLimit::Pages,
        })
    }
}

/// Adds a page of `bytes` to the `listed` bytes of a listing, refusing it past
/// [`MAX_LISTING_BYTES`].
fn count_listed(listed: &mut usize, bytes: usize, operation: &str) -> Result<()> {
    *listed = listed.saturating_add(bytes);
    if *listed > MAX_LISTING_BYTES {
        return Err(OvirtError::Limit {
            operation: operation.to_owned(),
            limit: OvirtLimit::ListingBytes,
        });
    }
    Ok(())
}

/// Refuses an API path (or engine `href`) that could address something else than the
/// resource its IDs name once the URL is parsed: an empty, `.` or `..` segment (also
/// percent-encoded: `%2e%2e`), which the URL parser removes or resolves, a backslash (a
/// separator in http URLs) or a control character (tabs and newlines are dropped by the
/// parser). IDs come from manifests and from the engine, so `/vms/..` must not become the
/// API root nor `/vms//start` another request.
pub(crate) fn confined(path: &str) -> Result<()> {
    let path_only = path.split(['?', '#']).next().unwrap_or_default();
    // `/` alone is the API root.
    let bad_segment = path_only != "/"
        && path_only
            .strip_prefix('/')
            .unwrap_or(path_only)
            .split('/')
            .any(|segment| {
                let lower = segment.to_ascii_lowercase().replace("%2e", ".");
                matches!(lower.as_str(), "" | "." | "..")
            });
    if bad_segment || !path.starts_with('/') || path.contains(|c: char| c == '\\' || c.is_control())
    {
        return Err(OvirtError::UnsafePath {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Decodes a JSON answer.
pub(crate) fn decode<T: DeserializeOwned>(operation: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|source| OvirtError::Json {
        operation: operation.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_quote_reason_and_detail_or_the_body() {
        assert_eq!(
            fault_of(br#"{"reason": "Operation Failed", "detail": "[Cannot run VM]"}"#),
            ("Operation Failed".into(), "[Cannot run VM]".into())
        );
        assert_eq!(
            fault_of(br#"{"status": "failed", "fault": {"reason": "r", "detail": "d"}}"#),
            ("r".into(), "d".into())
        );
        assert_eq!(
            fault_of(b"<html>\n Not  Found </html>"),
            ("<html> Not Found </html>".into(), String::new())
        );
        assert_eq!(fault_of(&[b'x'; 2000]).0.len(), 500);
    }

    #[test]
    fn sso_answers_give_a_token_with_its_expiry_or_a_refusal() {
        let (token, exp) = parse_token(
            "u",
            200,
            br#"{"access_token": "abc", "exp": "1700000000000", "token_type": "bearer"}"#,
        )
        .unwrap();
        assert_eq!((token.as_str(), exp), ("abc", Some(1_700_000_000)));
        let (_, exp) = parse_token("u", 200, br#"{"access_token": "a", "exp": 5000}"#).unwrap();
        assert_eq!(exp, Some(5));
        let err = parse_token(
            "u",
            400,
            br#"{"error": "access_denied", "error_description": "Cannot authenticate user"}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("access_denied")
                && err.to_string().contains("Cannot authenticate user"),
            "{err}"
        );
        assert!(matches!(
            parse_token("u", 200, br#"{"token_type": "bearer"}"#),
            Err(OvirtError::BadToken { .. })
        ));
    }

    #[test]
    fn a_listing_reads_at_most_its_byte_budget() {
        let mut listed = 0;
        // Full pages at the answer limit: the budget ends the listing long before MAX_PAGES.
        let pages = (0..MAX_PAGES)
            .take_while(|_| count_listed(&mut listed, MAX_RESPONSE_BYTES, "list VMs").is_ok())
            .count();
        assert_eq!(pages, MAX_LISTING_BYTES / MAX_RESPONSE_BYTES);
        let err = count_listed(&mut listed, 1, "list VMs").unwrap_err();
        assert!(
            matches!(
                err,
                OvirtError::Limit {
                    limit: OvirtLimit::ListingBytes,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn paths_that_the_url_parser_would_rewrite_are_refused() {
        use super::super::ops::path_id;
        for id in ["", ".", "..", "%2e%2E", ".%2e", "a\tb", "a\\b"] {
            let path = format!("/vms/{}/start", path_id(id));
            let raw = format!("/vms/{id}/start");
            assert!(
                confined(&path).is_err() || confined(&raw).is_err(),
                "{id:?} passed as {path:?}"
            );
        }
        assert!(matches!(
            confined(&format!("/vms/{}", path_id(".."))),
            Err(OvirtError::UnsafePath { .. })
        ));
        assert!(confined("/vms//start").is_err());
        assert!(confined("/ovirt-engine/api/vms/../../sso").is_err());
        assert!(confined("vms/1").is_err());
        assert!(confined("/").is_ok());
        assert!(confined("/vms/123e4567-e89b-12d3-a456-426614174000/diskattachments/d1").is_ok());
        assert!(confined("/vms?search=page%201&max=100&follow=nics").is_ok());
        let err = confined("/vms/\u{1b}[2J").unwrap_err().to_string();
        assert!(!err.contains('\u{1b}'), "{err}");
    }

    #[test]
    fn tokens_expire_within_the_margin() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let t = |at| Token {
            value: SecretString::new("t"),
            expires_at: at,
        };
        assert!(t(Some(now + 30)).expires_within(Duration::from_secs(60)));
        assert!(!t(Some(now + 600)).expires_within(Duration::from_secs(60)));
        assert!(!t(None).expires_within(Duration::from_secs(60)));
        // A huge margin does not overflow.
        assert!(t(Some(now + 600)).expires_within(Duration::MAX));
    }
}
