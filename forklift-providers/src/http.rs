//! The one way an HTTP client that talks to a peer is built: every provider's client
//! (vSphere, OpenStack, the oVirt engine, imageio) and the CDI upload proxy's start here;
//! [`read_capped`] is the one reader of their answer bodies within a limit.

/// A `reqwest` client builder that never follows a redirect: a 3xx answer is returned as
/// it is and fails the call with its status.
///
/// Following one would re-send what the request carries to wherever the answer points: a
/// 307/308 keeps the method and body (a login's password, the SSO form, a disk being
/// uploaded), and every redirect keeps the headers reqwest does not know to be secret
/// (`X-Auth-Token`, the vim25 session cookie set by hand, a bearer token). None of these
/// peers redirects in its contract.
pub fn peer_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none())
}

pub mod body;

pub use body::{BodyError, BodyLimits, CappedBody, ErrorBody, read_capped};
