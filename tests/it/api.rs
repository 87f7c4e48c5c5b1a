//! API conventions on both backends: authentication, tenancy, errors, ETags, idempotency, paging,
//! logos, the audit trail and the OpenAPI document.

use crate::common;

use common::TestApp;
use http::{Method, StatusCode};
use serde_json::json;

async fn requests_without_a_valid_token_are_refused(t: TestApp) {
    let none = t
        .call_as("", Method::GET, "/api/v1/groups", None, &[])
        .await
        .expect(StatusCode::UNAUTHORIZED);
    assert_eq!(none.code(), "unauthenticated");
    assert_eq!(none.headers["content-type"], "application/problem+json");
    t.call_as("clt_nonsense", Method::GET, "/api/v1/groups", None, &[])
        .await
        .expect(StatusCode::UNAUTHORIZED);
}

async fn nothing_crosses_organisations(t: TestApp) {
    let client = t.client("Ours Ltd").await;
    let group = t.group("Ours", &[client]).await;
    let other = t.other_organization().await;
    for path in [
        format!("/api/v1/groups/{group}"),
        format!("/api/v1/clients/{client}"),
        format!("/api/v1/groups/{group}/members"),
    ] {
        t.call_as(&other, Method::GET, &path, None, &[])
            .await
            .expect(StatusCode::NOT_FOUND);
    }
    let listed = t
        .call_as(&other, Method::GET, "/api/v1/groups", None, &[])
        .await
        .expect(StatusCode::OK);
    assert!(listed.body["items"].as_array().unwrap().is_empty());
    // Their group cannot take our client, and our business unit is not theirs.
    let unit = t
        .call_as(
            &other,
            Method::POST,
            "/api/v1/business-units",
            Some(json!({ "name": "Theirs" })),
            &[],
        )
        .await
        .expect(StatusCode::CREATED);
    let theirs = t
        .call_as(
            &other,
            Method::POST,
            "/api/v1/groups",
            Some(json!({ "name": "Theirs", "kind": "clients", "business_unit_id": unit.body["id"] })),
            &[],
        )
        .await
        .expect(StatusCode::CREATED);
    let stolen = t
        .call_as(
            &other,
            Method::POST,
            &format!("/api/v1/groups/{}/members", theirs.body["id"]),
            Some(json!({ "client_ids": [client] })),
            &[],
        )
        .await;
    assert_eq!(stolen.expect(StatusCode::OK).body["results"][0]["code"], "not_found");
    let wrong_unit = t
        .call_as(
            &other,
            Method::POST,
            "/api/v1/groups",
            Some(json!({ "name": "X", "kind": "clients", "business_unit_id": t.unit })),
            &[],
        )
        .await;
    assert_eq!(
        wrong_unit.expect(StatusCode::UNPROCESSABLE_ENTITY).body["field"],
        "business_unit_id"
    );
}

async fn bad_input_names_the_field_and_the_rule_and_changes_nothing(t: TestApp) {
    let e = t
        .post("/api/v1/clients", json!({ "name": "Ok", "email": "not-an-email" }))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!((e.code(), e.body["field"].as_str()), ("invalid_input", Some("email")));
    let e = t
        .post("/api/v1/clients", json!({ "name": "   " }))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e.body["field"], "name");
    let e = t
        .post(
            "/api/v1/groups",
            json!({ "name": "G", "kind": "planets", "business_unit_id": t.unit }),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e.body["detail"].as_str().unwrap().contains("kind"), "{}", e.body);
    let e = t
        .post(
            "/api/v1/groups",
            json!({ "name": "G", "kind": "clients", "business_unit_id": t.unit, "colour": "red" }),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e.body["detail"].as_str().unwrap().contains("colour"));
    let e = t
        .post("/api/v1/clients", json!({ "name": "Dup", "external_ref": "CRM-1" }))
        .await
        .expect(StatusCode::CREATED);
    let _ = e;
    let dup = t
        .post("/api/v1/clients", json!({ "name": "Dup 2", "external_ref": "CRM-1" }))
        .await
        .expect(StatusCode::CONFLICT);
    assert_eq!(
        (dup.code(), dup.body["field"].as_str()),
        ("already_exists", Some("external_ref"))
    );
    let e = t
        .get("/api/v1/groups?cursor=garbage")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e.body["field"], "cursor");
    let clients = t
        .get("/api/v1/clients?include_inactive=true")
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        clients.body["items"].as_array().unwrap().len(),
        1,
        "only the one valid client exists"
    );
}

