//! A loopback HTTP server replaying recorded vim25 SOAP answers from `tests/data/vim25/`,
//! for what govmomi's simulator does not implement (QueryChangedDiskAreas).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// The running mock; requests are recorded in order.
pub struct MockVim25 {
    /// `http://127.0.0.1:PORT/sdk`.
    pub url: String,
    /// Request bodies received.
    pub requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockVim25 {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/vim25")
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// Picks the recorded answer for a request body: `(status, file)`.
fn answer(body: &str) -> (u16, String) {
    let method = between(body, "<soapenv:Body><", " ").unwrap_or("");
    let file = match method {
        "QueryChangedDiskAreas" => {
            let change_id = between(body, "<changeId>", "</changeId>").unwrap_or("");
            if change_id.starts_with("52 00") {
                "QueryChangedDiskAreas-fault.xml".to_owned()
            } else {
                let start = between(body, "<startOffset>", "</startOffset>").unwrap_or("0");
                format!("QueryChangedDiskAreas-{start}.xml")
            }
        }
        other => format!("{other}.xml"),
    };
    let status = if file.ends_with("-fault.xml") {
        500
    } else {
        200
    };
    (status, file)
}

impl MockVim25 {
    /// Starts serving on a random loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/sdk", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut reader = BufReader::new(read);
                    loop {
                        let mut length = 0usize;
                        let mut line = String::new();
                        let mut first = true;
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" && !first {
                                break;
                            }
                            first = false;
                            if let Some(v) =
                                line.to_ascii_lowercase().strip_prefix("content-length:")
                            {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0u8; length];
                        if reader.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        let body = String::from_utf8_lossy(&body).into_owned();
                        let (status, file) = answer(&body);
                        recorded.lock().unwrap().push(body);
                        let (status, payload) = match std::fs::read(data_dir().join(&file)) {
                            Ok(payload) => (status, payload),
                            Err(_) => (404, format!("no recording {file}").into_bytes()),
                        };
                        let head = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {}\r\nSet-Cookie: vmware_soap_session=\"mock-session\"; Path=/; HttpOnly\r\n\r\n",
                            payload.len()
                        );
                        if write.write_all(head.as_bytes()).await.is_err()
                            || write.write_all(&payload).await.is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            url,
            requests,
            task,
        }
    }
}
