//! Our own asynchronous NBD client (and a small in-process server for tests).
//!
//! ```text
//!   proto      constants, option and request framing          (bytes only)
//!   reply      reply decoder, read reassembly, block status   (bytes only)
//!   handshake  fixed newstyle, STARTTLS, GO/INFO, contexts    (sequencing over a stream)
//!   uri, tls   nbd:// nbds:// nbd+unix:// and rustls setup
//!   connection writer task + reader task + cookie map         (tokio)
//!   idle       the idle timeout of requests in flight
//!   client     NbdClient: multi-conn, BlockSource + BlockSink
//!   lease      handing a client's connections to copy lanes and back
//!   portable   moving a plain connection between runtimes (a lane thread and back)
//!   server     in-memory NBD server with fault injection, for tests
//! ```

pub mod client;
pub(crate) mod connection;
pub mod handshake;
pub(crate) mod idle;
mod lease;
pub(crate) mod portable;
pub mod proto;
pub mod reply;
pub mod server;
pub(crate) mod splice;
pub mod tls;
pub mod uri;

pub use client::{ConnectOptions, NbdClient, default_connections};
pub use idle::DEFAULT_IO_TIMEOUT;
pub use uri::{Endpoint, NbdUri};

#[cfg(test)]
mod tests;
