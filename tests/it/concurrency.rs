//! Writers racing each other (issue 15), on both backends. SQLite's single writer serialises
//! everything, so these stories matter most on PostgreSQL, which runs READ COMMITTED with many
//! writers at once: each one sends N requests at the same moment and checks that the database
//! ends up as if they had come one after another.

use crate::common;

use futures::future::join_all;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use common::{Resp, TestApp};

/// How many requests race in each story.
const RACERS: usize = 10;

/// Sends `RACERS` requests at once (each from its own task, so they run in parallel on the
/// runtime's threads and hold separate database connections).
async fn race(
    t: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    bodies: Vec<Value>,
) -> Vec<Resp> {
    let calls = bodies.into_iter().map(|body| {
        let router = t.router.clone();
        let request = common::request(token, method.clone(), path, Some(body), headers);
        tokio::spawn(async move { common::send(router, request).await })
    });
    join_all(calls)
        .await
        .into_iter()
        .map(|r| r.expect("request task"))
        .collect()
}

fn statuses(answers: &[Resp]) -> Vec<u16> {
    let mut s: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    s.sort();
    s
}

/// Exactly one of the racers wins; every other one is told its version is stale.
#[track_caller]
fn one_winner(answers: &[Resp], what: &str) {
    let won = answers.iter().filter(|r| r.status == StatusCode::OK).count();
    let stale = answers
        .iter()
        .filter(|r| r.status == StatusCode::PRECONDITION_FAILED)
        .count();
    assert_eq!((won, stale), (1, answers.len() - 1), "{what}: {:?}", statuses(answers));
}

fn numbered(n: usize, make: impl Fn(usize) -> Value) -> Vec<Value> {
    (0..n).map(make).collect()
}

