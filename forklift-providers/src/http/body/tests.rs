//! The rule over bytes, then [`read_capped`] against a raw TCP peer that writes exactly the
//! answer given and then holds the connection open: a reader that waited for more bytes
//! than it needs would hang (each read is bounded by a timeout that fails the test).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::*;

const SUCCESS: usize = 64;
const CUT: BodyLimits = BodyLimits {
    success: SUCCESS,
    error: ErrorBody::Cut(16),
};
const REFUSE: BodyLimits = BodyLimits {
    success: SUCCESS,
    error: ErrorBody::Refuse(SUCCESS),
};

fn too_large(result: Result<impl std::fmt::Debug, BodyError>, expected: usize) {
    match result {
        Err(BodyError::TooLarge { limit }) => assert_eq!(limit, expected),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn declared_length_past_a_refusing_limit_is_refused_at_start() {
    too_large(CappedBody::start(true, Some(65), CUT), SUCCESS);
    too_large(CappedBody::start(false, Some(65), REFUSE), SUCCESS);
    assert!(CappedBody::start(true, Some(64), CUT).is_ok());
    // A cut body may declare more: only its start is kept.
    assert!(CappedBody::start(false, Some(1 << 40), CUT).is_ok());
}

#[test]
fn success_bytes_past_the_limit_are_refused() {
    let mut body = CappedBody::start(true, None, CUT).unwrap();
    assert!(!body.push(&[b'a'; 60]).unwrap());
    assert!(!body.push(&[b'b'; 4]).unwrap());
    too_large(body.push(b"c"), SUCCESS);
}

#[test]
fn error_bytes_are_cut_at_the_limit() {
    let mut body = CappedBody::start(false, None, CUT).unwrap();
    assert!(!body.push(b"0123456789").unwrap());
    assert!(body.push(b"abcdefghij").unwrap());
    assert_eq!(body.finish(), b"0123456789abcdef");
    let mut exact = CappedBody::start(false, None, CUT).unwrap();
    assert!(exact.push(&[b'x'; 16]).unwrap());
}

#[test]
fn refused_error_bytes_past_the_limit_are_refused() {
    let mut body = CappedBody::start(false, None, REFUSE).unwrap();
    assert!(!body.push(&[b'f'; SUCCESS]).unwrap());
    too_large(body.push(b"!"), SUCCESS);
}

/// Serves `answer` once on a local port, then holds the connection until the test ends.
async fn peer(answer: Vec<u8>) -> (String, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (done, hold) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            socket.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        socket.write_all(&answer).await.unwrap();
        let _ = hold.await;
    });
    (url, done)
}

async fn read(answer: &[u8], limits: BodyLimits) -> Result<Vec<u8>, BodyError> {
    let (url, _hold) = peer(answer.to_vec()).await;
    let client = crate::http::peer_client_builder().build().unwrap();
    let response = client.get(url).send().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), read_capped(response, limits))
        .await
        .expect("the reader waited for bytes it did not need")
}

fn chunked(status: &str, chunks: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
    for chunk in chunks {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[tokio::test]
async fn tcp_declared_length_too_large_is_refused_before_reading() {
    // The peer declares a gigabyte and sends none of it.
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n";
    too_large(read(head, CUT).await, SUCCESS);
    let fault = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 65\r\n\r\n";
    too_large(read(fault, REFUSE).await, SUCCESS);
}

#[tokio::test]
async fn tcp_chunked_success_body_past_the_limit_is_refused() {
    // No length declared; the body passes the limit in its second chunk and never ends.
    let answer = chunked("200 OK", &[&[b'a'; 40], &[b'b'; 40]]);
    too_large(read(&answer, CUT).await, SUCCESS);
}

#[tokio::test]
async fn tcp_error_body_is_cut_without_reading_the_rest() {
    // A declared length far past what is sent: the reader stops at the cut.
    let mut answer =
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 1000000000\r\n\r\n".to_vec();
    answer.extend_from_slice(b"upload proxy is busy, try again later");
    assert_eq!(read(&answer, CUT).await.unwrap(), b"upload proxy is ");
}

#[tokio::test]
async fn tcp_fault_body_past_the_limit_is_refused() {
    let answer = chunked("500 Internal Server Error", &[&[b'<'; 60], &[b'>'; 10]]);
    too_large(read(&answer, REFUSE).await, SUCCESS);
    // Within the limit, a fault is read in full.
    let whole = chunked("500 Internal Server Error", &[b"<Fault/>", b""]);
    assert_eq!(read(&whole, REFUSE).await.unwrap(), b"<Fault/>");
}
