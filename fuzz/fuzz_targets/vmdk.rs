//! libFuzzer entry point of [`forklift_fuzz::vmdk`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| forklift_fuzz::vmdk::run(data));
