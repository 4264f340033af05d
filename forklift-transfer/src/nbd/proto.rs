//! NBD wire format: constants, option negotiation messages and request framing, over bytes.
//!
//! Nothing here does I/O. The handshake driver and the connection tasks read and write
//! through these functions, and the tests and fuzz targets feed them bytes directly.
//! Every length read from the peer is checked against a limit before anything is allocated.

use forklift_core::error::PeerText;

use crate::block::BlockSizes;
use crate::error::{Error, ErrorKind, Op, Result};

/// `NBDMAGIC`, the first eight bytes a server sends.
pub const NBD_MAGIC: u64 = 0x4e42_444d_4147_4943;
/// `IHAVEOPT`: newstyle negotiation follows; also prefixes every client option.
pub const IHAVEOPT: u64 = 0x4948_4156_454f_5054;
/// Second magic of the obsolete oldstyle handshake.
pub const OLDSTYLE_MAGIC: u64 = 0x0000_4202_8186_1253;
/// Magic of every option reply.
pub const OPTION_REPLY_MAGIC: u64 = 0x0003_e889_0455_65a9;
/// Magic of a transmission request.
pub const REQUEST_MAGIC: u32 = 0x2560_9513;
/// Magic of a simple reply.
pub const SIMPLE_REPLY_MAGIC: u32 = 0x6744_6698;
/// Magic of a structured reply chunk.
pub const STRUCTURED_REPLY_MAGIC: u32 = 0x668e_33ef;
/// Magic of an extended-header reply (never negotiated by this client).
pub const EXTENDED_REPLY_MAGIC: u32 = 0x6e8a_278c;

/// Handshake flag: the server speaks fixed newstyle.
pub const FLAG_FIXED_NEWSTYLE: u16 = 1 << 0;
/// Handshake flag: the server may omit the 124 zero bytes after `EXPORT_NAME`.
pub const FLAG_NO_ZEROES: u16 = 1 << 1;
/// Client flag: the client speaks fixed newstyle.
pub const CLIENT_FIXED_NEWSTYLE: u32 = 1 << 0;
/// Client flag: the client wants no 124 zero bytes after `EXPORT_NAME`.
pub const CLIENT_NO_ZEROES: u32 = 1 << 1;

/// Option `NBD_OPT_EXPORT_NAME`.
pub const OPT_EXPORT_NAME: u32 = 1;
/// Option `NBD_OPT_ABORT`.
pub const OPT_ABORT: u32 = 2;
/// Option `NBD_OPT_LIST`.
pub const OPT_LIST: u32 = 3;
/// Option `NBD_OPT_STARTTLS`.
pub const OPT_STARTTLS: u32 = 5;
/// Option `NBD_OPT_INFO`.
pub const OPT_INFO: u32 = 6;
/// Option `NBD_OPT_GO`.
pub const OPT_GO: u32 = 7;
/// Option `NBD_OPT_STRUCTURED_REPLY`.
pub const OPT_STRUCTURED_REPLY: u32 = 8;
/// Option `NBD_OPT_LIST_META_CONTEXT`.
pub const OPT_LIST_META_CONTEXT: u32 = 9;
/// Option `NBD_OPT_SET_META_CONTEXT`.
pub const OPT_SET_META_CONTEXT: u32 = 10;

