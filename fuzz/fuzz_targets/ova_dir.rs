//! libFuzzer entry point of [`forklift_fuzz::ova_dir`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| forklift_fuzz::ova_dir::run(data));
