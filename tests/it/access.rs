//! Access through groups (issue 3), told as the seeds tell it, on both backends.

use crate::common;

use common::TestApp;
use http::{Method, StatusCode};
use serde_json::{Value, json};

/// A staff member (not an admin): their id and API token.
async fn account_manager(t: &TestApp, email: &str) -> (i64, String) {
    let created = t
        .post(
            "/api/v1/staff",
            json!({ "email": email, "name": email, "role": "staff" }),
        )
        .await;
    let id = created.expect(StatusCode::CREATED).body["id"].as_i64().unwrap();
    (id, t.app.create_token(email, "test").await.unwrap())
}

async fn assign(t: &TestApp, group: i64, staff: i64, role: &str) -> common::Resp {
    t.put(
        &format!("/api/v1/groups/{group}/staff/{staff}"),
        json!({ "role": role }),
    )
    .await
}

fn names(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

// Seed 003: "account managers ... who are added to a group will be able to access any client
// that is part of that group", through the 'My group clients' tab; seed 000: through a group
// of client groups too.
async fn seed_003_my_group_clients_reach_through_every_nesting(t: TestApp) {
    let north = t.client("North Bakery").await;
    let south = t.client("South Bakery").await;
    let dormant = t
        .post(
            "/api/v1/clients",
            json!({ "name": "Dormant Bakery", "status": "inactive" }),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let stranger = t.client("Stranger Ltd").await;
    let bakeries = t.group("Bakeries", &[north, dormant]).await;
    let southern = t.group("Southern", &[south]).await;
    let food = t.group_of_groups("All food", &[bakeries, southern]).await;
    t.group("Elsewhere", &[stranger]).await;
    let (ann, ann_token) = account_manager(&t, "ann@firm.example").await;
    assign(&t, food, ann, "reader").await.expect(StatusCode::OK);

    let mine = t
        .call_as(&ann_token, Method::GET, "/api/v1/me/clients", None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(names(&mine.body), ["North Bakery", "South Bakery"]);
    assert_eq!(mine.body["total"], 2);
    let all = t
        .call_as(
            &ann_token,
            Method::GET,
            "/api/v1/me/clients?include_inactive=true",
            None,
            &[],
        )
        .await;
    assert_eq!(names(&all.body), ["Dormant Bakery", "North Bakery", "South Bakery"]);
    let filtered = t
        .call_as(
            &ann_token,
            Method::GET,
            &format!("/api/v1/me/clients?group={southern}"),
            None,
            &[],
        )
        .await;
    assert_eq!(names(&filtered.body), ["South Bakery"]);

    // The same view through the ordinary client endpoints, which answer only what Ann may see.
    t.call_as(&ann_token, Method::GET, &format!("/api/v1/clients/{north}"), None, &[])
        .await
        .expect(StatusCode::OK);
    let hidden = t
        .call_as(
            &ann_token,
            Method::GET,
            &format!("/api/v1/clients/{stranger}"),
            None,
            &[],
        )
        .await;
    assert_eq!(hidden.expect(StatusCode::NOT_FOUND).code(), "not_found");
    let listed = t
        .call_as(&ann_token, Method::GET, "/api/v1/clients", None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(names(&listed.body), ["North Bakery", "South Bakery"]);
    let groups = t
        .call_as(&ann_token, Method::GET, "/api/v1/groups", None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(names(&groups.body), ["All food", "Bakeries", "Southern"]);

    // An admin sees what Ann sees, and every client under Clients; their own group clients
    // are those of the groups they are assigned to (none here).
    let hers = t
        .get(&format!("/api/v1/staff/{ann}/clients"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(names(&hers.body), ["North Bakery", "South Bakery"]);
    assert_eq!(
        t.get("/api/v1/clients").await.body["items"].as_array().unwrap().len(),
        3
    );
    assert_eq!(t.get("/api/v1/me/clients").await.body["total"], 0);
}

// Seed 004: Program Account Manager, Editor and Reader roles.
async fn seed_004_roles_decide_who_may_edit_clients_and_change_members(t: TestApp) {
    let kept = t.client("Kept Imports").await;
    let other = t.client("Other Imports").await;
    let outside = t.client("Outside Imports").await;
    let ontario = t.group("Ontario", &[kept, other]).await;
    let region = t.group_of_groups("Canada", &[ontario]).await;
    t.group("Unrelated", &[outside]).await;
    let (reader, reader_token) = account_manager(&t, "reader@firm.example").await;
    let (editor, editor_token) = account_manager(&t, "editor@firm.example").await;
    let (manager, manager_token) = account_manager(&t, "pam@firm.example").await;
    assign(&t, ontario, reader, "reader").await.expect(StatusCode::OK);
    assign(&t, ontario, editor, "editor").await.expect(StatusCode::OK);
    assign(&t, region, manager, "manager").await.expect(StatusCode::OK);

    let kept_path = format!("/api/v1/clients/{kept}");
    let note = json!({ "notes": "checked" });
    let by_reader = t
        .call_as(&reader_token, Method::PATCH, &kept_path, Some(note.clone()), &[])
        .await;
    assert_eq!(by_reader.expect(StatusCode::FORBIDDEN).code(), "forbidden");
    t.call_as(&editor_token, Method::PATCH, &kept_path, Some(note), &[])
        .await
        .expect(StatusCode::OK);

    // Members: only the manager (of the group or of a group above it), and never settings.
    let remove = json!({ "client_ids": [other] });
    let path = format!("/api/v1/groups/{ontario}/members/remove");
    t.call_as(&editor_token, Method::POST, &path, Some(remove.clone()), &[])
        .await
        .expect(StatusCode::FORBIDDEN);
    let removed = t
        .call_as(&manager_token, Method::POST, &path, Some(remove), &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(removed.body["results"][0]["outcome"], "removed");
    let add_outside = t
        .call_as(
            &manager_token,
            Method::POST,
            &format!("/api/v1/groups/{ontario}/members"),
            Some(json!({ "client_ids": [outside] })),
            &[],
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        add_outside.body["results"][0]["code"], "not_found",
        "a manager adds only clients they can see"
    );
    let rename = t
        .call_as(
            &manager_token,
            Method::PATCH,
            &format!("/api/v1/groups/{ontario}"),
            Some(json!({ "name": "Mine" })),
            &[],
        )
        .await;
    assert_eq!(rename.expect(StatusCode::FORBIDDEN).code(), "forbidden");
    let create = t
        .call_as(
            &manager_token,
            Method::POST,
            "/api/v1/groups",
            Some(json!({ "name": "New", "kind": "clients", "business_unit_id": t.unit })),
            &[],
        )
        .await;
    create.expect(StatusCode::FORBIDDEN);
    // Removing Other Imports from the group ended the reader's access to it.
    t.call_as(
        &reader_token,
        Method::GET,
        &format!("/api/v1/clients/{other}"),
        None,
        &[],
    )
    .await
    .expect(StatusCode::NOT_FOUND);
    // Only admins assign; admins may be assigned too (seed 003: "both seniors and non-seniors").
    t.call_as(
        &manager_token,
        Method::PUT,
        &format!("/api/v1/groups/{ontario}/staff/{reader}"),
        Some(json!({ "role": "manager" })),
        &[],
    )
    .await
    .expect(StatusCode::FORBIDDEN);
    let admin_id = t.get("/api/v1/staff?limit=1").await.body["items"][0]["id"]
        .as_i64()
        .unwrap();
    assign(&t, ontario, admin_id, "reader").await.expect(StatusCode::OK);
}

async fn access_checks_answer_with_the_role_and_the_path(t: TestApp) {
    let client = t.client("Deep Client").await;
    let leaf = t.group("Leaf", &[client]).await;
    let middle = t.group_of_groups("Middle", &[leaf]).await;
    let top = t.group_of_groups("Top", &[middle]).await;
    let (bob, bob_token) = account_manager(&t, "bob@firm.example").await;
    assign(&t, top, bob, "reader").await.expect(StatusCode::OK);
    assign(&t, leaf, bob, "editor").await.expect(StatusCode::OK);

    let answer = t
        .get(&format!("/api/v1/access/check?staff={bob}&client={client}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(answer.body["allowed"], true);
    assert_eq!(answer.body["role"], "editor", "the strongest role along all paths");
    let mut paths: Vec<Value> = answer.body["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["groups"].clone())
        .collect();
    paths.sort_by_key(|p| p.as_array().unwrap().len());
    assert_eq!(paths, [json!([leaf]), json!([top, middle, leaf])]);

    let batch = t
        .post(
            "/api/v1/access/check",
            json!({ "checks": [{ "staff": bob, "client": client }, { "staff": bob, "client": 987654 }] }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(batch.body["results"][0]["allowed"], true);
    assert_eq!(batch.body["results"][1]["allowed"], false);

    let who = t
        .get(&format!("/api/v1/clients/{client}/access"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(who.body["admins"].as_array().unwrap().len(), 1);
    assert_eq!(who.body["grants"].as_array().unwrap().len(), 2);

    // Staff may check themselves, not others; assignments are listed both ways.
    t.call_as(
        &bob_token,
        Method::GET,
        &format!("/api/v1/access/check?staff={bob}&client={client}"),
        None,
        &[],
    )
    .await
    .expect(StatusCode::OK);
    let admin_id = t.get("/api/v1/staff?limit=1").await.body["items"][0]["id"]
        .as_i64()
        .unwrap();
    t.call_as(
        &bob_token,
        Method::GET,
        &format!("/api/v1/access/check?staff={admin_id}&client={client}"),
        None,
        &[],
    )
    .await
    .expect(StatusCode::FORBIDDEN);
    let mine = t
        .call_as(
            &bob_token,
            Method::GET,
            &format!("/api/v1/staff/{bob}/assignments"),
            None,
            &[],
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(mine.body.as_array().unwrap().len(), 2);
    let on_top = t
        .get(&format!("/api/v1/groups/{top}/staff"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(on_top.body[0]["staff_email"], "bob@firm.example");
    assert_eq!(on_top.body[0]["role"], "reader");
}

async fn access_ends_with_the_assignment_the_nesting_the_group_or_its_validity(t: TestApp) {
    let client = t.client("Watched Ltd").await;
    let leaf = t.group("Watched", &[client]).await;
    let top = t.group_of_groups("Watchers", &[leaf]).await;
    let (cy, cy_token) = account_manager(&t, "cy@firm.example").await;
    let sees = |expected: StatusCode| {
        let t = &t;
        let token = cy_token.clone();
        async move {
            t.call_as(&token, Method::GET, &format!("/api/v1/clients/{client}"), None, &[])
                .await
                .expect(expected);
        }
    };
    assign(&t, top, cy, "reader").await.expect(StatusCode::OK);
    sees(StatusCode::OK).await;
    t.post(
        &format!("/api/v1/groups/{top}/members/remove"),
        json!({ "group_ids": [leaf] }),
    )
    .await
    .expect(StatusCode::OK);
    sees(StatusCode::NOT_FOUND).await;
    t.post(&format!("/api/v1/groups/{top}/members"), json!({ "group_ids": [leaf] }))
        .await
        .expect(StatusCode::OK);
    sees(StatusCode::OK).await;
    t.delete(&format!("/api/v1/groups/{top}/staff/{cy}"))
        .await
        .expect(StatusCode::NO_CONTENT);
    sees(StatusCode::NOT_FOUND).await;

    // An assignment that is valid until a moment that passes.
    assert_eq!(
        t.put(
            &format!("/api/v1/groups/{leaf}/staff/{cy}"),
            json!({ "role": "reader", "valid_until": "2001-01-01T00:00:00Z" })
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY)
        .body["field"],
        "valid_until"
    );
    let soon = t.in_minutes(60);
    t.put(
        &format!("/api/v1/groups/{leaf}/staff/{cy}"),
        json!({ "role": "reader", "valid_until": soon }),
    )
    .await
    .expect(StatusCode::OK);
    sees(StatusCode::OK).await;
    t.minutes_pass(61);
    sees(StatusCode::NOT_FOUND).await;
    assert_eq!(t.app.sweep_lapsed_assignments().await.unwrap(), 1);
    let trail = t
        .get(&format!("/api/v1/audit?group={leaf}"))
        .await
        .expect(StatusCode::OK);
    let ended = trail.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "assignment.removed")
        .expect("the audit trail says so");
    assert_eq!(ended["cause"], "validity_ended");

    // Deleting the group ends the access it gave.
    t.put(&format!("/api/v1/groups/{top}/staff/{cy}"), json!({ "role": "reader" }))
        .await
        .expect(StatusCode::OK);
    sees(StatusCode::OK).await;
    t.policies(|p| p.delete_policy = clientele_domain::policy::DeletePolicy::DetachMembers)
        .await;
    t.delete(&format!("/api/v1/groups/{top}"))
        .await
        .expect(StatusCode::NO_CONTENT);
    sees(StatusCode::NOT_FOUND).await;
    assert!(
        t.get(&format!("/api/v1/staff/{cy}/assignments"))
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn lists_are_filtered_by_access_before_paging(t: TestApp) {
    // Twenty clients alternate between a group Dee sees and one she does not: every page she
    // gets is full, in name order, with no gaps.
    let mut seen_ids = Vec::new();
    let mut hidden_ids = Vec::new();
    for i in 0..20 {
        let id = t.client(&format!("Client {i:02}")).await;
        if i % 2 == 0 {
            seen_ids.push(id)
        } else {
            hidden_ids.push(id)
        }
    }
    let seen = t.group("Seen", &seen_ids).await;
    t.group("Hidden", &hidden_ids).await;
    let (dee, token) = account_manager(&t, "dee@firm.example").await;
    assign(&t, seen, dee, "reader").await.expect(StatusCode::OK);
    let mut got = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = t
            .call_as(
                &token,
                Method::GET,
                &format!("/api/v1/me/clients?limit=3&cursor={cursor}"),
                None,
                &[],
            )
            .await
            .expect(StatusCode::OK);
        assert_eq!(page.body["total"], 10);
        let items = names(&page.body);
        match page.body["next_cursor"].as_str() {
            Some(c) => {
                assert_eq!(items.len(), 3, "no short pages");
                cursor = c.to_string();
                got.extend(items);
            }
            None => {
                got.extend(items);
                break;
            }
        }
    }
    let expected: Vec<String> = (0..20).step_by(2).map(|i| format!("Client {i:02}")).collect();
    assert_eq!(got, expected);
}

// A write returns the sequence number it reached; a read that demands it sees the write.
async fn writes_return_a_sequence_number_that_reads_can_demand(t: TestApp) {
    let before: i64 = t.get("/api/v1/me/clients").await.headers["clientele-seq"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let created = t
        .post("/api/v1/clients", json!({ "name": "Fresh Ltd" }))
        .await
        .expect(StatusCode::CREATED);
    let after: i64 = created.headers["clientele-seq"].to_str().unwrap().parse().unwrap();
    assert!(after > before);
    let read = t
        .call(
            Method::GET,
            "/api/v1/clients",
            None,
            &[("clientele-min-seq", &after.to_string())],
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(names(&read.body), ["Fresh Ltd"]);
    let future = (after + 1000).to_string();
    let refused = t
        .call(
            Method::GET,
            "/api/v1/me/clients",
            None,
            &[("clientele-min-seq", &future)],
        )
        .await;
    assert_eq!(
        refused.expect(StatusCode::UNPROCESSABLE_ENTITY).body["field"],
        "Clientele-Min-Seq"
    );
}

// Credentials are cached per process; a deactivation still takes effect on the next request.
async fn a_deactivated_staff_members_token_stops_working_at_once(t: TestApp) {
    let (fay, token) = account_manager(&t, "fay@firm.example").await;
    t.call_as(&token, Method::GET, "/api/v1/me/clients", None, &[])
        .await
        .expect(StatusCode::OK);
    t.call_as(&token, Method::GET, "/api/v1/me/clients", None, &[])
        .await
        .expect(StatusCode::OK);
    t.patch(&format!("/api/v1/staff/{fay}"), json!({ "active": false }))
        .await
        .expect(StatusCode::OK);
    let refused = t.call_as(&token, Method::GET, "/api/v1/me/clients", None, &[]).await;
    assert_eq!(refused.expect(StatusCode::UNAUTHORIZED).code(), "unauthenticated");
    // Brought back as an admin, the old token stays dead (deactivation revoked it for good); a
    // new one sees everything an admin sees.
    t.patch(
        &format!("/api/v1/staff/{fay}"),
        json!({ "active": true, "role": "admin" }),
    )
    .await
    .expect(StatusCode::OK);
    t.call_as(&token, Method::GET, "/api/v1/audit", None, &[])
        .await
        .expect(StatusCode::UNAUTHORIZED);
    let fresh = t
        .app
        .create_token("fay@firm.example", "after reactivation")
        .await
        .unwrap();
    t.call_as(&fresh, Method::GET, "/api/v1/audit", None, &[])
        .await
        .expect(StatusCode::OK);
}

// Every process builds its index from the tables at start: a restarted one answers exactly
// as the one that saw every change happen.
async fn a_restarted_process_answers_as_before(t: TestApp) {
    let active = t.client("Kept Active").await;
    let closed = t
        .post("/api/v1/clients", json!({ "name": "Kept Closed", "status": "closed" }))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let leaf = t.group("Kept leaf", &[active, closed]).await;
    let top = t.group_of_groups("Kept top", &[leaf]).await;
    let (gil, _) = account_manager(&t, "gil@firm.example").await;
    assign(&t, top, gil, "editor").await.expect(StatusCode::OK);
    let before = t
        .get(&format!("/api/v1/staff/{gil}/clients?include_inactive=true"))
        .await
        .expect(StatusCode::OK);

    let reopened = clientele_app::App::open(clientele_store::Db::connect(t.db.url()).await.unwrap())
        .await
        .unwrap();
    let now = clientele_domain::now_millis();
    for client in [active, closed] {
        assert_eq!(
            reopened
                .access
                .role(clientele_domain::StaffId(gil), clientele_domain::ClientId(client), now),
            Some(clientele_access::AccessRole::Editor)
        );
    }
    let router = clientele_web::router(reopened, &clientele_web::WebSettings::default());
    let fresh = TestApp { router, ..t };
    let after = fresh
        .get(&format!("/api/v1/staff/{gil}/clients?include_inactive=true"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(before.body, after.body);
    assert_eq!(names(&after.body), ["Kept Active", "Kept Closed"]);
}

// Issue 3: "Assignments, like memberships, may carry an optional valid_until; when it passes,
// the access ends by itself and the audit trail says so."
async fn a_membership_that_is_valid_until_a_moment_ends_access_exactly_then(t: TestApp) {
    let client = t.client("Seasonal Ltd").await;
    let other = t.client("Permanent Ltd").await;
    let group = t.group("Summer campaign", &[other]).await;
    let (dee, dee_token) = account_manager(&t, "dee@firm.example").await;
    assign(&t, group, dee, "reader").await.expect(StatusCode::OK);
    let past = json!({ "client_ids": [client], "valid_until": "2001-01-01T00:00:00Z" });
    let refused = t
        .post(&format!("/api/v1/groups/{group}/members"), past)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["field"], "valid_until");

    let soon = t.in_minutes(60);
    let added = t
        .post(
            &format!("/api/v1/groups/{group}/members"),
            json!({ "client_ids": [client], "valid_until": soon }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(added.body["results"][0]["outcome"], "added");
    let sees = |expected: StatusCode| {
        let t = &t;
        let token = dee_token.clone();
        async move {
            t.call_as(&token, Method::GET, &format!("/api/v1/clients/{client}"), None, &[])
                .await
                .expect(expected);
        }
    };
    sees(StatusCode::OK).await;
    let members = t.get(&format!("/api/v1/groups/{group}/members")).await.body;
    let seasonal = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == client)
        .unwrap()
        .clone();
    assert!(seasonal["valid_until"].is_string(), "{seasonal}");
    t.minutes_pass(61);

    // Past the instant, before any sweep: the access, the lists and the members are over.
    sees(StatusCode::NOT_FOUND).await;
    let mine = t
        .call_as(&dee_token, Method::GET, "/api/v1/me/clients", None, &[])
        .await
        .body;
    assert_eq!(names(&mine), ["Permanent Ltd"]);
    let members = t.get(&format!("/api/v1/groups/{group}/members")).await.body;
    assert_eq!(members["items"].as_array().unwrap().len(), 1);

    // The sweep deletes it and the audit trail says why.
    assert_eq!(t.app.sweep_lapsed_memberships().await.unwrap(), 1);
    let trail = t.get(&format!("/api/v1/audit?client={client}")).await.body;
    let ended = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "membership.removed")
        .expect("the audit trail says so");
    assert_eq!(ended["cause"], "validity_ended");

    // Added again without an end, it holds; a fresh process agrees.
    t.post(
        &format!("/api/v1/groups/{group}/members"),
        json!({ "client_ids": [client] }),
    )
    .await
    .expect(StatusCode::OK);
    sees(StatusCode::OK).await;
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    let later = later.format(&time::format_description::well_known::Rfc3339).unwrap();
    let again = t
        .post(
            &format!("/api/v1/groups/{group}/members"),
            json!({ "client_ids": [client], "valid_until": later }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(again.body["results"][0]["outcome"], "already_member");
    let fresh = clientele_app::App::open(t.app.db.clone()).await.unwrap();
    let role = fresh.access.role(
        clientele_domain::StaffId(dee),
        clientele_domain::ClientId(client),
        clientele_domain::now_millis(),
    );
    assert_eq!(role, Some(clientele_access::AccessRole::Reader));
    let members = t.get(&format!("/api/v1/groups/{group}/members")).await.body;
    let seasonal = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == client)
        .unwrap()
        .clone();
    assert!(
        seasonal["valid_until"].as_str().unwrap().starts_with(&later[..10]),
        "{seasonal}"
    );
}

on_both_backends!(
    seed_003_my_group_clients_reach_through_every_nesting,
    seed_004_roles_decide_who_may_edit_clients_and_change_members,
    access_checks_answer_with_the_role_and_the_path,
    access_ends_with_the_assignment_the_nesting_the_group_or_its_validity,
    lists_are_filtered_by_access_before_paging,
    writes_return_a_sequence_number_that_reads_can_demand,
    a_deactivated_staff_members_token_stops_working_at_once,
    a_restarted_process_answers_as_before,
    a_membership_that_is_valid_until_a_moment_ends_access_exactly_then,
);
