//! Reports by client group (issue 6), told as seed 001 tells it, on both backends: time is logged
//! on clients, clients are grouped into segments, and the office sees how its working time is
//! spent across them, saving the reports it wants again.

use crate::common;

use common::TestApp;
use http::{Method, StatusCode};
use serde_json::{Value, json};

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

async fn log(t: &TestApp, client: i64, date: &str, duration: &str, billable: bool) -> common::Resp {
    t.post(
        "/api/v1/time-entries",
        json!({ "client_id": client, "date": date, "duration": duration, "billable": billable, "service": "Bookkeeping" }),
    )
    .await
}

fn row<'a>(report: &'a Value, name: &str) -> Option<&'a Value> {
    report["rows"].as_array().unwrap().iter().find(|r| r["name"] == name)
}

fn minutes(report: &Value, name: &str) -> Option<i64> {
    row(report, name).map(|r| r["minutes"].as_i64().unwrap())
}

const NOVEMBER: &str = "from=2026-11-01&to=2026-11-30";

// Seed 001: "Customer segmentation is helpful for you in the report, where you can prepare
// reports based on different groups ... how working time is spent for different customer
// segments."
async fn seed_001_time_by_client_group_rolls_segments_up(t: TestApp) {
    let bakery = t.client("Bakery").await;
    let florist = t.client("Florist").await;
    let garage = t.client("Garage").await;
    let loner = t.client("Loner").await;
    let annual = t.group("Annual report clients", &[bakery, florist]).await;
    let one_time = t.group("One-time service", &[florist, garage]).await;
    t.group_of_groups("All segments", &[annual, one_time]).await;
    log(&t, bakery, "2026-11-02", "1:00", true)
        .await
        .expect(StatusCode::CREATED);
    log(&t, florist, "2026-11-03", "30", false)
        .await
        .expect(StatusCode::CREATED);
    log(&t, garage, "2026-11-04", "0.75h", true)
        .await
        .expect(StatusCode::CREATED);
    log(&t, loner, "2026-11-05", "15", true)
        .await
        .expect(StatusCode::CREATED);
    log(&t, bakery, "2026-10-30", "10:00", true)
        .await
        .expect(StatusCode::CREATED);

    let report = t
        .get(&format!("/api/v1/reports/time?{NOVEMBER}"))
        .await
        .expect(StatusCode::OK)
        .body;
    assert_eq!(minutes(&report, "Annual report clients"), Some(90));
    assert_eq!(minutes(&report, "One-time service"), Some(75));
    // The florist is in both segments and counts once in their parent.
    assert_eq!(minutes(&report, "All segments"), Some(135));
    assert_eq!(row(&report, "All segments").unwrap()["clients_with_time"], 3);
    assert_eq!(minutes(&report, "(no group)"), Some(15));
    assert_eq!(report["total"]["minutes"], 150);
    assert_eq!(report["total"]["billable_minutes"], 120);
    assert_eq!(report["rows"][0]["name"], "All segments", "most time first");

    // Filter by group: only the annual report clients, by client.
    let annual_only = t
        .get(&format!("/api/v1/reports/time?{NOVEMBER}&by=client&groups={annual}"))
        .await
        .expect(StatusCode::OK)
        .body;
    let names: Vec<&str> = annual_only["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bakery", "Florist"]);

    // CSV and chart of the same report.
    let csv = t
        .get(&format!("/api/v1/reports/time.csv?{NOVEMBER}"))
        .await
        .expect(StatusCode::OK);
    let text = String::from_utf8(csv.bytes).unwrap();
    assert!(text.starts_with("kind,id,name,hours,minutes"), "{text}");
    assert!(
        text.contains("group,") && text.contains("All segments,2.25,135,"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("total,,,2.50,150,120,4,4,"), "{text}");
    let svg = String::from_utf8(
        t.get(&format!("/api/v1/reports/time.svg?{NOVEMBER}"))
            .await
            .expect(StatusCode::OK)
            .bytes,
    )
    .unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("All segments"), "{svg}");
}

async fn bad_report_requests_name_the_field(t: TestApp) {
    for (query, field) in [
        ("from=2026-12-01&to=2026-11-01", "from"),
        ("by=week", "by"),
        ("groups=abc", "groups"),
        ("groups=999999", "groups"),
        ("billable=maybe", "billable"),
    ] {
        let r = t
            .get(&format!("/api/v1/reports/time?{query}"))
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.body["field"], field, "{query}: {}", r.body);
    }
    let client = t.client("Bakery").await;
    let bad = log(&t, client, "2026-13-01", "1:00", true)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["field"], "date");
    let bad = log(&t, client, "2026-11-01", "25h", true)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["field"], "duration");
    // Nothing was saved by the refused writes.
    let report = t.get("/api/v1/reports/time?from=2026-01-01&to=2026-12-31").await.body;
    assert_eq!(report["total"]["entries"], 0);
}

