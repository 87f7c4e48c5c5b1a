//! Trust between staff (issue 17): rights flow only from the people allowed to grant them. The
//! four escalations that a sequence of allowed requests used to allow are stories of their own;
//! then random sequences of requests by random non-admin staff check the rule itself, on both
//! backends: no request of a non-admin gives anyone a role on a client or group higher than the
//! actor already held there.

use crate::common;

use http::{Method, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use clientele_access::AccessRole;
use clientele_domain::staff::StaffRole;
use clientele_domain::{ClientId, GroupId, StaffId, now_millis};
use common::TestApp;

/// A staff member: their id and API token.
struct Person {
    id: i64,
    token: String,
}

async fn person(t: &TestApp, email: &str) -> Person {
    let token = t.staff_token(email, StaffRole::Staff).await;
    let listed = t.get("/api/v1/staff?limit=500").await.expect(StatusCode::OK);
    let id = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == email)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    Person { id, token }
}

async fn assign(t: &TestApp, group: i64, who: &Person, role: &str) {
    t.put(
        &format!("/api/v1/groups/{group}/staff/{}", who.id),
        json!({ "role": role }),
    )
    .await
    .expect(StatusCode::OK);
}

async fn role_on_client(t: &TestApp, who: &Person, client: i64) -> Option<AccessRole> {
    t.app.access.role(StaffId(who.id), ClientId(client), now_millis())
}

