//! Issue 4's stories: CSV imports and exports with guides, bulk adds, and process requests, told
//! against the API on both backends. Requests above 1000 rows wait for a worker; here the test
//! plays the worker (`work_once`), as `serve` and `clientele worker` do in a loop.

use crate::common;

use axum::body::Body;
use common::{Resp, TestApp};
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

use futures::StreamExt;
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn upload(t: &TestApp, format: &str, query: &str, body: impl Into<Vec<u8>>) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/csv/{format}/import?{query}"))
        .header("authorization", format!("Bearer {}", t.token))
        .header("content-type", "text/csv")
        .body(Body::from(body.into()))
        .unwrap();
    t.send(req).await
}

fn text(r: &Resp) -> String {
    String::from_utf8(r.bytes.clone()).unwrap()
}

/// The outcome of each row of an answer, in order, as "line outcome".
fn outcomes(r: &Resp) -> Vec<String> {
    r.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| format!("{} {}", row["line"], row["outcome"].as_str().unwrap()))
        .collect()
}

fn reason_of(r: &Resp, line: i64) -> String {
    r.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["line"] == line)
        .and_then(|row| row["reason"].as_str())
        .unwrap_or_default()
        .to_string()
}

async fn client_names(t: &TestApp) -> Vec<String> {
    let r = t
        .get("/api/v1/clients?include_inactive=true&limit=500")
        .await
        .expect(StatusCode::OK);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

async fn member_names(t: &TestApp, group: i64) -> Vec<String> {
    let r = t
        .get(&format!("/api/v1/groups/{group}/members?limit=500"))
        .await
        .expect(StatusCode::OK);
    let mut names: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

async fn audit_count(t: &TestApp, action: &str) -> usize {
    let mut count = 0;
    let mut cursor = String::new();
    loop {
        let r = t
            .get(&format!("/api/v1/audit?limit=500{cursor}"))
            .await
            .expect(StatusCode::OK);
        count += r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action)
            .count();
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return count,
        }
    }
}

async fn export(t: &TestApp, format: &str) -> String {
    let r = t
        .get(&format!("/api/v1/csv/{format}/export"))
        .await
        .expect(StatusCode::OK);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    text(&r)
}

/// Plays the worker until no request is left.
async fn work(t: &TestApp) {
    while t.app.work_once("test-worker", 30_000).await.unwrap() {}
}

// A file with good and bad rows applies the good ones and reports each bad one by its line
// and the reason, in the answer and in the downloadable report.
async fn good_rows_apply_and_each_bad_row_is_reported_by_line_and_reason(t: TestApp) {
    let file = "external_ref,name,email,status\n\
                R1,Alpha Ltd,alpha@example.com,active\n\
                R2,,b@example.com,active\n\
                R3,Gamma Ltd,not an e-mail,active\n\
                R4,Delta Ltd,,paused\n\
                R5,Epsilon Ltd,,\n\
                R6,Zeta Ltd\n";
    let r = upload(&t, "clients", "mode=apply", file).await.expect(StatusCode::OK);
    assert_eq!(r.body["request"]["status"], "completed");
    assert_eq!(r.body["request"]["total"], 6);
    assert_eq!(r.body["request"]["done"], 6);
    assert_eq!(r.body["request"]["failed"], 4);
    assert_eq!(
        outcomes(&r),
        [
            "2 created",
            "3 rejected",
            "4 rejected",
            "5 rejected",
            "6 created",
            "7 rejected"
        ]
    );
    assert!(reason_of(&r, 3).starts_with("name"), "{}", reason_of(&r, 3));
    assert!(reason_of(&r, 4).starts_with("email"), "{}", reason_of(&r, 4));
    assert!(
        reason_of(&r, 5).contains("active, inactive or closed"),
        "{}",
        reason_of(&r, 5)
    );
    assert!(
        reason_of(&r, 7).contains("has 2 fields where the header has 4"),
        "{}",
        reason_of(&r, 7)
    );
    let mut names = client_names(&t).await;
    names.sort();
    assert_eq!(names, ["Alpha Ltd", "Epsilon Ltd"]);

    let id = r.body["request"]["id"].as_i64().unwrap();
    let report = t
        .get(&format!("/api/v1/process-requests/{id}/report.csv"))
        .await
        .expect(StatusCode::OK);
    let report = text(&report);
    let mut lines = report.lines();
    assert_eq!(
        lines.next().unwrap(),
        "row,line,outcome,reason,external_ref,name,email,status"
    );
    assert_eq!(
        lines.next().unwrap(),
        "1,2,created,,R1,Alpha Ltd,alpha@example.com,active"
    );
    assert!(lines.next().unwrap().starts_with("2,3,rejected,name"), "{report}");

    // The request's life is in the audit trail, and the clients' creation as an import.
    assert_eq!(audit_count(&t, "process_request.created").await, 1);
    assert_eq!(audit_count(&t, "process_request.started").await, 1);
    assert_eq!(audit_count(&t, "process_request.completed").await, 1);
    let events = t.get("/api/v1/audit?limit=500").await.expect(StatusCode::OK);
    let created: Vec<&Value> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "client.created")
        .collect();
    assert_eq!(created.len(), 2);
    assert!(created.iter().all(|e| e["cause"] == "import"));
}