// Issue 6: "Every report honours access: a staff member's report covers only clients they can
// see." And time is logged only on clients one may edit.
async fn a_staff_member_reports_on_and_logs_time_for_their_group_clients_only(t: TestApp) {
    let mine = t.client("Mine Ltd").await;
    let theirs = t.client("Theirs Ltd").await;
    let my_group = t.group("My portfolio", &[mine]).await;
    t.group("Other portfolio", &[theirs]).await;
    let (ann, token) = account_manager(&t, "ann@firm.example").await;
    t.put(
        &format!("/api/v1/groups/{my_group}/staff/{ann}"),
        json!({ "role": "editor" }),
    )
    .await
    .expect(StatusCode::OK);
    log(&t, theirs, "2026-11-02", "2:00", true)
        .await
        .expect(StatusCode::CREATED);

    let entry = json!({ "client_id": mine, "date": "2026-11-03", "duration": "45", "billable": true });
    let created = t
        .call_as(&token, Method::POST, "/api/v1/time-entries", Some(entry), &[])
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(created.body["staff_id"], ann);
    let hidden = json!({ "client_id": theirs, "date": "2026-11-03", "duration": "45" });
    t.call_as(&token, Method::POST, "/api/v1/time-entries", Some(hidden), &[])
        .await
        .expect(StatusCode::NOT_FOUND);
    let for_someone_else = json!({ "client_id": mine, "staff_id": 1, "date": "2026-11-03", "duration": "45" });
    t.call_as(
        &token,
        Method::POST,
        "/api/v1/time-entries",
        Some(for_someone_else),
        &[],
    )
    .await
    .expect(StatusCode::FORBIDDEN);

    let report = t
        .call_as(
            &token,
            Method::GET,
            &format!("/api/v1/reports/time?{NOVEMBER}"),
            None,
            &[],
        )
        .await
        .expect(StatusCode::OK)
        .body;
    assert_eq!(report["total"]["minutes"], 45, "{report}");
    assert_eq!(minutes(&report, "My portfolio"), Some(45));
    assert!(row(&report, "Other portfolio").is_none());
    let admin = t.get(&format!("/api/v1/reports/time?{NOVEMBER}")).await.body;
    assert_eq!(admin["total"]["minutes"], 165);

    // Editing and deleting: the author or an admin; the report follows at once.
    let id = created.body["id"].as_i64().unwrap();
    let edit = json!({ "client_id": mine, "date": "2026-11-03", "duration": "1:00", "billable": false });
    t.call_as(
        &token,
        Method::PUT,
        &format!("/api/v1/time-entries/{id}"),
        Some(edit),
        &[],
    )
    .await
    .expect(StatusCode::OK);
    let report = t
        .call_as(
            &token,
            Method::GET,
            &format!("/api/v1/reports/time?{NOVEMBER}"),
            None,
            &[],
        )
        .await
        .body;
    assert_eq!(report["total"]["minutes"], 60);
    assert_eq!(report["total"]["billable_minutes"], 0);
    t.call_as(&token, Method::DELETE, &format!("/api/v1/time-entries/{id}"), None, &[])
        .await
        .expect(StatusCode::NO_CONTENT);
    let report = t
        .call_as(
            &token,
            Method::GET,
            &format!("/api/v1/reports/time?{NOVEMBER}"),
            None,
            &[],
        )
        .await
        .body;
    assert_eq!(report["total"]["minutes"], 0);
    let audit = t.get(&format!("/api/v1/audit?client={mine}")).await.body;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"time_entry.deleted") && actions.contains(&"time_entry.created"),
        "{actions:?}"
    );
}

