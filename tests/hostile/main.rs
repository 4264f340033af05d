//! The attack pass as a test suite: hostile manifests, OVA packages, NBD and SOAP servers and
//! stale state, each driven against the real `forklift` binary (or the library where the
//! binary cannot reach the case) and each asserting bounded time and memory as well as the
//! refusal itself. Every limit exercised here is listed in `docs/limits.md`.
//!
//! One module per attack surface; `support` holds the bounded runner they share.

mod ova;
mod soap;
mod support;
