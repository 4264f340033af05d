//! A vim25 endpoint that accepts the connection and never answers: every exchange ends at
//! `VsphereConfig::request_timeout` (docs/limits.md, "vSphere (SOAP)").

use std::time::{Duration, Instant};

use forklift_providers::Error;
use forklift_providers::vsphere::{VsphereConfig, VsphereProvider};

#[tokio::test]
async fn a_server_that_never_answers_is_given_up_at_the_request_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/sdk", listener.local_addr().unwrap());
    // Accept and hold every connection without a byte in reply.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let mut config = VsphereConfig::new_plain_http(&url, "user", "pass".into()).unwrap();
    config.request_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let err = VsphereProvider::connect_with(config).await.unwrap_err();
    assert!(matches!(err, Error::Http { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
