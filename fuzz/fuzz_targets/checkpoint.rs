//! libFuzzer entry point of [`forklift_fuzz::checkpoint`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| forklift_fuzz::checkpoint::run(data));
