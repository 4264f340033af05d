//! The `forklift` command-line tool: a thin layer over the library.

mod cli;

use clap::Parser;
use std::process::ExitCode;

/// Copy buffers page-aligned, so O_DIRECT writes them without a bounce copy (see
/// `forklift_transfer::alloc`).
#[global_allocator]
static ALLOCATOR: forklift_transfer::alloc::PageAlignedLarge =
    forklift_transfer::alloc::PageAlignedLarge;

fn main() -> ExitCode {
    cli::Cli::parse().run()
}
