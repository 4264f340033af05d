//! Reads a whole VMDK image through [`VmdkImage`] the way the copy engine does (allocated
//! runs only, in 4 MiB requests, on N threads) and prints the throughput, to compare with
//! `qemu-img convert -O raw` (see `scripts/bench-vmdk.sh`).
//!
//! ```text
//! cargo run --release -p forklift-transfer --example vmdk_throughput -- disk.vmdk [threads] [out.raw]
//! ```

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use forklift_transfer::vmdk::{MapKind, VmdkImage};

const CHUNK: u64 = 4 << 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(
        args.next()
            .ok_or("usage: vmdk_throughput DISK.vmdk [THREADS] [OUT.raw]")?,
    );
    let threads: usize = args.next().map(|t| t.parse()).transpose()?.unwrap_or(1);
    let out = args.next().map(PathBuf::from);
    let started = Instant::now();
    let image = VmdkImage::open(&path)?;
    let opened = started.elapsed();
    let mut work = Vec::new();
    for run in image.map(0, image.capacity())? {
        if run.kind != MapKind::Data {
            continue;
        }
        let mut at = run.offset;
        while at < run.offset + run.length {
            let n = CHUNK.min(run.offset + run.length - at);
            work.push((at, n));
            at += n;
        }
    }
    let sink = match &out {
        Some(p) => {
            let f = std::fs::File::create(p)?;
            f.set_len(image.capacity())?;
            Some(f)
        }
        None => None,
    };
    let next = AtomicUsize::new(0);
    let data_bytes: u64 = work.iter().map(|w| w.1).sum();
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                let mut buf = vec![0u8; CHUNK as usize];
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(at, n)) = work.get(i) else { break };
                    image.read_at(&mut buf[..n as usize], at).expect("read");
                    if let Some(f) = &sink {
                        use std::os::unix::fs::FileExt;
                        f.write_all_at(&buf[..n as usize], at).expect("write");
                    }
                }
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let mib = data_bytes as f64 / f64::from(1 << 20);
    println!(
        "{}: {} capacity {} MiB, data {:.0} MiB, open {:.3}s, total {:.3}s, {:.1} MiB/s of data, {} thread(s)",
        path.display(),
        image.create_type(),
        image.capacity() >> 20,
        mib,
        opened.as_secs_f64(),
        secs,
        mib / secs,
        threads
    );
    Ok(())
}
