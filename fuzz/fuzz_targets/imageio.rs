//! libFuzzer entry point of [`forklift_fuzz::imageio`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| forklift_fuzz::imageio::run(data));
