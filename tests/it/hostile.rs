//! Hostile traffic (issue 16), on both backends: input built to break things gets a clear answer
//! naming what is wrong, never a panic, a dropped connection, a 500 or a stuck request; exports
//! cannot be turned into spreadsheet formulas; names that look alike collide; and what a client
//! sends cannot pick our request ids or read the metrics.

use crate::common;

use axum::body::Body;
use futures::future::join_all;
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use clientele_domain::staff::StaffRole;
use common::{Resp, TestApp};

fn text(r: &Resp) -> String {
    String::from_utf8_lossy(&r.bytes).into_owned()
}

/// An answer that is a problem document with this status and code.
#[track_caller]
fn problem(r: &Resp, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", text(r));
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{}",
        text(r)
    );
    assert_eq!(r.code(), code, "{}", text(r));
    assert!(r.body["request_id"].as_str().is_some());
}

async fn csv(t: &TestApp, format: &str, query: &str, body: impl Into<Vec<u8>>) -> Resp {
    let req = Request::post(format!("/api/v1/csv/{format}/import?{query}"))
        .header("authorization", format!("Bearer {}", t.token))
        .header("content-type", "text/csv")
        .body(Body::from(body.into()))
        .unwrap();
    t.send(req).await
}

fn outcomes(r: &Resp) -> Vec<String> {
    r.body["rows"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|row| format!("{} {}", row["line"], row["outcome"].as_str().unwrap_or_default()))
        .collect()
}

async fn ids_out_of_range_are_not_found_and_never_drop_the_connection(t: TestApp) {
    let staff = t.staff_token("reader@firm.example", StaffRole::Staff).await;
    for path in [
        "/api/v1/clients?business_unit=-1",
        "/api/v1/groups/4294967296",
        "/api/v1/groups/-7",
        "/api/v1/clients/9223372036854775807",
        "/api/v1/me/clients?group=4294967296",
        "/api/v1/access/check?staff=-1&client=4294967296",
    ] {
        let r = t.call_as(&staff, Method::GET, path, None, &[]).await;
        assert!(
            matches!(r.status.as_u16(), 200 | 403 | 404 | 422),
            "{path}: {} {}",
            r.status,
            text(&r)
        );
        if r.status != StatusCode::OK {
            assert!(r.body["code"].is_string(), "{path}: {}", text(&r));
        }
    }
    let r = t
        .post(
            "/api/v1/groups/9223372036854775806/members",
            json!({ "client_ids": [9223372036854775807i64] }),
        )
        .await;
    problem(&r, StatusCode::NOT_FOUND, "not_found");
    let r = t
        .post(
            "/api/v1/groups/99999999999999999999/members",
            json!({ "client_ids": [1] }),
        )
        .await;
    problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
}

