//! The authenticated JSON client of the OpenStack APIs: one [`Session`] holds the token
//! (renewed before it expires, and once on a 401), finds each service's endpoint in the
//! catalog, bounds every answer ([`MAX_RESPONSE_BYTES`]) and every listing ([`MAX_PAGES`],
//! [`MAX_ITEMS`]), and turns refusals into [`OpenstackError::Api`] quoting the service.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::config::OpenstackConfig;
use super::error::{OpenstackError, Refusal, Result};
use super::keystone::{Token, authenticate};
use super::limits::{
    MAX_ERROR_BODY_BYTES, MAX_ITEMS, MAX_PAGES, MAX_RESPONSE_BYTES, OpenstackLimit, PAGE_SIZE,
    TOKEN_RENEW_MARGIN,
};
use crate::http::{BodyError, BodyLimits, ErrorBody, read_capped};
use crate::imageio::error::excerpt;
use crate::rest::{TokenCell, with_json};

/// An OpenStack service this client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Nova.
    Compute,
    /// Cinder (v3).
    Volume,
    /// Glance (v2).
    Image,
    /// Neutron (v2.0).
    Network,
}

impl Service {
    /// The catalog's service type.
    pub fn service_type(self) -> &'static str {
        match self {
            Self::Compute => "compute",
            Self::Volume => "volumev3",
            Self::Image => "image",
            Self::Network => "network",
        }
    }

    /// The project name of the service, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Compute => "Nova",
            Self::Volume => "Cinder",
            Self::Image => "Glance",
            Self::Network => "Neutron",
        }
    }

    /// Path prefix of the API version under the catalog URL (Nova's and Cinder's catalog
    /// URLs already name their version).
    fn version_prefix(self) -> &'static str {
        match self {
            Self::Compute | Self::Volume => "",
            Self::Image => "/v2",
            Self::Network => "/v2.0",
        }
    }
}

/// A success body is refused past [`MAX_RESPONSE_BYTES`] (a declared length at once); an
/// error body is only quoted, so its start is kept.
const LIMITS: BodyLimits = BodyLimits {
    success: MAX_RESPONSE_BYTES,
    error: ErrorBody::Cut(MAX_ERROR_BODY_BYTES),
};

/// Reads a response body under [`LIMITS`].
pub(crate) async fn read_limited(
    response: reqwest::Response,
    service: &'static str,
    operation: &str,
    url: &str,
) -> Result<Vec<u8>> {
    read_capped(response, LIMITS).await.map_err(|e| match e {
        BodyError::Transport(source) => OpenstackError::Transport {
            service,
            operation: operation.to_owned(),
            url: url.to_owned(),
            source,
        },
        BodyError::TooLarge { .. } => OpenstackError::Limit {
            service,
            operation: operation.to_owned(),
            limit: OpenstackLimit::ResponseBytes,
        },
    })
}

/// The message of an OpenStack error body: Nova/Cinder `{"<kind>": {"message": …}}`,
/// Keystone `{"error": {"message": …}}`, Neutron `{"NeutronError": {"message": …}}`, a
/// top-level `message`, else the text itself (Glance answers HTML or plain text), shortened.
pub(crate) fn fault_message(body: &[u8]) -> String {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        if let Some(Value::String(m)) = map.get("message") {
            return m.clone();
        }
        for value in map.values() {
            if let Some(Value::String(m)) = value.get("message") {
                return m.clone();
            }
        }
    }
    excerpt(&String::from_utf8_lossy(body))
}

/// An authenticated session with one OpenStack cloud.
pub struct Session {
    http: reqwest::Client,
    config: Arc<OpenstackConfig>,
    token: TokenCell<Token>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("auth_url", &self.config.auth_url.as_str())
            .field("method", &self.config.auth.method_name())
            .finish_non_exhaustive()
    }
}

/// An answer: status, headers and the (bounded) body.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

