//! The migration runner: runs a Plan from a Migration, VM by VM, along MTV's itineraries.

pub mod hooks;
