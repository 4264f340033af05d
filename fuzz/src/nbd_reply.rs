//! Feeds arbitrary bytes to the NBD reply decoder, read reassembly, block-status
//! translation and option-reply parsers: none may panic or allocate beyond its limits.

use forklift_transfer::MetaContext;
use forklift_transfer::nbd::proto;
use forklift_transfer::nbd::reply::{
    ReadAssembly, ReplyDecoder, ReplyEvent, decode_stream, extents_from_status,
};

/// The target: see the module documentation.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    // Option negotiation parsers over the same bytes.
    if let Some(greeting) = rest.first_chunk::<{ proto::GREETING_LEN }>() {
        let _ = proto::parse_greeting(greeting);
    }
    if let Some(header) = rest.first_chunk::<{ proto::OPTION_REPLY_HEADER_LEN }>() {
        let _ = proto::OptionReplyHeader::parse(header, proto::OPT_GO);
    }
    let _ = proto::parse_info(rest);
    let _ = proto::parse_meta_context(rest);

    // Transmission replies: a 64 KiB read is pending at offset 0.
    let decoder = ReplyDecoder::new(mode & 1 == 1, 1 << 16);
    let mut read = ReadAssembly::new(0, 1 << 16);
    let context = match (mode >> 1) & 3 {
        0 => MetaContext::BaseAllocation,
        1 => MetaContext::DirtyBitmap("b".into()),
        2 => MetaContext::AllocationDepth,
        _ => MetaContext::Other("x:y".into()),
    };
    let _ = decode_stream(decoder, rest, 1 << 16, |event| match *event {
        ReplyEvent::Data { offset, length, .. } | ReplyEvent::Hole { offset, length, .. } => {
            read.accept(offset, length).is_ok()
        }
        ReplyEvent::BlockStatus {
            ref descriptors, ..
        } => {
            let _ = extents_from_status(&context, 4096, 1 << 30, descriptors);
            true
        }
        _ => true,
    });
    let _ = read.is_complete();
}
