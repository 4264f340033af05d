//! Fuzzes the checkpoint file of `forklift copy --checkpoint` the way a resumed copy reads
//! it: the bytes are written as a checkpoint file, loaded with the public
//! [`Checkpoint::load`], checked against the copy being resumed (a full copy of
//! [`SOURCE_SIZE`] bytes), and turned into the completed-block set and block map the copy
//! would follow. Any file must resume or be refused with an error, never panic, and never
//! take memory or time out of proportion to the disk.
//!
//! The target stays thin on purpose, so that it follows changes of the checkpoint format:
//! everything it checks goes through the public entry points a copy calls.

use forklift_transfer::copy::checkpoint::Checkpoint;

/// Size of the disk whose copy is being resumed.
pub const SOURCE_SIZE: u64 = 4 << 20;

/// The target: see the module documentation.
pub fn run(data: &[u8]) {
    crate::scratch::with("checkpoint", |dir| {
        let path = dir.join("disk.img.checkpoint");
        std::fs::write(&path, data).expect("cannot write the fuzz checkpoint file");
        let Ok(Some(saved)) = Checkpoint::load(&path) else {
            return;
        };
        if saved.check_matches(SOURCE_SIZE, "full", &path).is_err() {
            return;
        }
        let completed = saved.completed_set();
        assert!(completed.count() <= completed.capacity());
        let _ = saved.block_map();
    });
}
