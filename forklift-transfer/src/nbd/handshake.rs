//! The fixed-newstyle handshake, driven over any async byte stream.
//!
//! The sequence is: greeting → (STARTTLS) → STRUCTURED_REPLY → SET_META_CONTEXT → GO with
//! `INFO_BLOCK_SIZE`, falling back to EXPORT_NAME when the server does not know GO. Bytes
//! are built and checked by [`super::proto`]; this module only sequences them.

use forklift_core::error::PeerText;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::proto::*;
use crate::block::{BlockSizes, MetaContext};
use crate::error::{Error, ErrorKind, Op, Result};

/// What the client asks for.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    /// Export name.
    pub export: String,
    /// Metadata contexts to select (needs structured replies).
    pub contexts: Vec<MetaContext>,
    /// Whether TLS is active (then EXPORT_NAME fallback is refused).
    pub tls_active: bool,
}

/// What the server agreed to.
#[derive(Debug, Clone)]
pub struct Negotiated {
    /// Export size in bytes.
    pub size: u64,
    /// Transmission flags (`TFLAG_*`).
    pub flags: u16,
    /// Block size constraints (server's, or NBD's defaults).
    pub block_sizes: BlockSizes,
    /// Whether structured replies are on.
    pub structured: bool,
    /// Selected contexts with their per-connection ids.
    pub contexts: Vec<(u32, MetaContext)>,
}

fn hs(error: Error) -> Error {
    error.or_context(Op::Handshake, 0, 0)
}

/// Reads the greeting and answers with client flags; returns the server's handshake flags.
pub async fn greet<S: AsyncRead + AsyncWrite + Unpin + ?Sized>(stream: &mut S) -> Result<u16> {
    let mut greeting = [0u8; GREETING_LEN];
    stream
        .read_exact(&mut greeting)
        .await
        .map_err(|e| hs(Error::from(e)).into_fatal())?;
    let flags = parse_greeting(&greeting)?;
    stream
        .write_all(&client_flags(flags).to_be_bytes())
        .await
        .map_err(|e| hs(Error::from(e)).into_fatal())?;
    Ok(flags)
}

async fn send_option<S: AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    option: u32,
    data: &[u8],
) -> Result<()> {
    let mut out = Vec::with_capacity(16 + data.len());
    encode_option(option, data, &mut out);
    stream
        .write_all(&out)
        .await
        .map_err(|e| hs(Error::from(e)).into_fatal())?;
    stream
        .flush()
        .await
        .map_err(|e| hs(Error::from(e)).into_fatal())
}

async fn read_reply<S: AsyncRead + Unpin + ?Sized>(
    stream: &mut S,
    option: u32,
) -> Result<(OptionReplyHeader, Vec<u8>)> {
    let mut header = [0u8; OPTION_REPLY_HEADER_LEN];
    stream
        .read_exact(&mut header)
        .await
        .map_err(|e| hs(Error::from(e)).into_fatal())?;
    let header = OptionReplyHeader::parse(&header, option)?;
    let mut payload = vec![0u8; header.length as usize];
    stream
        .read_exact(&mut payload)
        .await
        .map_err(|e| hs(Error::from(e)).into_fatal())?;
    Ok((header, payload))
}

/// Sends `NBD_OPT_STARTTLS` and waits for the ACK; any refusal is fatal.
pub async fn start_tls<S: AsyncRead + AsyncWrite + Unpin + ?Sized>(stream: &mut S) -> Result<()> {
    send_option(stream, OPT_STARTTLS, &[]).await?;
    let (header, payload) = read_reply(stream, OPT_STARTTLS).await?;
    match header.reply_type {
        REP_ACK => Ok(()),
        reply if header.is_error() => Err(Error::new(ErrorKind::Tls, "Server refused TLS")
            .with_source(option_error(OPT_STARTTLS, reply, &payload))
            .with_op(Op::Handshake)
            .into_fatal()),
        other => Err(Error::protocol(format!(
            "Unexpected reply {other} to STARTTLS"
        ))),
    }
}

/// Negotiates structured replies, metadata contexts and the export.
pub async fn negotiate<S: AsyncRead + AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    server_flags: u16,
    wanted: &Wanted,
) -> Result<Negotiated> {
    let structured = negotiate_structured(stream).await?;
    let contexts = if structured && !wanted.contexts.is_empty() {
        set_meta_context(stream, wanted).await?
    } else {
        Vec::new()
    };
    let (size, flags, block_sizes) = match go(stream, &wanted.export).await {
        Ok(export) => export,
        Err(error) if error.kind() == ErrorKind::Unsupported && !wanted.tls_active => {
            tracing::debug!("server does not support NBD_OPT_GO, falling back to EXPORT_NAME");
            export_name(stream, server_flags, &wanted.export).await?
        }
        Err(error) => return Err(error),
    };
    let size = check_export_size(&wanted.export, size)?;
    let flags = if flags & TFLAG_HAS_FLAGS == 0 {
        0
    } else {
        flags
    };
    Ok(Negotiated {
        size,
        flags,
        block_sizes,
        structured,
        contexts,
    })
}