/// Option reply `NBD_REP_ACK`.
pub const REP_ACK: u32 = 1;
/// Option reply `NBD_REP_SERVER` (one export of a LIST).
pub const REP_SERVER: u32 = 2;
/// Option reply `NBD_REP_INFO`.
pub const REP_INFO: u32 = 3;
/// Option reply `NBD_REP_META_CONTEXT`.
pub const REP_META_CONTEXT: u32 = 4;
/// Bit 31 marks option error replies.
pub const REP_FLAG_ERROR: u32 = 1 << 31;
/// `NBD_REP_ERR_UNSUP`.
pub const REP_ERR_UNSUP: u32 = REP_FLAG_ERROR | 1;
/// `NBD_REP_ERR_POLICY`.
pub const REP_ERR_POLICY: u32 = REP_FLAG_ERROR | 2;
/// `NBD_REP_ERR_INVALID`.
pub const REP_ERR_INVALID: u32 = REP_FLAG_ERROR | 3;
/// `NBD_REP_ERR_PLATFORM`.
pub const REP_ERR_PLATFORM: u32 = REP_FLAG_ERROR | 4;
/// `NBD_REP_ERR_TLS_REQD`.
pub const REP_ERR_TLS_REQD: u32 = REP_FLAG_ERROR | 5;
/// `NBD_REP_ERR_UNKNOWN`.
pub const REP_ERR_UNKNOWN: u32 = REP_FLAG_ERROR | 6;
/// `NBD_REP_ERR_SHUTDOWN`.
pub const REP_ERR_SHUTDOWN: u32 = REP_FLAG_ERROR | 7;
/// `NBD_REP_ERR_BLOCK_SIZE_REQD`.
pub const REP_ERR_BLOCK_SIZE_REQD: u32 = REP_FLAG_ERROR | 8;
/// `NBD_REP_ERR_TOO_BIG`.
pub const REP_ERR_TOO_BIG: u32 = REP_FLAG_ERROR | 9;

/// Info `NBD_INFO_EXPORT`: size and transmission flags.
pub const INFO_EXPORT: u16 = 0;
/// Info `NBD_INFO_NAME`.
pub const INFO_NAME: u16 = 1;
/// Info `NBD_INFO_DESCRIPTION`.
pub const INFO_DESCRIPTION: u16 = 2;
/// Info `NBD_INFO_BLOCK_SIZE`.
pub const INFO_BLOCK_SIZE: u16 = 3;

/// Transmission flag `NBD_FLAG_HAS_FLAGS`.
pub const TFLAG_HAS_FLAGS: u16 = 1 << 0;
/// Transmission flag `NBD_FLAG_READ_ONLY`.
pub const TFLAG_READ_ONLY: u16 = 1 << 1;
/// Transmission flag `NBD_FLAG_SEND_FLUSH`.
pub const TFLAG_SEND_FLUSH: u16 = 1 << 2;
/// Transmission flag `NBD_FLAG_SEND_FUA`.
pub const TFLAG_SEND_FUA: u16 = 1 << 3;
/// Transmission flag `NBD_FLAG_ROTATIONAL`.
pub const TFLAG_ROTATIONAL: u16 = 1 << 4;
/// Transmission flag `NBD_FLAG_SEND_TRIM`.
pub const TFLAG_SEND_TRIM: u16 = 1 << 5;
/// Transmission flag `NBD_FLAG_SEND_WRITE_ZEROES`.
pub const TFLAG_SEND_WRITE_ZEROES: u16 = 1 << 6;
/// Transmission flag `NBD_FLAG_SEND_DF`.
pub const TFLAG_SEND_DF: u16 = 1 << 7;
/// Transmission flag `NBD_FLAG_CAN_MULTI_CONN`.
pub const TFLAG_CAN_MULTI_CONN: u16 = 1 << 8;
/// Transmission flag `NBD_FLAG_SEND_CACHE`.
pub const TFLAG_SEND_CACHE: u16 = 1 << 10;
/// Transmission flag `NBD_FLAG_SEND_FAST_ZERO`.
pub const TFLAG_SEND_FAST_ZERO: u16 = 1 << 11;

/// Command `NBD_CMD_READ`.
pub const CMD_READ: u16 = 0;
/// Command `NBD_CMD_WRITE`.
pub const CMD_WRITE: u16 = 1;
/// Command `NBD_CMD_DISC`.
pub const CMD_DISC: u16 = 2;
/// Command `NBD_CMD_FLUSH`.
pub const CMD_FLUSH: u16 = 3;
/// Command `NBD_CMD_TRIM`.
pub const CMD_TRIM: u16 = 4;
/// Command `NBD_CMD_WRITE_ZEROES`.
pub const CMD_WRITE_ZEROES: u16 = 6;
/// Command `NBD_CMD_BLOCK_STATUS`.
pub const CMD_BLOCK_STATUS: u16 = 7;

