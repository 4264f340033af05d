//! libFuzzer entry point of [`forklift_fuzz::ovirt_vms`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| forklift_fuzz::ovirt_vms::run(data));
