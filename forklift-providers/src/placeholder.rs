//! TEMPORARY until main has the inventory model and BlockSource.
#![allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerState {
    On,
    Off,
    Suspended,
    Unknown,
}
#[derive(Debug, Default)]
pub struct SourceInventory;