/// Command flag `NBD_CMD_FLAG_FUA`.
pub const CMD_FLAG_FUA: u16 = 1 << 0;
/// Command flag `NBD_CMD_FLAG_NO_HOLE`.
pub const CMD_FLAG_NO_HOLE: u16 = 1 << 1;
/// Command flag `NBD_CMD_FLAG_DF`.
pub const CMD_FLAG_DF: u16 = 1 << 2;
/// Command flag `NBD_CMD_FLAG_REQ_ONE`.
pub const CMD_FLAG_REQ_ONE: u16 = 1 << 3;
/// Command flag `NBD_CMD_FLAG_FAST_ZERO`.
pub const CMD_FLAG_FAST_ZERO: u16 = 1 << 4;

/// Reply flag `NBD_REPLY_FLAG_DONE`: last chunk of a structured reply.
pub const REPLY_FLAG_DONE: u16 = 1 << 0;
/// Chunk `NBD_REPLY_TYPE_NONE`.
pub const CHUNK_NONE: u16 = 0;
/// Chunk `NBD_REPLY_TYPE_OFFSET_DATA`.
pub const CHUNK_OFFSET_DATA: u16 = 1;
/// Chunk `NBD_REPLY_TYPE_OFFSET_HOLE`.
pub const CHUNK_OFFSET_HOLE: u16 = 2;
/// Chunk `NBD_REPLY_TYPE_BLOCK_STATUS`.
pub const CHUNK_BLOCK_STATUS: u16 = 5;
/// Bit 15 marks error chunks.
pub const CHUNK_FLAG_ERROR: u16 = 1 << 15;
/// Chunk `NBD_REPLY_TYPE_ERROR`.
pub const CHUNK_ERROR: u16 = CHUNK_FLAG_ERROR | 1;
/// Chunk `NBD_REPLY_TYPE_ERROR_OFFSET`.
pub const CHUNK_ERROR_OFFSET: u16 = CHUNK_FLAG_ERROR | 2;

/// `base:allocation` bit: unallocated.
pub const STATE_HOLE: u32 = 1 << 0;
/// `base:allocation` bit: reads as zeroes.
pub const STATE_ZERO: u32 = 1 << 1;
/// `qemu:dirty-bitmap:*` bit: changed.
pub const STATE_DIRTY: u32 = 1 << 0;

/// Length of the server greeting (magic, `IHAVEOPT`, handshake flags).
pub const GREETING_LEN: usize = 18;
/// Length of an option reply header.
pub const OPTION_REPLY_HEADER_LEN: usize = 20;
/// Length of a request header.
pub const REQUEST_LEN: usize = 28;
/// Length of a simple reply header.
pub const SIMPLE_REPLY_LEN: usize = 16;
/// Length of a structured reply chunk header.
pub const CHUNK_HEADER_LEN: usize = 20;
/// Longest option reply payload accepted (names and messages are ≤ 4 KiB by the spec).
pub const MAX_OPTION_REPLY: u32 = 64 * 1024;
/// Longest string the spec allows in names, queries and messages.
pub const MAX_STRING: usize = 4096;
/// Most block-status descriptors accepted in one chunk (the spec's limit, 2^20).
pub const MAX_BLOCK_STATUS_EXTENTS: u32 = 1 << 20;
/// Most `NBD_REP_META_CONTEXT` replies accepted in answer to one `SET_META_CONTEXT` or
/// `LIST_META_CONTEXT`. A disk has a handful of contexts (allocation, depth, one per dirty
/// bitmap); a server that streams replies without end is cut off here instead of growing the
/// list until the negotiation timeout.
pub const MAX_META_CONTEXTS: usize = 1024;
/// Most `NBD_REP_INFO` replies accepted in answer to one `NBD_OPT_GO`: the spec defines four
/// kinds of info, each sent once or a few times; a server repeating them without end is
/// cut off here.
pub const MAX_INFO_REPLIES: usize = 64;
/// Largest export size accepted: 2^63 - 1 bytes. Files, block devices and every NBD server
/// in use are limited to a signed 64-bit size (libnbd refuses larger ones too); a larger
/// value can only be a broken or hostile server.
pub const MAX_EXPORT_SIZE: u64 = i64::MAX as u64;

