//! A disk streamed straight into its upload: the [`BlockSink`] the copy pipeline fills,
//! feeding the upload proxy's request body in disk order.
//!
//! ```text
//!   copy pipeline (blocks in flight, roughly in order)
//!        │ write_at / write_owned / write_zeroes
//!        ▼
//!   StreamSink ── at the stream position: sent at once ──► bounded channel ──► request body
//!        └─ ahead of it: held (≤ STREAM_WINDOW bytes of data; writers further ahead wait)
//! ```
//!
//! CDI's upload API takes one body holding the whole image (raw, qcow2, or either gz/xz
//! compressed); it has no ranged or sparse upload, so a raw body carries zero ranges as
//! zero bytes. They cost no memory here (one static zero buffer is sent repeatedly) but do
//! cost bandwidth. The copy pipeline dispatches blocks in disk order and a block's task holds
//! its slot until it is written, so the block at the stream position is always in flight:
//! writers waiting for room ahead of it cannot starve it.
//!
//! Memory: at most [`STREAM_WINDOW`] bytes held ahead of the stream position plus
//! [`STREAM_CHANNEL_CHUNKS`] chunks (each at most a copy request) queued for the body,
//! whatever the disk's size.
//!
//! Progress: the copy's progress events count bytes this sink accepted, which run ahead of
//! the bytes the proxy took by at most that much; the upload itself logs the bytes handed
//! to the connection every [`UPLOAD_PROGRESS_INTERVAL`](super::UPLOAD_PROGRESS_INTERVAL).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use forklift_transfer::block::{BlockSink, ZeroFlags, check_range};
use forklift_transfer::error::{Error, ErrorKind, Result};
use tokio::sync::{Mutex, Notify, mpsc, watch};

use super::error::ClusterError;

/// The most data held ahead of the stream position (written out of order) before further
/// writers wait, in bytes. The copy pipeline keeps 16 MiB in flight by default.
pub const STREAM_WINDOW: u64 = 64 * 1024 * 1024;

// A copy's requests in flight never outgrow the window, whatever sizes a library caller
// picks: `copy` lowers `requests` until `requests × request_size` fits in
// COPY_BUFFER_BUDGET (`budget::requests_in_flight`), which this keeps within the window.
// With blocks dispatched in disk order, the block at the stream position is always among
// them, so writers waiting for room ahead of it are always freed
// (`a_copy_asking_more_than_the_window_in_flight_cannot_stall`).
const _: () = assert!(forklift_transfer::copy::budget::COPY_BUFFER_BUDGET <= STREAM_WINDOW);

/// Chunks queued between the sink and the request body.
pub const STREAM_CHANNEL_CHUNKS: usize = 8;

/// How long a write may wait for the request body to take its bytes (a proxy that stopped
/// reading) before the upload counts as stalled.
pub const STREAM_SEND_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// How long a write that found the upload ended waits for the upload's own error.
const OUTCOME_WAIT: Duration = Duration::from_secs(30);

/// Zeroes sent for zero ranges, a slice at a time.
static ZEROES: [u8; 1024 * 1024] = [0; 1024 * 1024];

/// A chunk of the request body, or why the body ends early.
pub type BodyChunk = std::result::Result<Bytes, std::io::Error>;

/// A write held until the stream reaches it.
enum Piece {
    Data(Bytes),
    Zero(u64),
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Self::Data(b) => b.len() as u64,
            Self::Zero(n) => *n,
        }
    }
}

struct Position {
    /// Bytes handed to the body so far.
    next: u64,
    /// Writes ahead of `next`, by offset.
    ahead: BTreeMap<u64, Piece>,
    /// Data bytes in `ahead`.
    held: u64,
    /// `None` once the whole disk was sent.
    sender: Option<mpsc::Sender<BodyChunk>>,
}

/// The sink of one streamed disk.
pub struct StreamSink {
    size: u64,
    name: String,
    position: Mutex<Position>,
    room: Notify,
    /// The upload's failure, set by the task that sends the body.
    outcome: watch::Receiver<Option<Arc<ClusterError>>>,
}

/// The other end of a [`StreamSink`]: the body's chunks and where the upload reports how it
/// ended.
#[derive(Debug)]
pub struct StreamBody {
    /// The chunks, in disk order.
    pub chunks: mpsc::Receiver<BodyChunk>,
    /// The disk's size (the body's length).
    pub size: u64,
    /// Set to the upload's error when it fails, so writers see why.
    pub outcome: watch::Sender<Option<Arc<ClusterError>>>,
}

