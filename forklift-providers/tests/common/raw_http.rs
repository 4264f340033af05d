//! Peers scripted over raw TCP, for what no real server of the contract does: redirect a
//! login to another host, trickle an answer. Each connection is served on a thread of its
//! own with a whole request read first.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Reads one request (head, then `Content-Length` bytes of body) and returns it as text;
/// whatever arrived when the client stops sending or 2 s pass.
pub fn read_request(stream: &mut TcpStream) -> String {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut request = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let text = String::from_utf8_lossy(&request);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                break;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&request).into_owned()
}

/// Serves every connection of a new loopback listener: `answer` gets the request read by
/// [`read_request`] and writes the reply. Returns the listener's address.
pub fn serve(answer: impl Fn(&str, &mut TcpStream) + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let request = read_request(&mut stream);
                answer(&request, &mut stream);
            });
        }
    });
    addr
}

/// A 307 to `location` with no body, closing the connection.
pub fn redirect(stream: &mut TcpStream, location: &str) {
    let answer = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let _ = stream.write_all(answer.as_bytes());
}

/// The other host a redirect points to: it records every request it gets, so a test can
/// check none arrived (and what would have leaked).
pub struct Elsewhere {
    /// `http://127.0.0.1:PORT/steal`.
    pub url: String,
    received: Arc<Mutex<Vec<String>>>,
}

impl Elsewhere {
    /// Starts listening.
    pub fn start() -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let record = received.clone();
        let addr = serve(move |request, _| record.lock().unwrap().push(request.to_owned()));
        Self {
            url: format!("http://{addr}/steal"),
            received,
        }
    }

    /// Fails the test if any request arrived, quoting them.
    pub fn assert_untouched(&self) {
        // Give a follower time to connect, had it followed.
        std::thread::sleep(Duration::from_millis(100));
        let received = self.received.lock().unwrap();
        assert!(
            received.is_empty(),
            "the redirect was followed: {received:?}"
        );
    }
}