async fn negotiate_structured<S: AsyncRead + AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
) -> Result<bool> {
    send_option(stream, OPT_STRUCTURED_REPLY, &[]).await?;
    let (header, payload) = read_reply(stream, OPT_STRUCTURED_REPLY).await?;
    match header.reply_type {
        REP_ACK => Ok(true),
        REP_ERR_TLS_REQD => Err(option_error(
            OPT_STRUCTURED_REPLY,
            REP_ERR_TLS_REQD,
            &payload,
        )),
        _ if header.is_error() => Ok(false),
        other => Err(Error::protocol(format!(
            "Unexpected reply {other} to STRUCTURED_REPLY"
        ))),
    }
}

async fn set_meta_context<S: AsyncRead + AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    wanted: &Wanted,
) -> Result<Vec<(u32, MetaContext)>> {
    let names: Vec<String> = wanted.contexts.iter().map(MetaContext::name).collect();
    send_option(
        stream,
        OPT_SET_META_CONTEXT,
        &encode_meta_context(&wanted.export, &names)?,
    )
    .await?;
    let mut selected: Vec<(u32, MetaContext)> = Vec::new();
    loop {
        let (header, payload) = read_reply(stream, OPT_SET_META_CONTEXT).await?;
        match header.reply_type {
            REP_META_CONTEXT => {
                let (id, name) = parse_meta_context(&payload)?;
                if !names.contains(&name) {
                    return Err(Error::protocol(format!(
                        "Server selected metadata context {:?} that was not asked for",
                        PeerText(&name)
                    ))
                    .with_op(Op::Handshake));
                }
                let context = MetaContext::from_name(&name);
                // Each context asked for is selected at most once: the list never grows
                // beyond what was asked, however many replies a server sends.
                if selected.iter().any(|(_, c)| *c == context) {
                    return Err(Error::protocol(format!(
                        "Server selected metadata context {:?} twice",
                        PeerText(&name)
                    ))
                    .with_op(Op::Handshake));
                }
                selected.push((id, context));
            }
            REP_ACK => return Ok(selected),
            REP_ERR_TLS_REQD => {
                return Err(option_error(
                    OPT_SET_META_CONTEXT,
                    REP_ERR_TLS_REQD,
                    &payload,
                ));
            }
            reply if header.is_error() => {
                tracing::debug!(
                    "SET_META_CONTEXT refused: {}",
                    option_error(OPT_SET_META_CONTEXT, reply, &payload)
                );
                return Ok(Vec::new());
            }
            other => {
                return Err(Error::protocol(format!(
                    "Unexpected reply {other} to SET_META_CONTEXT"
                )));
            }
        }
    }
}

async fn go<S: AsyncRead + AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    export: &str,
) -> Result<(u64, u16, BlockSizes)> {
    send_option(stream, OPT_GO, &encode_go(export, &[INFO_BLOCK_SIZE])?).await?;
    let mut export_info = None;
    let mut block_sizes = BlockSizes::DEFAULT;
    for _ in 0..=MAX_INFO_REPLIES {
        let (header, payload) = read_reply(stream, OPT_GO).await?;
        match header.reply_type {
            REP_INFO => match parse_info(&payload)? {
                Info::Export { size, flags } => export_info = Some((size, flags)),
                Info::BlockSize(sizes) => block_sizes = sizes,
                Info::Other(_) => {}
            },
            REP_ACK => {
                let (size, flags) = export_info
                    .ok_or_else(|| Error::protocol("GO acknowledged without export info"))?;
                return Ok((size, flags, block_sizes));
            }
            reply if header.is_error() => return Err(option_error(OPT_GO, reply, &payload)),
            other => return Err(Error::protocol(format!("Unexpected reply {other} to GO"))),
        }
    }
    Err(Error::protocol(format!(
        "Server sent more than {MAX_INFO_REPLIES} info replies to GO"
    ))
    .with_op(Op::Handshake))
}

