//! libFuzzer entry point of [`forklift_fuzz::ovf`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| forklift_fuzz::ovf::run(data));
