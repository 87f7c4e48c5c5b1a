//! The binary as an operator uses it: first start, tokens, backups, shutdown, bad URLs.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_clientele");

fn clientele(url: &str, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env_remove("CLIENTELE_CONFIG")
        .output()
        .expect("run clientele")
}

fn http_get(address: &str, path: &str, token: Option<&str>) -> String {
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn an_unknown_database_scheme_is_an_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["--database-url", "sqlit://typo.db", "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown database URL scheme \"sqlit:\""), "{stderr}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file may be created"
    );
}

#[test]
fn serve_sets_up_an_empty_database_prints_how_to_sign_in_backs_up_online_and_stops_on_sigterm() {
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("firm.db").display());
    let mut server = Command::new(BIN)
        .args([
            "--database-url",
            &url,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-email",
            "owner@firm.example",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let started = Instant::now();
    let address = loop {
        let line = lines.next().expect("serve printed its URL").unwrap();
        printed.push(line.clone());
        if let Some(rest) = line.strip_prefix("Clientele is listening on http://") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "serve did not start");
    };
    let text = printed.join("\n");
    assert!(text.contains("owner@firm.example"), "{text}");
    assert!(text.contains("admin password:"), "{text}");
    let token = text
        .split_whitespace()
        .find(|w| w.starts_with("clt_"))
        .expect("a token is printed")
        .to_string();

    assert!(http_get(&address, "/healthz", None).starts_with("HTTP/1.1 200"));
    let groups = http_get(&address, "/api/v1/groups", Some(&token));
    assert!(groups.starts_with("HTTP/1.1 200"), "{groups}");

    // A second token from the CLI: one line, nothing else.
    let out = clientele(&url, &["token", "create", "--email", "owner@firm.example"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    assert!(stdout.starts_with("clt_") && stdout.ends_with('\n'));
    assert!(http_get(&address, "/api/v1/organization", Some(stdout.trim())).starts_with("HTTP/1.1 200"));

    // An online backup is a working database with the same organisation.
    let copy = db.path().join("copy.db");
    let out = clientele(&url, &["backup", copy.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = clientele(&url, &["backup", copy.to_str().unwrap()]);
    assert!(!again.status.success(), "an existing file is never overwritten");
    let copy_url = format!("sqlite://{}", copy.display());
    let out = clientele(&copy_url, &["token", "create", "--email", "owner@firm.example"]);
    assert!(
        out.status.success(),
        "the backup holds the admin: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A second start does not set up again.
    Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    let status = server.wait().unwrap();
    assert!(status.success(), "serve exits cleanly on SIGTERM: {status}");
    let out = clientele(
        &url,
        &[
            "admin",
            "create",
            "--email",
            "second@firm.example",
            "--name",
            "Second Admin",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("created admin second@firm.example"));
}

#[tokio::test]
async fn the_same_binary_migrates_and_fills_a_postgresql_database() {
    let db = TestDb::postgres_unmigrated().await;
    let url = db.url().to_string();
    let out = tokio::task::spawn_blocking(move || clientele(&url, &["demo", "--clients", "40"]))
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("40 clients"));
    let pool = clientele_store::Db::connect(db.url()).await.unwrap();
    let clientele_store::Db::Postgres(pg) = &pool else {
        unreachable!()
    };
    let memberships: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM group_children")
        .fetch_one(pg)
        .await
        .unwrap();
    assert_eq!(
        memberships, 24,
        "every segment group is nested in its office's group of groups"
    );
    pool.close().await;
}

#[test]
fn export_then_import_round_trips_and_a_bad_row_fails_the_import_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("firm.db").display());
    let demo = clientele(&url, &["demo", "--clients", "30"]);
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));

    let file = dir.path().join("clients.csv");
    let out = clientele(&url, &["export", "clients", "--output", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let exported = std::fs::read_to_string(&file).unwrap();
    assert_eq!(exported.lines().count(), 31, "{exported}");

    let out = clientele(&url, &["import", "clients", file.to_str().unwrap(), "--mode", "apply"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("completed: 30 unchanged (applied)"), "{stdout}");

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "name,status\nGood Client,active\nBad Client,paused\n").unwrap();
    let out = clientele(&url, &["import", "clients", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("1 created, 1 rejected (dry run, nothing changed)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("line 3: status: must be active, inactive or closed"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn the_database_and_its_backups_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("private.db");
    let url = format!("sqlite://{}", file.display());
    assert!(clientele(&url, &["migrate"]).status.success());
    let backup = dir.path().join("copy.db");
    let out = clientele(&url, &["backup", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for path in [file.clone(), backup, dir.path().join("private.db-wal")] {
        if path.exists() {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is {mode:o}", path.display());
        }
    }
}

#[test]
fn settings_read_the_same_from_flags_environment_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("settings.db").display());
    // Booleans as people write them in the environment.
    for value in ["1", "true", "0", "false"] {
        let out = Command::new(BIN)
            .args(["--database-url", &url, "migrate"])
            .env("CLIENTELE_LOG_JSON", value)
            .env_remove("CLIENTELE_CONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "CLIENTELE_LOG_JSON={value}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A log filter that cannot be read is an error, not a silent `info`.
    let out = clientele(&url, &["--log", "clientele=[[", "migrate"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("log filter"));
    // The file takes every setting the flags take, and names a wrong one.
    let config = dir.path().join("clientele.toml");
    std::fs::write(
        &config,
        format!("database_url = \"{url}\"\ncsv_max_mb = 16\nlog_json = true\n"),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--config", config.to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(&config, "listen_on = \"127.0.0.1:1\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["--config", config.to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`listen_on` is not a setting"));
}

#[test]
fn database_passwords_never_reach_the_terminal() {
    for url in [
        "postgres://app:hunter2secret@127.0.0.1:1/clientele",
        "postgres://127.0.0.1:1/clientele?user=app&password=hunter2secret",
    ] {
        let out = clientele(url, &["migrate"]);
        assert!(!out.status.success());
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!printed.contains("hunter2secret"), "{printed}");
        assert!(printed.contains("***"), "{printed}");
    }
}

#[test]
fn slow_clients_are_cut_off_and_the_server_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("slow.db").display());
    let node = common::node::Node::start_with(&url, &["--header-timeout-secs", "1"]);
    // Three hundred connections that send half a request and then nothing.
    let mut slow: Vec<std::net::TcpStream> = (0..300)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&node.address).unwrap();
            s.write_all(b"GET /api/v1/groups HTTP/1.1\r\nHost: x\r\nX-Half: ")
                .unwrap();
            s
        })
        .collect();
    let started = Instant::now();
    let health = node.call("GET", "/healthz", "", None, &[]);
    assert_eq!(health.status, 200);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "healthz took {:?}",
        started.elapsed()
    );
    // After the header timeout the server has closed every one of them.
    std::thread::sleep(Duration::from_millis(2500));
    for s in &mut slow {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).unwrap_or(0);
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(n == 0 || answer.starts_with("HTTP/1.1 408"), "still open: {answer}");
    }
}