async fn every_refusal_is_a_problem_document(t: TestApp) {
    problem(
        &t.call(Method::PUT, "/api/v1/groups", Some(json!({})), &[]).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    problem(
        &t.get("/api/v1/no-such-thing").await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let long = format!("/api/v1/clients?q={}", "x".repeat(9000));
    problem(&t.get(&long).await, StatusCode::URI_TOO_LONG, "uri_too_long");
    let big = "y".repeat(40 * 1024);
    problem(
        &t.call(Method::GET, "/api/v1/clients", None, &[("x-padding", &big)])
            .await,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
    );
    let plain = Request::post("/api/v1/clients")
        .header("authorization", format!("Bearer {}", t.token))
        .header("content-type", "text/plain")
        .body(Body::from("name=x"))
        .unwrap();
    let r = t.send(plain).await;
    problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    assert_eq!(r.body["field"], "content-type");
    // A synchronous member change is capped; larger ones go to a process request.
    let group = t.group("Capped", &[]).await;
    let many: Vec<i64> = (1..=1001).collect();
    let r = t
        .post(
            &format!("/api/v1/groups/{group}/members"),
            json!({ "client_ids": many }),
        )
        .await;
    problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    assert!(
        r.body["detail"].as_str().unwrap().contains("members/bulk"),
        "{}",
        text(&r)
    );
}

async fn control_characters_are_refused_at_the_edge_naming_the_field(t: TestApp) {
    let r = t.post("/api/v1/clients", json!({ "name": "Nul\u{0}Ltd" })).await;
    problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    assert_eq!(r.body["field"], "name");
    let r = t
        .post(
            "/api/v1/groups",
            json!({ "name": "Fine", "kind": "clients", "business_unit_id": t.unit, "description": "a\u{8}b" }),
        )
        .await;
    assert_eq!(r.body["field"], "description", "{}", text(&r));
    for (path, field) in [
        ("/api/v1/clients?q=a%00b", "q"),
        ("/api/v1/clients?status=active%00", "status"),
        ("/api/v1/groups?cursor=%00", "cursor"),
        ("/api/v1/me/clients?q=%01", "q"),
    ] {
        let r = t.get(path).await;
        problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
        assert_eq!(r.body["field"], field, "{path}");
    }
    // Nothing of it was stored.
    assert_eq!(t.get("/api/v1/clients").await.body["items"], json!([]));
}

async fn csv_files_with_control_characters_lose_only_their_bad_rows(t: TestApp) {
    let r = csv(
        &t,
        "clients",
        "mode=apply",
        "name,notes\nGood One,fine\nBad\u{0}Row,x\nGood Two,also fine\n",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", text(&r));
    assert_eq!(outcomes(&r), ["2 created", "3 rejected", "4 created"]);
    let reason = r.body["rows"][1]["reason"].as_str().unwrap();
    assert!(reason.contains("name") && reason.contains("control"), "{reason}");
    // A NUL in the header refuses the file, and the request ends failed with a readable reason.
    let r = csv(&t, "clients", "mode=apply", "na\u{0}me,notes\nAcme,x\n").await;
    problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    let requests = t.get("/api/v1/process-requests").await.expect(StatusCode::OK);
    let last = &requests.body["items"][0];
    assert_eq!(last["status"], "failed", "{last}");
    assert!(last["error"].as_str().unwrap().contains("U+0000"), "{last}");
}

async fn an_unclosed_quote_is_named_by_its_line_instead_of_eating_the_file(t: TestApp) {
    let mut file = String::from("name,notes\nAlpha,one\n\"Broken,two\n");
    for i in 0..50 {
        file.push_str(&format!("Client {i},x\n"));
    }
    let r = csv(&t, "clients", "mode=validate", file).await;
    problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    assert!(r.body["detail"].as_str().unwrap().contains("line 3"), "{}", text(&r));
}

async fn a_field_of_a_megabyte_is_refused_without_being_stored(t: TestApp) {
    let huge = "z".repeat(1024 * 1024);
    let r = csv(
        &t,
        "clients",
        "mode=validate",
        format!("name,notes\nFine,ok\nBig,{huge}\n"),
    )
    .await;
    assert_eq!(
        outcomes(&r),
        ["2 created", "3 rejected"],
        "{}",
        &text(&r)[..text(&r).len().min(500)]
    );
    assert!(r.body["rows"][1]["reason"].as_str().unwrap().contains("1048576 bytes"));
    assert!(text(&r).len() < 100_000, "the answer does not carry the field back");
}

async fn exports_defuse_formulas_and_upload_back_unchanged(t: TestApp) {
    let evil = "=HYPERLINK(\"http://evil.example\",\"x\")";
    let client = t
        .post(
            "/api/v1/clients",
            json!({ "name": evil, "phone": "+44 20 7946 0000", "notes": "-1" }),
        )
        .await
        .expect(StatusCode::CREATED);
    let id = client.body["id"].as_i64().unwrap();
    t.group("@Risky group", &[id]).await;
    for format in ["clients", "groups", "memberships"] {
        let exported = t
            .get(&format!("/api/v1/csv/{format}/export"))
            .await
            .expect(StatusCode::OK);
        let body = text(&exported);
        for line in body.lines().skip(1) {
            for cell in line.split(',') {
                let cell = cell.trim_start_matches('"');
                assert!(
                    !cell.starts_with(['=', '+', '-', '@']),
                    "{format}: a cell a spreadsheet would run: {line}"
                );
            }
        }
        assert_eq!(exported.headers["x-content-type-options"], "nosniff");
        assert_eq!(exported.headers["cache-control"], "no-store");
        // Uploaded back as it is, nothing changes.
        let again = csv(&t, format, "mode=validate", exported.bytes.clone()).await;
        assert_eq!(again.status, StatusCode::OK, "{}", text(&again));
        for row in again.body["rows"].as_array().unwrap() {
            assert!(
                matches!(row["outcome"].as_str(), Some("unchanged" | "already_member")),
                "{format}: {row}"
            );
        }
    }
    assert_eq!(t.get(&format!("/api/v1/clients/{id}")).await.body["name"], evil);
}

async fn names_that_look_alike_collide_and_tricks_are_refused(t: TestApp) {
    t.group("Acme", &[]).await;
    for twin in ["Ac\u{200B}me", "\u{FEFF}Acme", "Ａｃｍｅ", "ACME\u{00AD}"] {
        let r = t
            .post(
                "/api/v1/groups",
                json!({ "name": twin, "kind": "clients", "business_unit_id": t.unit }),
            )
            .await;
        problem(&r, StatusCode::CONFLICT, "name_taken");
    }
    for (trick, why) in [
        ("\u{202E}emcA", "bidirectional"),
        ("\u{200B}", "visible"),
        ("\u{0410}cme", "scripts"),
    ] {
        let r = t
            .post(
                "/api/v1/groups",
                json!({ "name": trick, "kind": "clients", "business_unit_id": t.unit }),
            )
            .await;
        problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
        assert!(r.body["detail"].as_str().unwrap().contains(why), "{}", text(&r));
    }
}

async fn request_ids_are_ours_whatever_the_client_sends(t: TestApp) {
    let r = t
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "name": "Traced" })),
            &[("x-request-id", "chosen-by-client")],
        )
        .await;
    let ours = r.headers["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(ours, "chosen-by-client");
    let audit = t.get("/api/v1/audit?limit=5").await.expect(StatusCode::OK);
    let recorded: Vec<&Value> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["request_id"])
        .collect();
    assert!(recorded.iter().all(|id| *id != "chosen-by-client"), "{recorded:?}");
    assert!(
        recorded.iter().any(|id| *id == ours.as_str()),
        "{recorded:?} has {ours}"
    );
}

