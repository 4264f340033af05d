//! Hot loops of the copy pipeline: zero detection, NBD reply decoding and CRC32.
//!
//! `cargo bench -p forklift-transfer --bench transfer_hot`. Throughput is reported per
//! byte of disk data, so figures compare directly with copy rates.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use forklift_transfer::copy::zero::{is_zero, zero_runs};
use forklift_transfer::nbd::proto::{self, Request};
use forklift_transfer::nbd::reply::{ReplyDecoder, decode_stream};

const BLOCK: usize = 256 * 1024;

fn zero_detection(c: &mut Criterion) {
    let mut group = c.benchmark_group("zero_detection");
    group.throughput(Throughput::Bytes(BLOCK as u64));
    let zeroes = vec![0u8; BLOCK];
    let mut last_byte = vec![0u8; BLOCK];
    last_byte[BLOCK - 1] = 1;
    let data: Vec<u8> = (0..BLOCK).map(|i| (i % 251) as u8 + 1).collect();
    group.bench_function("is_zero/zeroes", |b| {
        b.iter(|| is_zero(std::hint::black_box(&zeroes)))
    });
    group.bench_function("is_zero/data", |b| {
        b.iter(|| is_zero(std::hint::black_box(&data)))
    });
    group.bench_function("zero_runs_4k/last_byte_set", |b| {
        b.iter(|| zero_runs(std::hint::black_box(&last_byte), 4096))
    });
    group.finish();
}

fn framing(c: &mut Criterion) {
    let mut group = c.benchmark_group("framing");
    // 64 structured READ replies of 256 KiB, each as four OFFSET_DATA chunks.
    let mut stream = Vec::new();
    for cookie in 0..64u64 {
        for piece in 0..4u64 {
            let flags = if piece == 3 {
                proto::REPLY_FLAG_DONE
            } else {
                0
            };
            stream.extend_from_slice(&proto::STRUCTURED_REPLY_MAGIC.to_be_bytes());
            stream.extend_from_slice(&flags.to_be_bytes());
            stream.extend_from_slice(&proto::CHUNK_OFFSET_DATA.to_be_bytes());
            stream.extend_from_slice(&cookie.to_be_bytes());
            stream.extend_from_slice(&(8 + 65536u32).to_be_bytes());
            stream.extend_from_slice(&(piece * 65536).to_be_bytes());
            stream.extend(std::iter::repeat_n(7u8, 65536));
        }
    }
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("decode_structured_reads", |b| {
        b.iter(|| {
            let mut events = 0;
            decode_stream(ReplyDecoder::new(true, 1 << 25), &stream, 0, |_| {
                events += 1;
                true
            })
            .unwrap();
            events
        })
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode_request", |b| {
        b.iter(|| {
            Request {
                flags: 0,
                command: proto::CMD_WRITE,
                cookie: std::hint::black_box(42),
                offset: 1 << 30,
                length: BLOCK as u32,
            }
            .encode()
        })
    });
    group.finish();
}

fn crc(c: &mut Criterion) {
    let mut group = c.benchmark_group("crc32");
    for size in [4096usize, BLOCK, 4 << 20] {
        let data: Vec<u8> = (0..size).map(|i| (i * 31 % 256) as u8).collect();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &data, |b, data| {
            b.iter(|| crc32fast::hash(data))
        });
    }
    group.finish();
}

criterion_group!(benches, zero_detection, framing, crc);
criterion_main!(benches);