/// The server greeting: returns the handshake flags.
pub fn parse_greeting(bytes: &[u8; GREETING_LEN]) -> Result<u16> {
    let magic = be64(&bytes[0..8]);
    if magic != NBD_MAGIC {
        return Err(Error::protocol(format!("Bad server magic {magic:#x}")).with_op(Op::Handshake));
    }
    let second = be64(&bytes[8..16]);
    if second == OLDSTYLE_MAGIC {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "Server speaks the obsolete oldstyle protocol",
        )
        .into_fatal()
        .with_op(Op::Handshake));
    }
    if second != IHAVEOPT {
        return Err(
            Error::protocol(format!("Bad newstyle magic {second:#x}")).with_op(Op::Handshake)
        );
    }
    let flags = be16(&bytes[16..18]);
    if flags & FLAG_FIXED_NEWSTYLE == 0 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "Server does not speak fixed newstyle",
        )
        .into_fatal()
        .with_op(Op::Handshake));
    }
    Ok(flags)
}

/// Client flags answering a server's handshake flags.
pub fn client_flags(server_flags: u16) -> u32 {
    let mut flags = CLIENT_FIXED_NEWSTYLE;
    if server_flags & FLAG_NO_ZEROES != 0 {
        flags |= CLIENT_NO_ZEROES;
    }
    flags
}

/// Appends one option (magic, number, length, data) to `out`.
pub fn encode_option(option: u32, data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&IHAVEOPT.to_be_bytes());
    out.extend_from_slice(&option.to_be_bytes());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
}

