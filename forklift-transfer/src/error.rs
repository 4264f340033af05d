//! The transfer engine's one public error: a kind, a context and a source.
//!
//! ```text
//!   Error ──┬─ kind: ErrorKind        what went wrong, for callers to match on
//!           ├─ severity: Severity     retry the request, or reconnect (transport errors)
//!           ├─ message                short text naming the offending value
//!           ├─ context: ErrorContext  operation, offset, length, target
//!           ├─ errno                  the error number a server or the OS returned
//!           └─ source                 the underlying cause, exposed through `source()`
//! ```
//!
//! `Display` renders the message and the context only; the cause is reached through
//! [`std::error::Error::source`], so printing the chain shows it once. Every backend (NBD,
//! files, VDDK, VMDK readers, HTTP datastores) reports through this type: callers match on
//! [`ErrorKind`] and decide on [`Error::is_fatal`], and new backends add no public variants.
//!
//! The source is shared (`Arc`) rather than owned so that a connection that dies can hand
//! the same cause to every request that was in flight on it.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// Result type of the transfer engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shared, thread-safe cause of an [`Error`].
pub type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, coarse enough to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A local or socket I/O operation failed.
    Io,
    /// The peer broke the protocol: bad magic, bad length, unexpected reply.
    Protocol,
    /// The connection closed or was reset, including an early end of stream.
    Disconnected,
    /// The server answered a request or an option with an error.
    Server,
    /// The operation or feature is not supported by this source, sink or server.
    Unsupported,
    /// An offset or length falls outside the disk or the negotiated limits.
    OutOfBounds,
    /// A caller-supplied value (URI, option, size) is invalid.
    InvalidInput,
    /// A named thing (export, bitmap, file, disk) does not exist.
    NotFound,
    /// A disk image or metadata file is malformed.
    InvalidFormat,
    /// TLS setup or the TLS handshake failed.
    Tls,
    /// Source and destination differ where they should be identical.
    Mismatch,
    /// The operation was cancelled through its token.
    Cancelled,
    /// The operation did not finish in time.
    Timeout,
}

impl ErrorKind {
    /// A short human-readable name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Io => "I/O error",
            Self::Protocol => "protocol error",
            Self::Disconnected => "disconnected",
            Self::Server => "server error",
            Self::Unsupported => "unsupported",
            Self::OutOfBounds => "out of bounds",
            Self::InvalidInput => "invalid input",
            Self::NotFound => "not found",
            Self::InvalidFormat => "invalid format",
            Self::Tls => "TLS error",
            Self::Mismatch => "mismatch",
            Self::Cancelled => "cancelled",
            Self::Timeout => "timed out",
        }
    }

    /// The severity an error of this kind has unless stated otherwise.
    ///
    /// Protocol violations and lost connections leave a connection unusable; everything
    /// else fails one request and leaves the handle alive.
    pub fn default_severity(self) -> Severity {
        match self {
            Self::Protocol | Self::Disconnected | Self::Tls => Severity::Fatal,
            _ => Severity::Recoverable,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the handle that reported an error can still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// This request failed; the connection or handle is alive, the request may be retried.
    Recoverable,
    /// The connection or handle is dead; reconnect before issuing further requests.
    Fatal,
}

/// The operation during which an error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// Opening a file, device or process, or connecting a socket.
    Connect,
    /// Option negotiation (NBD handshake, TLS upgrade).
    Handshake,
    /// Reading data.
    Read,
    /// Writing data.
    Write,
    /// Writing zeroes.
    WriteZeroes,
    /// Discarding (trimming) a range.
    Trim,
    /// Flushing to stable storage.
    Flush,
    /// Querying extents (block status).
    Extents,
    /// Closing a connection.
    Disconnect,
    /// Reading or writing a checkpoint or block map.
    Checkpoint,
    /// Comparing source and destination.
    Verify,
}

