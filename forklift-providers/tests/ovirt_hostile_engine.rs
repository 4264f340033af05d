//! oVirt engines that misbehave at the HTTP level, scripted over raw TCP: a redirect to
//! another host is never followed (the SSO form carries the password), and an answer
//! trickled a byte at a time ends at `OvirtConfig::exchange_timeout` (docs/limits.md,
//! "oVirt engine").

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use forklift_core::credentials::SecretString;
use forklift_providers::ovirt::{OvirtConfig, OvirtProvider};

/// Serves every connection of `listener` with `answer` on a thread of its own.
fn serve(listener: TcpListener, answer: fn(&mut TcpStream)) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                // Read the request head (and a small form body) before answering.
                let mut buf = [0u8; 8192];
                let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                let _ = stream.read(&mut buf);
                answer(&mut stream);
            });
        }
    });
}

fn config(addr: std::net::SocketAddr) -> OvirtConfig {
    OvirtConfig::new(
        "hostile",
        &format!("http://{addr}/ovirt-engine/api"),
        "admin@internal",
        SecretString::new("hunter2"),
    )
    .unwrap()
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    // The other host counts the connections it gets: none may arrive.
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    let elsewhere_addr = elsewhere.local_addr().unwrap();
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    std::thread::spawn(move || {
        for stream in elsewhere.incoming() {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    let engine = TcpListener::bind("127.0.0.1:0").unwrap();
    let engine_addr = engine.local_addr().unwrap();
    static LOCATION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LOCATION.get_or_init(|| format!("http://{elsewhere_addr}/steal"));
    serve(engine, |stream| {
        let answer = format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            LOCATION.get().unwrap()
        );
        let _ = stream.write_all(answer.as_bytes());
    });
    let err = OvirtProvider::connect_with(config(engine_addr))
        .await
        .unwrap_err();
    let text = forklift_core::error::chain(&err);
    assert!(text.contains("307"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    // Give a follower time to connect, had it followed.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
}

#[tokio::test]
async fn an_answer_trickled_a_byte_at_a_time_ends_at_the_exchange_timeout() {
    let engine = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = engine.local_addr().unwrap();
    serve(engine, |stream| {
        let head =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        // One byte every 100 ms: each read is quick, the whole answer would take hours.
        for _ in 0..100_000 {
            std::thread::sleep(Duration::from_millis(100));
            if stream.write_all(b" ").is_err() {
                return;
            }
        }
    });
    let mut config = config(addr);
    config.exchange_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let err = OvirtProvider::connect_with(config).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}: {err}");
    let text = forklift_core::error::chain(&err);
    assert!(text.contains("SSO login"), "{text}");
}
