//! Several stateless `serve` processes on one PostgreSQL database (issue 3's freshness): a write
//! on one node is visible on another to a read that demands the write's sequence number, and to
//! every read shortly after.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestDb;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_clientele");

/// A `serve` process, stopped when dropped.
struct Node {
    child: Child,
    address: String,
    printed: String,
}

impl Node {
    fn start(url: &str) -> Node {
        let child = Command::new(BIN)
            .args(["--database-url", url, "serve", "--listen", "127.0.0.1:0"])
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

    /// Sends one request; returns (status, clientele-seq header, JSON body).
    fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> (u16, i64, Value) {
        let mut stream = std::net::TcpStream::connect(&self.address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut extra = String::new();
        for (k, v) in headers {
            extra.push_str(&format!("{k}: {v}\r\n"));
        }
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
            self.address,
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        let status = head[9..12].parse().unwrap();
        let seq = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("clientele-seq: ")
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or(-1);
        (status, seq, serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn two_servers_on_one_postgresql_database_see_each_others_writes() {
    let db = TestDb::postgres().await;
    let url = db.url().to_string();
    tokio::task::spawn_blocking(move || {
        let a = Node::start(&url);
        let b = Node::start(&url);
        let admin = a
            .printed
            .split_whitespace()
            .find(|w| w.starts_with("clt_"))
            .expect("node A set up the database")
            .to_string();
        assert!(!b.printed.contains("clt_"), "node B found the database already set up");

        // A staff member, a group with a client, all written through node A.
        let (status, _, staff) = a.call(
            "POST",
            "/api/v1/staff",
            &admin,
            Some(json!({ "email": "eve@firm.example", "name": "Eve", "role": "staff" })),
            &[],
        );
        assert_eq!(status, 201);
        let eve = staff["id"].as_i64().unwrap();
        let (_, _, client) = a.call(
            "POST",
            "/api/v1/clients",
            &admin,
            Some(json!({ "name": "Shared Client" })),
            &[],
        );
        let client = client["id"].as_i64().unwrap();
        let (_, _, units) = a.call("GET", "/api/v1/business-units", &admin, None, &[]);
        let unit = units["items"][0]["id"].as_i64().unwrap();
        let (status, _, group) = a.call(
            "POST",
            "/api/v1/groups",
            &admin,
            Some(json!({ "name": "Shared", "kind": "clients", "business_unit_id": unit, "client_ids": [client] })),
            &[],
        );
        assert_eq!(status, 201);
        let group = group["id"].as_i64().unwrap();

        // The assignment is written on A; B answers the very next request that names its sequence.
        let (status, seq, _) = a.call(
            "PUT",
            &format!("/api/v1/groups/{group}/staff/{eve}"),
            &admin,
            Some(json!({ "role": "reader" })),
            &[],
        );
        assert_eq!(status, 200);
        assert!(seq > 0);
        let check = format!("/api/v1/access/check?staff={eve}&client={client}");
        let (status, b_seq, answer) = b.call("GET", &check, &admin, None, &[("Clientele-Min-Seq", seq.to_string())]);
        assert_eq!(status, 200, "{answer}");
        assert!(b_seq >= seq);
        assert_eq!(answer["allowed"], true);
        assert_eq!(answer["role"], "reader");

        // Without naming the sequence, B still converges within moments (it follows the log).
        let (_, seq, _) = a.call(
            "DELETE",
            &format!("/api/v1/groups/{group}/staff/{eve}"),
            &admin,
            None,
            &[],
        );
        let started = Instant::now();
        loop {
            let (_, b_seq, answer) = b.call("GET", &check, &admin, None, &[]);
            if answer["allowed"] == false {
                assert!(b_seq >= seq);
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "node B never saw the unassignment"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
}
