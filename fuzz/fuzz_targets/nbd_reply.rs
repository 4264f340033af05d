//! libFuzzer entry point of [`forklift_fuzz::nbd_reply`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| forklift_fuzz::nbd_reply::run(data));