impl Op {
    /// A short lower-case name of the operation.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Handshake => "handshake",
            Self::Read => "read",
            Self::Write => "write",
            Self::WriteZeroes => "write zeroes",
            Self::Trim => "trim",
            Self::Flush => "flush",
            Self::Extents => "extents",
            Self::Disconnect => "disconnect",
            Self::Checkpoint => "checkpoint",
            Self::Verify => "verify",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an error happened: operation, byte range and target (file path or export URI).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorContext {
    /// The operation in progress.
    pub op: Option<Op>,
    /// The byte offset the operation started at.
    pub offset: Option<u64>,
    /// The byte length of the operation.
    pub length: Option<u64>,
    /// The file path or export the operation addressed (never with credentials).
    pub target: Option<String>,
}

impl ErrorContext {
    fn is_empty(&self) -> bool {
        self.op.is_none() && self.offset.is_none() && self.target.is_none()
    }
}

impl fmt::Display for ErrorContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return Ok(());
        }
        f.write_str(" (")?;
        let mut sep = "";
        if let Some(op) = self.op {
            write!(f, "{op}")?;
            sep = " ";
        }
        if let Some(offset) = self.offset {
            write!(f, "{sep}at offset {offset:#x}")?;
            if let Some(length) = self.length {
                write!(f, "+{length:#x}")?;
            }
            sep = " ";
        }
        if let Some(target) = &self.target {
            write!(f, "{sep}on {target}")?;
        }
        f.write_str(")")
    }
}