async fn edits_with_one_if_match_have_exactly_one_winner(t: TestApp) {
    let admin = t.token.clone();
    let v1 = [("if-match", "\"v1\"")];

    let group = t.group("Raced group", &[]).await;
    let answers = race(
        &t,
        &admin,
        Method::PATCH,
        &format!("/api/v1/groups/{group}"),
        &v1,
        numbered(RACERS, |i| json!({ "description": format!("edit {i}") })),
    )
    .await;
    one_winner(&answers, "group");
    assert_eq!(t.get(&format!("/api/v1/groups/{group}")).await.etag(), "\"v2\"");

    let client = t.client("Raced client").await;
    let answers = race(
        &t,
        &admin,
        Method::PATCH,
        &format!("/api/v1/clients/{client}"),
        &v1,
        numbered(RACERS, |i| json!({ "notes": format!("edit {i}") })),
    )
    .await;
    one_winner(&answers, "client");

    let staff = t
        .post(
            "/api/v1/staff",
            json!({ "email": "raced@firm.example", "name": "Raced", "role": "staff" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let answers = race(
        &t,
        &admin,
        Method::PATCH,
        &format!("/api/v1/staff/{staff}"),
        &v1,
        numbered(RACERS, |i| json!({ "name": format!("Raced {i}") })),
    )
    .await;
    one_winner(&answers, "staff");

    let unit = t
        .post("/api/v1/business-units", json!({ "name": "Raced unit" }))
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let answers = race(
        &t,
        &admin,
        Method::PATCH,
        &format!("/api/v1/business-units/{unit}"),
        &v1,
        numbered(RACERS, |i| json!({ "name": format!("Raced unit {i}") })),
    )
    .await;
    one_winner(&answers, "business unit");

    // Member changes name the group's version too.
    let members = t.group("Raced members", &[]).await;
    let clients: Vec<i64> = join_all((0..RACERS).map(|i| t.client_named(format!("Member {i}")))).await;
    let answers = race(
        &t,
        &admin,
        Method::POST,
        &format!("/api/v1/groups/{members}/members"),
        &v1,
        numbered(RACERS, |i| json!({ "client_ids": [clients[i]] })),
    )
    .await;
    one_winner(&answers, "member change");
    let listed = t
        .get(&format!("/api/v1/groups/{members}/members"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "only the winner's member was added"
    );

    let saved = t
        .post(
            "/api/v1/saved-reports",
            json!({ "name": "Raced report", "params": { "by": "group" } }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let answers = race(
        &t,
        &admin,
        Method::PUT,
        &format!("/api/v1/saved-reports/{saved}"),
        &v1,
        numbered(
            RACERS,
            |i| json!({ "name": format!("Raced report {i}"), "params": { "by": "group" } }),
        ),
    )
    .await;
    one_winner(&answers, "saved report");

    let entry = t
        .post(
            "/api/v1/time-entries",
            json!({ "client_id": client, "date": "2026-11-02", "duration": "1:00" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let answers = race(
        &t,
        &admin,
        Method::PUT,
        &format!("/api/v1/time-entries/{entry}"),
        &v1,
        numbered(
            RACERS,
            |i| json!({ "client_id": client, "date": "2026-11-02", "duration": format!("1:{i:02}") }),
        ),
    )
    .await;
    one_winner(&answers, "time entry");
}

async fn concurrent_member_changes_on_one_group_never_deadlock(t: TestApp) {
    // Eight managers' worth of multi-item adds and removes over the same clients, in different
    // orders: on PostgreSQL these used to deadlock and answer 500 for some of them.
    let group = t.group("Busy group", &[]).await;
    let clients: Vec<i64> = join_all((0..12).map(|i| t.client_named(format!("Busy {i}")))).await;
    let bodies: Vec<Value> = (0..8)
        .map(|i| {
            let mut ids = clients.clone();
            ids.rotate_left(i * 3 % clients.len());
            if i % 2 == 1 {
                ids.reverse();
            }
            json!({ "client_ids": ids })
        })
        .collect();
    let (add, remove) = (
        format!("/api/v1/groups/{group}/members"),
        format!("/api/v1/groups/{group}/members/remove"),
    );
    let adds = race(&t, &t.token, Method::POST, &add, &[], bodies[..4].to_vec());
    let removes = race(&t, &t.token, Method::POST, &remove, &[], bodies[4..].to_vec());
    let (adds, removes) = tokio::join!(adds, removes);
    for answer in adds.iter().chain(&removes) {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    // The count kept with the group agrees with the memberships that are there.
    let listed = t
        .get(&format!("/api/v1/groups/{group}/members?limit=100"))
        .await
        .expect(StatusCode::OK);
    let detail = t.get(&format!("/api/v1/groups/{group}")).await.expect(StatusCode::OK);
    assert_eq!(
        detail.body["member_count"].as_u64().unwrap() as usize,
        listed.body["items"].as_array().unwrap().len()
    );
}

async fn exclusive_clients_moving_between_groups_in_opposite_orders_never_deadlock(t: TestApp) {
    t.policies(|p| p.membership_mode = clientele_domain::policy::MembershipMode::Exclusive)
        .await;
    let clients: Vec<i64> = join_all((0..6).map(|i| t.client_named(format!("Mover {i}")))).await;
    let groups: Vec<i64> = join_all((0..4).map(|i| t.group_named(format!("Desk {i}")))).await;
    // Each desk tries to take every client, half of them in the opposite order.
    let calls = groups.iter().enumerate().map(|(i, g)| {
        let mut ids = clients.clone();
        if i % 2 == 1 {
            ids.reverse();
        }
        let request = common::request(
            &t.token,
            Method::POST,
            &format!("/api/v1/groups/{g}/members"),
            Some(json!({ "client_ids": ids })),
            &[],
        );
        tokio::spawn(common::send(t.router.clone(), request))
    });
    let answers: Vec<Resp> = join_all(calls).await.into_iter().map(|r| r.unwrap()).collect();
    let mut placed = 0;
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        placed += answer.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["outcome"] == "added")
            .count();
    }
    assert_eq!(placed, clients.len(), "every client ended in exactly one desk");
    for client in clients {
        assert_eq!(t.groups_of(client).await.len(), 1);
    }
}

fn csv_upload(t: &TestApp, query: &str, key: &str, csv: &str) -> http::Request<axum::body::Body> {
    http::Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/csv/clients/import?{query}"))
        .header("authorization", format!("Bearer {}", t.token))
        .header("content-type", "text/csv")
        .header("idempotency-key", key)
        .body(axum::body::Body::from(csv.to_string()))
        .unwrap()
}

async fn client_names(t: &TestApp) -> Vec<String> {
    let listed = t.get("/api/v1/clients?limit=200").await.expect(StatusCode::OK);
    listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

async fn retries_racing_with_one_idempotency_key_create_once(t: TestApp) {
    let key = [("idempotency-key", "retry-storm-1")];
    let answers = race(
        &t,
        &t.token,
        Method::POST,
        "/api/v1/clients",
        &key,
        numbered(RACERS, |_| json!({ "name": "Stormy Ltd" })),
    )
    .await;
    assert_eq!(
        client_names(&t).await,
        ["Stormy Ltd"],
        "one client, whatever the racers were told"
    );
    let created: Vec<&Resp> = answers.iter().filter(|r| r.status == StatusCode::CREATED).collect();
    for answer in &answers {
        // A twin waits for the first answer and gets it again; one that cannot wait is told so.
        assert!(
            answer.status == StatusCode::CREATED || answer.code() == "idempotency_key_in_progress",
            "{} {}",
            answer.status,
            answer.body
        );
    }
    assert!(!created.is_empty());
    assert!(
        created.iter().all(|r| r.body["id"] == created[0].body["id"]),
        "every 201 names the same client"
    );
    let replayed = answers
        .iter()
        .filter(|r| r.headers.get("idempotent-replayed").is_some())
        .count();
    assert!(replayed >= created.len() - 1, "all but the first answer were replays");
}

async fn an_idempotency_key_covers_the_query_string_and_failed_requests_may_be_corrected(t: TestApp) {
    // A dry run and the real import are two requests: the key of one is not the answer of the other.
    let csv = "name\nQuery Co\n";
    let validated = t
        .send(csv_upload(&t, "mode=validate", "import-1", csv))
        .await
        .expect(StatusCode::OK);
    assert_eq!(validated.body["request"]["mode"], "validate", "{}", validated.body);
    let applied = t.send(csv_upload(&t, "mode=apply", "import-1", csv)).await;
    assert_eq!(
        applied.expect(StatusCode::UNPROCESSABLE_ENTITY).code(),
        "idempotency_key_reused"
    );
    assert!(
        client_names(&t).await.is_empty(),
        "the dry run's answer was not replayed as an import"
    );
    // The same upload again is the stored answer, not a second request.
    let again = t
        .send(csv_upload(&t, "mode=validate", "import-1", csv))
        .await
        .expect(StatusCode::OK);
    assert_eq!(again.body["request"]["id"], validated.body["request"]["id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");

    // A refusal committed nothing, so the same key may carry the corrected request.
    let key = [("idempotency-key", "fix-me")];
    t.call(Method::POST, "/api/v1/clients", Some(json!({ "name": "" })), &key)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    t.call(
        Method::POST,
        "/api/v1/clients",
        Some(json!({ "name": "Fixed Ltd" })),
        &key,
    )
    .await
    .expect(StatusCode::CREATED);
    assert_eq!(client_names(&t).await, ["Fixed Ltd"]);

    // A body over the route's limit is refused before it is held, key or not.
    let huge = json!({ "name": "x".repeat(3 * 1024 * 1024) });
    let r = t
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(huge),
            &[("idempotency-key", "huge")],
        )
        .await;
    assert_eq!(r.expect(StatusCode::PAYLOAD_TOO_LARGE).code(), "payload_too_large");
}

async fn a_request_whose_answer_was_lost_is_not_carried_out_again(t: TestApp) {
    // The server stopped after the write committed and before the answer was stored: the claim is
    // there without an answer. A retry must not create the client a second time.
    let admin = t.app.authenticate_token(&t.token).await.unwrap();
    let mut tx = t.app.db.begin().await.unwrap();
    let hour_ago = clientele_domain::now_millis() - 3_600_000;
    let mut hasher = clientele_app::idempotency::RequestHasher::new("POST", "/api/v1/clients");
    let body = json!({ "name": "Lost Answer Ltd" });
    hasher.update(body.to_string().as_bytes());
    clientele_store::idempotency::claim(
        &mut tx.conn(),
        admin.id,
        "lost-1",
        &hasher.finish(),
        "someone-else",
        hour_ago,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let r = t
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(body),
            &[("idempotency-key", "lost-1")],
        )
        .await;
    assert_eq!(r.expect(StatusCode::CONFLICT).code(), "idempotency_key_in_progress");
    assert!(client_names(&t).await.is_empty());
}

on_both_backends!(
    edits_with_one_if_match_have_exactly_one_winner,
    concurrent_member_changes_on_one_group_never_deadlock,
    exclusive_clients_moving_between_groups_in_opposite_orders_never_deadlock,
    retries_racing_with_one_idempotency_key_create_once,
    an_idempotency_key_covers_the_query_string_and_failed_requests_may_be_corrected,
    a_request_whose_answer_was_lost_is_not_carried_out_again,
);
