//! The sink side of a lane: WRITE and WRITE_ZEROES requests out, their replies in.

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use bytes::Buf;

use super::driver::{Counted, Lane, SourceRead, Waiting};
use super::side::{unknown_cookie, write_zero};
use crate::error::{Error, Op, Result};
use crate::nbd::connection::server_error;
use crate::nbd::proto;
use crate::nbd::reply::ReplyEvent;
use crate::nbd::splice::MIN_SPLICE;

impl Lane {
    /// Queues a WRITE of `length` bytes at `offset` whose payload is the READ reply the
    /// source is about to send: the bytes go from socket to socket through the pipe.
    pub(super) fn queue_stream(&mut self, slot: usize, offset: u64, length: u64) {
        self.queue_request(slot, proto::CMD_WRITE, offset, length, 0..length as usize);
        if let Some(request) = self.queue.back_mut() {
            request.from_source = true;
        }
        self.source_read = SourceRead::Streaming;
    }

    /// The whole payload of a READ went through to the sink.
    fn streamed(&mut self, slot: usize, length: u64) {
        self.source_read = SourceRead::Header;
        self.source_cookies.retain(|_, index| *index != slot);
        self.shared
            .counters
            .read
            .fetch_add(length, Ordering::Relaxed);
    }

    pub(super) fn poll_sink_requests(&mut self, cx: &mut Context<'_>) -> Result<bool> {
        let mut progress = false;
        while let Some(request) = self.queue.front_mut() {
            if request.cookie.is_none() {
                let cookie = self.sink.cookie();
                request.cookie = Some(cookie);
                request.header[8..16].copy_from_slice(&cookie.to_be_bytes());
                self.sink_cookies.insert(
                    cookie,
                    Waiting {
                        slot: request.slot,
                        counted: request.counted,
                        error: None,
                    },
                );
            }
            let header_sent = request.header_sent;
            let slot = &mut self.slots[request.slot];
            let payload = match request.from_source {
                true => &[][..],
                false => &slot.buf[request.payload.clone()],
            };
            let splice = self.pipe.as_ref().filter(|_| payload.len() >= MIN_SPLICE);
            let step = match splice {
                _ if request.from_source && header_sent == proto::REQUEST_LEN => {
                    let (Some(pipe), source) = (self.pipe.as_ref(), &mut self.source.transport)
                    else {
                        return Err(Error::protocol("Passthrough without a pipe"));
                    };
                    let sink = &mut self.sink.transport.writer;
                    let left = request.payload.len() - request.payload_sent;
                    if request.in_pipe > 0 || left == 0 {
                        let Some(socket) = sink.unix_socket() else {
                            return Err(Error::protocol("Passthrough without a Unix socket"));
                        };
                        match pipe.poll_drain(socket, cx, request.in_pipe) {
                            Poll::Ready(Ok(n)) => {
                                request.in_pipe -= n;
                                Poll::Ready(Ok(()))
                            }
                            other => other.map_ok(drop),
                        }
                    } else if !source.buffered.is_empty() {
                        // Bytes the reply decoder read ahead leave as they are.
                        let n = left.min(source.buffered.len());
                        match Pin::new(&mut **sink).poll_write(cx, &source.buffered[..n]) {
                            Poll::Ready(Ok(0)) => return Err(write_zero()),
                            Poll::Ready(Ok(n)) => {
                                source.buffered.advance(n);
                                request.payload_sent += n;
                                self.sink.unflushed = true;
                                Poll::Ready(Ok(()))
                            }
                            other => other.map_ok(drop),
                        }
                    } else {
                        let Some(socket) = source.reader.unix_socket() else {
                            return Err(Error::protocol("Passthrough without a Unix socket"));
                        };
                        match pipe.poll_fill(socket, cx, left.min(pipe.capacity())) {
                            Poll::Ready(Ok(n)) => {
                                request.in_pipe = n;
                                request.payload_sent += n;
                                Poll::Ready(Ok(()))
                            }
                            other => other.map_ok(drop),
                        }
                    }
                }
                Some(pipe) if header_sent == proto::REQUEST_LEN => {
                    let Some(socket) = self.sink.transport.writer.unix_socket() else {
                        return Err(Error::protocol("Splice without a Unix socket"));
                    };
                    if request.in_pipe == 0 && request.payload_sent < payload.len() {
                        let end = payload.len().min(request.payload_sent + pipe.capacity());
                        let queued = pipe.queue(&payload[request.payload_sent..end]);
                        if queued <= 0 {
                            return Err(
                                Error::io(Op::Write, std::io::Error::last_os_error()).into_fatal()
                            );
                        }
                        slot.spliced = true;
                        request.payload_sent += queued as usize;
                        request.in_pipe = queued as usize;
                    }
                    match pipe.poll_drain(socket, cx, request.in_pipe) {
                        Poll::Ready(Ok(n)) => {
                            request.in_pipe -= n;
                            Poll::Ready(Ok(()))
                        }
                        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                        Poll::Pending => Poll::Pending,
                    }
                }
                _ => {
                    let header = &request.header[header_sent..];
                    let rest = &payload[request.payload_sent..];
                    let writer = Pin::new(&mut *self.sink.transport.writer);
                    let written = if splice.is_some() {
                        writer.poll_write(cx, header)
                    } else {
                        writer.poll_write_vectored(cx, &[IoSlice::new(header), IoSlice::new(rest)])
                    };
                    match written {
                        Poll::Ready(Ok(0)) => return Err(write_zero()),
                        Poll::Ready(Ok(n)) => {
                            let from_header = n.min(header.len());
                            request.header_sent += from_header;
                            request.payload_sent += n - from_header;
                            self.sink.unflushed = true;
                            Poll::Ready(Ok(()))
                        }
                        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                        Poll::Pending => Poll::Pending,
                    }
                }
            };
            match step {
                Poll::Pending => break,
                Poll::Ready(Err(e)) => return Err(Error::io(Op::Write, e).into_fatal()),
                Poll::Ready(Ok(())) => progress = true,
            }
            if request.header_sent == proto::REQUEST_LEN
                && request.payload_sent == request.payload.len()
                && request.in_pipe == 0
            {
                let (slot, from_source, length) =
                    (request.slot, request.from_source, request.payload.len());
                self.queue.pop_front();
                if from_source {
                    self.streamed(slot, length as u64);
                }
            }
        }
        self.sink.poll_flush(cx)?;
        Ok(progress)
    }

