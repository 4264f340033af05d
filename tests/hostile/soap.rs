//! A hostile vim25 (vSphere SOAP) server against `forklift inventory`: faults and names that
//! carry terminal escapes, a continuation token that never runs out, an answer that never
//! ends, and plain http without the opt-in. The server is a scripted HTTP/1.1 loop over
//! `std::net`, speaking plain http (the binary runs with `--allow-plain-http`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::{Bounded, assert_terminal_safe, forklift, run_bounded};

/// Every run must end well within this, however the server behaves.
const TIME_LIMIT: Duration = Duration::from_secs(90);
/// Peak RSS allowed to the binary: a debug build idles at a few tens of MiB; the largest
/// answer it may buffer is 64 MiB, and with the element tree of an answer at the XML
/// reader's caps it peaks at about 250 MiB (docs/limits.md, "vSphere (SOAP)").
const RSS_LIMIT_MIB: u64 = 320;

/// Text that retitles the terminal, rings its bell and clears the screen, plus a C1 CSI.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m";

/// What the server answers to one SOAP call.
enum Reply {
    /// An HTTP status and a SOAP body (the inside of `<soapenv:Body>`).
    Soap(u16, String),
    /// A chunked body that never ends (stops when the client hangs up).
    Endless,
    /// A 200 answer to `method` whose `<returnval>` holds `chunk` `times` over, streamed
    /// with its Content-Length so that the server never holds the whole body.
    Repeated {
        method: String,
        chunk: String,
        times: usize,
    },
}

type Script = dyn Fn(&str, usize) -> Reply + Send + Sync;

/// A scripted vim25 endpoint on a loopback port.
struct HostileSoap {
    url: String,
    requests: Arc<AtomicUsize>,
}

impl HostileSoap {
    /// Serves `script(method, n)` for the n-th call (from 0) of each method not answered by
    /// [`standard`]; the session calls around it answer as a vCenter would.
    fn start(script: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/sdk", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let script: Arc<Script> = Arc::new(script);
        let counted = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (script, counted) = (script.clone(), counted.clone());
                std::thread::spawn(move || serve(stream, &*script, &counted));
            }
        });
        Self { url, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Answers requests on one keep-alive connection until the client hangs up.
fn serve(stream: TcpStream, script: &Script, counted: &AtomicUsize) {
    let Ok(read) = stream.try_clone() else { return };
    let mut reader = BufReader::new(read);
    let mut writer = stream;
    let _ = writer.set_nodelay(true);
    let calls: std::sync::Mutex<std::collections::HashMap<String, usize>> = Default::default();
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        counted.fetch_add(1, Ordering::SeqCst);
        let body = String::from_utf8_lossy(&body);
        let method = body
            .split("<soapenv:Body><")
            .nth(1)
            .and_then(|rest| rest.split([' ', '>']).next())
            .unwrap_or("")
            .to_owned();
        let n = {
            let mut calls = calls.lock().unwrap();
            let n = calls.entry(method.clone()).or_default();
            *n += 1;
            *n - 1
        };
        let reply = standard(&method).unwrap_or_else(|| script(&method, n));
        let written = match reply {
            Reply::Soap(status, inner) => {
                let payload = envelope(&inner);
                let head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: text/xml; charset=utf-8\r\n\
                     Content-Length: {}\r\nSet-Cookie: vmware_soap_session=\"s\"; Path=/\r\n\r\n",
                    payload.len()
                );
                // One write: a head and body in two segments would wait on delayed ACKs.
                writer.write_all((head + &payload).as_bytes())
            }
            Reply::Endless => endless(&mut writer),
            Reply::Repeated {
                method,
                chunk,
                times,
            } => repeated(&mut writer, &method, &chunk, times),
        };
        if written.is_err() {
            return;
        }
    }
}

/// Streams `<a>` elements in 1 MiB chunks until the client hangs up.
fn endless(writer: &mut TcpStream) -> std::io::Result<()> {
    writer.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n",
    )?;
    let chunk = "<a>".repeat(1 << 18);
    let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
    loop {
        writer.write_all(framed.as_bytes())?;
    }
}

