//! Copies a VMDK image into a new raw file the way an OVA migration does: the native VMDK
//! reader ([`VmdkSource`]) into a [`LocalDisk`] through the copy engine with its default
//! options (flushed at the end), and prints the copy summary as JSON. Used by
//! `benches/file-compare.sh` (case e) against `qemu-img convert -O raw` plus a sync.
//!
//! ```text
//! cargo run --release -p forklift-transfer --example vmdk_copy -- disk.vmdk out.raw
//! ```

use std::sync::Arc;

use forklift_transfer::local::LocalDisk;
use forklift_transfer::vmdk::{VmdkImage, VmdkSource};
use forklift_transfer::{BlockSource, CopyOptions, copy};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(input), Some(output)) = (args.next(), args.next()) else {
        return Err("usage: vmdk_copy DISK.vmdk OUT.raw".into());
    };
    let source = VmdkSource::new(VmdkImage::open(std::path::Path::new(&input))?);
    let sink = LocalDisk::create(&output, source.size())?;
    let report = copy(
        Arc::new(source),
        Arc::new(sink),
        &CopyOptions::default(),
        &CancellationToken::new(),
    )
    .await?;
    println!("{}", serde_json::to_string(&report.summary)?);
    Ok(())
}