/// One option reply (magic, option, reply type, length, payload), as a server sends it: for
/// our own server and for scripted servers in tests.
pub fn encode_option_reply(option: u32, reply_type: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = OPTION_REPLY_MAGIC.to_be_bytes().to_vec();
    out.extend_from_slice(&option.to_be_bytes());
    out.extend_from_slice(&reply_type.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn check_string(what: &str, value: &str) -> Result<()> {
    if value.len() > MAX_STRING {
        return Err(Error::invalid_input(format!(
            "{what} is longer than {MAX_STRING} bytes"
        )));
    }
    Ok(())
}

/// Data of `NBD_OPT_GO`/`NBD_OPT_INFO`: export name and the infos requested.
pub fn encode_go(export: &str, infos: &[u16]) -> Result<Vec<u8>> {
    check_string("Export name", export)?;
    let mut data = Vec::with_capacity(6 + export.len() + 2 * infos.len());
    data.extend_from_slice(&(export.len() as u32).to_be_bytes());
    data.extend_from_slice(export.as_bytes());
    data.extend_from_slice(&(infos.len() as u16).to_be_bytes());
    for info in infos {
        data.extend_from_slice(&info.to_be_bytes());
    }
    Ok(data)
}

/// Data of `NBD_OPT_SET_META_CONTEXT`/`LIST_META_CONTEXT`: export name and queries.
pub fn encode_meta_context(export: &str, queries: &[String]) -> Result<Vec<u8>> {
    check_string("Export name", export)?;
    let mut data = Vec::new();
    data.extend_from_slice(&(export.len() as u32).to_be_bytes());
    data.extend_from_slice(export.as_bytes());
    data.extend_from_slice(&(queries.len() as u32).to_be_bytes());
    for query in queries {
        check_string("Metadata context query", query)?;
        data.extend_from_slice(&(query.len() as u32).to_be_bytes());
        data.extend_from_slice(query.as_bytes());
    }
    Ok(data)
}

/// Header of an option reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionReplyHeader {
    /// The option this reply answers.
    pub option: u32,
    /// Reply type (`REP_*`).
    pub reply_type: u32,
    /// Length of the payload that follows.
    pub length: u32,
}

impl OptionReplyHeader {
    /// Parses and checks a header answering `expected_option`.
    pub fn parse(bytes: &[u8; OPTION_REPLY_HEADER_LEN], expected_option: u32) -> Result<Self> {
        let magic = be64(&bytes[0..8]);
        if magic != OPTION_REPLY_MAGIC {
            return Err(
                Error::protocol(format!("Bad option reply magic {magic:#x}"))
                    .with_op(Op::Handshake),
            );
        }
        let header = Self {
            option: be32(&bytes[8..12]),
            reply_type: be32(&bytes[12..16]),
            length: be32(&bytes[16..20]),
        };
        if header.option != expected_option {
            return Err(Error::protocol(format!(
                "Reply for option {} while waiting for option {expected_option}",
                header.option
            ))
            .with_op(Op::Handshake));
        }
        if header.length > MAX_OPTION_REPLY {
            return Err(Error::protocol(format!(
                "Option reply of {} bytes exceeds the {MAX_OPTION_REPLY}-byte limit",
                header.length
            ))
            .with_op(Op::Handshake));
        }
        if header.reply_type == REP_ACK && header.length != 0 {
            return Err(Error::protocol("Option ACK with a payload").with_op(Op::Handshake));
        }
        Ok(header)
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        self.reply_type & REP_FLAG_ERROR != 0
    }
}

/// The typed error for an option error reply; `payload` may hold a message, which is
/// shown escaped ([`PeerText`]): a server's text never reaches a terminal raw.
pub fn option_error(option: u32, reply_type: u32, payload: &[u8]) -> Error {
    let text = String::from_utf8_lossy(&payload[..payload.len().min(MAX_STRING)]);
    let detail = if text.is_empty() {
        String::new()
    } else {
        format!(": {}", PeerText(&text))
    };
    let name = option_name(option);
    let (kind, what) = match reply_type {
        REP_ERR_UNSUP => (ErrorKind::Unsupported, "is not supported"),
        REP_ERR_POLICY => (ErrorKind::Server, "was refused by policy"),
        REP_ERR_INVALID => (ErrorKind::InvalidInput, "was invalid"),
        REP_ERR_PLATFORM => (ErrorKind::Unsupported, "is not supported on this platform"),
        REP_ERR_TLS_REQD => (ErrorKind::Tls, "requires TLS"),
        REP_ERR_UNKNOWN => (ErrorKind::NotFound, "names an unknown export"),
        REP_ERR_SHUTDOWN => (ErrorKind::Disconnected, "failed: server is shutting down"),
        REP_ERR_BLOCK_SIZE_REQD => (ErrorKind::Unsupported, "requires block size negotiation"),
        REP_ERR_TOO_BIG => (ErrorKind::OutOfBounds, "was too big"),
        _ => (ErrorKind::Server, "failed"),
    };
    let error = Error::new(kind, format!("Option {name} {what}{detail}")).with_op(Op::Handshake);
    if kind == ErrorKind::Tls {
        error.into_fatal()
    } else {
        error
    }
}

fn option_name(option: u32) -> String {
    match option {
        OPT_EXPORT_NAME => "EXPORT_NAME".into(),
        OPT_ABORT => "ABORT".into(),
        OPT_LIST => "LIST".into(),
        OPT_STARTTLS => "STARTTLS".into(),
        OPT_INFO => "INFO".into(),
        OPT_GO => "GO".into(),
        OPT_STRUCTURED_REPLY => "STRUCTURED_REPLY".into(),
        OPT_LIST_META_CONTEXT => "LIST_META_CONTEXT".into(),
        OPT_SET_META_CONTEXT => "SET_META_CONTEXT".into(),
        other => format!("{other}"),
    }
}

/// One `NBD_REP_INFO` payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Info {
    /// `NBD_INFO_EXPORT`.
    Export {
        /// Export size in bytes.
        size: u64,
        /// Transmission flags.
        flags: u16,
    },
    /// `NBD_INFO_BLOCK_SIZE`.
    BlockSize(BlockSizes),
    /// Any other info (name, description, unknown), ignored.
    Other(u16),
}

