//! Zero-copy WRITE payloads over Unix sockets.
//!
//! A payload's pages go into a pipe with `vmsplice` (by reference, no copy) and from the
//! pipe into the socket with `splice` (the socket keeps page references too), so the
//! server's read is the only copy of the data on this machine. That is safe because a
//! WRITE's buffer is not reused until the server has replied, and a server replies only
//! after it has read the whole payload; if the connection dies first, the pages it still
//! references are never read.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::Interest;
use tokio::net::UnixStream;

/// Payloads shorter than this go through an ordinary write: two system calls are not
/// worth saving a small copy.
pub(crate) const MIN_SPLICE: usize = 64 * 1024;

/// Pipe size asked for; Linux allows up to `/proc/sys/fs/pipe-max-size` (1 MiB by default).
const PIPE_SIZE: libc::c_int = 1 << 20;

/// How long memory whose pages a socket may still reference is kept before it is freed,
/// when its request ended without a reply (cancelled, connection lost).
const QUARANTINE: Duration = Duration::from_secs(30);

static QUARANTINED: Mutex<VecDeque<(Instant, Vec<u8>)>> = Mutex::new(VecDeque::new());

/// Keeps `buf` alive for [`QUARANTINE`], and frees what has waited long enough.
pub(crate) fn quarantine(buf: Vec<u8>) {
    let now = Instant::now();
    let mut parked = QUARANTINED
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    while parked.front().is_some_and(|(until, _)| *until <= now) {
        parked.pop_front();
    }
    parked.push_back((now + QUARANTINE, buf));
}

/// A WRITE payload after it left through the socket. When it was spliced, the socket may
/// still reference its pages until the server reads them: dropping it without
/// [`release`](Self::release) (which is for after the reply) parks the memory for a while
/// instead of letting the allocator hand it out again while the server may still read it.
pub(crate) struct SentPayload {
    buf: Option<Vec<u8>>,
    spliced: bool,
}

impl SentPayload {
    /// A payload that was copied into the socket: free to reuse at once.
    pub(crate) fn copied(buf: Vec<u8>) -> Self {
        Self {
            buf: Some(buf),
            spliced: false,
        }
    }

    /// A payload whose pages were (or are being) spliced into the socket.
    pub(crate) fn spliced(buf: Vec<u8>) -> Self {
        Self {
            buf: Some(buf),
            spliced: true,
        }
    }

    /// The bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.buf.as_deref().unwrap_or_default()
    }

    /// The buffer, for reuse: only once the server has replied to the request.
    pub(crate) fn release(mut self) -> Vec<u8> {
        self.buf.take().unwrap_or_default()
    }
}

impl Drop for SentPayload {
    fn drop(&mut self) {
        if let (Some(buf), true) = (self.buf.take(), self.spliced) {
            quarantine(buf);
        }
    }
}

/// A pipe that carries payload pages into one socket.
pub(crate) struct PayloadPipe {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
}