impl Session {
    /// Authenticates and checks that the catalog has every service this provider uses.
    pub async fn open(http: reqwest::Client, config: Arc<OpenstackConfig>) -> Result<Self> {
        let token = authenticate(&http, &config).await?;
        let session = Self {
            http,
            config,
            token: TokenCell::new(Some(token), TOKEN_RENEW_MARGIN),
        };
        let token = session.token().await?;
        for service in [
            Service::Compute,
            Service::Volume,
            Service::Image,
            Service::Network,
        ] {
            session.endpoint_in(&token, service)?;
        }
        Ok(session)
    }

    /// This session, renewing its token when it expires within `margin` instead of
    /// [`TOKEN_RENEW_MARGIN`].
    pub fn with_renew_margin(mut self, margin: Duration) -> Self {
        self.token.set_margin(margin);
        self
    }

    /// How many times the token was renewed.
    pub fn renewals(&self) -> u64 {
        self.token.renewals()
    }

    /// The configuration.
    pub fn config(&self) -> &OpenstackConfig {
        &self.config
    }

    /// The HTTP client (TLS as configured).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The current token, renewed first when it expires within the renewal margin.
    pub async fn token(&self) -> Result<Arc<Token>> {
        self.token
            .current(|| async {
                tracing::debug!(
                    method = self.config.auth.method_name(),
                    "renewing the Keystone token"
                );
                authenticate(&self.http, &self.config).await
            })
            .await
    }

    /// Replaces the token after the cloud refused it (revoked or expired early).
    async fn renew_after_refusal(&self, refused: &Arc<Token>) -> Result<()> {
        self.token
            .renew_after_refusal(refused, || authenticate(&self.http, &self.config))
            .await
    }

    fn endpoint_in(&self, token: &Token, service: Service) -> Result<url::Url> {
        let interface = self.config.interface.as_str();
        let region = self.config.region.as_deref();
        token
            .endpoint(service.service_type(), interface, region)
            .ok_or_else(|| OpenstackError::MissingEndpoint {
                method: self.config.auth.method_name(),
                service_type: service.service_type(),
                interface,
                region: region.map(str::to_owned),
            })
    }

    /// The catalog URL of `service`.
    pub async fn endpoint(&self, service: Service) -> Result<url::Url> {
        let token = self.token().await?;
        self.endpoint_in(&token, service)
    }

    /// The full URL of `path` (starting with `/`, relative to the service's API version).
    pub async fn url(&self, service: Service, path: &str) -> Result<String> {
        let base = self.endpoint(service).await?;
        Ok(format!(
            "{}{}{path}",
            base.as_str().trim_end_matches('/'),
            service.version_prefix()
        ))
    }

    /// Sends one request; a 401 renews the token once and retries. Error statuses become
    /// [`OpenstackError::Api`].
    pub async fn send(
        &self,
        service: Service,
        method: Method,
        path: &str,
        body: Option<&Value>,
        operation: &str,
    ) -> Result<Answer> {
        let url = self.url(service, path).await?;
        let mut retried = false;
        loop {
            let token = self.token().await?;
            let request = self
                .http
                .request(method.clone(), &url)
                .header("X-Auth-Token", token.value.expose())
                .header("Accept", "application/json");
            let response = with_json(request, body).send().await.map_err(|source| {
                OpenstackError::Transport {
                    service: service.name(),
                    operation: operation.to_owned(),
                    url: url.clone(),
                    source,
                }
            })?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = read_limited(response, service.name(), operation, &url).await?;
            if status == 401 && !retried {
                retried = true;
                self.renew_after_refusal(&token).await?;
                continue;
            }
            if !(200..300).contains(&status) {
                let message = fault_message(&body);
                return Err(OpenstackError::Api {
                    service: service.name(),
                    operation: operation.to_owned(),
                    status,
                    refusal: Refusal::classify(status, &message),
                    message,
                });
            }
            return Ok(Answer {
                status,
                headers,
                body,
            });
        }
    }

    /// GETs `path` and decodes the JSON answer.
    pub async fn get<T: DeserializeOwned>(
        &self,
        service: Service,
        path: &str,
        operation: &str,
    ) -> Result<T> {
        let answer = self
            .send(service, Method::GET, path, None, operation)
            .await?;
        decode(service, operation, &answer.body)
    }

