//! libFuzzer entry point of [`forklift_fuzz::template`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| forklift_fuzz::template::run(data));
