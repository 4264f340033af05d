//! oVirt engines that misbehave at the HTTP level, scripted over raw TCP: a redirect to
//! another host is never followed (the SSO form carries the password), and an answer
//! trickled a byte at a time ends at `OvirtConfig::exchange_timeout` (docs/limits.md,
//! "oVirt engine").

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::raw_http::{Elsewhere, redirect, serve};
use forklift_core::credentials::SecretString;
use forklift_providers::ovirt::{OvirtConfig, OvirtProvider};

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
    let elsewhere = Elsewhere::start();
    let location = elsewhere.url.clone();
    let engine = serve(move |_, stream| redirect(stream, &location));
    let err = OvirtProvider::connect_with(config(engine))
        .await
        .unwrap_err();
    let text = forklift_core::error::chain(&err);
    assert!(text.contains("307"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    elsewhere.assert_untouched();
}

#[tokio::test]
async fn an_answer_trickled_a_byte_at_a_time_ends_at_the_exchange_timeout() {
    let addr = serve(|_, stream| {
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