/// Parses an `NBD_REP_INFO` payload.
pub fn parse_info(payload: &[u8]) -> Result<Info> {
    if payload.len() < 2 {
        return Err(Error::protocol("Info reply shorter than 2 bytes").with_op(Op::Handshake));
    }
    match be16(&payload[0..2]) {
        INFO_EXPORT => {
            if payload.len() != 12 {
                return Err(Error::protocol(format!(
                    "Export info of {} bytes instead of 12",
                    payload.len()
                ))
                .with_op(Op::Handshake));
            }
            Ok(Info::Export {
                size: be64(&payload[2..10]),
                flags: be16(&payload[10..12]),
            })
        }
        INFO_BLOCK_SIZE => {
            if payload.len() != 14 {
                return Err(Error::protocol(format!(
                    "Block size info of {} bytes instead of 14",
                    payload.len()
                ))
                .with_op(Op::Handshake));
            }
            let sizes = BlockSizes {
                minimum: be32(&payload[2..6]),
                preferred: be32(&payload[6..10]),
                maximum: be32(&payload[10..14]),
            };
            validate_block_sizes(sizes).map(Info::BlockSize)
        }
        other => Ok(Info::Other(other)),
    }
}

/// Checks advertised block sizes against the spec's rules and clamps the maximum payload
/// to 32 MiB, the most this client ever sends or accepts in one request.
pub fn validate_block_sizes(sizes: BlockSizes) -> Result<BlockSizes> {
    let BlockSizes {
        minimum,
        preferred,
        maximum,
    } = sizes;
    let bad = |why: &str| {
        Err(Error::protocol(format!(
            "Invalid block sizes {minimum}/{preferred}/{maximum}: {why}"
        ))
        .with_op(Op::Handshake))
    };
    if !minimum.is_power_of_two() || minimum > 64 * 1024 {
        return bad("minimum must be a power of two up to 64 KiB");
    }
    if !preferred.is_power_of_two() || preferred < minimum {
        return bad("preferred must be a power of two at least the minimum");
    }
    if maximum < minimum || (maximum != u32::MAX && maximum % minimum != 0) {
        return bad("maximum must be a multiple of the minimum");
    }
    Ok(BlockSizes {
        minimum,
        preferred: preferred.min(MAX_REQUEST_PAYLOAD),
        maximum: maximum.min(MAX_REQUEST_PAYLOAD),
    })
}

/// Largest read or write payload this client sends in one request (32 MiB).
pub const MAX_REQUEST_PAYLOAD: u32 = 32 * 1024 * 1024;

/// Parses an `NBD_REP_META_CONTEXT` payload into (id, name).
pub fn parse_meta_context(payload: &[u8]) -> Result<(u32, String)> {
    if payload.len() < 4 || payload.len() > 4 + MAX_STRING {
        return Err(
            Error::protocol(format!("Metadata context reply of {} bytes", payload.len()))
                .with_op(Op::Handshake),
        );
    }
    let id = be32(&payload[0..4]);
    let name = String::from_utf8(payload[4..].to_vec()).map_err(|_| {
        Error::protocol("Metadata context name is not UTF-8").with_op(Op::Handshake)
    })?;
    Ok((id, name))
}

/// Parses the answer to `NBD_OPT_EXPORT_NAME` (size, transmission flags; padding ignored).
pub fn parse_export_name_reply(bytes: &[u8; 10]) -> (u64, u16) {
    (be64(&bytes[0..8]), be16(&bytes[8..10]))
}

/// Checks the size a server gives for `export` against [`MAX_EXPORT_SIZE`].
pub fn check_export_size(export: &str, size: u64) -> Result<u64> {
    if size > MAX_EXPORT_SIZE {
        return Err(Error::protocol(format!(
            "Server's export {:?} has a size of {size} bytes, larger than the largest \
             supported export ({MAX_EXPORT_SIZE} bytes)",
            PeerText(export)
        ))
        .with_op(Op::Handshake));
    }
    Ok(size)
}

/// A transmission request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    /// Command flags (`CMD_FLAG_*`).
    pub flags: u16,
    /// Command (`CMD_*`).
    pub command: u16,
    /// Opaque cookie echoed by the reply.
    pub cookie: u64,
    /// Byte offset.
    pub offset: u64,
    /// Byte length (payload length for WRITE).
    pub length: u32,
}

