//! Shared test support for forklift-core integration tests.

#![allow(dead_code)]

pub mod openapi;