// A staff member's own list hides entries on clients they no longer see; the pages around
// such an entry still lead on to every other one.
async fn my_time_entries_page_past_entries_on_clients_i_no_longer_see(t: TestApp) {
    let kept = t.client("Kept Ltd").await;
    let lost = t.client("Lost Ltd").await;
    let kept_group = t.group("Kept portfolio", &[kept]).await;
    let lost_group = t.group("Lost portfolio", &[lost]).await;
    let (ann, token) = account_manager(&t, "ann@firm.example").await;
    for g in [kept_group, lost_group] {
        t.put(&format!("/api/v1/groups/{g}/staff/{ann}"), json!({ "role": "editor" }))
            .await
            .expect(StatusCode::OK);
    }
    for (client, date) in [
        (kept, "2026-11-05"),
        (lost, "2026-11-04"),
        (kept, "2026-11-03"),
        (kept, "2026-11-02"),
    ] {
        let entry = json!({ "client_id": client, "date": date, "duration": "30" });
        t.call_as(&token, Method::POST, "/api/v1/time-entries", Some(entry), &[])
            .await
            .expect(StatusCode::CREATED);
    }
    t.delete(&format!("/api/v1/groups/{lost_group}/staff/{ann}"))
        .await
        .expect(StatusCode::NO_CONTENT);
    let mut dates = Vec::new();
    let mut cursor = String::new();
    for _ in 0..5 {
        let page = t
            .call_as(
                &token,
                Method::GET,
                &format!("/api/v1/time-entries?limit=2&cursor={cursor}"),
                None,
                &[],
            )
            .await
            .expect(StatusCode::OK)
            .body;
        dates.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["date"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(dates, ["2026-11-05", "2026-11-03", "2026-11-02"]);
}

// Issue 6: "whether a time entry counts for the groups its client is in now or the groups it
// was in on the date of the work".
async fn work_counts_for_the_groups_of_the_day_it_was_done_when_asked(t: TestApp) {
    let bakery = t.client("Bakery").await;
    let vip = t.group("VIP", &[]).await;
    log(&t, bakery, "2020-03-02", "1:00", true)
        .await
        .expect(StatusCode::CREATED);
    t.post(
        &format!("/api/v1/groups/{vip}/members"),
        json!({ "client_ids": [bakery] }),
    )
    .await
    .expect(StatusCode::OK);
    let range = "from=2020-01-01&to=2029-12-31";
    let now = t.get(&format!("/api/v1/reports/time?{range}")).await.body;
    assert_eq!(minutes(&now, "VIP"), Some(60));
    let then = t
        .get(&format!("/api/v1/reports/time?{range}&basis=work_date"))
        .await
        .body;
    assert_eq!(
        minutes(&then, "VIP"),
        None,
        "the bakery joined VIP after the work: {then}"
    );
    assert_eq!(minutes(&then, "(no group)"), Some(60));
}

// The other half of the history: work done while the client was in a group still counts for
// that group by the day of the work after the client has left it (the membership, deleted,
// leaves its period behind), and for no group by today's groups.
async fn work_done_while_a_member_counts_for_the_group_after_the_client_left(t: TestApp) {
    let bakery = t.client("Bakery").await;
    let florist = t.client("Florist").await;
    let vip = t.group("VIP", &[bakery, florist]).await;
    let today = time::OffsetDateTime::now_utc().date().to_string();
    log(&t, bakery, &today, "0:45", true).await.expect(StatusCode::CREATED);
    log(&t, florist, &today, "0:30", true).await.expect(StatusCode::CREATED);
    t.post(
        &format!("/api/v1/groups/{vip}/members/remove"),
        json!({ "client_ids": [bakery] }),
    )
    .await
    .expect(StatusCode::OK);
    let range = format!("from={today}&to={today}");
    let now = t.get(&format!("/api/v1/reports/time?{range}")).await.body;
    assert_eq!(minutes(&now, "VIP"), Some(30), "{now}");
    assert_eq!(minutes(&now, "(no group)"), Some(45));
    let then = t
        .get(&format!("/api/v1/reports/time?{range}&basis=work_date"))
        .await
        .body;
    assert_eq!(
        minutes(&then, "VIP"),
        Some(75),
        "both were members when the work was done: {then}"
    );
    assert_eq!(minutes(&then, "(no group)"), None);
}

// Seed 001: "After creating a report with the selected filters, it's a good idea to save it at
// the disc icon ... You can also save the report for the entire office."
async fn seed_001_saved_reports_private_or_for_the_office(t: TestApp) {
    let (_, ann) = account_manager(&t, "ann@firm.example").await;
    let (_, bob) = account_manager(&t, "bob@firm.example").await;
    let mine = json!({ "name": "My month", "visibility": "private", "params": { "by": "client", "billable": "true" } });
    let private = t
        .call_as(&ann, Method::POST, "/api/v1/saved-reports", Some(mine), &[])
        .await
        .expect(StatusCode::CREATED);
    let office = json!({ "name": "Office hours", "visibility": "organization", "params": { "by": "group" } });
    let shared = t
        .call_as(&ann, Method::POST, "/api/v1/saved-reports", Some(office), &[])
        .await
        .expect(StatusCode::CREATED);
    let again = json!({ "name": "my MONTH" });
    t.call_as(&ann, Method::POST, "/api/v1/saved-reports", Some(again), &[])
        .await
        .expect(StatusCode::CONFLICT);
    let bad = json!({ "name": "Broken", "params": { "by": "week" } });
    let r = t
        .call_as(&ann, Method::POST, "/api/v1/saved-reports", Some(bad), &[])
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["field"], "by");

    let seen_by_bob = t
        .call_as(&bob, Method::GET, "/api/v1/saved-reports", None, &[])
        .await
        .body;
    let names: Vec<&str> = seen_by_bob
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Office hours"]);
    let private_id = private.body["id"].as_i64().unwrap();
    t.call_as(
        &bob,
        Method::GET,
        &format!("/api/v1/saved-reports/{private_id}"),
        None,
        &[],
    )
    .await
    .expect(StatusCode::NOT_FOUND);
    let shared_id = shared.body["id"].as_i64().unwrap();
    let rename = json!({ "name": "Bob's now", "visibility": "organization" });
    t.call_as(
        &bob,
        Method::PUT,
        &format!("/api/v1/saved-reports/{shared_id}"),
        Some(rename.clone()),
        &[],
    )
    .await
    .expect(StatusCode::FORBIDDEN);
    t.call_as(
        &bob,
        Method::DELETE,
        &format!("/api/v1/saved-reports/{shared_id}"),
        None,
        &[],
    )
    .await
    .expect(StatusCode::FORBIDDEN);
    // The owner renames it; an admin may delete it.
    let renamed = t
        .call_as(
            &ann,
            Method::PUT,
            &format!("/api/v1/saved-reports/{shared_id}"),
            Some(json!({ "name": "Office month", "visibility": "organization", "params": { "by": "staff" } })),
            &[],
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(renamed.body["params"]["by"], "staff");
    t.delete(&format!("/api/v1/saved-reports/{shared_id}"))
        .await
        .expect(StatusCode::NO_CONTENT);
    let left = t
        .call_as(&ann, Method::GET, "/api/v1/saved-reports", None, &[])
        .await
        .body;
    assert_eq!(left.as_array().unwrap().len(), 1);
}

// Seed 001's firm moves its timesheets in: a CSV of time entries, checked row by row like a
// single entry, counted by the reports at once; its export uploads back unchanged, and an
// edited export changes exactly the rows that were edited.
async fn time_entries_import_and_export_through_process_requests(t: TestApp) {
    let bakery = t
        .post("/api/v1/clients", json!({ "name": "Bakery", "external_ref": "B-1" }))
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let florist = t.client("Florist").await;
    t.group("Annual report clients", &[bakery, florist]).await;
    account_manager(&t, "ann@firm.example").await;
    let (carl, _) = account_manager(&t, "carl@firm.example").await;
    let carl_now = t.get(&format!("/api/v1/staff/{carl}")).await.expect(StatusCode::OK);
    t.call(
        Method::PATCH,
        &format!("/api/v1/staff/{carl}"),
        Some(json!({ "active": false })),
        &[("if-match", &carl_now.etag())],
    )
    .await
    .expect(StatusCode::OK);

    let file = format!(
        "date,client_ref,client_id,staff_email,duration,billable,service,note\n\
         2026-11-02,B-1,,ann@firm.example,1:30,yes,Bookkeeping,\"March, ledger\"\n\
         2026-11-03,,{florist},ANN@firm.example,45,no,,\n\
         2026-11-04,NOPE,,ann@firm.example,1h,yes,,\n\
         2026-11-05,B-1,,nobody@firm.example,1h,yes,,\n\
         2026-13-01,B-1,,ann@firm.example,1h,yes,,\n\
         2026-11-06,B-1,,ann@firm.example,25h,yes,,\n\
         2026-11-07,B-1,,ann@firm.example,1h,maybe,,\n\
         2026-11-08,B-1,,carl@firm.example,1h,yes,,\n"
    );
    let r = upload(&t, "mode=apply", file).await.expect(StatusCode::OK);
    let rows = r.body["rows"].as_array().unwrap();
    let seen: Vec<(i64, &str)> = rows
        .iter()
        .map(|row| (row["line"].as_i64().unwrap(), row["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            (2, "created"),
            (3, "created"),
            (4, "rejected"),
            (5, "rejected"),
            (6, "rejected"),
            (7, "rejected"),
            (8, "rejected"),
            (9, "rejected")
        ]
    );
    let reason = |line: i64| {
        rows.iter().find(|row| row["line"] == line).unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        reason(4),
        "client_ref: there is no client with the external reference \"NOPE\""
    );
    assert_eq!(
        reason(5),
        "staff_email: there is no staff member with the e-mail nobody@firm.example"
    );
    assert!(
        reason(6).starts_with("date: must be a date written YYYY-MM-DD"),
        "{}",
        reason(6)
    );
    assert!(
        reason(7).starts_with("duration: must be between 1 minute and 24 hours"),
        "{}",
        reason(7)
    );
    assert_eq!(reason(8), "billable: must be yes or no, not \"maybe\"");
    assert_eq!(reason(9), "staff_email: is not an active staff member");

    let report = t
        .get(&format!("/api/v1/reports/time?{NOVEMBER}"))
        .await
        .expect(StatusCode::OK)
        .body;
    assert_eq!(minutes(&report, "Annual report clients"), Some(135));
    assert_eq!(report["total"]["billable_minutes"], 90);
    let created = t.get("/api/v1/audit?limit=100").await.expect(StatusCode::OK).body;
    let actions: Vec<&str> = created["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.iter().filter(|a| **a == "time_entry.created").count(), 2);

    // The export names people and clients, and uploads back with nothing to do.
    let export = String::from_utf8(
        t.get("/api/v1/csv/time_entries/export")
            .await
            .expect(StatusCode::OK)
            .bytes,
    )
    .unwrap();
    let lines: Vec<&str> = export.lines().collect();
    assert_eq!(
        lines[0],
        "id,date,client_id,client_ref,client_name,staff_email,staff_name,duration,billable,service,note"
    );
    assert!(
        lines[1].ends_with(&format!(
            ",2026-11-02,{bakery},B-1,Bakery,ann@firm.example,ann@firm.example,90,yes,Bookkeeping,\"March, ledger\""
        )),
        "{}",
        lines[1]
    );
    let again = upload(&t, "mode=apply", export.clone()).await.expect(StatusCode::OK);
    let outcomes: Vec<&str> = again.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["unchanged", "unchanged"]);

    // An edited export: the florist's 45 minutes become an hour, billable.
    let edited = export.replace(",45,no,", ",60,yes,");
    assert_ne!(edited, export);
    let changed = upload(&t, "mode=apply", edited).await.expect(StatusCode::OK);
    let outcomes: Vec<&str> = changed.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["unchanged", "updated"]);
    let report = t
        .get(&format!("/api/v1/reports/time?{NOVEMBER}"))
        .await
        .expect(StatusCode::OK)
        .body;
    assert_eq!(minutes(&report, "Annual report clients"), Some(150));
    assert_eq!(report["total"]["billable_minutes"], 150);

    // A dry run says what it would do and changes nothing; an unknown id is refused.
    let dry = upload(
        &t,
        "mode=validate",
        "id,date,client_id,staff_email,duration\n,2026-11-20,".to_string()
            + &format!("{florist},ann@firm.example,30\n999999,2026-11-20,{florist},ann@firm.example,30\n"),
    )
    .await
    .expect(StatusCode::OK);
    let outcomes: Vec<&str> = dry.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["created", "rejected"]);
    assert_eq!(
        dry.body["rows"][1]["reason"],
        "id: there is no time entry with id 999999"
    );
    let report = t
        .get(&format!("/api/v1/reports/time?{NOVEMBER}"))
        .await
        .expect(StatusCode::OK)
        .body;
    assert_eq!(report["total"]["minutes"], 150);
}

async fn upload(t: &TestApp, query: &str, body: impl Into<Vec<u8>>) -> common::Resp {
    let req = http::Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/csv/time_entries/import?{query}"))
        .header("authorization", format!("Bearer {}", t.token))
        .header("content-type", "text/csv")
        .body(axum::body::Body::from(body.into()))
        .unwrap();
    t.send(req).await
}

on_both_backends!(
    seed_001_time_by_client_group_rolls_segments_up,
    bad_report_requests_name_the_field,
    a_staff_member_reports_on_and_logs_time_for_their_group_clients_only,
    my_time_entries_page_past_entries_on_clients_i_no_longer_see,
    work_counts_for_the_groups_of_the_day_it_was_done_when_asked,
    work_done_while_a_member_counts_for_the_group_after_the_client_left,
    seed_001_saved_reports_private_or_for_the_office,
    time_entries_import_and_export_through_process_requests,
);
