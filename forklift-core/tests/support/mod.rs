//! Shared test support for forklift-core integration tests.

#![allow(dead_code)]

pub mod fixtures;
pub mod openapi;