async fn export_name<S: AsyncRead + AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    server_flags: u16,
    export: &str,
) -> Result<(u64, u16, BlockSizes)> {
    let mut out = Vec::new();
    encode_option(OPT_EXPORT_NAME, export.as_bytes(), &mut out);
    stream
        .write_all(&out)
        .await
        .map_err(|e| hs(Error::from(e)).into_fatal())?;
    let mut reply = [0u8; 10];
    stream.read_exact(&mut reply).await.map_err(|e| {
        hs(Error::new(
            ErrorKind::NotFound,
            format!("Server closed the connection: export {export:?} unknown?"),
        )
        .with_source(e))
        .into_fatal()
    })?;
    if server_flags & FLAG_NO_ZEROES == 0 {
        let mut zeroes = [0u8; 124];
        stream
            .read_exact(&mut zeroes)
            .await
            .map_err(|e| hs(Error::from(e)).into_fatal())?;
    }
    let (size, flags) = parse_export_name_reply(&reply);
    Ok((size, flags, BlockSizes::DEFAULT))
}

/// Lists the metadata contexts matching `queries` (e.g. `qemu:dirty-bitmap:` lists every
/// bitmap). Structured replies are negotiated first, as servers require; the connection
/// stays in negotiation.
pub async fn list_meta_contexts<S: AsyncRead + AsyncWrite + Unpin + ?Sized>(
    stream: &mut S,
    export: &str,
    queries: &[String],
) -> Result<Vec<String>> {
    if !negotiate_structured(stream).await? {
        return Err(Error::unsupported(
            "Server does not support structured replies, so it has no metadata contexts",
        ));
    }
    send_option(
        stream,
        OPT_LIST_META_CONTEXT,
        &encode_meta_context(export, queries)?,
    )
    .await?;
    let mut names = Vec::new();
    loop {
        let (header, payload) = read_reply(stream, OPT_LIST_META_CONTEXT).await?;
        match header.reply_type {
            REP_META_CONTEXT if names.len() >= MAX_META_CONTEXTS => {
                return Err(Error::protocol(format!(
                    "Server listed more than {MAX_META_CONTEXTS} metadata contexts"
                ))
                .with_op(Op::Handshake));
            }
            REP_META_CONTEXT => names.push(parse_meta_context(&payload)?.1),
            REP_ACK => return Ok(names),
            reply if header.is_error() => {
                return Err(option_error(OPT_LIST_META_CONTEXT, reply, &payload));
            }
            other => {
                return Err(Error::protocol(format!(
                    "Unexpected reply {other} to LIST_META_CONTEXT"
                )));
            }
        }
    }
}