// A file names a new client twice (the second row corrects its e-mail), an existing one
// (renamed by one row, named back by a later one), and clients in business units by name:
// new clients are created once, later rows update them, and each row's outcome says which.
async fn a_client_named_twice_in_a_file_is_created_once_then_updated(t: TestApp) {
    let old = t
        .post(
            "/api/v1/clients",
            json!({ "name": "Old Client", "external_ref": "OLD", "email": "old@example.com" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let file = format!(
        "id,external_ref,name,email,business_unit\n\
         ,N1,New One,n1@example.com,\n\
         ,N1,New One,n1-new@example.com,\n\
         ,OLD,Old Client,old@example.com,\n\
         ,N2,Unit Less,,Nowhere\n\
         ,,No Reference,,Main office\n\
         ,N1,New One,n1-new@example.com,\n\
         {old},OLD,Old Client Renamed,old@example.com,\n\
         ,N3,Bad Mail,not an e-mail,\n\
         ,OLD,Old Client,old@example.com,\n"
    );
    let r = upload(&t, "clients", "mode=apply", file).await.expect(StatusCode::OK);
    assert_eq!(
        outcomes(&r),
        [
            "2 created",
            "3 updated",
            "4 unchanged",
            "5 rejected",
            "6 created",
            "7 unchanged",
            "8 updated",
            "9 rejected",
            "10 updated"
        ]
    );
    assert!(
        reason_of(&r, 5).contains("no business unit named \"Nowhere\""),
        "{}",
        reason_of(&r, 5)
    );
    assert!(reason_of(&r, 9).starts_with("email"), "{}", reason_of(&r, 9));
    let mut names = client_names(&t).await;
    names.sort();
    assert_eq!(names, ["New One", "No Reference", "Old Client"]);
    let exported = export(&t, "clients").await;
    assert!(exported.contains(",N1,New One,n1-new@example.com,"), "{exported}");
    assert!(
        exported.contains(",No Reference,,,active,active,,Main office,"),
        "{exported}"
    );
    assert_eq!(audit_count(&t, "client.created").await, 3);
    assert_eq!(audit_count(&t, "client.updated").await, 3);
}

// Exclusive membership holds in an import exactly as in a single edit.
async fn an_exclusive_mode_import_refuses_a_client_already_in_another_group(t: TestApp) {
    t.policies(|p| p.membership_mode = clientele_domain::policy::MembershipMode::Exclusive)
        .await;
    let anna = t
        .post(
            "/api/v1/clients",
            json!({ "name": "Anna Bakery", "external_ref": "A-1" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    t.post(
        "/api/v1/clients",
        json!({ "name": "Bruno Builders", "external_ref": "B-1" }),
    )
    .await
    .expect(StatusCode::CREATED);
    t.group("One", &[anna]).await;
    let two = t.group("Two", &[]).await;
    let file = "group,client_ref\nTwo,A-1\nTwo,B-1\nNowhere,B-1\n";
    let r = upload(&t, "memberships", "mode=apply", file)
        .await
        .expect(StatusCode::OK);
    assert_eq!(outcomes(&r), ["2 rejected", "3 added", "4 rejected"]);
    assert!(
        reason_of(&r, 2).contains("already belongs to the group \"One\""),
        "{}",
        reason_of(&r, 2)
    );
    assert!(
        reason_of(&r, 4).contains("no client group named \"Nowhere\""),
        "{}",
        reason_of(&r, 4)
    );
    assert_eq!(t.groups_of(anna).await, ["One"]);
    assert_eq!(member_names(&t, two).await, ["Bruno Builders"]);
}

// Membership rows are checked set-based, a batch at a time: each is refused for the reason,
// and in the words, a single edit gives, and rows see the rows before them in the file.
async fn membership_rows_answer_as_single_edits_do(t: TestApp) {
    t.policies(|p| {
        p.membership_mode = clientele_domain::policy::MembershipMode::Exclusive;
        p.require_active_relationship = true;
    })
    .await;
    let anna = t
        .post(
            "/api/v1/clients",
            json!({ "name": "Anna Bakery", "external_ref": "A-1" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let ben = t
        .post(
            "/api/v1/clients",
            json!({ "name": "Ben Builders", "external_ref": "B-1" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let old = t
        .post(
            "/api/v1/clients",
            json!({ "name": "Old Mill", "external_ref": "O-1", "relationship": "expired" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let one = t.group("One", &[anna]).await;
    let two = t.group("Two", &[]).await;
    let parent = t.group_of_groups("Parent", &[]).await;
    let file = format!(
        "group,client_ref,client_id,child_group\n\
         Two,B-1,,\n\
         Two,B-1,,\n\
         Two,A-1,,\n\
         Two,O-1,,\n\
         Parent,B-1,,\n\
         Two,,999999,\n\
         One,B-1,,\n\
         Parent,,,Two\n\
         Two,,,One\n\
         Nowhere,B-1,,\n\
         Two,Z-9,,\n\
         Two,,{old},\n"
    );
    let events_before = audit_count(&t, "membership.added").await;
    let r = upload(&t, "memberships", "mode=apply", file)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        outcomes(&r),
        [
            "2 added",
            "3 already_member",
            "4 rejected",
            "5 rejected",
            "6 rejected",
            "7 rejected",
            "8 rejected",
            "9 added",
            "10 rejected",
            "11 rejected",
            "12 rejected",
            "13 rejected"
        ]
    );
    assert!(
        reason_of(&r, 11).contains("no client group named \"Nowhere\""),
        "{}",
        reason_of(&r, 11)
    );
    assert!(
        reason_of(&r, 12).contains("external reference \"Z-9\""),
        "{}",
        reason_of(&r, 12)
    );
    // The same items as single edits, now that the file's rows are applied: the same words.
    let single = |group: i64, body: Value| {
        let t = &t;
        async move {
            let r = t
                .post(&format!("/api/v1/groups/{group}/members"), body)
                .await
                .expect(StatusCode::OK);
            r.body["results"][0]["detail"].as_str().unwrap_or_default().to_string()
        }
    };
    assert_eq!(reason_of(&r, 4), single(two, json!({ "client_ids": [anna] })).await);
    assert_eq!(reason_of(&r, 5), single(two, json!({ "client_ids": [old] })).await);
    assert_eq!(reason_of(&r, 13), reason_of(&r, 5));
    assert_eq!(reason_of(&r, 6), single(parent, json!({ "client_ids": [ben] })).await);
    assert!(
        reason_of(&r, 7).contains("client 999999 not found"),
        "{}",
        reason_of(&r, 7)
    );
    assert_eq!(reason_of(&r, 8), single(one, json!({ "client_ids": [ben] })).await);
    assert_eq!(reason_of(&r, 10), single(two, json!({ "group_ids": [one] })).await);
    assert_eq!(t.groups_of(ben).await, ["Two"]);
    assert_eq!(t.groups_of(anna).await, ["One"]);
    // One event per membership that began (Ben into Two, Two into Parent), as for single edits.
    assert_eq!(audit_count(&t, "membership.added").await - events_before, 2);
    let two_now = t.get(&format!("/api/v1/groups/{two}")).await.expect(StatusCode::OK);
    assert_eq!(two_now.body["member_count"], 1);
}

// What an export writes, an import reads back without changing anything.
async fn an_export_imports_back_unchanged(t: TestApp) {
    t.post(
        "/api/v1/clients",
        json!({
            "name": "Müller, Söhne & Co", "external_ref": "M-1", "email": "info@mueller.example",
            "notes": "two lines,\nwith \"quotes\"", "relationship_expires_at": "2030-06-30T12:00:00Z",
            "business_unit_id": t.unit
        }),
    )
    .await
    .expect(StatusCode::CREATED);
    let plain = t.client("Plain Client").await;
    let closed = t
        .post(
            "/api/v1/clients",
            json!({ "name": "Closed Client", "status": "closed" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let vip = t.group("VIP", &[plain, closed]).await;
    t.patch(
        &format!("/api/v1/groups/{vip}"),
        json!({ "description": "our best; truly", "crm_id": "G-7" }),
    )
    .await
    .expect(StatusCode::OK);
    t.group_of_groups("Everyone", &[vip]).await;

    let before: Vec<String> = [
        export(&t, "clients").await,
        export(&t, "groups").await,
        export(&t, "memberships").await,
    ]
    .into();
    assert!(before[0].starts_with(
        "id,external_ref,name,email,phone,status,relationship,relationship_expires_at,business_unit,notes\r\n"
    ));
    assert!(before[0].contains("\"Müller, Söhne & Co\""));
    assert!(before[2].contains("Everyone,,,VIP"), "{}", before[2]);
    let audit_before = t.get("/api/v1/audit?limit=1").await.expect(StatusCode::OK).body["items"][0]["id"].clone();

    for (format, file, expected) in [
        ("clients", &before[0], "unchanged"),
        ("groups", &before[1], "unchanged"),
        ("memberships", &before[2], "already_member"),
    ] {
        let r = upload(&t, format, "mode=apply", file.clone())
            .await
            .expect(StatusCode::OK);
        assert_eq!(r.body["request"]["failed"], 0, "{format}: {}", r.body);
        let rows = r.body["rows"].as_array().unwrap();
        assert!(!rows.is_empty());
        assert!(
            rows.iter().all(|row| row["outcome"] == expected),
            "{format}: {}",
            r.body
        );
    }
    let after: Vec<String> = [
        export(&t, "clients").await,
        export(&t, "groups").await,
        export(&t, "memberships").await,
    ]
    .into();
    assert_eq!(before, after);
    // Nothing changed, so nothing but the requests' own lives entered the audit trail (and the
    // API token's first use, which is written in the background whenever it lands).
    let events = t.get("/api/v1/audit?limit=500").await.expect(StatusCode::OK);
    let newer: Vec<&str> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .take_while(|e| e["id"] != audit_before)
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| *a != "token.first_used")
        .collect();
    assert!(newer.iter().all(|a| a.starts_with("process_request.")), "{newer:?}");
}

// replace=true: each group the file names ends with exactly the file's members.
async fn replace_makes_the_members_exactly_the_files(t: TestApp) {
    let a = t
        .post("/api/v1/clients", json!({ "name": "Ann", "external_ref": "A" }))
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let b = t.client("Ben").await;
    let c = t
        .post("/api/v1/clients", json!({ "name": "Cat", "external_ref": "C" }))
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    t.post("/api/v1/clients", json!({ "name": "Dan", "external_ref": "D" }))
        .await
        .expect(StatusCode::CREATED);
    let g = t.group("Team", &[a, b, c]).await;
    let other = t.group("Other", &[b]).await;
    // A reader of the group, whose answers come from the access index.
    let reader = t
        .post(
            "/api/v1/staff",
            json!({ "email": "reader@firm.example", "name": "Reader", "role": "staff" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    t.put(
        &format!("/api/v1/groups/{g}/staff/{reader}"),
        json!({ "role": "reader" }),
    )
    .await
    .expect(StatusCode::OK);
    let reader_token = t.app.create_token("reader@firm.example", "test").await.unwrap();
    let r = upload(
        &t,
        "memberships",
        "mode=apply&replace=true",
        "group;client_ref\r\nTeam;A\r\nTeam;D\r\n",
    )
    .await
    .expect(StatusCode::OK);
    let mut seen = outcomes(&r);
    seen.sort();
    assert_eq!(seen, ["0 removed", "0 removed", "2 already_member", "3 added"]);
    assert_eq!(member_names(&t, g).await, ["Ann", "Dan"]);
    // The removals are in the report as made-up rows (line 0) naming whom they took out, and
    // in the audit trail; the group's count follows.
    let id = r.body["request"]["id"].as_i64().unwrap();
    let report = text(
        &t.get(&format!("/api/v1/process-requests/{id}/report.csv"))
            .await
            .expect(StatusCode::OK),
    );
    assert!(report.contains(",0,removed,,Team,C"), "{report}");
    assert!(
        report.contains(",0,removed,,Team,\r\n") || report.ends_with(",0,removed,,Team,"),
        "{report}"
    );
    assert_eq!(audit_count(&t, "membership.removed").await, 2);
    assert_eq!(t.get(&format!("/api/v1/groups/{g}")).await.body["member_count"], 2);
    // The import's access changes reached the index before it answered.
    let mine = t
        .call_as(&reader_token, Method::GET, "/api/v1/me/clients", None, &[])
        .await
        .expect(StatusCode::OK);
    let seen: Vec<&str> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(seen, ["Ann", "Dan"]);
    // Groups the file does not name keep their members; removed clients still exist.
    assert_eq!(member_names(&t, other).await, ["Ben"]);
    assert_eq!(client_names(&t).await.len(), 4);
    // Replace is for memberships only.
    let refused = upload(&t, "clients", "mode=apply&replace=true", "name\nX\n")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["field"], "replace");
}

// validate is a dry run: every row gets the outcome it would have, and nothing changes.
async fn validate_reports_what_would_happen_and_changes_nothing(t: TestApp) {
    let g = t.group("Regulars", &[]).await;
    let file = "external_ref,name\nV1,Victor Ltd\nV2,\n";
    let r = upload(&t, "clients", "mode=validate", file)
        .await
        .expect(StatusCode::OK);
    assert_eq!(r.body["request"]["mode"], "validate");
    assert_eq!(outcomes(&r), ["2 created", "3 rejected"]);
    assert!(client_names(&t).await.is_empty());
    assert_eq!(audit_count(&t, "client.created").await, 0);
    // Rows of one batch see each other: a group made in row 2 takes members in row 3.
    let groups = "name,kind,business_unit\nDry Run,clients,Main office\n";
    let r = upload(&t, "groups", "mode=validate", groups)
        .await
        .expect(StatusCode::OK);
    assert_eq!(outcomes(&r), ["2 created"]);
    let list = t.get("/api/v1/groups").await.expect(StatusCode::OK);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(member_names(&t, g).await, Vec::<String>::new());
}

// A byte-order mark, `;` separators, CRLF and quoted separators and line breaks all read.
async fn bom_and_semicolon_files_work(t: TestApp) {
    let file = "\u{feff}# exported from a spreadsheet\r\nname;external_ref;notes\r\n\"Weiß; Partner\";W-1;\"line one\r\nline two\"\r\nÖz Ltd;Ö-2;\r\n";
    let r = upload(&t, "clients", "mode=apply", file).await.expect(StatusCode::OK);
    assert_eq!(outcomes(&r), ["3 created", "5 created"]);
    let mut names = client_names(&t).await;
    names.sort();
    assert_eq!(names, ["Weiß; Partner", "Öz Ltd"]);
    let found = t.get("/api/v1/clients?q=W-1").await.expect(StatusCode::OK);
    assert_eq!(found.body["items"][0]["notes"], "line one\r\nline two");
}

// A file that is not UTF-8 is refused with the offset of the first bad byte.
async fn a_non_utf8_file_names_the_byte_offset(t: TestApp) {
    let r = upload(&t, "clients", "mode=apply", b"name\nok\nM\xfcller\n".to_vec())
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("byte offset 9"), "{detail}");
    assert!(client_names(&t).await.is_empty());
    // An unknown column refuses the file too, naming the columns there are.
    let r = upload(&t, "groups", "mode=apply", "name,colour\nX,red\n")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body["detail"].as_str().unwrap().contains("unknown column \"colour\""),
        "{}",
        r.body
    );
    // The guides upload as they are (their # lines are skipped).
    let guide = t.get("/api/v1/csv/groups/guide").await.expect(StatusCode::OK);
    assert!(text(&guide).starts_with("# Clientele CSV guide: groups"));
    let r = upload(&t, "groups", "mode=validate", guide.bytes.clone())
        .await
        .expect(StatusCode::OK);
    assert_eq!(outcomes(&r).len(), 2, "{}", r.body);
}

// Large requests wait for a worker; they can be cancelled while pending, and a finished
// request's rejected rows can be retried once the data they needed exists.
async fn cancel_and_retry(t: TestApp) {
    let mut file = String::from("external_ref,name\n");
    for i in 0..1500 {
        file.push_str(&format!("C{i},Client {i:04}\n"));
    }
    let r = upload(&t, "clients", "mode=apply", file.clone())
        .await
        .expect(StatusCode::ACCEPTED);
    assert_eq!(r.body["request"]["status"], "pending");
    assert!(r.body["rows"].is_null());
    let id = r.body["request"]["id"].as_i64().unwrap();
    let cancelled = t
        .post(&format!("/api/v1/process-requests/{id}/cancel"), json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert!(!t.app.work_once("test-worker", 30_000).await.unwrap());
    let again = t
        .post(&format!("/api/v1/process-requests/{id}/cancel"), json!({}))
        .await
        .expect(StatusCode::CONFLICT);
    assert_eq!(again.code(), "conflict");
    assert!(client_names(&t).await.is_empty());

    // The same file again, run by the worker in batches.
    let r = upload(&t, "clients", "mode=apply", file)
        .await
        .expect(StatusCode::ACCEPTED);
    let id = r.body["request"]["id"].as_i64().unwrap();
    work(&t).await;
    let done = t
        .get(&format!("/api/v1/process-requests/{id}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(done.body["status"], "completed");
    assert_eq!(done.body["done"], 1500);
    assert_eq!(done.body["progress"], 100);

    // Members named before they exist are rejected; after they are created, a retry adds them.
    let g = t.group("Late joiners", &[]).await;
    let r = upload(
        &t,
        "memberships",
        "mode=apply",
        "group,client_ref\nLate joiners,C1\nLate joiners,L-1\nLate joiners,L-2\n",
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(outcomes(&r), ["2 added", "3 rejected", "4 rejected"]);
    let first = r.body["request"]["id"].as_i64().unwrap();
    t.post("/api/v1/clients", json!({ "name": "Late One", "external_ref": "L-1" }))
        .await
        .expect(StatusCode::CREATED);
    t.post("/api/v1/clients", json!({ "name": "Late Two", "external_ref": "L-2" }))
        .await
        .expect(StatusCode::CREATED);
    let retry = t
        .post(&format!("/api/v1/process-requests/{first}/retry"), json!({}))
        .await
        .expect(StatusCode::ACCEPTED);
    assert_eq!(retry.body["retry_of"], first);
    assert_eq!(retry.body["total"], 2);
    work(&t).await;
    let retried = retry.body["id"].as_i64().unwrap();
    let report = t
        .get(&format!("/api/v1/process-requests/{retried}/report.csv"))
        .await
        .expect(StatusCode::OK);
    let report = text(&report);
    assert!(report.contains("1,3,added,,Late joiners,L-1"), "{report}");
    assert!(report.contains("2,4,added,,Late joiners,L-2"), "{report}");
    assert_eq!(member_names(&t, g).await, ["Client 0001", "Late One", "Late Two"]);

    // The list filters by status and type; only admins see it.
    let cancelled = t
        .get("/api/v1/process-requests?status=cancelled")
        .await
        .expect(StatusCode::OK);
    assert_eq!(cancelled.body["items"].as_array().unwrap().len(), 1);
    let memberships = t
        .get("/api/v1/process-requests?type=import_memberships")
        .await
        .expect(StatusCode::OK);
    assert_eq!(memberships.body["items"].as_array().unwrap().len(), 2);
    let page = t.get("/api/v1/process-requests?limit=2").await.expect(StatusCode::OK);
    let cursor = page.body["next_cursor"].as_str().unwrap().to_string();
    let rest = t
        .get(&format!("/api/v1/process-requests?limit=2&cursor={cursor}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 2);
    let staff = t
        .staff_token("clerk@firm.example", clientele_domain::staff::StaffRole::Staff)
        .await;
    t.call_as(&staff, Method::GET, "/api/v1/process-requests", None, &[])
        .await
        .expect(StatusCode::FORBIDDEN);
}

// "All clients matching this search": small bulk adds answer at once, large ones become a
// process request.
async fn bulk_add_by_ids_and_by_filter(t: TestApp) {
    let a = t.client("Small One").await;
    let g = t.group("Everybody", &[]).await;
    let small = t
        .post(
            &format!("/api/v1/groups/{g}/members/bulk"),
            json!({ "action": "add", "client_ids": [a] }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(small.body["results"][0]["outcome"], "added");
    let mut file = String::from("name\n");
    for i in 0..1100 {
        file.push_str(&format!("Bulk {i:04}\n"));
    }
    upload(&t, "clients", "mode=apply", file)
        .await
        .expect(StatusCode::ACCEPTED);
    work(&t).await;
    let large = t
        .post(
            &format!("/api/v1/groups/{g}/members/bulk"),
            json!({ "action": "add", "filter": { "q": "bulk" } }),
        )
        .await
        .expect(StatusCode::ACCEPTED);
    assert_eq!(large.body["request"]["operation"], "bulk_add");
    assert_eq!(large.body["request"]["total"], 1100);
    work(&t).await;
    let group = t.get(&format!("/api/v1/groups/{g}")).await.expect(StatusCode::OK);
    assert_eq!(group.body["member_count"], 1101);
    let removed = t
        .post(
            &format!("/api/v1/groups/{g}/members/bulk"),
            json!({ "action": "remove", "filter": { "q": "bulk" } }),
        )
        .await
        .expect(StatusCode::ACCEPTED);
    let id = removed.body["request"]["id"].as_i64().unwrap();
    work(&t).await;
    let done = t
        .get(&format!("/api/v1/process-requests/{id}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(done.body["status"], "completed");
    assert_eq!(member_names(&t, g).await, ["Small One"]);
    let by_group = t
        .get(&format!("/api/v1/process-requests?group={g}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(by_group.body["items"].as_array().unwrap().len(), 2);
}

// Seed 004: a thousand clients leave a group at once. Every row says what became of it (a
// client listed twice leaves once; one who was never a member is reported, not refused), the
// group's count and the audit trail follow, and the staff member assigned to the group stops
// seeing the clients who left.
async fn a_bulk_removal_of_thousands_reports_every_row_and_access_follows(t: TestApp) {
    let mut file = String::from("name\n");
    for i in 0..1100 {
        file.push_str(&format!("Leaver {i:04}\n"));
    }
    upload(&t, "clients", "mode=apply", file)
        .await
        .expect(StatusCode::ACCEPTED);
    work(&t).await;
    let stayer = t.client("Stayer").await;
    let outsider = t.client("Outsider").await;
    let g = t.group("Departing", &[stayer]).await;
    t.post(
        &format!("/api/v1/groups/{g}/members/bulk"),
        json!({ "action": "add", "filter": { "q": "leaver" } }),
    )
    .await
    .expect(StatusCode::ACCEPTED);
    work(&t).await;
    let manager = t
        .post(
            "/api/v1/staff",
            json!({ "email": "pam@firm.example", "name": "Pam", "role": "staff" }),
        )
        .await
        .expect(StatusCode::CREATED);
    let pam = manager.body["id"].as_i64().unwrap();
    t.put(&format!("/api/v1/groups/{g}/staff/{pam}"), json!({ "role": "reader" }))
        .await
        .expect(StatusCode::OK);
    let pam_token = t.app.create_token("pam@firm.example", "test").await.unwrap();
    let seen = t
        .call_as(&pam_token, Method::GET, "/api/v1/me/clients", None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(seen.body["total"], 1101);
    let version_before = t.get(&format!("/api/v1/groups/{g}")).await.expect(StatusCode::OK).body["version"]
        .as_i64()
        .unwrap();

    let mut leavers = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = t
            .get(&format!("/api/v1/clients?q=leaver&limit=500&cursor={cursor}"))
            .await
            .expect(StatusCode::OK);
        leavers.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_i64().unwrap()),
        );
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(leavers.len(), 1100);
    let mut listed = leavers.clone();
    listed.push(leavers[0]);
    listed.push(outsider);
    // A group item too: "Departing" holds clients, so no group is nested in it.
    let elsewhere = t.group("Elsewhere", &[]).await;
    let queued = t
        .post(
            &format!("/api/v1/groups/{g}/members/bulk"),
            json!({ "action": "remove", "client_ids": listed, "group_ids": [elsewhere] }),
        )
        .await
        .expect(StatusCode::ACCEPTED);
    assert_eq!(queued.body["request"]["operation"], "bulk_remove");
    let id = queued.body["request"]["id"].as_i64().unwrap();
    work(&t).await;

    let done = t
        .get(&format!("/api/v1/process-requests/{id}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(done.body["status"], "completed", "{}", done.body);
    assert_eq!(done.body["done"], 1103);
    assert_eq!(done.body["failed"], 0);
    let report = text(
        &t.get(&format!("/api/v1/process-requests/{id}/report.csv"))
            .await
            .expect(StatusCode::OK),
    );
    let outcome_of = |row: usize| report.lines().nth(row).unwrap().split(',').nth(2).unwrap().to_string();
    assert_eq!(
        (1..=1100).filter(|&row| outcome_of(row) == "removed").count(),
        1100,
        "{report}"
    );
    assert_eq!(
        outcome_of(1101),
        "not_member",
        "the second mention of a client already removed"
    );
    assert_eq!(outcome_of(1102), "not_member", "a client who was never a member");
    assert_eq!(outcome_of(1103), "not_member", "a group that was never nested in it");

    assert_eq!(member_names(&t, g).await, ["Stayer"]);
    let group = t.get(&format!("/api/v1/groups/{g}")).await.expect(StatusCode::OK);
    assert_eq!(group.body["member_count"], 1);
    assert_eq!(
        group.body["version"].as_i64().unwrap(),
        version_before + 1100,
        "a version step per removal"
    );
    assert_eq!(audit_count(&t, "membership.removed").await, 1100);
    let seen = t
        .call_as(&pam_token, Method::GET, "/api/v1/me/clients", None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(seen.body["total"], 1);
    assert_eq!(t.groups_of(leavers[0]).await, Vec::<String>::new());
}

// Two workers at once (PostgreSQL: claims skip each other's locked rows; SQLite: they take
// turns): each request is claimed by one of them, and every row is applied once.
async fn two_workers_share_the_queue_and_apply_every_row_once(t: TestApp) {
    let mut ids = Vec::new();
    for batch in ["A", "B"] {
        let mut file = String::from("external_ref,name\n");
        for i in 0..1200 {
            file.push_str(&format!("{batch}{i},Worker client {batch}{i:04}\n"));
        }
        let r = upload(&t, "clients", "mode=apply", file)
            .await
            .expect(StatusCode::ACCEPTED);
        ids.push(r.body["request"]["id"].as_i64().unwrap());
    }
    let (one, two) = tokio::join!(
        async { while t.app.work_once("worker-one", 30_000).await.unwrap() {} },
        async { while t.app.work_once("worker-two", 30_000).await.unwrap() {} },
    );
    let ((), ()) = (one, two);
    for id in ids {
        let r = t
            .get(&format!("/api/v1/process-requests/{id}"))
            .await
            .expect(StatusCode::OK);
        assert_eq!(r.body["status"], "completed");
        assert_eq!(r.body["done"], 1200);
        assert_eq!(r.body["attempts"], 1);
    }
    assert_eq!(audit_count(&t, "client.created").await, 2400);
    assert_eq!(audit_count(&t, "process_request.started").await, 2);
}

// A big file over an ordinary line takes longer to arrive than any request may take: uploads
// have no overall limit, only one on silence, and a stalled upload ends `failed` with why.
async fn an_upload_slower_than_the_request_timeout_arrives_and_a_stalled_one_is_given_up(t: TestApp) {
    let settings = clientele_web::WebSettings {
        request_timeout: Duration::from_millis(300),
        upload_idle_timeout: Duration::from_millis(900),
        ..Default::default()
    };
    let router = clientele_web::router(t.app.clone(), &settings);
    let slow = |pieces: Vec<(u64, &'static str)>| {
        Body::from_stream(futures::stream::iter(pieces).then(|(pause, text)| async move {
            tokio::time::sleep(Duration::from_millis(pause)).await;
            Ok::<_, std::io::Error>(axum::body::Bytes::from_static(text.as_bytes()))
        }))
    };
    let send = |body: Body| {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/csv/clients/import?mode=apply")
            .header("authorization", format!("Bearer {}", t.token))
            .header("content-type", "text/csv")
            .body(body)
            .unwrap();
        router.clone().oneshot(req)
    };
    // 750 ms in all, never more than 250 ms without a byte.
    let res = send(slow(vec![
        (0, "external_ref,name\n"),
        (250, "S-1,Slow One\n"),
        (250, "S-2,Slow Two\n"),
        (250, ""),
    ]))
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(client_names(&t).await, ["Slow One", "Slow Two"]);

    // Silent for longer than the idle limit: refused, and nothing of it is applied.
    let res = send(slow(vec![
        (0, "external_ref,name\n"),
        (0, "S-3,Never Sent\n"),
        (2000, "S-4,Too Late\n"),
    ]))
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("the upload stalled: nothing arrived for"),
        "{body}"
    );
    assert_eq!(client_names(&t).await, ["Slow One", "Slow Two"]);
    let failed = t
        .get("/api/v1/process-requests?status=failed")
        .await
        .expect(StatusCode::OK);
    assert_eq!(failed.body["items"].as_array().unwrap().len(), 1, "{}", failed.body);
}

// Seed 004: "some client groups may contain thousands of client program accounts; updates to
// groups of this size may take more time to be processed." Deleting such a group under
// detach_members is a process request: its members are detached batch by batch, the group
// says why it cannot be deleted twice meanwhile, and at the end it is gone, its clients kept.
async fn deleting_a_group_of_thousands_runs_as_a_process_request(t: TestApp) {
    t.policies(|p| p.delete_policy = clientele_domain::policy::DeletePolicy::DetachMembers)
        .await;
    let mut file = String::from("name\n");
    for i in 0..1100 {
        file.push_str(&format!("Member {i:04}\n"));
    }
    upload(&t, "clients", "mode=apply", file)
        .await
        .expect(StatusCode::ACCEPTED);
    work(&t).await;
    let big = t.group("Big accounts", &[]).await;
    t.post(
        &format!("/api/v1/groups/{big}/members/bulk"),
        json!({ "action": "add", "filter": { "q": "member" } }),
    )
    .await
    .expect(StatusCode::ACCEPTED);
    work(&t).await;
    let parent = t.group_of_groups("All accounts", &[big]).await;
    let small = t.group("Small accounts", &[t.client("Alone").await]).await;
    t.delete(&format!("/api/v1/groups/{small}"))
        .await
        .expect(StatusCode::NO_CONTENT);

    let queued = t
        .delete(&format!("/api/v1/groups/{big}"))
        .await
        .expect(StatusCode::ACCEPTED);
    assert_eq!(queued.body["operation"], "delete_group");
    assert_eq!(queued.body["group_id"], big);
    assert_eq!(queued.body["total"], 1100);
    let id = queued.body["id"].as_i64().unwrap();
    let meanwhile = t.get(&format!("/api/v1/groups/{big}")).await.expect(StatusCode::OK);
    assert_eq!(meanwhile.body["deletable"], false);
    assert_eq!(meanwhile.body["delete_blockers"][0]["code"], "being_deleted");
    let twice = t
        .delete(&format!("/api/v1/groups/{big}"))
        .await
        .expect(StatusCode::CONFLICT);
    assert_eq!(twice.code(), "not_deletable");
    assert!(
        twice.body["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("process request {id}")),
        "{}",
        twice.body
    );

    work(&t).await;
    let done = t
        .get(&format!("/api/v1/process-requests/{id}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(done.body["status"], "completed", "{}", done.body);
    assert_eq!(done.body["done"], 1100);
    assert_eq!(done.body["failed"], 0);
    t.get(&format!("/api/v1/groups/{big}"))
        .await
        .expect(StatusCode::NOT_FOUND);
    let parent = t.get(&format!("/api/v1/groups/{parent}")).await.expect(StatusCode::OK);
    assert_eq!(parent.body["member_count"], 0);
    // The clients stay; each detachment and the deletion are in the audit trail.
    let mut clients = 0;
    let mut cursor = String::new();
    loop {
        let page = t
            .get(&format!("/api/v1/clients?q=member&limit=500&cursor={cursor}"))
            .await
            .expect(StatusCode::OK);
        clients += page.body["items"].as_array().unwrap().len();
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(clients, 1100);
    assert_eq!(audit_count(&t, "membership.removed").await, 1100 + 1 + 1);
    assert_eq!(audit_count(&t, "group.deleted").await, 2);
}

on_both_backends!(
    good_rows_apply_and_each_bad_row_is_reported_by_line_and_reason,
    a_client_named_twice_in_a_file_is_created_once_then_updated,
    an_exclusive_mode_import_refuses_a_client_already_in_another_group,
    membership_rows_answer_as_single_edits_do,
    an_export_imports_back_unchanged,
    replace_makes_the_members_exactly_the_files,
    validate_reports_what_would_happen_and_changes_nothing,
    bom_and_semicolon_files_work,
    a_non_utf8_file_names_the_byte_offset,
    cancel_and_retry,
    bulk_add_by_ids_and_by_filter,
    a_bulk_removal_of_thousands_reports_every_row_and_access_follows,
    two_workers_share_the_queue_and_apply_every_row_once,
    an_upload_slower_than_the_request_timeout_arrives_and_a_stalled_one_is_given_up,
    deleting_a_group_of_thousands_runs_as_a_process_request,
);
