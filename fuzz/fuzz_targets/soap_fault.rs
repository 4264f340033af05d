//! libFuzzer entry point of [`forklift_fuzz::soap_fault`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| forklift_fuzz::soap_fault::run(data));
