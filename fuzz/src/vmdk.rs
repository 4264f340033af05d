//! Fuzzes the VMDK readers on one in-memory image: opening (header, embedded descriptor,
//! grain directory, footer, marker scan) and reading every grain must give data or a typed
//! error, never panic or allocate without bound.

use std::sync::Arc;

use forklift_transfer::vmdk::{MemoryWindow, OpenOptions, VmdkImage};

/// The target: see the module documentation.
pub fn run(data: &[u8]) {
    let Some((&mode, image)) = data.split_first() else {
        return;
    };
    let window = Arc::new(MemoryWindow::new("fuzz.vmdk", image.to_vec()));
    let Ok(disk) = VmdkImage::open_single_with(
        window,
        OpenOptions {
            scan_markers: mode & 1 == 1,
        },
    ) else {
        return;
    };
    let capacity = disk.capacity().min(8 << 20);
    let _ = disk.map(0, capacity);
    let mut buf = vec![0u8; 64 << 10];
    let mut offset = 0;
    while offset < capacity {
        let n = (capacity - offset).min(buf.len() as u64) as usize;
        if disk.read_at(&mut buf[..n], offset).is_err() {
            break;
        }
        offset += n as u64;
    }
}