impl StreamSink {
    /// A sink of `size` bytes for the DataVolume `name` (`namespace/name`) and the body it
    /// feeds.
    pub fn new(name: String, size: u64) -> (Arc<Self>, StreamBody) {
        let (tx, rx) = mpsc::channel(STREAM_CHANNEL_CHUNKS);
        let (outcome_tx, outcome_rx) = watch::channel(None);
        let sink = Arc::new(Self {
            size,
            name,
            position: Mutex::new(Position {
                next: 0,
                ahead: BTreeMap::new(),
                held: 0,
                sender: (size > 0).then_some(tx),
            }),
            room: Notify::new(),
            outcome: outcome_rx,
        });
        let body = StreamBody {
            chunks: rx,
            size,
            outcome: outcome_tx,
        };
        (sink, body)
    }

    async fn put(&self, offset: u64, piece: Piece) -> Result<()> {
        let length = piece.len();
        check_range(offset, length, self.size)?;
        if length == 0 {
            return Ok(());
        }
        let mut piece = Some(piece);
        loop {
            let room = self.room.notified();
            let mut position = self.position.lock().await;
            if offset < position.next {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "the upload of {} already sent offset {offset}: a streamed upload cannot be rewritten",
                        self.name
                    ),
                )
                .into_fatal());
            }
            if overlaps(&position.ahead, offset, length) {
                // Held writes are sent once each, by offset: a second write over one of
                // them would be lost or leave it behind the stream forever.
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "the upload of {} already holds data overlapping {offset}+{length}: a streamed upload cannot be rewritten",
                        self.name
                    ),
                )
                .into_fatal());
            }
            if offset > position.next {
                let data = match &piece {
                    Some(Piece::Data(b)) => b.len() as u64,
                    _ => 0,
                };
                // Beyond the window (and not the only write held): wait until the stream
                // moves on. A single write larger than the window is held anyway.
                if position.held > 0 && position.held + data > STREAM_WINDOW {
                    drop(position);
                    room.await;
                    continue;
                }
                if let Some(piece) = piece.take() {
                    position.held += data;
                    position.ahead.insert(offset, piece);
                }
                return Ok(());
            }
            // At the stream position: send it and whatever it makes contiguous.
            let mut current = piece.take();
            while let Some(piece) = current {
                self.send(&mut position, piece).await?;
                let next = position.next;
                current = position.ahead.remove(&next);
                if let Some(Piece::Data(b)) = &current {
                    position.held -= b.len() as u64;
                }
            }
            if position.next == self.size {
                // The whole disk went: the body ends.
                position.sender = None;
            }
            drop(position);
            self.room.notify_waiters();
            return Ok(());
        }
    }

    async fn send(&self, position: &mut Position, piece: Piece) -> Result<()> {
        let length = piece.len();
        let Some(sender) = position.sender.clone() else {
            return Err(self.ended().await);
        };
        match piece {
            Piece::Data(bytes) => self.send_chunk(&sender, bytes).await?,
            Piece::Zero(mut left) => {
                while left > 0 {
                    let step = left.min(ZEROES.len() as u64) as usize;
                    self.send_chunk(&sender, Bytes::from_static(&ZEROES[..step]))
                        .await?;
                    left -= step as u64;
                }
            }
        }
        position.next += length;
        Ok(())
    }

    async fn send_chunk(&self, sender: &mpsc::Sender<BodyChunk>, chunk: Bytes) -> Result<()> {
        match tokio::time::timeout(STREAM_SEND_TIMEOUT, sender.send(Ok(chunk))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(self.ended().await),
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "the upload proxy took nothing of {} for {} s",
                    self.name,
                    STREAM_SEND_TIMEOUT.as_secs()
                ),
            )
            .into_fatal()),
        }
    }

    /// The error for a write after the upload ended: the upload's own error when it reports
    /// one in time.
    async fn ended(&self) -> Error {
        let mut outcome = self.outcome.clone();
        let reported = tokio::time::timeout(OUTCOME_WAIT, outcome.wait_for(Option::is_some))
            .await
            .ok()
            .and_then(|r| r.ok().and_then(|o| o.clone()));
        let error = Error::new(
            ErrorKind::Disconnected,
            format!("the upload of {} ended before the disk was sent", self.name),
        )
        .into_fatal();
        match reported {
            Some(cause) => error.with_source(cause),
            None => error,
        }
    }
}

/// Whether `offset..offset + length` overlaps a write held in `ahead`.
fn overlaps(ahead: &BTreeMap<u64, Piece>, offset: u64, length: u64) -> bool {
    let end = offset.saturating_add(length);
    let before = ahead
        .range(..=offset)
        .next_back()
        .is_some_and(|(at, piece)| at.saturating_add(piece.len()) > offset);
    let after = ahead
        .range(offset..)
        .next()
        .is_some_and(|(at, _)| *at < end);
    before || after
}