/// Ends negotiation politely (`NBD_OPT_ABORT`), ignoring whatever the server answers.
pub async fn abort<S: AsyncRead + AsyncWrite + Unpin + ?Sized>(stream: &mut S) {
    let _ = send_option(stream, OPT_ABORT, &[]).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::ReadBuf;

    use super::*;

    /// A server over bytes: `script` once, then `forever` again and again; writes vanish.
    struct Scripted {
        script: Vec<u8>,
        forever: Vec<u8>,
        at: usize,
    }

    impl Scripted {
        fn new(script: Vec<u8>, forever: Vec<u8>) -> Self {
            Self {
                script,
                forever,
                at: 0,
            }
        }
    }

    impl AsyncRead for Scripted {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            while buf.remaining() > 0 {
                let this = &mut *self;
                let (bytes, at) = if this.at < this.script.len() {
                    (&this.script, this.at)
                } else if this.forever.is_empty() {
                    break;
                } else {
                    let at = (this.at - this.script.len()) % this.forever.len();
                    (&this.forever, at)
                };
                let n = buf.remaining().min(bytes.len() - at);
                buf.put_slice(&bytes[at..at + n]);
                this.at += n;
            }
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Scripted {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn meta_context(id: u32, name: &str) -> Vec<u8> {
        let mut payload = id.to_be_bytes().to_vec();
        payload.extend_from_slice(name.as_bytes());
        encode_option_reply(OPT_SET_META_CONTEXT, REP_META_CONTEXT, &payload)
    }

    fn export_info(size: u64) -> Vec<u8> {
        let mut payload = INFO_EXPORT.to_be_bytes().to_vec();
        payload.extend_from_slice(&size.to_be_bytes());
        payload.extend_from_slice(&TFLAG_HAS_FLAGS.to_be_bytes());
        encode_option_reply(OPT_GO, REP_INFO, &payload)
    }

    fn wanted() -> Wanted {
        Wanted {
            export: "disk".into(),
            contexts: vec![MetaContext::BaseAllocation],
            tls_active: false,
        }
    }

    async fn negotiate_over(script: Vec<u8>, forever: Vec<u8>) -> Result<Negotiated> {
        let mut server = Scripted::new(script, forever);
        negotiate(&mut server, FLAG_FIXED_NEWSTYLE, &wanted()).await
    }

    #[tokio::test]
    async fn endless_meta_context_replies_are_cut_off() {
        let script = encode_option_reply(OPT_STRUCTURED_REPLY, REP_ACK, &[]);
        let forever = meta_context(1, "base:allocation");
        let error = negotiate_over(script, forever).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Protocol);
        assert!(error.to_string().contains("twice"), "{error}");
    }

    #[tokio::test]
    async fn endless_meta_context_listing_is_cut_off_at_the_limit() {
        let script = encode_option_reply(OPT_STRUCTURED_REPLY, REP_ACK, &[]);
        let mut payload = 1u32.to_be_bytes().to_vec();
        payload.extend_from_slice(b"qemu:dirty-bitmap:b");
        let forever = encode_option_reply(OPT_LIST_META_CONTEXT, REP_META_CONTEXT, &payload);
        let mut server = Scripted::new(script, forever);
        let queries = ["qemu:dirty-bitmap:".to_owned()];
        let error = list_meta_contexts(&mut server, "disk", &queries)
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains(&MAX_META_CONTEXTS.to_string()),
            "{error}"
        );
        // Exactly the limit is still accepted.
        let mut script = encode_option_reply(OPT_STRUCTURED_REPLY, REP_ACK, &[]);
        for _ in 0..MAX_META_CONTEXTS {
            script.extend(encode_option_reply(
                OPT_LIST_META_CONTEXT,
                REP_META_CONTEXT,
                &payload,
            ));
        }
        script.extend(encode_option_reply(OPT_LIST_META_CONTEXT, REP_ACK, &[]));
        let mut server = Scripted::new(script, Vec::new());
        let names = list_meta_contexts(&mut server, "disk", &queries)
            .await
            .unwrap();
        assert_eq!(names.len(), MAX_META_CONTEXTS);
    }

    #[tokio::test]
    async fn endless_info_replies_are_cut_off_at_the_limit() {
        let mut script = encode_option_reply(OPT_STRUCTURED_REPLY, REP_ACK, &[]);
        script.extend(meta_context(1, "base:allocation"));
        script.extend(encode_option_reply(OPT_SET_META_CONTEXT, REP_ACK, &[]));
        let error = negotiate_over(script.clone(), export_info(1 << 20))
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains(&MAX_INFO_REPLIES.to_string()),
            "{error}"
        );
        for _ in 0..MAX_INFO_REPLIES {
            script.extend(export_info(1 << 20));
        }
        script.extend(encode_option_reply(OPT_GO, REP_ACK, &[]));
        let negotiated = negotiate_over(script, Vec::new()).await.unwrap();
        assert_eq!(negotiated.size, 1 << 20);
        assert_eq!(negotiated.contexts.len(), 1);
    }

    #[tokio::test]
    async fn export_size_beyond_two_to_the_63_names_the_size_and_export() {
        let mut script = encode_option_reply(OPT_STRUCTURED_REPLY, REP_ACK, &[]);
        script.extend(encode_option_reply(OPT_SET_META_CONTEXT, REP_ACK, &[]));
        let mut good = script.clone();
        script.extend(export_info(1 << 63));
        script.extend(encode_option_reply(OPT_GO, REP_ACK, &[]));
        let error = negotiate_over(script, Vec::new()).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Protocol);
        let text = error.to_string();
        assert!(text.contains(&(1u64 << 63).to_string()), "{text}");
        assert!(text.contains("\"disk\""), "{text}");
        good.extend(export_info(MAX_EXPORT_SIZE));
        good.extend(encode_option_reply(OPT_GO, REP_ACK, &[]));
        assert_eq!(
            negotiate_over(good, Vec::new()).await.unwrap().size,
            MAX_EXPORT_SIZE
        );
    }

    #[tokio::test]
    async fn server_error_text_is_escaped() {
        let mut script = encode_option_reply(OPT_STRUCTURED_REPLY, REP_ACK, &[]);
        script.extend(encode_option_reply(OPT_SET_META_CONTEXT, REP_ACK, &[]));
        script.extend(encode_option_reply(
            OPT_GO,
            REP_ERR_POLICY,
            b"no\x1b]0;pwned\x07\x1b[2J",
        ));
        let error = negotiate_over(script, Vec::new()).await.unwrap_err();
        let text = error.to_string();
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        assert!(text.contains("no\\x1b]0;pwned\\x07\\x1b[2J"), "{text}");
    }
}
