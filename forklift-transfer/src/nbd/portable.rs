//! Moving a plain (not TLS) connection between tokio runtimes.
//!
//! A tokio socket belongs to the reactor of the runtime that registered it: its readiness
//! events arrive on that runtime's I/O thread, which then wakes whichever thread polls the
//! socket. A copy lane on a thread of its own therefore takes its sockets out of the main
//! runtime as [`Portable`] (plain `std` sockets) and registers them again in its own
//! runtime, so each readiness event wakes the lane directly; it hands them back the same way.

use std::io;

use bytes::BytesMut;

use super::connection::{BoxRead, BoxWrite, PlainRead, PlainWrite, Transport};
use super::handshake::Negotiated;
use super::idle::IoTimeout;

/// A socket out of any runtime.
enum Socket {
    Unix(std::os::unix::net::UnixStream),
    Tcp(std::net::TcpStream),
}

/// A [`Transport`] whose socket is registered with no runtime.
pub(crate) struct Portable {
    socket: Socket,
    buffered: BytesMut,
    negotiated: Negotiated,
    target: String,
    max_in_flight: usize,
    splice_writes: bool,
    io_timeout: IoTimeout,
}

impl Transport {
    /// Takes the socket out of its runtime; a TLS transport comes back unchanged.
    pub(crate) fn into_portable(self) -> Result<Portable, Box<Transport>> {
        let Transport {
            reader,
            writer,
            buffered,
            negotiated,
            target,
            max_in_flight,
            splice_writes,
            io_timeout,
        } = self;
        let halves = match (reader.into_plain(), writer.into_plain()) {
            (Ok(read), Ok(write)) => reunite(read, write),
            (read, write) => Err((
                read.map_or_else(|r| r, plain_reader),
                write.map_or_else(|w| w, plain_writer),
            )),
        };
        let (reader, writer): (BoxRead, BoxWrite) = match halves {
            Ok(Ok(socket)) => {
                return Ok(Portable {
                    socket,
                    buffered,
                    negotiated,
                    target,
                    max_in_flight,
                    splice_writes,
                    io_timeout,
                });
            }
            // `into_std` fails only when the socket cannot leave the reactor; what is left
            // of it cannot be used either.
            Ok(Err(error)) => {
                tracing::debug!("socket cannot leave its runtime: {error}");
                (Box::new(Closed), Box::new(Closed))
            }
            Err(halves) => halves,
        };
        Err(Box::new(Transport {
            reader,
            writer,
            buffered,
            negotiated,
            target,
            max_in_flight,
            splice_writes,
            io_timeout,
        }))
    }
}

/// Puts two plain halves of one socket back together and out of its runtime; halves of
/// different sockets come back as they were.
fn reunite(read: PlainRead, write: PlainWrite) -> Result<io::Result<Socket>, (BoxRead, BoxWrite)> {
    let apart = |r: BoxRead, w: BoxWrite| (r, w);
    match (read, write) {
        (PlainRead::Unix(r), PlainWrite::Unix(w)) => r
            .reunite(w)
            .map(|stream| stream.into_std().map(Socket::Unix))
            .map_err(|halves| apart(Box::new(halves.0), Box::new(halves.1))),
        (PlainRead::Tcp(r), PlainWrite::Tcp(w)) => r
            .reunite(w)
            .map(|stream| stream.into_std().map(Socket::Tcp))
            .map_err(|halves| apart(Box::new(halves.0), Box::new(halves.1))),
        (read, write) => Err((plain_reader(read), plain_writer(write))),
    }
}

impl Portable {
    /// Registers the socket with the runtime this is called in.
    pub(crate) fn into_transport(self) -> io::Result<Transport> {
        let Portable {
            socket,
            buffered,
            negotiated,
            target,
            max_in_flight,
            splice_writes,
            io_timeout,
        } = self;
        let (reader, writer): (BoxRead, BoxWrite) = match socket {
            Socket::Unix(socket) => {
                let (r, w) = tokio::net::UnixStream::from_std(socket)?.into_split();
                (Box::new(r), Box::new(w))
            }
            Socket::Tcp(socket) => {
                let (r, w) = tokio::net::TcpStream::from_std(socket)?.into_split();
                (Box::new(r), Box::new(w))
            }
        };
        Ok(Transport {
            reader,
            writer,
            buffered,
            negotiated,
            target,
            max_in_flight,
            splice_writes,
            io_timeout,
        })
    }
}

fn plain_reader(read: PlainRead) -> BoxRead {
    match read {
        PlainRead::Unix(r) => Box::new(r),
        PlainRead::Tcp(r) => Box::new(r),
    }
}

fn plain_writer(write: PlainWrite) -> BoxWrite {
    match write {
        PlainWrite::Unix(w) => Box::new(w),
        PlainWrite::Tcp(w) => Box::new(w),
    }
}

/// A socket half that is gone: every read and write fails.
struct Closed;

impl tokio::io::AsyncRead for Closed {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Err(io::ErrorKind::NotConnected.into()))
    }
}

impl tokio::io::AsyncWrite for Closed {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::task::Poll::Ready(Err(io::ErrorKind::NotConnected.into()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl super::connection::NbdRead for Closed {
    fn into_plain(self: Box<Self>) -> Result<PlainRead, BoxRead> {
        Err(self)
    }
}

impl super::connection::NbdWrite for Closed {
    fn into_plain(self: Box<Self>) -> Result<PlainWrite, BoxWrite> {
        Err(self)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::block::BlockSizes;

    fn transport(reader: super::BoxRead, writer: super::BoxWrite) -> Transport {
        Transport {
            reader,
            writer,
            buffered: BytesMut::from(&b"read ahead"[..]),
            negotiated: Negotiated {
                size: 4096,
                flags: 0,
                block_sizes: BlockSizes::DEFAULT,
                structured: true,
                contexts: Vec::new(),
            },
            target: "test".into(),
            max_in_flight: 4,
            splice_writes: true,
            io_timeout: IoTimeout::default(),
        }
    }

    #[tokio::test]
    async fn a_unix_connection_works_from_another_runtime_and_back() {
        let (ours, mut theirs) = tokio::net::UnixStream::pair().unwrap();
        let (r, w) = ours.into_split();
        let portable = transport(Box::new(r), Box::new(w))
            .into_portable()
            .ok()
            .unwrap();
        let portable = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let mut moved = portable.into_transport().unwrap();
                assert_eq!(&moved.buffered[..], b"read ahead");
                moved.writer.write_all(b"from the lane").await.unwrap();
                moved.into_portable().ok().unwrap()
            })
        })
        .join()
        .unwrap();
        let mut back = portable.into_transport().unwrap();
        let mut heard = [0u8; 13];
        theirs.read_exact(&mut heard).await.unwrap();
        assert_eq!(&heard, b"from the lane");
        theirs.write_all(b"reply").await.unwrap();
        let mut reply = [0u8; 5];
        back.reader.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"reply");
    }

    #[tokio::test]
    async fn a_tls_like_stream_stays_where_it_is() {
        let (ours, _theirs) = tokio::io::duplex(64);
        let (r, w) = tokio::io::split(ours);
        let kept = transport(Box::new(r), Box::new(w)).into_portable();
        let kept = kept
            .err()
            .expect("a stream that is not a plain socket stays");
        assert_eq!(&kept.buffered[..], b"read ahead");
    }
}
