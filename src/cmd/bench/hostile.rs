//! `bench hostile`: what hostile traffic costs a real `serve` process (issue 16). Three loads
//! against a child process on the data set, each sent from this process over loopback:
//!
//! - a sign-in flood without an account: 600 wrong sign-ins with random e-mails, 150 at a time,
//!   while a real staff member signs in from another address (127.0.0.2): the server's peak
//!   memory, and how long the real sign-in took;
//! - one staff token sending a 1 GiB `POST` with an `Idempotency-Key`: the answer and the server's
//!   peak memory after it;
//! - 10,000 connections that each send half a request and then nothing: `/healthz` latency while
//!   they are open, against the same requests with no such connections (the baseline).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clientele_app::App;
use clientele_domain::staff::StaffRole;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::data::Dataset;
use super::stats::{Report, Samples};

const REAL_EMAIL: &str = "hostile-bench@bench.example";
const REAL_PASSWORD: &str = "a long and real bench password";

/// The `serve` under test, killed when dropped.
struct Served {
    child: Child,
    address: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn start(url: &str) -> anyhow::Result<Served> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["--database-url", url, "serve", "--listen", "127.0.0.1:0", "--no-worker"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let mut served = Served {
            child,
            address: String::new(),
        };
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            if let Some(rest) = line.strip_prefix("Clientele is listening on http://") {
                served.address = rest.split_whitespace().next().unwrap_or_default().to_string();
                return Ok(served);
            }
        }
        anyhow::bail!("serve did not start")
    }

    /// The process's peak and current resident memory, in MB (Linux).
    fn memory_mb(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(0.0, |kb| (kb / 1024.0 * 10.0).round() / 10.0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }
}

/// Sends one request from `from` (a loopback address of its own) and returns the status.
async fn request(address: &str, from: Option<&str>, head: &str, body: &[u8]) -> anyhow::Result<u16> {
    let target: SocketAddr = address.parse()?;
    let mut stream = match from {
        Some(local) => {
            let socket = TcpSocket::new_v4()?;
            socket.bind(format!("{local}:0").parse()?)?;
            socket.connect(target).await?
        }
        None => TcpStream::connect(target).await?,
    };
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    Ok(String::from_utf8_lossy(answer.get(9..12).unwrap_or_default()).parse()?)
}

fn login(address: &str, email: &str, password: &str) -> (String, Vec<u8>) {
    let body =
        serde_urlencoded::to_string([("email", email), ("password", password), ("next", "/")]).unwrap_or_default();
    let head = format!(
        "POST /login HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    (head, body.into_bytes())
}

async fn healthz_latencies(address: &str, n: usize) -> Samples {
    let mut samples = Samples::default();
    let head = format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    for _ in 0..n {
        let started = Instant::now();
        if matches!(request(address, None, &head, b"").await, Ok(200)) {
            samples.push(started);
        }
    }
    samples
}

pub async fn hostile(app: &App, ds: &Dataset, url: &str) -> anyhow::Result<Report> {
    let backend = if url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    let mut rep = Report::new("hostile", ds.size.name, backend);
    if app.cli_admin(Some(REAL_EMAIL)).await.is_err() {
        app.create_staff_cli(REAL_EMAIL, "Hostile Bench", StaffRole::Admin, Some(REAL_PASSWORD))
            .await?;
    }
    let token = app.create_token(REAL_EMAIL, "bench hostile").await?;
    let served = Served::start(url)?;
    let address = served.address.clone();
    let _ = healthz_latencies(&address, 5).await;
    rep.note("serve_rss_at_start_mb", served.memory_mb().1);

    // 1. The sign-in flood, and a real sign-in from another address while it runs.
    let flood = {
        let address = address.clone();
        tokio::spawn(async move {
            let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
            let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(150));
            let mut tasks = Vec::new();
            for i in 0..600u32 {
                let (address, gate) = (address.clone(), gate.clone());
                tasks.push(tokio::spawn(async move {
                    let _turn = gate.acquire_owned().await;
                    let (head, body) = login(
                        &address,
                        &format!("nobody{i}-{}@flood.example", rand::random::<u32>()),
                        "wrong",
                    );
                    request(&address, None, &head, &body).await.unwrap_or(0)
                }));
            }
            for t in tasks {
                *statuses.entry(t.await.unwrap_or(0)).or_default() += 1;
            }
            statuses
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (head, body) = login(&address, REAL_EMAIL, REAL_PASSWORD);
    let started = Instant::now();
    let real = request(&address, Some("127.0.0.2"), &head, &body).await.unwrap_or(0);
    let real_ms = started.elapsed().as_secs_f64() * 1000.0;
    let statuses = flood.await?;
    rep.note("flood_answers", serde_json::to_value(&statuses)?);
    rep.note("real_sign_in_status", real);
    rep.note("real_sign_in_ms", (real_ms * 10.0).round() / 10.0);
    rep.note("serve_peak_rss_after_sign_in_flood_mb", served.memory_mb().0);

    // 2. A 1 GiB body with an Idempotency-Key, from a staff token.
    let head = format!(
        "POST /api/v1/clients HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nIdempotency-Key: big-one\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        1u64 << 30
    );
    let status = {
        let mut stream = TcpStream::connect(&address).await?;
        stream.write_all(head.as_bytes()).await?;
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..1024 {
            if stream.write_all(&chunk).await.is_err() {
                break; // the server answered and closed: what it was meant to do
            }
        }
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(answer.get(9..12).unwrap_or_default()).to_string()
    };
    rep.note("gib_post_status", status);
    rep.note("serve_peak_rss_after_gib_post_mb", served.memory_mb().0);

    // 3. /healthz with and without 10,000 slow connections open.
    let idle = healthz_latencies(&address, 200).await;
    let mut slow = Vec::with_capacity(10_000);
    let opened = Instant::now();
    for _ in 0..10_000 {
        match TcpStream::connect(&address).await {
            Ok(mut s) => {
                let _ = s.write_all(b"GET /api/v1/groups HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
                slow.push(s);
            }
            Err(_) => break,
        }
    }
    rep.note("slow_connections_open", slow.len());
    rep.note(
        "slow_connections_opened_in_s",
        (opened.elapsed().as_secs_f64() * 10.0).round() / 10.0,
    );
    let loaded = healthz_latencies(&address, 200).await;
    rep.note(
        "healthz_max_ms_with_slow_connections",
        (loaded.percentile(100.0) / 100.0).round() / 10.0,
    );
    rep.note("serve_rss_with_slow_connections_mb", served.memory_mb().1);
    drop(slow);
    rep.ours(&loaded, 0.0);
    rep.baseline("/healthz with no slow connections", &idle, 0.0);
    Ok(rep.finish())
}