    /// Lists every item of a paginated collection: `key` names the array in each page;
    /// pages follow the `next` link (Glance) or `<key>_links` (Nova, Cinder, Neutron).
    pub async fn list<T: DeserializeOwned>(
        &self,
        service: Service,
        path: &str,
        key: &str,
        operation: &str,
    ) -> Result<Vec<T>> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut query = format!("limit={PAGE_SIZE}");
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: Value = self
                .get(service, &format!("{path}{separator}{query}"), operation)
                .await?;
            let values = match page.get(key) {
                Some(Value::Array(values)) => values.clone(),
                _ => Vec::new(),
            };
            if items.len() + values.len() > MAX_ITEMS {
                return Err(OpenstackError::Limit {
                    service: service.name(),
                    operation: operation.to_owned(),
                    limit: OpenstackLimit::Items,
                });
            }
            let empty = values.is_empty();
            for value in values {
                items.push(serde_json::from_value(value).map_err(|source| {
                    OpenstackError::Json {
                        service: service.name(),
                        operation: operation.to_owned(),
                        source,
                    }
                })?);
            }
            match next_query(&page, key) {
                Some(next) if !empty => query = next,
                _ => return Ok(items),
            }
        }
        Err(OpenstackError::Limit {
            service: service.name(),
            operation: operation.to_owned(),
            limit: OpenstackLimit::Pages,
        })
    }
}

/// Decodes a JSON answer.
pub(crate) fn decode<T: DeserializeOwned>(
    service: Service,
    operation: &str,
    body: &[u8],
) -> Result<T> {
    serde_json::from_slice(body).map_err(|source| OpenstackError::Json {
        service: service.name(),
        operation: operation.to_owned(),
        source,
    })
}

/// The query string of a page's next link, applied to this client's own path (so a link
/// naming another host is never followed).
fn next_query(page: &Value, key: &str) -> Option<String> {
    let href = match page.get("next") {
        Some(Value::String(next)) => next.clone(),
        _ => page
            .get(format!("{key}_links"))?
            .as_array()?
            .iter()
            .find(|l| l.get("rel").and_then(Value::as_str) == Some("next"))?
            .get("href")?
            .as_str()?
            .to_owned(),
    };
    let (_, query) = href.split_once('?')?;
    (!query.is_empty()).then(|| query.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_messages_of_each_service_shape() {
        assert_eq!(
            fault_message(
                br#"{"forbidden": {"code": 403, "message": "Quota exceeded for cores"}}"#
            ),
            "Quota exceeded for cores"
        );
        assert_eq!(
            fault_message(br#"{"NeutronError": {"type": "X", "message": "no", "detail": ""}}"#),
            "no"
        );
        assert_eq!(fault_message(br#"{"message": "top"}"#), "top");
        assert_eq!(
            fault_message(b"<html>\n 403 Forbidden\n\n  Access was denied </html>"),
            "<html> 403 Forbidden Access was denied </html>"
        );
        assert_eq!(fault_message(&[b'x'; 2000]).len(), 500);
    }

    #[test]
    fn refusals_classify_quota_and_policy() {
        assert_eq!(Refusal::classify(413, ""), Refusal::Quota);
        assert_eq!(
            Refusal::classify(403, "Quota exceeded for ram"),
            Refusal::Quota
        );
        assert_eq!(
            Refusal::classify(
                403,
                "Policy doesn't allow os_compute_api:servers:create_image"
            ),
            Refusal::Policy
        );
        assert_eq!(Refusal::classify(404, ""), Refusal::NotFound);
    }

    #[test]
    fn next_links_keep_only_their_query() {
        let glance = serde_json::json!({"images": [], "next": "/v2/images?marker=a&limit=2"});
        assert_eq!(next_query(&glance, "images").unwrap(), "marker=a&limit=2");
        let nova = serde_json::json!({"servers": [], "servers_links": [
            {"rel": "next", "href": "http://evil.example/v2.1/servers/detail?limit=2&marker=b"}]});
        assert_eq!(next_query(&nova, "servers").unwrap(), "limit=2&marker=b");
        assert_eq!(
            next_query(&serde_json::json!({"networks": []}), "networks"),
            None
        );
    }
}
