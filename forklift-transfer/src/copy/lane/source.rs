//! The source side of a lane: READ replies land in the blocks' buffers.

use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use super::driver::{Counted, Lane, SourceRead};
use super::side::unknown_cookie;
use crate::copy::Task;
use crate::error::{Error, Result};
use crate::nbd::connection::server_error;
use crate::nbd::proto;
use crate::nbd::reply::{ReadAssembly, ReplyEvent};

impl Lane {
    pub(super) fn poll_source_replies(&mut self, cx: &mut Context<'_>) -> Result<bool> {
        let mut progress = false;
        loop {
            match &mut self.source_read {
                SourceRead::Payload { slot, range, done } => {
                    let (index, done) = (*slot, *done);
                    let dest = &mut self.slots[index].buf[range.clone()];
                    let Poll::Ready(n) = self.source.poll_payload(cx, dest) else {
                        return Ok(progress);
                    };
                    let n = n?;
                    progress = true;
                    range.start += n;
                    if range.start >= range.end {
                        self.source_read = SourceRead::Header;
                        if done {
                            self.read_done(index)?;
                        }
                    }
                }
                // The sink side moves the payload; the next reply waits until it is through.
                SourceRead::Streaming => return Ok(progress),
                SourceRead::Header => {
                    match self
                        .source
                        .decoder
                        .decode(&mut self.source.transport.buffered)?
                    {
                        Some(event) => {
                            progress = true;
                            self.source_event(event)?;
                        }
                        None if self.source_cookies.is_empty() => return Ok(progress),
                        None => match self.source.poll_fill(cx) {
                            Poll::Pending => return Ok(progress),
                            Poll::Ready(result) => {
                                result?;
                                progress = true;
                            }
                        },
                    }
                }
            }
        }
    }

    pub(super) fn source_slot(&self, cookie: u64) -> Result<usize> {
        self.source_cookies
            .get(&cookie)
            .copied()
            .ok_or_else(|| unknown_cookie(cookie))
    }

    pub(super) fn source_event(&mut self, event: ReplyEvent) -> Result<()> {
        let cookie = event.cookie();
        let index = self.source_slot(cookie)?;
        let done = event.is_done();
        let slot = &mut self.slots[index];
        let assembly = slot
            .assembly
            .as_mut()
            .ok_or_else(|| Error::protocol("Reply for a block not being read"))?;
        match event {
            ReplyEvent::Simple { errno: 0, .. } => {
                let length = slot.buf.len();
                let (offset, _) = slot.task.map(Task::range).unwrap_or_default();
                let range = assembly.accept(offset, length as u32)?;
                if self.passthrough {
                    self.queue_stream(index, offset, length as u64);
                    return Ok(());
                }
                self.source_read = SourceRead::Payload {
                    slot: index,
                    range,
                    done: true,
                };
                return Ok(());
            }
            ReplyEvent::Simple { errno, .. } => {
                slot.error.get_or_insert(server_error(errno, ""));
            }
            ReplyEvent::Data { offset, length, .. } => {
                let range = assembly.accept(offset, length)?;
                if self.passthrough && done && range == (0..slot.buf.len()) {
                    self.queue_stream(index, offset, u64::from(length));
                    return Ok(());
                }
                self.source_read = SourceRead::Payload {
                    slot: index,
                    range,
                    done,
                };
                return Ok(());
            }
            ReplyEvent::Hole { offset, length, .. } => {
                let range = assembly.accept(offset, length)?;
                slot.buf[range].fill(0);
            }
            ReplyEvent::Error {
                errno,
                message,
                offset,
                ..
            } => {
                let mut error = server_error(errno, &message);
                if let Some(offset) = offset {
                    error = error.with_offset(offset);
                }
                slot.error.get_or_insert(error);
            }
            ReplyEvent::None { .. } => {}
            ReplyEvent::BlockStatus { .. } => {
                return Err(Error::protocol("Block status chunk in reply to a read"));
            }
        }
        if done {
            self.read_done(index)?;
        }
        Ok(())
    }

    /// The last chunk of a READ arrived: queue the writes.
    pub(super) fn read_done(&mut self, index: usize) -> Result<()> {
        self.source_cookies.retain(|_, slot| *slot != index);
        let slot = &mut self.slots[index];
        let (offset, length) = slot.task.map(Task::range).unwrap_or_default();
        if slot.error.is_none()
            && !slot
                .assembly
                .as_ref()
                .is_some_and(ReadAssembly::is_complete)
        {
            return Err(Error::protocol(format!(
                "Read reply for {offset:#x}+{length:#x} left gaps"
            )));
        }
        if slot.error.is_some() {
            self.settle(index);
            return Ok(());
        }
        if self.cancelled || self.sink_error.is_some() {
            self.release(index);
            return Ok(());
        }
        let counters = &self.shared.counters;
        counters.read.fetch_add(length, Ordering::Relaxed);
        let runs = self.shared.runs_of(offset, &self.slots[index].buf);
        let target_zero = self.shared.target_zero.load(Ordering::Relaxed);
        for (start, end, is_zero) in runs {
            let at = offset + start as u64;
            let len = (end - start) as u64;
            if !is_zero {
                self.queue_request(index, proto::CMD_WRITE, at, len, start..end);
            } else if target_zero {
                self.shared
                    .counters
                    .skipped
                    .fetch_add(len, Ordering::Relaxed);
            } else if self.can_zero {
                self.queue_request(index, proto::CMD_WRITE_ZEROES, at, len, 0..0);
            } else {
                // The buffer holds the zeroes: write them as data.
                self.queue_request(index, proto::CMD_WRITE, at, len, start..end);
                if let Some(request) = self.queue.back_mut() {
                    request.counted = Counted::Zeroed(len);
                }
            }
        }
        self.after_queueing(index);
        Ok(())
    }
}
