//! Several stateless `serve` processes on one PostgreSQL database (issue 3's freshness, issue
//! 15's races): a write on one node is visible on another to a read that demands the write's
//! sequence number, and to every read shortly after; versioned writes racing across nodes have
//! one winner.

use crate::common;

use std::time::{Duration, Instant};

use common::TestDb;
use common::node::Node;
use serde_json::{Value, json};

/// (status, Clientele-Seq, body), the shape these stories read best in.
fn call(
    node: &Node,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
    headers: &[(&str, String)],
) -> (u16, i64, Value) {
    let answer = node.call(method, path, token, body.as_ref(), headers);
    (answer.status, answer.seq(), answer.body)
}

#[tokio::test]
async fn two_servers_on_one_postgresql_database_see_each_others_writes() {
    let db = TestDb::postgres().await;
    let url = db.url().to_string();
    tokio::task::spawn_blocking(move || {
        let a = Node::start(&url);
        let b = Node::start(&url);
        let admin = a.admin_token();
        assert!(!b.printed.contains("clt_"), "node B found the database already set up");

        // A staff member, a group with a client, all written through node A.
        let (status, _, staff) = call(
            &a,
            "POST",
            "/api/v1/staff",
            &admin,
            Some(json!({ "email": "eve@firm.example", "name": "Eve", "role": "staff" })),
            &[],
        );
        assert_eq!(status, 201);
        let eve = staff["id"].as_i64().unwrap();
        let (_, _, client) = call(
            &a,
            "POST",
            "/api/v1/clients",
            &admin,
            Some(json!({ "name": "Shared Client" })),
            &[],
        );
        let client = client["id"].as_i64().unwrap();
        let (_, _, units) = call(&a, "GET", "/api/v1/business-units", &admin, None, &[]);
        let unit = units["items"][0]["id"].as_i64().unwrap();
        let (status, _, group) = call(
            &a,
            "POST",
            "/api/v1/groups",
            &admin,
            Some(json!({ "name": "Shared", "kind": "clients", "business_unit_id": unit, "client_ids": [client] })),
            &[],
        );
        assert_eq!(status, 201);
        let group = group["id"].as_i64().unwrap();

        // The assignment is written on A; B answers the very next request that names its sequence.
        let (status, seq, _) = call(
            &a,
            "PUT",
            &format!("/api/v1/groups/{group}/staff/{eve}"),
            &admin,
            Some(json!({ "role": "reader" })),
            &[],
        );
        assert_eq!(status, 200);
        assert!(seq > 0);
        let check = format!("/api/v1/access/check?staff={eve}&client={client}");
        let (status, b_seq, answer) = call(
            &b,
            "GET",
            &check,
            &admin,
            None,
            &[("Clientele-Min-Seq", seq.to_string())],
        );
        assert_eq!(status, 200, "{answer}");
        assert!(b_seq >= seq);
        assert_eq!(answer["allowed"], true);
        assert_eq!(answer["role"], "reader");

        // Without naming the sequence, B still converges within moments (it follows the log).
        let (_, seq, _) = call(
            &a,
            "DELETE",
            &format!("/api/v1/groups/{group}/staff/{eve}"),
            &admin,
            None,
            &[],
        );
        let started = Instant::now();
        loop {
            let (_, b_seq, answer) = call(&b, "GET", &check, &admin, None, &[]);
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

#[tokio::test]
async fn versioned_writes_racing_over_three_nodes_have_one_winner() {
    let db = TestDb::postgres().await;
    let url = db.url().to_string();
    tokio::task::spawn_blocking(move || {
        let nodes = [Node::start(&url), Node::start(&url), Node::start(&url)];
        let admin = nodes[0].admin_token();
        let (_, _, units) = call(&nodes[0], "GET", "/api/v1/business-units", &admin, None, &[]);
        let unit = units["items"][0]["id"].as_i64().unwrap();
        let (status, seq, group) = call(
            &nodes[0],
            "POST",
            "/api/v1/groups",
            &admin,
            Some(json!({ "name": "Contested", "kind": "clients", "business_unit_id": unit })),
            &[],
        );
        assert_eq!(status, 201);
        let group = group["id"].as_i64().unwrap();
        // Forty editors who all read version 1, spread over the three nodes, save at once.
        let statuses: Vec<u16> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..40)
                .map(|i| {
                    let (node, admin) = (&nodes[i % 3], &admin);
                    scope.spawn(move || {
                        let headers = [
                            ("If-Match", "\"v1\"".to_string()),
                            ("Clientele-Min-Seq", seq.to_string()),
                        ];
                        let path = format!("/api/v1/groups/{group}");
                        call(
                            node,
                            "PATCH",
                            &path,
                            admin,
                            Some(json!({ "description": format!("edit {i}") })),
                            &headers,
                        )
                        .0
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let won = statuses.iter().filter(|&&s| s == 200).count();
        let stale = statuses.iter().filter(|&&s| s == 412).count();
        assert_eq!((won, stale), (1, 39), "{statuses:?}");
        let (_, _, after) = call(&nodes[1], "GET", &format!("/api/v1/groups/{group}"), &admin, None, &[]);
        assert_eq!(after["version"], 2);
    })
    .await
    .unwrap();
}
