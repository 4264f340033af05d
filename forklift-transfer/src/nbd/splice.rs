//! Zero-copy WRITE payloads over Unix sockets.
//!
//! A payload's pages go into a pipe with `vmsplice` (by reference, no copy) and from the
//! pipe into the socket with `splice` (the socket keeps page references too), so the
//! server's read is the only copy of the data on this machine. That is safe because a
//! WRITE's buffer is not reused until the server has replied, and a server replies only
//! after it has read the whole payload; if the connection dies first, the pages it still
//! references are never read.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::Interest;
use tokio::net::UnixStream;

/// Payloads shorter than this go through an ordinary write: two system calls are not
/// worth saving a small copy.
pub(crate) const MIN_SPLICE: usize = 64 * 1024;

/// Pipe size asked for; Linux allows up to `/proc/sys/fs/pipe-max-size` (1 MiB by default).
const PIPE_SIZE: libc::c_int = 1 << 20;

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

    /// Puts references to `chunk`'s pages into the (empty) pipe; returns how many bytes.
    fn queue(&self, chunk: &[u8]) -> isize {
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
                    .async_io(Interest::WRITABLE, || {
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
                    })
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
