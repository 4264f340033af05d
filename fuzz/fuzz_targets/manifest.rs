//! libFuzzer entry point of [`forklift_fuzz::manifest`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| forklift_fuzz::manifest::run(data));
