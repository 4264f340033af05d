//! One connection as a lane drives it: poll-based reads and writes over the transport.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::ReadBuf;

use crate::error::{Error, Op, Result};
use crate::nbd::connection::{READ_BUFFER, Transport, reply_decoder};
use crate::nbd::reply::ReplyDecoder;

/// One connection driven by a lane.
pub(super) struct Side {
    pub(super) index: usize,
    pub(super) transport: Transport,
    pub(super) decoder: ReplyDecoder,
    pub(super) cookies: u64,
    /// Request bytes not yet written (READ headers).
    pub(super) out: BytesMut,
    pub(super) unflushed: bool,
}

impl Side {
    pub(super) fn new((index, transport): (usize, Transport)) -> Self {
        Self {
            index,
            decoder: reply_decoder(&transport.negotiated),
            transport,
            cookies: 1,
            out: BytesMut::new(),
            unflushed: false,
        }
    }

    pub(super) fn cookie(&mut self) -> u64 {
        self.cookies += 1;
        self.cookies
    }

    /// Reads more bytes into the decode buffer; `Ready(Ok(()))` when some arrived.
    pub(super) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let buf = &mut self.transport.buffered;
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(READ_BUFFER);
        }
        let reader = Pin::new(&mut *self.transport.reader);
        match tokio_util::io::poll_read_buf(reader, cx, buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(0)) => Poll::Ready(Err(eof())),
            Poll::Ready(Ok(_)) => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(Error::from(e).into_fatal())),
        }
    }

    /// Copies payload bytes into `dest`: first what is buffered, then from the socket.
    pub(super) fn poll_payload(
        &mut self,
        cx: &mut Context<'_>,
        dest: &mut [u8],
    ) -> Poll<Result<usize>> {
        let buffered = &mut self.transport.buffered;
        if !buffered.is_empty() {
            let n = dest.len().min(buffered.len());
            dest[..n].copy_from_slice(&buffered[..n]);
            buffered.advance(n);
            return Poll::Ready(Ok(n));
        }
        let mut read = ReadBuf::new(dest);
        match Pin::new(&mut *self.transport.reader).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) if read.filled().is_empty() => Poll::Ready(Err(eof())),
            Poll::Ready(Ok(())) => Poll::Ready(Ok(read.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(Error::from(e).into_fatal())),
        }
    }

    /// Writes queued request bytes; `Ok(true)` if any left.
    pub(super) fn poll_out(&mut self, cx: &mut Context<'_>) -> Result<bool> {
        let mut progress = false;
        while !self.out.is_empty() {
            match Pin::new(&mut *self.transport.writer).poll_write(cx, &self.out) {
                Poll::Ready(Ok(0)) => return Err(write_zero()),
                Poll::Ready(Ok(n)) => {
                    self.out.advance(n);
                    self.unflushed = true;
                    progress = true;
                }
                Poll::Ready(Err(e)) => return Err(Error::io(Op::Read, e).into_fatal()),
                Poll::Pending => break,
            }
        }
        self.poll_flush(cx)?;
        Ok(progress)
    }

    /// Flushes after writes (TLS keeps records until then; sockets ignore it).
    pub(super) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Result<()> {
        if self.unflushed {
            match Pin::new(&mut *self.transport.writer).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => return Err(Error::io(Op::Write, e).into_fatal()),
                Poll::Pending => {}
            }
        }
        Ok(())
    }
}

pub(super) fn eof() -> Error {
    Error::disconnected("Server closed the connection")
}

pub(super) fn write_zero() -> Error {
    Error::io(Op::Write, std::io::ErrorKind::WriteZero.into()).into_fatal()
}

pub(super) fn unknown_cookie(cookie: u64) -> Error {
    Error::protocol(format!("Reply for unknown cookie {cookie}"))
}
