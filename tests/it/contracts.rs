//! Texts other programs and people rely on, held by snapshots so that a change to one is a reviewed
//! change (`INSTA_UPDATE=always cargo test --test it contracts::`, then read the diff): the CSV guides
//! firms download and fill in, and the problem+json bodies API clients parse.

use crate::common;

use clientele_app::bulk::{Format, guide};
use http::{Method, StatusCode};
use serde_json::{Value, json};

#[test]
fn the_csv_guides_are_the_reviewed_ones() {
    for format in [
        Format::Clients,
        Format::Groups,
        Format::Memberships,
        Format::TimeEntries,
        Format::ProgramAccounts,
    ] {
        insta::assert_snapshot!(format!("guide_{}", format.as_str()), guide(format));
    }
}

/// A problem body without what differs between any two requests.
fn stable(mut body: Value) -> Value {
    if let Some(object) = body.as_object_mut() {
        object.remove("request_id");
    }
    body
}

#[tokio::test]
async fn problem_bodies_are_the_reviewed_ones() {
    let t = common::TestApp::new(common::Backend::Sqlite).await;
    let cases = [
        (
            "invalid_input",
            t.post("/api/v1/groups", json!({ "name": "" , "kind": "clients" }))
                .await,
        ),
        (
            "kind_required",
            t.post("/api/v1/groups", json!({ "name": "Alliance" })).await,
        ),
        ("not_found", t.get("/api/v1/clients/999999").await),
        (
            "unauthenticated",
            t.call_as("wrong", Method::GET, "/api/v1/groups", None, &[]).await,
        ),
        ("precondition_failed", {
            let client = t.client("Versioned Ltd").await;
            t.call(
                Method::PATCH,
                &format!("/api/v1/clients/{client}"),
                Some(json!({ "notes": "x" })),
                &[("if-match", "\"v9\"")],
            )
            .await
        }),
    ];
    for (name, answer) in cases {
        assert!(answer.status.is_client_error(), "{name}: {}", answer.status);
        assert_eq!(answer.headers["content-type"], "application/problem+json", "{name}");
        assert_ne!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
        insta::assert_json_snapshot!(format!("problem_{name}"), stable(answer.body));
    }
}
