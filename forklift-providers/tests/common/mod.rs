//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod fake_vddk;
pub mod mock_vim25;
pub mod raw_http;
pub mod vcsim;