/// The transfer engine's error: see the [module documentation](self).
#[derive(Clone, thiserror::Error)]
#[error("{message}{context}")]
pub struct Error {
    kind: ErrorKind,
    severity: Severity,
    message: Cow<'static, str>,
    context: ErrorContext,
    errno: Option<u32>,
    #[source]
    source: Option<Source>,
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind)
            .field("severity", &self.severity)
            .field("message", &self.message);
        if !self.context.is_empty() {
            d.field("context", &self.context);
        }
        if let Some(errno) = self.errno {
            d.field("errno", &errno);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl Error {
    /// A new error of `kind` with a short message (capitalised, not repeating a source).
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            severity: kind.default_severity(),
            message: message.into(),
            context: ErrorContext::default(),
            errno: None,
            source: None,
        }
    }

    /// A protocol violation by the peer (fatal: the stream cannot be trusted any more).
    pub fn protocol(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Protocol, message)
    }

    /// An unsupported operation or feature.
    pub fn unsupported(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// An invalid caller-supplied value.
    pub fn invalid_input(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// A lost connection (fatal).
    pub fn disconnected(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Disconnected, message)
    }

    /// A cancelled operation.
    pub fn cancelled() -> Self {
        Self::new(ErrorKind::Cancelled, "Operation cancelled")
    }

    /// A range `offset..offset+length` that does not fit into a disk of `size` bytes.
    pub fn out_of_bounds(offset: u64, length: u64, size: u64) -> Self {
        Self::new(
            ErrorKind::OutOfBounds,
            format!("Range {offset:#x}+{length:#x} is beyond the end of the disk ({size} bytes)"),
        )
        .with_offset(offset)
        .with_length(length)
    }

    /// An I/O failure during `op`, classified from the [`std::io::Error`].
    pub fn io(op: Op, source: std::io::Error) -> Self {
        Self::from(source).with_op(op)
    }

    /// An error the server returned for a request or option, with its error number.
    pub fn server(errno: u32, message: impl Into<Cow<'static, str>>) -> Self {
        let mut error = Self::new(ErrorKind::Server, message);
        error.errno = Some(errno);
        if errno == libc::ENOTSUP as u32 || errno == libc::EOPNOTSUPP as u32 {
            error.kind = ErrorKind::Unsupported;
        }
        // ESHUTDOWN: the server is going away; the client must disconnect.
        if errno == libc::ESHUTDOWN as u32 {
            error.severity = Severity::Fatal;
        }
        error
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Attaches an already shared cause.
    pub fn with_shared_source(mut self, source: Source) -> Self {
        self.source = Some(source);
        self
    }

    /// Records the operation in progress.
    pub fn with_op(mut self, op: Op) -> Self {
        self.context.op = Some(op);
        self
    }

    /// Records the byte offset of the failed operation.
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.context.offset = Some(offset);
        self
    }

    /// Records the byte length of the failed operation.
    pub fn with_length(mut self, length: u64) -> Self {
        self.context.length = Some(length);
        self
    }

    /// Records the target (file path or export); never pass credentials.
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.context.target = Some(target.into());
        self
    }

    /// Records the operation and range, keeping values already set by a lower layer.
    pub fn or_context(mut self, op: Op, offset: u64, length: u64) -> Self {
        if self.context.op.is_none() {
            self.context.op = Some(op);
        }
        if self.context.offset.is_none() {
            self.context.offset = Some(offset);
            self.context.length = Some(length);
        }
        self
    }

    /// Marks the error fatal: the handle that produced it must not be used again.
    pub fn into_fatal(mut self) -> Self {
        self.severity = Severity::Fatal;
        self
    }

    /// Marks the error recoverable: only this request failed.
    pub fn into_recoverable(mut self) -> Self {
        self.severity = Severity::Recoverable;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the handle is still usable.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// The handle (connection) is dead: reconnect before retrying.
    pub fn is_fatal(&self) -> bool {
        self.severity == Severity::Fatal
    }

    /// Only this request failed: it may be retried on the same handle.
    pub fn is_recoverable(&self) -> bool {
        self.severity == Severity::Recoverable
    }

    /// Whether the failure was a cancellation.
    pub fn is_cancelled(&self) -> bool {
        self.kind == ErrorKind::Cancelled
    }

    /// The short message, without context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where the error happened.
    pub fn context(&self) -> &ErrorContext {
        &self.context
    }

    /// The error number returned by the server or the OS, if any.
    pub fn errno(&self) -> Option<u32> {
        self.errno
    }
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        let (kind, message) = match source.kind() {
            Io::UnexpectedEof => (ErrorKind::Disconnected, "Unexpected end of stream"),
            Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe => {
                (ErrorKind::Disconnected, "Connection lost")
            }
            Io::ConnectionRefused => (ErrorKind::Io, "Connection refused"),
            Io::NotFound => (ErrorKind::NotFound, "Not found"),
            Io::TimedOut => (ErrorKind::Timeout, "Timed out"),
            Io::Unsupported => (
                ErrorKind::Unsupported,
                "Not supported by the operating system",
            ),
            _ => (ErrorKind::Io, "I/O failed"),
        };
        let mut error = Self::new(kind, message);
        error.errno = source.raw_os_error().and_then(|e| u32::try_from(e).ok());
        error.with_source(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_message_and_context_but_not_source() {
        let error = Error::io(Op::Read, std::io::Error::other("disk on fire"))
            .with_offset(4096)
            .with_length(512)
            .with_target("/tmp/disk.img");
        assert_eq!(
            error.to_string(),
            "I/O failed (read at offset 0x1000+0x200 on /tmp/disk.img)"
        );
        let source = std::error::Error::source(&error).expect("source kept");
        assert_eq!(source.to_string(), "disk on fire");
        assert!(error.is_recoverable());
    }

    #[test]
    fn early_eof_is_a_fatal_disconnect() {
        let error = Error::from(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
        assert_eq!(error.kind(), ErrorKind::Disconnected);
        assert!(error.is_fatal());
    }

    #[test]
    fn server_errors_keep_errno_and_map_enotsup() {
        let error = Error::server(95, "Write zeroes refused");
        assert_eq!(error.kind(), ErrorKind::Unsupported);
        assert_eq!(error.errno(), Some(95));
        assert!(error.is_recoverable());
        assert!(Error::server(108, "Shutting down").is_fatal());
        assert_eq!(Error::server(5, "EIO").kind(), ErrorKind::Server);
    }

    #[test]
    fn protocol_errors_are_fatal_and_clone_shares_source() {
        let error = Error::protocol("Bad reply magic 0x1")
            .with_source(std::io::Error::other("x"))
            .with_op(Op::Read);
        assert!(error.is_fatal());
        let copy = error.clone();
        assert_eq!(copy.to_string(), "Bad reply magic 0x1 (read)");
        assert!(std::error::Error::source(&copy).is_some());
    }

    #[test]
    fn or_context_keeps_lower_layer_values() {
        let error = Error::out_of_bounds(10, 5, 12).or_context(Op::Write, 0, 1);
        assert_eq!(error.context().offset, Some(10));
        assert_eq!(error.context().op, Some(Op::Write));
    }
}