impl PayloadPipe {
    /// A non-blocking pipe, enlarged when the system allows.
    pub(crate) fn new() -> io::Result<Self> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: fcntl on a descriptor we own; F_GETPIPE_SZ/F_SETPIPE_SZ take an int.
        let capacity = unsafe {
            libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE);
            libc::fcntl(write.as_raw_fd(), libc::F_GETPIPE_SZ)
        };
        if capacity <= 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            read,
            write,
            capacity: capacity as usize,
        })
    }

    /// Bytes the pipe holds.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Moves up to `left` bytes from the pipe into `socket` once it is writable.
    pub(crate) fn poll_drain(
        &self,
        socket: &UnixStream,
        cx: &mut std::task::Context<'_>,
        left: usize,
    ) -> std::task::Poll<io::Result<usize>> {
        loop {
            std::task::ready!(socket.poll_write_ready(cx))?;
            match socket.try_io(Interest::WRITABLE, || self.splice_into(socket, left)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Ok(0) => return std::task::Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                result => return std::task::Poll::Ready(result),
            }
        }
    }

    /// Moves up to `max` bytes from `socket` into the (empty) pipe once it is readable; the
    /// pipe holds references to the socket's pages, so the bytes are never copied here.
    pub(crate) fn poll_fill(
        &self,
        socket: &UnixStream,
        cx: &mut std::task::Context<'_>,
        max: usize,
    ) -> std::task::Poll<io::Result<usize>> {
        loop {
            std::task::ready!(socket.poll_read_ready(cx))?;
            let spliced = socket.try_io(Interest::READABLE, || {
                // SAFETY: splice between two descriptors that stay open for the call.
                let n = unsafe {
                    libc::splice(
                        socket.as_raw_fd(),
                        std::ptr::null_mut(),
                        self.write.as_raw_fd(),
                        std::ptr::null_mut(),
                        max,
                        libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
                    )
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match spliced {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Ok(0) => return std::task::Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into())),
                result => return std::task::Poll::Ready(result),
            }
        }
    }

    fn splice_into(&self, socket: &UnixStream, left: usize) -> io::Result<usize> {
        // SAFETY: splice between two descriptors that stay open for the call.
        let n = unsafe {
            libc::splice(
                self.read.as_raw_fd(),
                std::ptr::null_mut(),
                socket.as_raw_fd(),
                std::ptr::null_mut(),
                left,
                libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Puts references to `chunk`'s pages into the (empty) pipe; returns how many bytes.
    pub(crate) fn queue(&self, chunk: &[u8]) -> isize {
        let iov = libc::iovec {
            iov_base: chunk.as_ptr() as *mut libc::c_void,
            iov_len: chunk.len(),
        };
        // SAFETY: `iov` describes memory borrowed for this call; the pipe is empty here
        // (every round of `send` drains it), so the call does not block.
        unsafe { libc::vmsplice(self.write.as_raw_fd(), &iov, 1, 0) }
    }

    /// Sends all of `data` into `socket`. The caller must not modify `data` until the
    /// peer has read it (for NBD: until the WRITE's reply).
    pub(crate) async fn send(&self, socket: &UnixStream, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let chunk = &data[..data.len().min(self.capacity)];
            let queued = self.queue(chunk);
            if queued <= 0 {
                return Err(match queued {
                    0 => io::ErrorKind::WriteZero.into(),
                    _ => io::Error::last_os_error(),
                });
            }
            let mut left = queued as usize;
            while left > 0 {
                let moved = socket
                    .async_io(Interest::WRITABLE, || self.splice_into(socket, left))
                    .await?;
                if moved == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                left -= moved;
            }
            data = &data[queued as usize..];
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn unreleased_spliced_payloads_are_parked_not_freed() {
        let before = QUARANTINED.lock().unwrap().len();
        let copied = SentPayload::copied(vec![1; 10]);
        assert_eq!(copied.bytes(), &[1; 10]);
        drop(copied);
        let released = SentPayload::spliced(vec![2; 10]).release();
        assert_eq!(released, vec![2; 10]);
        drop(SentPayload::spliced(vec![3; 4096]));
        let parked = QUARANTINED.lock().unwrap();
        assert!(parked.len() > before || parked.iter().any(|(_, b)| b[..] == [3; 4096][..]));
        assert!(parked.iter().any(|(_, b)| b.len() == 4096 && b[0] == 3));
    }

    #[tokio::test]
    async fn spliced_payloads_arrive_whole_through_a_slow_reader() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        let data: Vec<u8> = (0..(3 << 20) + 12_345u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let pipe = PayloadPipe::new().unwrap();
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            let mut buf = vec![0; 100_000];
            loop {
                // Reading slowly fills the socket, so splice must wait for room.
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                match theirs.read(&mut buf).await.unwrap() {
                    0 => break received,
                    n => received.extend_from_slice(&buf[..n]),
                }
            }
        });
        pipe.send(&ours, &data).await.unwrap();
        pipe.send(&ours, &data[..MIN_SPLICE]).await.unwrap();
        drop(ours);
        let received = reader.await.unwrap();
        assert_eq!(received.len(), data.len() + MIN_SPLICE);
        assert!(received[..data.len()] == data[..]);
        assert!(received[data.len()..] == data[..MIN_SPLICE]);
    }
}