    pub(super) fn poll_sink_replies(&mut self, cx: &mut Context<'_>) -> Result<bool> {
        let mut progress = false;
        loop {
            match self
                .sink
                .decoder
                .decode(&mut self.sink.transport.buffered)?
            {
                Some(event) => {
                    progress = true;
                    self.sink_event(event)?;
                }
                None if self.sink_cookies.is_empty() => return Ok(progress),
                None => match self.sink.poll_fill(cx) {
                    Poll::Pending => return Ok(progress),
                    Poll::Ready(result) => {
                        result?;
                        progress = true;
                    }
                },
            }
        }
    }

    pub(super) fn sink_event(&mut self, event: ReplyEvent) -> Result<()> {
        let cookie = event.cookie();
        let done = event.is_done();
        let waiting = self
            .sink_cookies
            .get_mut(&cookie)
            .ok_or_else(|| unknown_cookie(cookie))?;
        match event {
            ReplyEvent::Simple { errno: 0, .. } | ReplyEvent::None { .. } => {}
            ReplyEvent::Simple { errno, .. } => {
                waiting.error.get_or_insert(server_error(errno, ""));
            }
            ReplyEvent::Error { errno, message, .. } => {
                waiting.error.get_or_insert(server_error(errno, &message));
            }
            _ => return Err(Error::protocol("Data in reply to a write")),
        }
        if !done {
            return Ok(());
        }
        let Some(waiting) = self.sink_cookies.remove(&cookie) else {
            return Err(unknown_cookie(cookie));
        };
        let slot = &mut self.slots[waiting.slot];
        match waiting.error {
            Some(error) => {
                slot.error.get_or_insert(error);
            }
            None => {
                let counters = &self.shared.counters;
                match waiting.counted {
                    Counted::Written(n) => counters.written.fetch_add(n, Ordering::Relaxed),
                    Counted::Zeroed(n) => counters.zeroed.fetch_add(n, Ordering::Relaxed),
                };
            }
        }
        slot.waiting -= 1;
        if slot.waiting == 0 {
            self.settle(waiting.slot);
        }
        Ok(())
    }
}