impl Request {
    /// The 28-byte wire form.
    pub fn encode(&self) -> [u8; REQUEST_LEN] {
        let mut out = [0u8; REQUEST_LEN];
        out[0..4].copy_from_slice(&REQUEST_MAGIC.to_be_bytes());
        out[4..6].copy_from_slice(&self.flags.to_be_bytes());
        out[6..8].copy_from_slice(&self.command.to_be_bytes());
        out[8..16].copy_from_slice(&self.cookie.to_be_bytes());
        out[16..24].copy_from_slice(&self.offset.to_be_bytes());
        out[24..28].copy_from_slice(&self.length.to_be_bytes());
        out
    }

    /// Parses the wire form (used by the test server).
    pub fn decode(bytes: &[u8; REQUEST_LEN]) -> Result<Self> {
        let magic = be32(&bytes[0..4]);
        if magic != REQUEST_MAGIC {
            return Err(Error::protocol(format!("Bad request magic {magic:#x}")));
        }
        Ok(Self {
            flags: be16(&bytes[4..6]),
            command: be16(&bytes[6..8]),
            cookie: be64(&bytes[8..16]),
            offset: be64(&bytes[16..24]),
            length: be32(&bytes[24..28]),
        })
    }
}

/// Maps an NBD error number to a short description.
pub fn errno_name(errno: u32) -> &'static str {
    match errno {
        1 => "EPERM",
        5 => "EIO",
        12 => "ENOMEM",
        22 => "EINVAL",
        28 => "ENOSPC",
        75 => "EOVERFLOW",
        95 => "ENOTSUP",
        108 => "ESHUTDOWN",
        _ => "unknown error",
    }
}

pub(crate) fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

pub(crate) fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