async fn forty_guesses_at_once_get_five_checks(t: TestApp) {
    t.app
        .create_staff_cli(
            "target@firm.example",
            "Target",
            StaffRole::Admin,
            Some("correct horse battery staple"),
        )
        .await
        .unwrap();
    let guesses = (0..40).map(|i| {
        let body = serde_urlencoded::to_string([
            ("email", "target@firm.example"),
            ("password", &format!("guess {i}")),
            ("next", "/"),
        ])
        .unwrap();
        let req = Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        tokio::spawn(common::send(t.router.clone(), req))
    });
    let answers: Vec<Resp> = join_all(guesses).await.into_iter().map(|r| r.unwrap()).collect();
    let checked = answers.iter().filter(|r| r.status == StatusCode::UNAUTHORIZED).count();
    let refused = answers
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(checked <= 5, "{checked} guesses were checked");
    assert_eq!(checked + refused, 40);
    assert!(
        answers
            .iter()
            .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
            .all(|r| r.headers.contains_key("retry-after"))
    );
}

async fn uploaded_rows_are_purged_after_the_retention_and_the_report_stays(t: TestApp) {
    let r = csv(&t, "clients", "mode=validate", "name\nKept Outcome Ltd\n")
        .await
        .expect(StatusCode::OK);
    let id = r.body["request"]["id"].as_i64().unwrap();
    assert_eq!(t.app.purge_old_inputs(std::time::Duration::ZERO).await.unwrap(), 1);
    let request = t
        .get(&format!("/api/v1/process-requests/{id}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(request.body["input_purged"], true);
    assert_eq!(request.body["done"], 1);
    let report = t
        .get(&format!("/api/v1/process-requests/{id}/report.csv"))
        .await
        .expect(StatusCode::OK);
    assert!(text(&report).contains("created"), "{}", text(&report));
    assert!(!text(&report).contains("Kept Outcome Ltd"), "the row's fields are gone");
    // Applying the purged dry run is refused with the reason.
    let actor = t.app.cli_admin(None).await.unwrap();
    let e = t.app.apply_validated(actor.admin().unwrap(), id).await.unwrap_err();
    assert!(e.detail.contains("purged"), "{}", e.detail);
}

on_both_backends!(
    ids_out_of_range_are_not_found_and_never_drop_the_connection,
    every_refusal_is_a_problem_document,
    control_characters_are_refused_at_the_edge_naming_the_field,
    csv_files_with_control_characters_lose_only_their_bad_rows,
    an_unclosed_quote_is_named_by_its_line_instead_of_eating_the_file,
    a_field_of_a_megabyte_is_refused_without_being_stored,
    exports_defuse_formulas_and_upload_back_unchanged,
    names_that_look_alike_collide_and_tricks_are_refused,
    request_ids_are_ours_whatever_the_client_sends,
    forty_guesses_at_once_get_five_checks,
    uploaded_rows_are_purged_after_the_retention_and_the_report_stays,
);