async fn a_stale_if_match_is_refused_with_412(t: TestApp) {
    let g = t.group("Versioned", &[]).await;
    let first = t.get(&format!("/api/v1/groups/{g}")).await.expect(StatusCode::OK);
    let etag = first.etag();
    assert_eq!(etag, "\"v1\"");
    let renamed = t
        .call(
            Method::PATCH,
            &format!("/api/v1/groups/{g}"),
            Some(json!({ "description": "first edit" })),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(renamed.expect(StatusCode::OK).etag(), "\"v2\"");
    let stale = t
        .call(
            Method::PATCH,
            &format!("/api/v1/groups/{g}"),
            Some(json!({ "description": "lost update" })),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(
        stale.expect(StatusCode::PRECONDITION_FAILED).code(),
        "precondition_failed"
    );
    t.call(
        Method::DELETE,
        &format!("/api/v1/groups/{g}"),
        None,
        &[("if-match", &etag)],
    )
    .await
    .expect(StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        t.get(&format!("/api/v1/groups/{g}")).await.body["description"],
        "first edit"
    );
}

async fn a_retried_post_with_the_same_idempotency_key_creates_once(t: TestApp) {
    let body = json!({ "name": "Retried Ltd" });
    let first = t
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(body.clone()),
            &[("idempotency-key", "k-1")],
        )
        .await
        .expect(StatusCode::CREATED);
    let again = t
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(body),
            &[("idempotency-key", "k-1")],
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let listed = t.get("/api/v1/clients").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let other = t
        .call(
            Method::POST,
            "/api/v1/clients",
            Some(json!({ "name": "Different" })),
            &[("idempotency-key", "k-1")],
        )
        .await;
    assert_eq!(
        other.expect(StatusCode::UNPROCESSABLE_ENTITY).code(),
        "idempotency_key_reused"
    );
}

async fn cursor_pages_cover_every_row_once_in_name_order(t: TestApp) {
    for name in ["delta", "Alpha", "charlie", "Echo", "bravo", "foxtrot", "Golf"] {
        t.group(name, &[]).await;
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = t
            .get(&format!("/api/v1/groups?limit=3&cursor={cursor}"))
            .await
            .expect(StatusCode::OK);
        let items = page.body["items"].as_array().unwrap();
        assert!(!items.is_empty() && items.len() <= 3);
        seen.extend(items.iter().map(|g| g["name"].as_str().unwrap().to_string()));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, ["Alpha", "bravo", "charlie", "delta", "Echo", "foxtrot", "Golf"]);
    t.get("/api/v1/groups?limit=0")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let filtered = t.get("/api/v1/groups?q=CHAR&kind=clients").await.expect(StatusCode::OK);
    assert_eq!(filtered.body["items"][0]["name"], "charlie");
}

async fn clients_lists_hide_inactive_and_closed_unless_asked(t: TestApp) {
    t.client("Active One").await;
    t.post("/api/v1/clients", json!({ "name": "Dormant", "status": "inactive" }))
        .await
        .expect(StatusCode::CREATED);
    t.post("/api/v1/clients", json!({ "name": "Gone", "status": "closed" }))
        .await
        .expect(StatusCode::CREATED);
    let names = |r: common::Resp| {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(t.get("/api/v1/clients").await), ["Active One"]);
    assert_eq!(
        names(t.get("/api/v1/clients?include_inactive=true").await),
        ["Active One", "Dormant", "Gone"]
    );
    assert_eq!(
        names(t.get("/api/v1/clients?status=closed,inactive").await),
        ["Dormant", "Gone"]
    );
    assert_eq!(
        names(t.get("/api/v1/clients?q=dorm&include_inactive=true").await),
        ["Dormant"]
    );
    t.get("/api/v1/clients?status=asleep")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
}

// One search for everyone: part of the name in any case, or the exact external reference or
// e-mail; a group filter lists the clients reached through it, nested groups included.
async fn a_client_search_finds_names_references_and_e_mails_and_groups_reach_through_nesting(t: TestApp) {
    let names = |r: common::Resp| {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let bakery = t
        .post(
            "/api/v1/clients",
            json!({ "name": "Hill Bakery", "external_ref": "CRM-77", "email": "orders@hill.example" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let florist = t.client("Florist on the Hill").await;
    t.client("Garage").await;
    assert_eq!(
        names(t.get("/api/v1/clients?q=HILL").await),
        ["Florist on the Hill", "Hill Bakery"]
    );
    assert_eq!(names(t.get("/api/v1/clients?q=CRM-77").await), ["Hill Bakery"]);
    assert_eq!(
        names(t.get("/api/v1/clients?q=Orders@Hill.example").await),
        ["Hill Bakery"]
    );
    // Not a part of a reference: references are identifiers.
    assert!(names(t.get("/api/v1/clients?q=CRM-7").await).is_empty());
    let bakeries = t.group("Bakeries", &[bakery]).await;
    let flowers = t.group("Flowers", &[florist]).await;
    let shops = t.group_of_groups("Shops", &[bakeries, flowers]).await;
    assert_eq!(
        names(t.get(&format!("/api/v1/clients?group={shops}")).await),
        ["Florist on the Hill", "Hill Bakery"]
    );
    assert_eq!(
        names(t.get(&format!("/api/v1/clients?group={shops}&q=bak")).await),
        ["Hill Bakery"]
    );
}

async fn logos_must_be_real_pngs_within_the_limits(t: TestApp) {
    let g = t.group("Branded", &[]).await;
    let png = clientele_domain::logo::solid_png(32, 16, [200, 30, 30]);
    let put = |bytes: Vec<u8>, variant: &'static str| {
        let req = http::Request::builder()
            .method(Method::PUT)
            .uri(format!("/api/v1/groups/{g}/logos/{variant}"))
            .header("authorization", format!("Bearer {}", t.token))
            .header("content-type", "image/png")
            .body(axum::body::Body::from(bytes))
            .unwrap();
        t.send(req)
    };
    let ok = put(png.clone(), "light").await.expect(StatusCode::OK);
    assert_eq!(ok.body["has_light_logo"], true);
    assert_eq!(ok.body["has_dark_logo"], false);
    let got = t
        .get(&format!("/api/v1/groups/{g}/logos/light"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(got.headers["content-type"], "image/png");
    assert_eq!(got.bytes, png);
    let mut truncated = png.clone();
    truncated.truncate(png.len() - 20);
    assert_eq!(
        put(truncated, "dark")
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY)
            .body["field"],
        "logo_dark"
    );
    put(b"GIF89a".to_vec(), "dark")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    put(clientele_domain::logo::solid_png(2100, 1, [0, 0, 0]), "dark")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    // Over the server's body limit too, the answer says the logo's limit (issue 19).
    let huge = put(vec![0; 5 * 1024 * 1024], "dark")
        .await
        .expect(StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        huge.body["detail"]
            .as_str()
            .unwrap()
            .contains("at most 1048576 bytes (1 MiB)"),
        "{}",
        huge.body
    );
    assert_eq!(huge.body["field"], "logo_dark");
    t.get(&format!("/api/v1/groups/{g}/logos/dark"))
        .await
        .expect(StatusCode::NOT_FOUND);
    t.get(&format!("/api/v1/groups/{g}/logos/purple"))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    t.delete(&format!("/api/v1/groups/{g}/logos/light"))
        .await
        .expect(StatusCode::NO_CONTENT);
    t.get(&format!("/api/v1/groups/{g}/logos/light"))
        .await
        .expect(StatusCode::NOT_FOUND);
}

async fn every_change_is_in_the_audit_trail_with_before_and_after(t: TestApp) {
    let client = t.client("Audited Ltd").await;
    let g = t.group("Audited", &[]).await;
    t.patch(&format!("/api/v1/groups/{g}"), json!({ "name": "Audited group" }))
        .await
        .expect(StatusCode::OK);
    t.post(
        &format!("/api/v1/groups/{g}/members"),
        json!({ "client_ids": [client] }),
    )
    .await
    .expect(StatusCode::OK);
    let trail = t.get(&format!("/api/v1/audit?group={g}")).await.expect(StatusCode::OK);
    let events = trail.body["items"].as_array().unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["membership.added", "group.updated", "group.created"]);
    assert_eq!(events[1]["before"]["name"], "Audited");
    assert_eq!(events[1]["after"]["name"], "Audited group");
    assert!(events[0]["actor"].as_i64().is_some());
    assert!(events[0]["request_id"].as_str().is_some());
    let by_client = t
        .get(&format!("/api/v1/audit?client={client}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        by_client.body["items"].as_array().unwrap().len(),
        2,
        "client.created and membership.added"
    );
}

async fn staff_business_units_and_the_last_admin(t: TestApp) {
    let created = t
        .post(
            "/api/v1/staff",
            json!({ "email": "Agent@Firm.example", "name": "Agent", "role": "staff" }),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created.body["email"], "agent@firm.example");
    t.post(
        "/api/v1/staff",
        json!({ "email": "agent@firm.example", "name": "Twin", "role": "staff" }),
    )
    .await
    .expect(StatusCode::CONFLICT);
    let me = t.get("/api/v1/staff?limit=1").await.expect(StatusCode::OK);
    let admin_id = me.body["items"][0]["id"].as_i64().unwrap();
    let last = t
        .patch(&format!("/api/v1/staff/{admin_id}"), json!({ "role": "staff" }))
        .await
        .expect(StatusCode::CONFLICT);
    assert!(last.body["detail"].as_str().unwrap().contains("last active admin"));

    let unit = t
        .post("/api/v1/business-units", json!({ "name": "North office" }))
        .await
        .expect(StatusCode::CREATED);
    let unit_id = unit.body["id"].as_i64().unwrap();
    t.post("/api/v1/business-units", json!({ "name": "north OFFICE" }))
        .await
        .expect(StatusCode::CONFLICT);
    let g = t
        .post(
            "/api/v1/groups",
            json!({ "name": "Northern", "kind": "clients", "business_unit_id": unit_id }),
        )
        .await
        .expect(StatusCode::CREATED);
    t.delete(&format!("/api/v1/business-units/{unit_id}"))
        .await
        .expect(StatusCode::CONFLICT);
    t.patch(
        &format!("/api/v1/groups/{}", g.body["id"]),
        json!({ "business_unit_id": t.unit }),
    )
    .await
    .expect(StatusCode::OK);
    let filtered = t
        .get(&format!("/api/v1/groups?business_unit={}", t.unit))
        .await
        .expect(StatusCode::OK);
    assert_eq!(filtered.body["items"][0]["name"], "Northern");
}

async fn operations_endpoints_answer(t: TestApp) {
    let health = t
        .call_as("", Method::GET, "/healthz", None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(health.bytes, b"ok");
    t.call_as("", Method::GET, "/readyz", None, &[])
        .await
        .expect(StatusCode::OK);
    t.get("/api/v1/groups").await.expect(StatusCode::OK);
    // Not served unless the operator says where and to whom.
    t.call_as("", Method::GET, "/metrics", None, &[])
        .await
        .expect(StatusCode::NOT_FOUND);
    let settings = clientele_web::WebSettings {
        metrics_access: Some(Some("scrape-me".into())),
        ..Default::default()
    };
    let guarded = clientele_web::router(t.app.clone(), &settings);
    let call = |token: &str| {
        common::send(
            guarded.clone(),
            common::request(token, Method::GET, "/metrics", None, &[]),
        )
    };
    call("").await.expect(StatusCode::NOT_FOUND);
    call("wrong").await.expect(StatusCode::NOT_FOUND);
    let metrics = call("scrape-me").await.expect(StatusCode::OK);
    let text = String::from_utf8(metrics.bytes).unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/v1/groups\""));
    assert!(text.contains("db_pool_connections"));
    for gauge in [
        "process_requests_pending",
        "process_request_oldest_pending_seconds",
        "access_index_lag_changes",
        "report_ledger_entries",
    ] {
        assert!(text.contains(gauge), "{gauge}: {text}");
    }

    // The queue: a large upload waits for a worker, and the gauges say so until one runs it.
    assert_eq!(t.app.gauges().await.unwrap().requests_pending, 0);
    let mut file = String::from("external_ref,name\n");
    for i in 0..1500 {
        file.push_str(&format!("Q{i},Queued client {i}\n"));
    }
    let req = http::Request::builder()
        .method(Method::POST)
        .uri("/api/v1/csv/clients/import?mode=apply")
        .header("authorization", format!("Bearer {}", t.token))
        .header("content-type", "text/csv")
        .body(axum::body::Body::from(file))
        .unwrap();
    t.send(req).await.expect(StatusCode::ACCEPTED);
    let waiting = t.app.gauges().await.unwrap();
    assert_eq!((waiting.requests_pending, waiting.requests_running), (1, 0));
    assert!(
        waiting.oldest_pending_seconds >= 0.0 && waiting.oldest_pending_seconds < 60.0,
        "{waiting:?}"
    );
    while t.app.work_once("metrics-test", 30_000).await.unwrap() {}
    let done = t.app.gauges().await.unwrap();
    assert_eq!((done.requests_pending, done.oldest_pending_seconds), (0, 0.0));
    assert_eq!(
        done.access_index_lag, 0,
        "the index applied every change this process wrote"
    );
    let text = String::from_utf8(call("scrape-me").await.expect(StatusCode::OK).bytes).unwrap();
    assert!(
        text.contains("process_request_rows_total{operation=\"import_clients\"}"),
        "{text}"
    );
    let missing = t.get("/api/v1/nowhere").await.expect(StatusCode::NOT_FOUND);
    assert_eq!(missing.code(), "not_found");
    assert!(missing.body["request_id"].as_str().is_some());
}

/// Every operation in the OpenAPI document is routed (no 404/405 from the router itself), and the
/// document lists every API route we serve.
#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let t = TestApp::new(common::Backend::Sqlite).await;
    let doc = t
        .call_as("", Method::GET, "/api/v1/openapi.json", None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(doc.body["openapi"], "3.1.0");
    let paths = doc.body["paths"].as_object().unwrap();
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            operations.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    operations.sort();
    let expected = [
        "DELETE /api/v1/business-units/{id}",
        "DELETE /api/v1/groups/{id}",
        "DELETE /api/v1/groups/{id}/logos/{variant}",
        "DELETE /api/v1/groups/{id}/staff/{staff_id}",
        "DELETE /api/v1/program-accounts/{id}",
        "DELETE /api/v1/saved-reports/{id}",
        "DELETE /api/v1/time-entries/{id}",
        "DELETE /api/v1/tokens/{id}",
        "GET /api/v1/access/check",
        "GET /api/v1/audit",
        "GET /api/v1/business-units",
        "GET /api/v1/business-units/{id}",
        "GET /api/v1/clients",
        "GET /api/v1/clients/{id}",
        "GET /api/v1/clients/{id}/access",
        "GET /api/v1/clients/{id}/groups",
        "GET /api/v1/clients/{id}/program-accounts",
        "GET /api/v1/colleagues",
        "GET /api/v1/csv/{format}/export",
        "GET /api/v1/csv/{format}/guide",
        "GET /api/v1/groups",
        "GET /api/v1/groups/{id}",
        "GET /api/v1/groups/{id}/logos/{variant}",
        "GET /api/v1/groups/{id}/members",
        "GET /api/v1/groups/{id}/staff",
        "GET /api/v1/me/clients",
        "GET /api/v1/organization",
        "GET /api/v1/process-requests",
        "GET /api/v1/process-requests/{id}",
        "GET /api/v1/process-requests/{id}/report.csv",
        "GET /api/v1/program-accounts/{id}",
        "GET /api/v1/reports/time",
        "GET /api/v1/reports/time.csv",
        "GET /api/v1/reports/time.svg",
        "GET /api/v1/saved-reports",
        "GET /api/v1/saved-reports/{id}",
        "GET /api/v1/staff",
        "GET /api/v1/staff/{id}",
        "GET /api/v1/staff/{id}/assignments",
        "GET /api/v1/staff/{id}/clients",
        "GET /api/v1/time-entries",
        "GET /api/v1/time-entries/{id}",
        "GET /api/v1/tokens",
        "PATCH /api/v1/business-units/{id}",
        "PATCH /api/v1/clients/{id}",
        "PATCH /api/v1/groups/{id}",
        "PATCH /api/v1/program-accounts/{id}",
        "PATCH /api/v1/staff/{id}",
        "POST /api/v1/access/check",
        "POST /api/v1/business-units",
        "POST /api/v1/clients",
        "POST /api/v1/clients/{id}/program-accounts",
        "POST /api/v1/csv/{format}/import",
        "POST /api/v1/groups",
        "POST /api/v1/groups/{id}/members",
        "POST /api/v1/groups/{id}/members/bulk",
        "POST /api/v1/groups/{id}/members/remove",
        "POST /api/v1/me/password",
        "POST /api/v1/password-resets",
        "POST /api/v1/process-requests/{id}/cancel",
        "POST /api/v1/process-requests/{id}/retry",
        "POST /api/v1/saved-reports",
        "POST /api/v1/staff",
        "POST /api/v1/staff/{id}/password-reset",
        "POST /api/v1/time-entries",
        "POST /api/v1/tokens",
        "PUT /api/v1/groups/{id}/logos/{variant}",
        "PUT /api/v1/groups/{id}/staff/{staff_id}",
        "PUT /api/v1/organization/policies",
        "PUT /api/v1/saved-reports/{id}",
        "PUT /api/v1/time-entries/{id}",
    ];
    assert_eq!(operations, expected);
    for op in &operations {
        let (method, path) = op.split_once(' ').unwrap();
        let concrete = path
            .replace("{id}", "1")
            .replace("{staff_id}", "1")
            .replace("{format}", "clients")
            .replace("{variant}", "light");
        let r = t.call_as("", method.parse().unwrap(), &concrete, None, &[]).await;
        // Unauthenticated requests reach the handler's extractor: 401, never a router 404/405
        // (redeeming a password reset needs no token: its missing body is the refusal).
        let expected = if op == "POST /api/v1/password-resets" {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(r.status, expected, "{op} is documented but not routed");
    }
    assert!(doc.body["components"]["schemas"]["Problem"].is_object());
}

on_both_backends!(
    requests_without_a_valid_token_are_refused,
    nothing_crosses_organisations,
    bad_input_names_the_field_and_the_rule_and_changes_nothing,
    a_stale_if_match_is_refused_with_412,
    a_retried_post_with_the_same_idempotency_key_creates_once,
    cursor_pages_cover_every_row_once_in_name_order,
    clients_lists_hide_inactive_and_closed_unless_asked,
    a_client_search_finds_names_references_and_e_mails_and_groups_reach_through_nesting,
    logos_must_be_real_pngs_within_the_limits,
    every_change_is_in_the_audit_trail_with_before_and_after,
    staff_business_units_and_the_last_admin,
    operations_endpoints_answer,
);