async fn a_manager_cannot_nest_a_group_they_only_read(t: TestApp) {
    let theirs = t.group_of_groups("Mine, empty", &[]).await;
    let client = t.client("Read-only client").await;
    let other = t.group("Someone else's", &[client]).await;
    let mallory = person(&t, "mallory@firm.example").await;
    assign(&t, theirs, &mallory, "manager").await;
    assign(&t, other, &mallory, "reader").await;
    let r = t
        .call_as(
            &mallory.token,
            Method::POST,
            &format!("/api/v1/groups/{theirs}/members"),
            Some(json!({ "group_ids": [other] })),
            &[],
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(r.body["results"][0]["outcome"], "rejected", "{}", r.body);
    assert_eq!(r.body["results"][0]["code"], "forbidden");
    assert_eq!(role_on_client(&t, &mallory, client).await, Some(AccessRole::Reader));
    t.call_as(
        &mallory.token,
        Method::PATCH,
        &format!("/api/v1/clients/{client}"),
        Some(json!({ "notes": "mine now" })),
        &[],
    )
    .await
    .expect(StatusCode::FORBIDDEN);
}

async fn a_manager_cannot_add_a_client_they_only_read(t: TestApp) {
    let client = t.client("Read-only client").await;
    let theirs = t.group("Mine", &[]).await;
    let other = t.group("Someone else's", &[client]).await;
    let mallory = person(&t, "mallory@firm.example").await;
    let eve = person(&t, "eve@firm.example").await;
    assign(&t, theirs, &mallory, "manager").await;
    assign(&t, theirs, &eve, "editor").await;
    assign(&t, other, &mallory, "reader").await;
    let r = t
        .call_as(
            &mallory.token,
            Method::POST,
            &format!("/api/v1/groups/{theirs}/members"),
            Some(json!({ "client_ids": [client] })),
            &[],
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(r.body["results"][0]["outcome"], "rejected", "{}", r.body);
    assert_eq!(role_on_client(&t, &mallory, client).await, Some(AccessRole::Reader));
    assert_eq!(
        role_on_client(&t, &eve, client).await,
        None,
        "the group's editor gained nothing"
    );
}

async fn an_editor_cannot_end_a_relationship_that_reaches_groups_they_do_not_manage(t: TestApp) {
    t.policies(|p| p.require_active_relationship = true).await;
    let client = t.client("Shared client").await;
    let theirs = t.group("Editor's group", &[client]).await;
    let hidden = t.group("Hidden group", &[client]).await;
    let eve = person(&t, "eve@firm.example").await;
    assign(&t, theirs, &eve, "editor").await;
    let r = t
        .call_as(
            &eve.token,
            Method::PATCH,
            &format!("/api/v1/clients/{client}"),
            Some(json!({ "relationship": "expired" })),
            &[],
        )
        .await
        .expect(StatusCode::FORBIDDEN);
    assert!(
        r.body["detail"].as_str().unwrap().contains("only an admin"),
        "{}",
        r.body
    );
    let mut groups = t.groups_of(client).await;
    groups.sort();
    assert_eq!(groups, ["Editor's group", "Hidden group"], "the client left no group");
    // Editing what reaches no membership is still theirs to do.
    t.call_as(
        &eve.token,
        Method::PATCH,
        &format!("/api/v1/clients/{client}"),
        Some(json!({ "notes": "called today" })),
        &[],
    )
    .await
    .expect(StatusCode::OK);
    let _ = hidden;
}

async fn a_manager_adds_an_available_client_that_nobody_could_see(t: TestApp) {
    let available = t.client("Available Ltd").await;
    let theirs = t.group("Program accounts", &[]).await;
    let mallory = person(&t, "mallory@firm.example").await;
    assign(&t, theirs, &mallory, "manager").await;
    let r = t
        .call_as(
            &mallory.token,
            Method::POST,
            &format!("/api/v1/groups/{theirs}/members"),
            Some(json!({ "client_ids": [available] })),
            &[],
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(r.body["results"][0]["outcome"], "added", "{}", r.body);
    assert_eq!(role_on_client(&t, &mallory, available).await, Some(AccessRole::Manager));
}

/// One request a non-admin may try.
#[derive(Debug, Clone)]
enum Op {
    AddClient { group: usize, client: usize },
    RemoveClient { group: usize, client: usize },
    Nest { parent: usize, child: usize },
    Unnest { parent: usize, child: usize },
    Relationship { client: usize, active: bool },
    Status { client: usize, closed: bool },
}

/// Every role of every staff member on every client and group.
fn roles(t: &TestApp, staff: &[Person], clients: &[i64], groups: &[i64]) -> Vec<Vec<Option<AccessRole>>> {
    let now = now_millis();
    staff
        .iter()
        .map(|s| {
            clients
                .iter()
                .map(|&c| t.app.access.role(StaffId(s.id), ClientId(c), now))
                .chain(
                    groups
                        .iter()
                        .map(|&g| t.app.access.group_role(StaffId(s.id), GroupId(g), now)),
                )
                .collect()
        })
        .collect()
}

async fn no_sequence_of_requests_by_staff_escalates_anyone(t: TestApp) {
    t.policies(|p| p.require_active_relationship = true).await;
    let clients: Vec<i64> = futures::future::join_all((0..6).map(|i| t.client_named(format!("Client {i}")))).await;
    let mut groups = Vec::new();
    for i in 0..4 {
        groups.push(t.group(&format!("Clients {i}"), &[]).await);
    }
    for i in 0..2 {
        groups.push(t.group_of_groups(&format!("Groups {i}"), &[]).await);
    }
    let mut staff = Vec::new();
    for i in 0..4 {
        staff.push(person(&t, &format!("staff{i}@firm.example")).await);
    }
    let cases: u64 = 10;
    for case in 0..cases {
        let mut rng = StdRng::seed_from_u64(0x17_0000 + case);
        // A fresh arrangement by the admin: memberships, nesting, assignments with random roles.
        for (g, &group) in groups.iter().enumerate() {
            let members = t.get(&format!("/api/v1/groups/{group}/members?limit=100")).await.body["items"].clone();
            let (client_ids, group_ids): (Vec<i64>, Vec<i64>) =
                members
                    .as_array()
                    .unwrap()
                    .iter()
                    .fold((vec![], vec![]), |(mut c, mut k), m| {
                        if m["type"] == "client" {
                            c.push(m["id"].as_i64().unwrap())
                        } else {
                            k.push(m["id"].as_i64().unwrap())
                        }
                        (c, k)
                    });
            t.post(
                &format!("/api/v1/groups/{group}/members/remove"),
                json!({ "client_ids": client_ids, "group_ids": group_ids }),
            )
            .await
            .expect(StatusCode::OK);
            if g < 4 {
                let pick: Vec<i64> = clients.iter().copied().filter(|_| rng.random_bool(0.4)).collect();
                t.post(
                    &format!("/api/v1/groups/{group}/members"),
                    json!({ "client_ids": pick }),
                )
                .await
                .expect(StatusCode::OK);
            } else {
                let pick: Vec<i64> = groups[..4].iter().copied().filter(|_| rng.random_bool(0.4)).collect();
                t.post(&format!("/api/v1/groups/{group}/members"), json!({ "group_ids": pick }))
                    .await
                    .expect(StatusCode::OK);
            }
            for s in &staff {
                let role = ["none", "reader", "editor", "manager"][rng.random_range(0..4)];
                if role == "none" {
                    let _ = t.delete(&format!("/api/v1/groups/{group}/staff/{}", s.id)).await;
                } else {
                    assign(&t, group, s, role).await;
                }
            }
        }
        for &c in &clients {
            t.patch(
                &format!("/api/v1/clients/{c}"),
                json!({ "relationship": "active", "status": "active" }),
            )
            .await
            .expect(StatusCode::OK);
        }
        let mut log = Vec::new();
        for _ in 0..25 {
            let actor = rng.random_range(0..staff.len());
            let op = match rng.random_range(0..6) {
                0 => Op::AddClient {
                    group: rng.random_range(0..4),
                    client: rng.random_range(0..clients.len()),
                },
                1 => Op::RemoveClient {
                    group: rng.random_range(0..4),
                    client: rng.random_range(0..clients.len()),
                },
                2 => Op::Nest {
                    parent: rng.random_range(4..6),
                    child: rng.random_range(0..4),
                },
                3 => Op::Unnest {
                    parent: rng.random_range(4..6),
                    child: rng.random_range(0..4),
                },
                4 => Op::Relationship {
                    client: rng.random_range(0..clients.len()),
                    active: rng.random_bool(0.5),
                },
                _ => Op::Status {
                    client: rng.random_range(0..clients.len()),
                    closed: rng.random_bool(0.5),
                },
            };
            log.push((actor, op.clone()));
            let before = roles(&t, &staff, &clients, &groups);
            // The rule's one exception: a client that no group held (seed 004's "available"
            // clients) may be added by a manager, handing the group's roles to it.
            let ungrouped: Vec<bool> = clients
                .iter()
                .map(|&c| t.app.access.is_ungrouped(t.org, ClientId(c), now_millis()))
                .collect();
            let token = &staff[actor].token;
            let answer = match op {
                Op::AddClient { group, client } => {
                    t.call_as(
                        token,
                        Method::POST,
                        &format!("/api/v1/groups/{}/members", groups[group]),
                        Some(json!({ "client_ids": [clients[client]] })),
                        &[],
                    )
                    .await
                }
                Op::RemoveClient { group, client } => {
                    t.call_as(
                        token,
                        Method::POST,
                        &format!("/api/v1/groups/{}/members/remove", groups[group]),
                        Some(json!({ "client_ids": [clients[client]] })),
                        &[],
                    )
                    .await
                }
                Op::Nest { parent, child } => {
                    t.call_as(
                        token,
                        Method::POST,
                        &format!("/api/v1/groups/{}/members", groups[parent]),
                        Some(json!({ "group_ids": [groups[child]] })),
                        &[],
                    )
                    .await
                }
                Op::Unnest { parent, child } => {
                    t.call_as(
                        token,
                        Method::POST,
                        &format!("/api/v1/groups/{}/members/remove", groups[parent]),
                        Some(json!({ "group_ids": [groups[child]] })),
                        &[],
                    )
                    .await
                }
                Op::Relationship { client, active } => {
                    t.call_as(
                        token,
                        Method::PATCH,
                        &format!("/api/v1/clients/{}", clients[client]),
                        Some(json!({ "relationship": if active { "active" } else { "expired" } })),
                        &[],
                    )
                    .await
                }
                Op::Status { client, closed } => {
                    t.call_as(
                        token,
                        Method::PATCH,
                        &format!("/api/v1/clients/{}", clients[client]),
                        Some(json!({ "status": if closed { "closed" } else { "active" } })),
                        &[],
                    )
                    .await
                }
            };
            assert!(
                answer.status.as_u16() < 500,
                "case {case}: {:?} answered {}: {}",
                log.last(),
                answer.status,
                answer.body
            );
            let after = roles(&t, &staff, &clients, &groups);
            for (s, (was, now)) in before.iter().zip(&after).enumerate() {
                for (o, (was, now)) in was.iter().zip(now).enumerate() {
                    if now > was && !ungrouped.get(o).copied().unwrap_or(false) {
                        assert!(
                            before[actor][o] >= *now,
                            "case {case}: staff {actor} (holding {:?}) gave staff {s} {now:?} on object {o} (was {was:?}); requests so far: {log:#?}",
                            before[actor][o]
                        );
                    }
                }
            }
        }
    }
}

async fn managers_list_available_clients_and_readers_cannot(t: TestApp) {
    // A CARM-like firm: only clients in an active relationship may be in groups.
    t.policies(|p| p.require_active_relationship = true).await;
    let available = t.client("Available Ltd").await;
    let taken = t.client("Taken Ltd").await;
    let hidden = t.client("Someone else's Ltd").await;
    let theirs = t.group("Program accounts", &[taken]).await;
    t.group("Another team", &[hidden]).await;
    let gone = t
        .post(
            "/api/v1/clients",
            json!({ "name": "Departed Ltd", "relationship": "expired" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let manager = person(&t, "manager@firm.example").await;
    let reader = person(&t, "reader@firm.example").await;
    assign(&t, theirs, &manager, "manager").await;
    assign(&t, theirs, &reader, "reader").await;
    let available_to = |token: Option<String>| {
        let t = &t;
        async move {
            let listed = match token {
                Some(token) => {
                    t.call_as(&token, Method::GET, "/api/v1/clients?available=true", None, &[])
                        .await
                }
                None => t.get("/api/v1/clients?available=true").await,
            }
            .expect(StatusCode::OK);
            let mut ids: Vec<i64> = listed.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap())
                .collect();
            ids.sort_unstable();
            ids
        }
    };
    // Several groups per client: "available" is any client that may join a group (here: in an
    // active relationship); a manager
    // sees those they could add (theirs, and the clients in no group), never a departed one.
    assert_eq!(available_to(Some(manager.token.clone())).await, [available, taken]);
    assert_eq!(available_to(None).await, [available, taken, hidden]);
    assert!(!available_to(None).await.contains(&gone));
    t.call_as(&reader.token, Method::GET, "/api/v1/clients?available=true", None, &[])
        .await
        .expect(StatusCode::FORBIDDEN);
    // One group per client: only the clients in no group.
    t.policies(|p| {
        p.require_active_relationship = true;
        p.membership_mode = clientele_domain::policy::MembershipMode::Exclusive;
    })
    .await;
    assert_eq!(available_to(Some(manager.token.clone())).await, [available]);
    assert_eq!(available_to(None).await, [available]);
}

async fn an_admin_assigned_to_a_group_has_its_clients_as_their_group_clients(t: TestApp) {
    let theirs = t.client("Senior's client").await;
    t.client("Someone else's client").await;
    let group = t.group("Senior's group", &[theirs]).await;
    let me = t.get("/api/v1/staff?limit=10").await.body["items"][0]["id"]
        .as_i64()
        .unwrap();
    t.put(
        &format!("/api/v1/groups/{group}/staff/{me}"),
        json!({ "role": "manager" }),
    )
    .await
    .expect(StatusCode::OK);
    let mine = t.get("/api/v1/me/clients").await.expect(StatusCode::OK);
    assert_eq!(mine.body["total"], 1, "{}", mine.body);
    let all = t.get("/api/v1/clients").await.expect(StatusCode::OK);
    assert_eq!(
        all.body["items"].as_array().unwrap().len(),
        2,
        "Clients still shows everything"
    );
}

on_both_backends!(
    managers_list_available_clients_and_readers_cannot,
    an_admin_assigned_to_a_group_has_its_clients_as_their_group_clients,
    a_manager_cannot_nest_a_group_they_only_read,
    a_manager_cannot_add_a_client_they_only_read,
    an_editor_cannot_end_a_relationship_that_reaches_groups_they_do_not_manage,
    a_manager_adds_an_available_client_that_nobody_could_see,
    no_sequence_of_requests_by_staff_escalates_anyone,
);