pub(crate) fn be64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn greeting(magic: u64, second: u64, flags: u16) -> [u8; GREETING_LEN] {
        let mut g = [0u8; GREETING_LEN];
        g[0..8].copy_from_slice(&magic.to_be_bytes());
        g[8..16].copy_from_slice(&second.to_be_bytes());
        g[16..18].copy_from_slice(&flags.to_be_bytes());
        g
    }

    #[test]
    fn greeting_checks_magic_and_fixed_newstyle() {
        assert_eq!(
            parse_greeting(&greeting(NBD_MAGIC, IHAVEOPT, 3)).unwrap(),
            3
        );
        assert_eq!(client_flags(3), 3);
        assert_eq!(client_flags(1), 1);
        let bad = parse_greeting(&greeting(1, IHAVEOPT, 3)).unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::Protocol);
        assert!(bad.is_fatal());
        let old = parse_greeting(&greeting(NBD_MAGIC, OLDSTYLE_MAGIC, 0)).unwrap_err();
        assert_eq!(old.kind(), ErrorKind::Unsupported);
        assert!(parse_greeting(&greeting(NBD_MAGIC, IHAVEOPT, 0)).is_err());
    }

    #[test]
    fn go_and_meta_context_encode_per_spec() {
        let go = encode_go("ab", &[INFO_BLOCK_SIZE]).unwrap();
        assert_eq!(go, [0, 0, 0, 2, b'a', b'b', 0, 1, 0, 3]);
        let meta = encode_meta_context("e", &["base:allocation".into()]).unwrap();
        assert_eq!(&meta[..9], &[0, 0, 0, 1, b'e', 0, 0, 0, 1]);
        assert_eq!(&meta[9..13], &[0, 0, 0, 15]);
        let mut out = Vec::new();
        encode_option(OPT_GO, &go, &mut out);
        assert_eq!(be64(&out), IHAVEOPT);
        assert_eq!(be32(&out[8..]), OPT_GO);
        assert_eq!(be32(&out[12..]), go.len() as u32);
        assert!(encode_go(&"x".repeat(5000), &[]).is_err());
    }

    fn reply_header(magic: u64, option: u32, reply: u32, len: u32) -> [u8; 20] {
        let mut h = [0u8; 20];
        h[0..8].copy_from_slice(&magic.to_be_bytes());
        h[8..12].copy_from_slice(&option.to_be_bytes());
        h[12..16].copy_from_slice(&reply.to_be_bytes());
        h[16..20].copy_from_slice(&len.to_be_bytes());
        h
    }

    #[test]
    fn option_reply_header_rejects_hostile_values() {
        let ok = OptionReplyHeader::parse(&reply_header(OPTION_REPLY_MAGIC, 7, REP_INFO, 12), 7);
        assert_eq!(ok.unwrap().length, 12);
        for (h, expect) in [
            (reply_header(1, 7, REP_INFO, 12), "magic"),
            (reply_header(OPTION_REPLY_MAGIC, 8, REP_INFO, 12), "waiting"),
            (
                reply_header(OPTION_REPLY_MAGIC, 7, REP_INFO, u32::MAX),
                "limit",
            ),
            (reply_header(OPTION_REPLY_MAGIC, 7, REP_ACK, 1), "ACK"),
        ] {
            let e = OptionReplyHeader::parse(&h, 7).unwrap_err();
            assert!(e.to_string().contains(expect), "{e}");
            assert!(e.is_fatal());
        }
    }

    #[test]
    fn option_errors_are_typed() {
        assert_eq!(
            option_error(OPT_GO, REP_ERR_UNSUP, b"").kind(),
            ErrorKind::Unsupported
        );
        let unknown = option_error(OPT_GO, REP_ERR_UNKNOWN, b"no such export");
        assert_eq!(unknown.kind(), ErrorKind::NotFound);
        assert!(unknown.to_string().contains("no such export"));
        assert!(option_error(OPT_GO, REP_ERR_TLS_REQD, b"").is_fatal());
    }

    #[test]
    fn info_parsing_validates_sizes() {
        let mut export = vec![0, 0];
        export.extend_from_slice(&(1u64 << 30).to_be_bytes());
        export.extend_from_slice(&(TFLAG_HAS_FLAGS | TFLAG_CAN_MULTI_CONN).to_be_bytes());
        assert_eq!(
            parse_info(&export).unwrap(),
            Info::Export {
                size: 1 << 30,
                flags: 0x101
            }
        );
        let block = |min: u32, pref: u32, max: u32| {
            let mut b = vec![0, 3];
            for v in [min, pref, max] {
                b.extend_from_slice(&v.to_be_bytes());
            }
            parse_info(&b)
        };
        assert_eq!(
            block(512, 4096, u32::MAX).unwrap(),
            Info::BlockSize(BlockSizes {
                minimum: 512,
                preferred: 4096,
                maximum: MAX_REQUEST_PAYLOAD
            })
        );
        assert!(block(3, 4096, 1 << 20).is_err());
        assert!(block(4096, 512, 1 << 20).is_err());
        assert!(block(512, 4096, 1000).is_err());
        assert!(parse_info(&[0]).is_err());
        assert!(parse_info(&[0, 0, 1]).is_err());
        assert_eq!(parse_info(&[0, 9, 1, 2]).unwrap(), Info::Other(9));
    }

    #[test]
    fn request_round_trips() {
        let r = Request {
            flags: CMD_FLAG_FAST_ZERO,
            command: CMD_WRITE_ZEROES,
            cookie: 42,
            offset: 1 << 40,
            length: 65536,
        };
        assert_eq!(Request::decode(&r.encode()).unwrap(), r);
        let mut bad = r.encode();
        bad[0] = 0;
        assert!(Request::decode(&bad).is_err());
    }

    #[test]
    fn meta_context_reply_parses() {
        let mut p = 7u32.to_be_bytes().to_vec();
        p.extend_from_slice(b"base:allocation");
        assert_eq!(
            parse_meta_context(&p).unwrap(),
            (7, "base:allocation".into())
        );
        assert!(parse_meta_context(&[0, 0]).is_err());
        assert!(parse_meta_context(&[0, 0, 0, 1, 0xff]).is_err());
    }
}
