//! A global allocator that page-aligns large blocks, so copy buffers can be written with
//! O_DIRECT straight from memory.
//!
//! O_DIRECT needs the memory of a write aligned (512 bytes on most devices, see `statx`
//! `STATX_DIOALIGN`). The copy engine's buffers are plain `Vec<u8>`s, which the system
//! allocator aligns to 16 bytes only, so the O_DIRECT file sink (module `local::direct`)
//! copies each write into an aligned bounce buffer: on the file benchmark
//! (`benches/file-compare.sh`, case d) that copy was a third of the sink's CPU time.
//!
//! [`PageAlignedLarge`] hands out every block of [`LARGE`] bytes or more aligned to a page,
//! and everything smaller exactly as the system allocator does. A program that installs it
//! (`#[global_allocator]`; the `forklift` binary and the Python module do) writes its copy
//! buffers with O_DIRECT without the bounce copy. Nothing depends on it: the sink checks
//! each buffer's address and bounces the ones that are not aligned.
//!
//! Whether a block is large is decided from its layout's size, which `dealloc` and
//! `realloc` receive unchanged, so a block is always freed with the alignment it was
//! allocated with.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks of this many bytes or more are page-aligned: every copy buffer (requests are at
/// least 64 KiB), few other allocations.
pub const LARGE: usize = 64 * 1024;

/// The alignment of large blocks: a page, enough for any O_DIRECT memory alignment the
/// sink accepts.
pub const PAGE: usize = 4096;

/// The system allocator, with blocks of [`LARGE`] bytes or more aligned to [`PAGE`].
#[derive(Debug, Default, Clone, Copy)]
pub struct PageAlignedLarge;

/// The layout a block of `layout` is really allocated with.
fn real(layout: Layout) -> Layout {
    if layout.size() >= LARGE && layout.align() < PAGE {
        // A size of at least 64 KiB fits any alignment up to a page: never fails.
        Layout::from_size_align(layout.size(), PAGE).unwrap_or(layout)
    } else {
        layout
    }
}

// SAFETY: every call is forwarded to `System` with the layout `real` derives; `real` only
// raises the alignment, so the block satisfies the caller's layout, and it depends on the
// size alone, which `dealloc` and `realloc` receive as allocated.
unsafe impl GlobalAlloc for PageAlignedLarge {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: `real(layout)` has the caller's non-zero size.
        unsafe { System.alloc(real(layout)) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(real(layout)) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `real(layout)`.
        unsafe { System.dealloc(ptr, real(layout)) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = real(layout);
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout.
        let new = real(unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) });
        if old.align() == new.align() {
            // Both small or both large: the system reallocates with the same alignment.
            // SAFETY: `ptr` was allocated by `System` with `old`.
            return unsafe { System.realloc(ptr, old, new_size) };
        }
        // Crossing the threshold changes the alignment: move the block.
        // SAFETY: `new` has a non-zero size; both blocks hold at least the bytes copied.
        unsafe {
            let moved = System.alloc(new);
            if !moved.is_null() {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                System.dealloc(ptr, old);
            }
            moved
        }
    }
}

/// Whether `bytes` starts on an address aligned to `align` (a power of two).
pub(crate) fn is_aligned(bytes: &[u8], align: usize) -> bool {
    (bytes.as_ptr() as usize) % align == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_blocks_are_page_aligned_small_ones_are_untouched() {
        let allocator = PageAlignedLarge;
        for (size, align) in [(LARGE, 1), (LARGE + 1, 8), (1 << 20, 16), (3 << 20, 1)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: a non-zero layout, freed with the same layout.
            unsafe {
                let block = allocator.alloc(layout);
                assert!(!block.is_null());
                assert_eq!(block as usize % PAGE, 0, "{size} bytes");
                block.write_bytes(7, size);
                allocator.dealloc(block, layout);
            }
        }
        let small = Layout::from_size_align(100, 8).unwrap();
        assert_eq!(real(small), small);
        // An alignment above a page is the caller's and kept.
        let over = Layout::from_size_align(LARGE, 2 * PAGE).unwrap();
        assert_eq!(real(over), over);
    }

    #[test]
    fn realloc_keeps_the_contents_across_the_threshold_both_ways() {
        let allocator = PageAlignedLarge;
        let pattern = |i: usize| (i * 31 % 251) as u8;
        // SAFETY: each block is used within its size and freed with its last layout.
        unsafe {
            let small = Layout::from_size_align(1000, 1).unwrap();
            let block = allocator.alloc(small);
            for i in 0..1000 {
                *block.add(i) = pattern(i);
            }
            // Small to large: moved, aligned, contents kept.
            let grown = allocator.realloc(block, small, 2 * LARGE);
            assert_eq!(grown as usize % PAGE, 0);
            for i in 0..1000 {
                assert_eq!(*grown.add(i), pattern(i));
            }
            for i in 1000..2 * LARGE {
                *grown.add(i) = pattern(i);
            }
            // Large to larger: still aligned.
            let large = Layout::from_size_align(2 * LARGE, 1).unwrap();
            let larger = allocator.realloc(grown, large, 4 * LARGE);
            assert_eq!(larger as usize % PAGE, 0);
            for i in 0..2 * LARGE {
                assert_eq!(*larger.add(i), pattern(i));
            }
            // Large to small: moved back to a system block.
            let largest = Layout::from_size_align(4 * LARGE, 1).unwrap();
            let shrunk = allocator.realloc(larger, largest, 500);
            for i in 0..500 {
                assert_eq!(*shrunk.add(i), pattern(i));
            }
            allocator.dealloc(shrunk, Layout::from_size_align(500, 1).unwrap());
        }
    }

    #[test]
    fn alloc_zeroed_gives_zeroes() {
        let layout = Layout::from_size_align(LARGE * 2, 1).unwrap();
        // SAFETY: a non-zero layout, read within its size and freed with it.
        unsafe {
            let block = PageAlignedLarge.alloc_zeroed(layout);
            assert_eq!(block as usize % PAGE, 0);
            assert!(
                std::slice::from_raw_parts(block, layout.size())
                    .iter()
                    .all(|&b| b == 0)
            );
            PageAlignedLarge.dealloc(block, layout);
        }
    }
}

/// The unit tests run on the allocator the `forklift` binary installs, so the O_DIRECT
/// tests see page-aligned copy buffers (and bounce the buffers they misalign on purpose).
#[cfg(test)]
#[global_allocator]
static TEST_ALLOCATOR: PageAlignedLarge = PageAlignedLarge;
