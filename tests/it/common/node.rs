//! `serve` processes started by a test (several nodes on one PostgreSQL database, shutdowns,
//! frozen processes), talked to over plain HTTP/1.1 on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_clientele");

/// A `serve` process, killed when dropped.
pub struct Node {
    pub child: Child,
    pub address: String,
    /// What it printed up to "listening" (the first node prints the admin's token).
    pub printed: String,
}

/// One HTTP answer: status, headers (lower-case names) and JSON body (Null when not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn seq(&self) -> i64 {
        self.header("clientele-seq").and_then(|v| v.parse().ok()).unwrap_or(-1)
    }
}

impl Node {
    pub fn start(url: &str) -> Node {
        Node::start_with(url, &[])
    }

    pub fn start_with(url: &str, extra: &[&str]) -> Node {
        let mut args = vec!["--database-url", url, "serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let child = Command::new(BIN)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Owned by a Node from here on, so it is stopped even if start-up fails.
        let mut node = Node {
            child,
            address: String::new(),
            printed: String::new(),
        };
        let mut lines = BufReader::new(node.child.stdout.take().unwrap()).lines();
        let started = Instant::now();
        loop {
            let line = lines.next().expect("serve printed its URL").unwrap();
            node.printed.push_str(&line);
            node.printed.push('\n');
            if let Some(rest) = line.strip_prefix("Clientele is listening on http://") {
                node.address = rest.split_whitespace().next().unwrap().to_string();
                return node;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "serve did not start");
        }
    }

    /// The admin token the first node printed when it set the database up.
    pub fn admin_token(&self) -> String {
        self.printed
            .split_whitespace()
            .find(|w| w.starts_with("clt_"))
            .expect("this node set up the database")
            .to_string()
    }

    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Sends a signal (`TERM`, `STOP`, `CONT`, ...).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.pid()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < within, "serve did not exit within {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends one request on a new connection (closed after it).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> Answer {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(40))).unwrap();
        write_request(&mut stream, &self.address, method, path, token, body, headers, true);
        read_answer(&mut stream).expect("an answer")
    }

    /// A connection kept open for several requests.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(&self.address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(40))).unwrap();
        stream
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.pid()]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes one request; `close` asks the server to close the connection after answering.
#[allow(clippy::too_many_arguments)]
pub fn write_request(
    stream: &mut TcpStream,
    host: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
    headers: &[(&str, String)],
    close: bool,
) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut extra = String::new();
    for (k, v) in headers {
        extra.push_str(&format!("{k}: {v}\r\n"));
    }
    if !token.is_empty() {
        extra.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let connection = if close { "close" } else { "keep-alive" };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: {connection}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
}

/// Reads one answer (headers, then a body of Content-Length bytes); `None` when the server
/// closed the connection without answering.
pub fn read_answer(stream: &mut TcpStream) -> Option<Answer> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) | Err(_) => return None,
            Ok(_) => head.push(byte[0]),
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let status = head.get(9..12)?.parse().ok()?;
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    let text = String::from_utf8_lossy(&body).to_string();
    Some(Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    })
}