/// Streams a 200 answer to `method` holding `chunk` `times` over.
fn repeated(
    writer: &mut TcpStream,
    method: &str,
    chunk: &str,
    times: usize,
) -> std::io::Result<()> {
    let whole = envelope(&format!(
        r#"<{method}Response xmlns="urn:vim25"><returnval>{{}}</returnval></{method}Response>"#
    ));
    let (before, after) = whole.split_once("{}").unwrap_or((&whole, ""));
    let length = before.len() + chunk.len() * times + after.len();
    writer.write_all(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {length}\r\n\r\n{before}"
        )
        .as_bytes(),
    )?;
    for _ in 0..times {
        writer.write_all(chunk.as_bytes())?;
    }
    writer.write_all(after.as_bytes())
}

fn envelope(inner: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" "#,
            r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
            "<soapenv:Body>{}</soapenv:Body></soapenv:Envelope>"
        ),
        inner
    )
}

fn response(method: &str, inner: &str) -> Reply {
    Reply::Soap(
        200,
        format!(r#"<{method}Response xmlns="urn:vim25">{inner}</{method}Response>"#),
    )
}

/// The session around the scripted calls, answered as a vCenter does.
fn standard(method: &str) -> Option<Reply> {
    Some(match method {
        "RetrieveServiceContent" => response(
            method,
            concat!(
                "<returnval>",
                r#"<rootFolder type="Folder">group-d1</rootFolder>"#,
                r#"<propertyCollector type="PropertyCollector">propertyCollector</propertyCollector>"#,
                r#"<viewManager type="ViewManager">ViewManager</viewManager>"#,
                "<about><fullName>hostile</fullName><apiType>VirtualCenter</apiType>",
                "<apiVersion>8.0.2.0</apiVersion><instanceUuid>u</instanceUuid></about>",
                r#"<sessionManager type="SessionManager">SessionManager</sessionManager>"#,
                "</returnval>"
            ),
        ),
        "CreateContainerView" => response(
            method,
            r#"<returnval type="ContainerView">session[1]view</returnval>"#,
        ),
        "DestroyView" | "Logout" => response(method, ""),
        _ => return None,
    })
}

/// A page of `RetrievePropertiesEx` with `objects` and an optional continuation token.
fn page(method: &str, token: Option<String>, objects: &str) -> Reply {
    let token = token
        .map(|t| format!("<token>{t}</token>"))
        .unwrap_or_default();
    response(method, &format!("<returnval>{token}{objects}</returnval>"))
}

fn login_ok(method: &str) -> Option<Reply> {
    (method == "Login").then(|| response(method, "<returnval><key>k</key></returnval>"))
}

/// Provider and Secret manifests for `url` in `dir`.
fn manifests(dir: &Path, url: &str) {
    let yaml = format!(
        r#"apiVersion: v1
kind: Secret
metadata: {{name: vc-secret, namespace: mtv}}
type: Opaque
stringData: {{user: administrator@vsphere.local, password: Hostile-Passw0rd}}
---
apiVersion: forklift.konveyor.io/v1beta1
kind: Provider
metadata: {{name: vc, namespace: mtv}}
spec:
  type: vsphere
  url: {url}
  secret: {{name: vc-secret, namespace: mtv}}
"#
    );
    std::fs::write(dir.join("provider.yaml"), yaml).unwrap();
}

/// `forklift inventory` against `server`, with plain http allowed when `plain_http`.
fn inventory(server: &HostileSoap, plain_http: bool) -> Bounded {
    let dir = tempfile::tempdir().unwrap();
    manifests(dir.path(), &server.url);
    let mut args = vec![
        "inventory",
        "-o",
        "json",
        "--manifests",
        ".",
        "--provider",
        "vc",
    ];
    if plain_http {
        args.push("--allow-plain-http");
    }
    let run = run_bounded(forklift(dir.path(), &args), TIME_LIMIT, RSS_LIMIT_MIB);
    assert_terminal_safe(&run.output());
    assert!(
        !run.output().contains("Hostile-Passw0rd"),
        "{}",
        run.output()
    );
    run
}

#[test]
fn a_fault_with_terminal_escapes_is_shown_escaped() {
    let server = HostileSoap::start(|method, _| {
        Reply::Soap(
            500,
            format!(
                "<soapenv:Fault><faultcode>ServerFaultCode</faultcode>\
                 <faultstring>Cannot complete login{HOSTILE}</faultstring><detail>\
                 <InvalidLoginFault xmlns=\"urn:vim25\" xsi:type=\"InvalidLogin{HOSTILE}\"/>\
                 </detail></soapenv:Fault>{method}"
            ),
        )
    });
    let run = inventory(&server, true);
    assert_eq!(run.code, Some(1), "{}", run.output());
    assert!(
        run.stderr.contains(
            "Login failed: InvalidLogin\\x1b]0;pwned\\x07\\x1b[2J\\u{009b}31m: \
             Cannot complete login\\x1b]0;pwned"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn names_with_terminal_escapes_reach_the_inventory_escaped_and_intact() {
    let name = format!("web{HOSTILE}\u{202e}gpj.exe\u{7f}");
    let objects = format!(
        r#"<objects><obj type="VirtualMachine">vm-1</obj><propSet><name>name</name><val xsi:type="xsd:string">{}</val></propSet></objects>"#,
        name.replace('\u{1b}', "&#27;").replace('\u{7}', "&#7;")
    );
    let server = HostileSoap::start(move |method, _| {
        login_ok(method).unwrap_or_else(|| page(method, None, &objects))
    });
    let run = inventory(&server, true);
    assert_eq!(run.code, Some(0), "{}", run.output());
    // The JSON on the terminal carries every control as an escape, and still says the name.
    let inventory: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    assert_eq!(inventory["vms"][0]["name"], name.as_str());
    assert!(
        run.stdout.contains(r"\u009b31m\u202egpj.exe\u007f"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_endless_continuation_token_is_refused_at_the_page_limit() {
    let server = HostileSoap::start(|method, n| {
        login_ok(method).unwrap_or_else(|| page(method, Some(format!("t{n}")), ""))
    });
    let run = inventory(&server, true);
    assert_eq!(run.code, Some(1), "{}", run.output());
    assert!(
        run.stderr
            .contains("Unexpected answer to RetrievePropertiesEx: more than 5000 result pages"),
        "{}",
        run.stderr
    );
    // The first page, 4999 continuations, then the refusal; plus the session calls.
    assert!(server.requests() < 5000 + 10, "{}", server.requests());
    eprintln!(
        "endless token: {:?}, {} MiB, {} requests",
        run.elapsed,
        run.peak_rss_mib,
        server.requests()
    );
}

#[test]
fn an_answer_that_never_ends_is_refused_at_the_size_limit() {
    let server = HostileSoap::start(|method, _| login_ok(method).unwrap_or(Reply::Endless));
    let run = inventory(&server, true);
    assert_eq!(run.code, Some(1), "{}", run.output());
    assert!(
        run.stderr
            .contains("more than 67108864 bytes in one answer"),
        "{}",
        run.stderr
    );
    eprintln!("endless body: {:?}, {} MiB", run.elapsed, run.peak_rss_mib);
}

#[test]
fn an_answer_of_countless_elements_is_refused_at_the_element_limit() {
    // 48 MiB of empty elements with attributes: under the byte limit, so the XML reader's
    // element and attribute caps are what bound the tree.
    let server = HostileSoap::start(|method, _| {
        login_ok(method).unwrap_or_else(|| Reply::Repeated {
            method: method.to_owned(),
            chunk: r#"<a xsi:type="x" b="y"/>"#.repeat(1 << 10),
            times: 2 << 10,
        })
    });
    let run = inventory(&server, true);
    assert_eq!(run.code, Some(1), "{}", run.output());
    assert!(
        run.stderr.contains(
            "Unexpected answer to RetrievePropertiesEx: XML holds more than 500000 elements"
        ),
        "{}",
        run.stderr
    );
    eprintln!(
        "countless elements: {:?}, {} MiB",
        run.elapsed, run.peak_rss_mib
    );
}

#[test]
fn plain_http_is_refused_before_the_password_is_sent() {
    let server = HostileSoap::start(|method, _| login_ok(method).unwrap_or(Reply::Endless));
    let run = inventory(&server, false);
    assert_eq!(run.code, Some(1), "{}", run.output());
    assert!(
        run.stderr.contains("spec.url") && run.stderr.contains("--allow-plain-http"),
        "{}",
        run.stderr
    );
    assert_eq!(server.requests(), 0, "nothing may be sent over plain http");
}
