//! # forklift-core: the pure layer
//!
//! Everything forklift decides without touching the outside world lives here: the
//! `forklift.konveyor.io/v1beta1` resources, the provider-neutral inventory model, name
//! adjustment and Go-template naming, map resolution, plan validation with MTV's conditions,
//! disk sizing, the scheduling policy, migration itineraries and rendering of the KubeVirt
//! target. This crate performs no I/O and does not depend on tokio: every function takes its
//! inputs as values and returns results, so it can be tested exhaustively and embedded anywhere.
//!
//! ```text
//!   forklift (facade, CLI) ── forklift-py
//!        │         │
//!        │   forklift-providers ── forklift-transfer
//!        │         │
//!        └──── forklift-core   (this crate: no I/O)
//! ```

#[macro_use]
mod string_enum;

pub mod credentials;
pub mod error;
pub mod inventory;
pub mod itinerary;
pub mod manifest;
pub mod mapping;
pub mod naming;
pub mod render;
pub mod resources;
pub mod scheduling;
pub mod sizing;
pub mod template;
pub mod time;
pub mod validation;

pub use error::{Error, Result};
