//! What staff must not learn (issue 17): every answer about something a reader cannot see is
//! the answer about something that does not exist, and no answer names it. On both backends.

use crate::common;

use http::{Method, StatusCode};
use serde_json::{Value, json};

use clientele_domain::staff::StaffRole;
use common::TestApp;

/// A staff member with a role on one group: their id and token.
async fn reader_of(t: &TestApp, email: &str, group: i64, role: &str) -> (i64, String) {
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
    t.put(&format!("/api/v1/groups/{group}/staff/{id}"), json!({ "role": role }))
        .await
        .expect(StatusCode::OK);
    (id, token)
}

/// The answer without what differs between any two requests (the request id).
fn shape(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("request_id");
    }
    body
}

async fn a_duplicate_reference_does_not_name_the_hidden_client(t: TestApp) {
    let hidden = t
        .post(
            "/api/v1/clients",
            json!({ "name": "Secret Holdings", "external_ref": "REF-1" }),
        )
        .await
        .expect(StatusCode::CREATED);
    let _ = hidden;
    let mine = t.client("Visible Ltd").await;
    let group = t.group("Team", &[mine]).await;
    let (_, editor) = reader_of(&t, "editor@firm.example", group, "editor").await;
    let r = t
        .call_as(
            &editor,
            Method::PATCH,
            &format!("/api/v1/clients/{mine}"),
            Some(json!({ "external_ref": "REF-1" })),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(!r.body.to_string().contains("Secret"), "{}", r.body);
}

async fn a_group_page_names_only_the_parents_its_reader_sees(t: TestApp) {
    let child = t.group("Shared child", &[]).await;
    let secret_parent = t.group_of_groups("Secret parent", &[child]).await;
    let _ = secret_parent;
    let (_, reader) = reader_of(&t, "reader@firm.example", child, "reader").await;
    let page = t
        .call_as(&reader, Method::GET, &format!("/api/v1/groups/{child}"), None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(page.body["parents"], json!([]), "{}", page.body);
    assert!(!page.body.to_string().contains("Secret parent"), "{}", page.body);
}

async fn a_hidden_group_filter_answers_as_a_missing_one(t: TestApp) {
    let hidden = t.group("Hidden", &[]).await;
    let mine = t.group("Mine", &[]).await;
    let (_, reader) = reader_of(&t, "reader@firm.example", mine, "reader").await;
    for path in ["/api/v1/clients?group={g}", "/api/v1/me/clients?group={g}"] {
        let hidden_answer = t
            .call_as(
                &reader,
                Method::GET,
                &path.replace("{g}", &hidden.to_string()),
                None,
                &[],
            )
            .await;
        let missing_answer = t
            .call_as(&reader, Method::GET, &path.replace("{g}", "999999"), None, &[])
            .await;
        assert_eq!(hidden_answer.status, missing_answer.status, "{path}");
        assert_eq!(shape(&hidden_answer.body), shape(&missing_answer.body), "{path}");
    }
}

async fn a_clients_history_shows_no_group_its_reader_cannot_see(t: TestApp) {
    let client = t.client("Shared client").await;
    let mine = t.group("Mine", &[client]).await;
    let hidden = t.group("Hidden", &[client]).await;
    let (_, reader) = reader_of(&t, "reader@firm.example", mine, "reader").await;
    let audit = t
        .call_as(
            &reader,
            Method::GET,
            &format!("/api/v1/audit?client={client}"),
            None,
            &[],
        )
        .await
        .expect(StatusCode::OK);
    let events = audit.body["items"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| e["group_id"] != hidden), "{}", audit.body);
    assert!(!audit.body.to_string().contains("\"Hidden\""), "{}", audit.body);
}

async fn staff_read_a_directory_of_names_and_only_admins_the_rest(t: TestApp) {
    let group = t.group("Team", &[]).await;
    let (me, reader) = reader_of(&t, "reader@firm.example", group, "reader").await;
    t.staff_token("colleague@firm.example", StaffRole::Staff).await;
    t.call_as(&reader, Method::GET, "/api/v1/staff", None, &[])
        .await
        .expect(StatusCode::FORBIDDEN);
    let directory = t
        .call_as(&reader, Method::GET, "/api/v1/colleagues", None, &[])
        .await
        .expect(StatusCode::OK);
    let text = directory.body.to_string();
    assert!(
        text.contains("colleague@firm.example") || directory.body["items"].as_array().unwrap().len() >= 3,
        "{text}"
    );
    assert!(
        !text.contains("\"email\"") && !text.contains("\"role\"") && !text.contains("\"active\""),
        "{text}"
    );
    // Their own record is theirs to read; a colleague's is not.
    t.call_as(&reader, Method::GET, &format!("/api/v1/staff/{me}"), None, &[])
        .await
        .expect(StatusCode::OK);
    t.call_as(&reader, Method::GET, "/api/v1/staff/1", None, &[])
        .await
        .expect(StatusCode::FORBIDDEN);
}

async fn a_report_stops_counting_a_client_the_instant_an_assignment_ends(t: TestApp) {
    let client = t.client("Timed client").await;
    let group = t.group("Timed", &[client]).await;
    let token = t.staff_token("temp@firm.example", StaffRole::Staff).await;
    let listed = t.get("/api/v1/staff?limit=500").await.expect(StatusCode::OK);
    let id = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == "temp@firm.example")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let until = t.in_minutes(60);
    t.put(
        &format!("/api/v1/groups/{group}/staff/{id}"),
        json!({ "role": "editor", "valid_until": until }),
    )
    .await
    .expect(StatusCode::OK);
    t.post(
        "/api/v1/time-entries",
        json!({ "client_id": client, "date": "2026-11-02", "duration": "2:00" }),
    )
    .await
    .expect(StatusCode::CREATED);
    let path = "/api/v1/reports/time?from=2026-11-01&to=2026-11-30&by=client";
    let before = t
        .call_as(&token, Method::GET, path, None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(before.body["rows"].as_array().unwrap().len(), 1, "{}", before.body);
    t.minutes_pass(61);
    let after = t
        .call_as(&token, Method::GET, path, None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        after.body["rows"].as_array().unwrap().len(),
        0,
        "counted after the assignment ended: {}",
        after.body
    );
}

async fn a_relationship_that_expires_ends_the_clients_memberships_at_that_instant(t: TestApp) {
    t.policies(|p| p.require_active_relationship = true).await;
    let soon = t.in_minutes(60);
    let client = t
        .post(
            "/api/v1/clients",
            json!({ "name": "Expiring Ltd", "relationship_expires_at": soon }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let group = t.group("Brokered", &[client]).await;
    let (staff, token) = reader_of(&t, "reader@firm.example", group, "reader").await;
    let check = format!("/api/v1/access/check?staff={staff}&client={client}");
    assert_eq!(t.get(&check).await.body["allowed"], true);
    t.minutes_pass(61);
    // At once, before any sweep: checks, lists and the group's members all agree.
    assert_eq!(t.get(&check).await.body["allowed"], false);
    let mine = t
        .call_as(&token, Method::GET, "/api/v1/me/clients", None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(mine.body["total"], 0, "{}", mine.body);
    let members = t
        .get(&format!("/api/v1/groups/{group}/members"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(members.body["items"], json!([]), "{}", members.body);
    // The sweep then deletes the row and says why.
    assert_eq!(t.app.sweep_lapsed_relationships().await.unwrap(), 1);
    let audit = t
        .get(&format!("/api/v1/audit?client={client}"))
        .await
        .expect(StatusCode::OK);
    assert!(
        audit.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["cause"] == "relationship_expired"),
        "{}",
        audit.body
    );
}

on_both_backends!(
    a_relationship_that_expires_ends_the_clients_memberships_at_that_instant,
    a_duplicate_reference_does_not_name_the_hidden_client,
    a_group_page_names_only_the_parents_its_reader_sees,
    a_hidden_group_filter_answers_as_a_missing_one,
    a_clients_history_shows_no_group_its_reader_cannot_see,
    staff_read_a_directory_of_names_and_only_admins_the_rest,
    a_report_stops_counting_a_client_the_instant_an_assignment_ends,
);
