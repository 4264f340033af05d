//! What the providers' authenticated JSON clients (oVirt's [`Engine`](crate::ovirt::Engine),
//! OpenStack's [`Session`](crate::openstack::Session)) share: the JSON request body and the
//! session token, renewed before it expires and once after the peer
//! refused it. Each client keeps its own limits, errors and login; an answer body
//! is read by [`read_capped`](crate::http::read_capped), an error body quoted by
//! [`excerpt`](crate::imageio::error::excerpt).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// `request` with `body`, when there is one, as its JSON content.
pub(crate) fn with_json(
    request: reqwest::RequestBuilder,
    body: Option<&serde_json::Value>,
) -> reqwest::RequestBuilder {
    match body {
        Some(body) => request
            .header("Content-Type", "application/json")
            .body(body.to_string()),
        None => request,
    }
}

/// A session token that knows when it expires.
pub(crate) trait Expiring {
    /// Whether it expires within `margin` from now.
    fn expires_within(&self, margin: Duration) -> bool;
}

/// The token of one session, shared by its requests: renewed (through the session's own
/// login) when it is missing or expires within the margin, and once after the peer refused
/// it; every renewal is counted.
pub(crate) struct TokenCell<T> {
    current: tokio::sync::Mutex<Option<Arc<T>>>,
    margin: Duration,
    renewals: AtomicU64,
}

impl<T: Expiring> TokenCell<T> {
    /// A cell holding `first` (not counted as a renewal), renewing within `margin`.
    pub(crate) fn new(first: Option<T>, margin: Duration) -> Self {
        Self {
            current: tokio::sync::Mutex::new(first.map(Arc::new)),
            margin,
            renewals: AtomicU64::new(0),
        }
    }

    /// Renews within `margin` of the expiry from now on.
    pub(crate) fn set_margin(&mut self, margin: Duration) {
        self.margin = margin;
    }

    /// How many times the token was renewed.
    pub(crate) fn renewals(&self) -> u64 {
        self.renewals.load(Ordering::Relaxed)
    }

    /// Stores the token of the first login (not counted as a renewal).
    pub(crate) async fn set(&self, token: T) {
        *self.current.lock().await = Some(Arc::new(token));
    }

    /// Takes the token out (at logout): the next request logs in again.
    pub(crate) async fn take(&self) -> Option<Arc<T>> {
        self.current.lock().await.take()
    }

    /// The current token; first renewed through `login` when there is none or it expires
    /// within the margin. Requests wait for one renewal instead of each logging in.
    pub(crate) async fn current<E, F>(&self, login: impl FnOnce() -> F) -> Result<Arc<T>, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let mut current = self.current.lock().await;
        match current.as_ref() {
            Some(token) if !token.expires_within(self.margin) => Ok(token.clone()),
            _ => {
                let token = Arc::new(login().await?);
                *current = Some(token.clone());
                self.renewals.fetch_add(1, Ordering::Relaxed);
                Ok(token)
            }
        }
    }

    /// Replaces `refused` (expired or revoked early) through `login`, unless another
    /// request has replaced it already.
    pub(crate) async fn renew_after_refusal<E, F>(
        &self,
        refused: &Arc<T>,
        login: impl FnOnce() -> F,
    ) -> Result<(), E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let mut current = self.current.lock().await;
        if current.as_ref().is_none_or(|c| Arc::ptr_eq(c, refused)) {
            *current = Some(Arc::new(login().await?));
            self.renewals.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake {
        n: u32,
        expiring: bool,
    }

    impl Expiring for Fake {
        fn expires_within(&self, _margin: Duration) -> bool {
            self.expiring
        }
    }

    fn login(n: u32) -> impl Future<Output = Result<Fake, ()>> {
        std::future::ready(Ok(Fake { n, expiring: false }))
    }

    #[tokio::test]
    async fn tokens_renew_when_missing_expiring_or_refused_once() {
        let cell = TokenCell::new(
            Some(Fake {
                n: 0,
                expiring: false,
            }),
            Duration::from_secs(60),
        );
        let first = cell.current(|| login(1)).await.unwrap();
        assert_eq!((first.n, cell.renewals()), (0, 0));
        cell.renew_after_refusal(&first, || login(2)).await.unwrap();
        // A second refusal of the same token finds it replaced already.
        cell.renew_after_refusal(&first, || login(3)).await.unwrap();
        assert_eq!(
            (cell.current(|| login(4)).await.unwrap().n, cell.renewals()),
            (2, 1)
        );
        cell.set(Fake {
            n: 5,
            expiring: true,
        })
        .await;
        assert_eq!(cell.current(|| login(6)).await.unwrap().n, 6);
        assert_eq!(cell.take().await.map(|t| t.n), Some(6));
        assert_eq!(cell.current(|| login(7)).await.unwrap().n, 7);
        assert_eq!(cell.renewals(), 3);
    }
}
