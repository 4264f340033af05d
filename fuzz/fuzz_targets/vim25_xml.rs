//! libFuzzer entry point of [`forklift_fuzz::vim25_xml`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| forklift_fuzz::vim25_xml::run(data));