#[async_trait]
impl BlockSink for StreamSink {
    fn size(&self) -> u64 {
        self.size
    }

    fn describe(&self) -> String {
        format!("upload of DataVolume {}", self.name)
    }

    async fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        self.put(offset, Piece::Data(Bytes::copy_from_slice(buf)))
            .await
    }

    async fn write_owned(&self, offset: u64, buf: Vec<u8>) -> Result<Vec<u8>> {
        // The buffer becomes the chunk itself (no copy); the pipeline allocates another.
        self.put(offset, Piece::Data(Bytes::from(buf))).await?;
        Ok(Vec::new())
    }

    async fn write_zeroes(&self, offset: u64, length: u64, flags: ZeroFlags) -> Result<()> {
        if flags.fast {
            return Err(Error::unsupported("a streamed upload has no fast zeroing"));
        }
        self.put(offset, Piece::Zero(length)).await
    }

    async fn flush(&self) -> Result<()> {
        // Everything accepted is sent in order or held until it can be; nothing is lost
        // short of the upload failing, which fails the writes.
        Ok(())
    }
}

/// The request body of a [`StreamBody`]: its chunks, counted into `sent`, and an error if
/// they end before `size` bytes (the copy stopped), so the proxy never takes a short image
/// for a whole one.
pub fn body_stream(
    chunks: mpsc::Receiver<BodyChunk>,
    size: u64,
    sent: Arc<AtomicU64>,
) -> impl futures::Stream<Item = BodyChunk> + Send + 'static {
    futures::stream::unfold((chunks, 0u64, false), move |(mut chunks, total, done)| {
        let sent = sent.clone();
        async move {
            if done {
                return None;
            }
            match chunks.recv().await {
                Some(Ok(chunk)) => {
                    let total = total + chunk.len() as u64;
                    sent.store(total, Ordering::Relaxed);
                    Some((Ok(chunk), (chunks, total, false)))
                }
                Some(Err(e)) => Some((Err(e), (chunks, total, true))),
                None if total < size => Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("the copy stopped after {total} of {size} bytes"),
                    )),
                    (chunks, total, true),
                )),
                None => None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    async fn collect(body: StreamBody) -> (Vec<u8>, Option<String>) {
        let sent = Arc::new(AtomicU64::new(0));
        let mut stream = std::pin::pin!(body_stream(body.chunks, body.size, sent));
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(c) => out.extend_from_slice(&c),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
        (out, None)
    }

    #[tokio::test]
    async fn out_of_order_writes_and_zero_ranges_come_out_in_order() {
        let (sink, body) = StreamSink::new("ns/dv".into(), 10 * 1024);
        let reader = tokio::spawn(collect(body));
        // Written backwards, a zero range in the middle.
        sink.write_at(8 * 1024, &[3; 2048]).await.unwrap();
        sink.write_zeroes(4096, 4096, ZeroFlags::default())
            .await
            .unwrap();
        sink.write_owned(0, vec![1; 4096]).await.unwrap();
        let (out, error) = reader.await.unwrap();
        assert_eq!(error, None);
        let mut expected = vec![1u8; 4096];
        expected.extend_from_slice(&[0; 4096]);
        expected.extend_from_slice(&[3; 2048]);
        assert_eq!(out, expected);
    }

    #[tokio::test]
    async fn writes_beyond_the_window_wait_for_the_stream() {
        let block = 8 * 1024 * 1024;
        let size = STREAM_WINDOW + 2 * block;
        let (sink, body) = StreamSink::new("ns/dv".into(), size);
        // Fill the window ahead of offset 0 (which is not written yet).
        let mut at = block;
        while at < STREAM_WINDOW + block {
            sink.write_owned(at, vec![7; block as usize]).await.unwrap();
            at += block;
        }
        let waiting = {
            let sink = sink.clone();
            tokio::spawn(async move { sink.write_owned(at, vec![9; block as usize]).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "a write beyond the window was held");
        let reader = tokio::spawn(collect(body));
        sink.write_owned(0, vec![5; block as usize]).await.unwrap();
        waiting.await.unwrap().unwrap();
        let (out, error) = reader.await.unwrap();
        assert_eq!(error, None);
        assert_eq!(out.len() as u64, size);
        assert!(out[..block as usize].iter().all(|&b| b == 5));
        assert!(out[size as usize - 1] == 9);
    }

    /// A disk whose byte at `offset` is `pattern(offset)`, generated on read (no copy of
    /// the disk in memory); its first block arrives only once `sink` holds a full window
    /// ahead of it (so writers beyond the window are waiting).
    struct Slow {
        size: u64,
        sink: Arc<StreamSink>,
    }

    fn pattern(offset: u64) -> u8 {
        (offset / 4096 % 251) as u8 + 1
    }

    #[async_trait]
    impl forklift_transfer::BlockSource for Slow {
        fn size(&self) -> u64 {
            self.size
        }

        async fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
            if offset == 0 {
                let block = buf.len() as u64;
                while self.sink.position.lock().await.held + block <= STREAM_WINDOW {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            // Blocks and the pattern's runs are both 4 KiB aligned.
            for (i, page) in buf.chunks_mut(4096).enumerate() {
                page.fill(pattern(offset + 4096 * i as u64));
            }
            Ok(())
        }
    }

    /// The copy pipeline asked for far more than the window in flight (64 × 4 MiB): blocks
    /// ahead of a slow first block fill the window and wait, and the copy still ends
    /// (within a bounded wait on paused time: a stall fails it), every byte in order.
    #[tokio::test(start_paused = true)]
    async fn a_copy_asking_more_than_the_window_in_flight_cannot_stall() {
        let block: u32 = 4 * 1024 * 1024;
        let size = STREAM_WINDOW + 8 * u64::from(block);
        let (sink, body) = StreamSink::new("ns/dv".into(), size);
        let source = Arc::new(Slow {
            size,
            sink: sink.clone(),
        });
        let options = forklift_transfer::CopyOptions {
            request_size: block,
            requests: 64,
            // Every block is data: no zero runs to hide the window.
            sparse_granularity: 0,
            ..Default::default()
        };
        let reader = tokio::spawn(async move {
            let mut chunks = body.chunks;
            let mut at = 0u64;
            while let Some(chunk) = chunks.recv().await {
                let chunk = chunk.unwrap();
                // Chunks are whole blocks: the first byte of each page names it.
                for (i, page) in chunk.chunks(4096).enumerate() {
                    let offset = at + 4096 * i as u64;
                    assert_eq!(page[0], pattern(offset), "at {offset}");
                }
                at += chunk.len() as u64;
            }
            at
        });
        let cancel = tokio_util::sync::CancellationToken::new();
        let copied = tokio::time::timeout(
            Duration::from_secs(60),
            forklift_transfer::copy(source, sink, &options, &cancel),
        )
        .await
        .expect("the copy stalled")
        .unwrap();
        // What the pipeline ran at once stays within the window.
        let in_flight = copied.summary.requests as u64 * u64::from(copied.summary.request_size);
        assert!(in_flight <= STREAM_WINDOW, "{in_flight}");
        assert_eq!(reader.await.unwrap(), size);
    }

    #[tokio::test]
    async fn a_rewrite_behind_the_stream_is_refused() {
        let (sink, body) = StreamSink::new("ns/dv".into(), 8192);
        let reader = tokio::spawn(collect(body));
        sink.write_at(0, &[1; 4096]).await.unwrap();
        let error = sink.write_at(0, &[1; 4096]).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Unsupported);
        drop(sink);
        let (_, error) = reader.await.unwrap();
        assert!(error.unwrap().contains("4096 of 8192"));
    }

    #[tokio::test]
    async fn overlapping_writes_ahead_of_the_stream_are_refused() {
        let (sink, body) = StreamSink::new("ns/dv".into(), 16384);
        let reader = tokio::spawn(collect(body));
        sink.write_at(8192, &[2; 4096]).await.unwrap();
        // The same offset again, one starting inside it, one running into it.
        for (offset, length) in [(8192, 4096), (10240, 4096), (6144, 4096)] {
            let error = sink.write_at(offset, &vec![9; length]).await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Unsupported, "{offset}+{length}");
        }
        // A write at the stream position running into the held one is refused too.
        let error = sink.write_at(0, &[9; 12288]).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Unsupported);
        // The disjoint writes still make the whole disk, in order.
        sink.write_at(0, &[1; 8192]).await.unwrap();
        sink.write_zeroes(12288, 4096, ZeroFlags::default())
            .await
            .unwrap();
        let (out, error) = reader.await.unwrap();
        assert_eq!(error, None);
        assert_eq!(&out[..8192], &[1; 8192]);
        assert_eq!(&out[8192..12288], &[2; 4096]);
        assert_eq!(&out[12288..], &[0; 4096]);
    }

    #[tokio::test]
    async fn a_write_after_the_upload_failed_carries_its_error() {
        let (sink, body) = StreamSink::new("ns/dv".into(), 8192);
        let StreamBody {
            chunks, outcome, ..
        } = body;
        drop(chunks);
        outcome.send_replace(Some(Arc::new(ClusterError::NoToken {
            data_volume: "ns/dv".into(),
        })));
        let error = sink.write_at(0, &[1; 4096]).await.unwrap_err();
        let text = forklift_core::error::chain(&error);
        assert!(text.contains("returned no token"), "{text}");
    }
}
