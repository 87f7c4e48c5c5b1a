//! Credentials a firm controls (issue 17), through the API on both backends: password rules and
//! changes, one-time resets, API tokens with names, expiry and revocation, and deactivation that
//! ends every way in for good. Every credential event is in the audit trail.

use crate::common;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use serde_json::json;

use clientele_domain::staff::StaffRole;
use common::{Resp, TestApp};

const ANN: &str = "ann@firm.example";
const FIRST: &str = "first secret phrase";

async fn staff_with_password(t: &TestApp) -> (i64, String) {
    let created = t
        .post(
            "/api/v1/staff",
            json!({ "email": ANN, "name": "Ann", "role": "staff", "password": FIRST }),
        )
        .await
        .expect(StatusCode::CREATED);
    let id = created.body["id"].as_i64().unwrap();
    (id, t.app.create_token(ANN, "test").await.unwrap())
}

/// Signs in through the form; the session cookie.
async fn session(t: &TestApp, email: &str, password: &str) -> Option<String> {
    let body = serde_urlencoded::to_string([("email", email), ("password", password), ("next", "/")]).unwrap();
    let req = Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let r = t.send(req).await;
    (r.status == StatusCode::SEE_OTHER).then(|| {
        let cookie = r.headers["set-cookie"].to_str().unwrap();
        cookie.split(';').next().unwrap().to_string()
    })
}

async fn page(t: &TestApp, cookie: &str, path: &str) -> Resp {
    let req = Request::get(path).header("cookie", cookie).body(Body::empty()).unwrap();
    t.send(req).await
}

async fn signed_in(t: &TestApp, cookie: &str) -> bool {
    page(t, cookie, "/account").await.status == StatusCode::OK
}

async fn actions(t: &TestApp) -> Vec<String> {
    let audit = t.get("/api/v1/audit?limit=200").await.expect(StatusCode::OK);
    audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

async fn passwords_follow_the_rules_and_a_change_ends_the_other_sessions(t: TestApp) {
    let (_, token) = staff_with_password(&t).await;
    let weak = t
        .post(
            "/api/v1/staff",
            json!({ "email": "bob@firm.example", "name": "Bob", "role": "staff", "password": "password1234" }),
        )
        .await;
    assert_eq!(weak.expect(StatusCode::UNPROCESSABLE_ENTITY).body["field"], "password");
    let laptop = session(&t, ANN, FIRST).await.unwrap();
    let phone = session(&t, ANN, FIRST).await.unwrap();
    let change = |current: &str, new: &str| {
        t.call_as(
            &token,
            Method::POST,
            "/api/v1/me/password",
            Some(json!({ "current_password": current, "new_password": new })),
            &[],
        )
    };
    assert_eq!(
        change("not it at all", "second secret phrase")
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY)
            .body["field"],
        "current_password"
    );
    for weak in ["too short", "qwerty123456", "ann@firm.example and more"] {
        let r = change(FIRST, weak).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.body["field"], "password", "{weak}: {}", r.body);
    }
    assert!(signed_in(&t, &laptop).await, "refused changes end nothing");
    change(FIRST, "second secret phrase")
        .await
        .expect(StatusCode::NO_CONTENT);
    assert!(
        !signed_in(&t, &laptop).await && !signed_in(&t, &phone).await,
        "every session ended"
    );
    assert!(session(&t, ANN, FIRST).await.is_none());
    assert!(session(&t, ANN, "second secret phrase").await.is_some());
    assert!(actions(&t).await.contains(&"staff.password_changed".to_string()));
}

async fn a_reset_code_works_once_and_ends_every_session(t: TestApp) {
    let (ann, token) = staff_with_password(&t).await;
    let session_before = session(&t, ANN, FIRST).await.unwrap();
    t.call_as(
        &token,
        Method::POST,
        &format!("/api/v1/staff/{ann}/password-reset"),
        None,
        &[],
    )
    .await
    .expect(StatusCode::FORBIDDEN);
    let reset = t
        .post(&format!("/api/v1/staff/{ann}/password-reset"), json!({}))
        .await
        .expect(StatusCode::CREATED);
    let code = reset.body["code"].as_str().unwrap().to_string();
    assert!(reset.body["path"].as_str().unwrap().ends_with(&code));
    let redeem = |code: &str, password: &str| {
        t.call_as(
            "",
            Method::POST,
            "/api/v1/password-resets",
            Some(json!({ "code": code, "new_password": password })),
            &[],
        )
    };
    // A refused password does not use the code up.
    assert_eq!(
        redeem(&code, "short")
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY)
            .body["field"],
        "password"
    );
    redeem(&code, "a phrase after the reset")
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(
        redeem(&code, "another phrase altogether")
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY)
            .body["field"],
        "code"
    );
    assert!(!signed_in(&t, &session_before).await);
    assert!(session(&t, ANN, "a phrase after the reset").await.is_some());
    // A newer code replaces an older one.
    let old = t
        .post(&format!("/api/v1/staff/{ann}/password-reset"), json!({}))
        .await
        .body["code"]
        .as_str()
        .unwrap()
        .to_string();
    t.post(&format!("/api/v1/staff/{ann}/password-reset"), json!({}))
        .await
        .expect(StatusCode::CREATED);
    redeem(&old, "yet another good phrase")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let seen = actions(&t).await;
    assert!(
        seen.contains(&"staff.password_reset_issued".to_string())
            && seen.contains(&"staff.password_reset_used".to_string()),
        "{seen:?}"
    );
}

async fn api_tokens_are_named_listed_expire_and_are_revoked_at_once(t: TestApp) {
    let (ann, own) = staff_with_password(&t).await;
    let created = t
        .call_as(
            &own,
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "name": "Billing export" })),
            &[],
        )
        .await
        .expect(StatusCode::CREATED);
    let billing = created.body["token"].as_str().unwrap().to_string();
    let id = created.body["id"].as_i64().unwrap();
    t.call_as(&billing, Method::GET, "/api/v1/me/clients", None, &[])
        .await
        .expect(StatusCode::OK);
    let listed = t
        .call_as(&own, Method::GET, "/api/v1/tokens", None, &[])
        .await
        .expect(StatusCode::OK);
    let names: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Billing export"), "{names:?}");
    assert!(
        !listed.body.to_string().contains(&billing),
        "the secret is never listed"
    );
    // Staff manage their own tokens only; admins anyone's.
    let bob = t.staff_token("bob@firm.example", StaffRole::Staff).await;
    t.call_as(&bob, Method::DELETE, &format!("/api/v1/tokens/{id}"), None, &[])
        .await
        .expect(StatusCode::NOT_FOUND);
    t.call_as(&bob, Method::GET, &format!("/api/v1/tokens?staff_id={ann}"), None, &[])
        .await
        .expect(StatusCode::FORBIDDEN);
    t.get(&format!("/api/v1/tokens?staff_id={ann}"))
        .await
        .expect(StatusCode::OK);
    let revoked = t
        .call_as(&own, Method::DELETE, &format!("/api/v1/tokens/{id}"), None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(revoked.body["live"], false);
    t.call_as(&billing, Method::GET, "/api/v1/me/clients", None, &[])
        .await
        .expect(StatusCode::UNAUTHORIZED);
    // A token past its expiry stops working by itself.
    let soon = t.in_minutes(60);
    let short = t
        .call_as(
            &own,
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "name": "Short-lived", "expires_at": soon })),
            &[],
        )
        .await
        .expect(StatusCode::CREATED);
    let short = short.body["token"].as_str().unwrap().to_string();
    t.call_as(&short, Method::GET, "/api/v1/me/clients", None, &[])
        .await
        .expect(StatusCode::OK);
    t.minutes_pass(61);
    t.call_as(&short, Method::GET, "/api/v1/me/clients", None, &[])
        .await
        .expect(StatusCode::UNAUTHORIZED);
    let seen = actions(&t).await;
    assert!(
        seen.contains(&"token.created".to_string()) && seen.contains(&"token.revoked".to_string()),
        "{seen:?}"
    );
}

async fn deactivation_ends_sessions_and_tokens_for_good(t: TestApp) {
    let (ann, token) = staff_with_password(&t).await;
    let cookie = session(&t, ANN, FIRST).await.unwrap();
    t.patch(&format!("/api/v1/staff/{ann}"), json!({ "active": false }))
        .await
        .expect(StatusCode::OK);
    t.call_as(&token, Method::GET, "/api/v1/me/clients", None, &[])
        .await
        .expect(StatusCode::UNAUTHORIZED);
    t.patch(&format!("/api/v1/staff/{ann}"), json!({ "active": true }))
        .await
        .expect(StatusCode::OK);
    t.call_as(&token, Method::GET, "/api/v1/me/clients", None, &[])
        .await
        .expect(StatusCode::UNAUTHORIZED);
    assert!(!signed_in(&t, &cookie).await, "reactivation brings back no session");
    assert!(
        session(&t, ANN, FIRST).await.is_some(),
        "the password itself still works"
    );
}

async fn sign_in_goes_back_only_to_this_site(t: TestApp) {
    staff_with_password(&t).await;
    for next in ["/\t/evil.example", "//evil.example", "https://evil.example"] {
        let body = serde_urlencoded::to_string([("email", ANN), ("password", FIRST), ("next", next)]).unwrap();
        let req = Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let r = t.send(req).await.expect(StatusCode::SEE_OTHER);
        assert_eq!(r.headers["location"], "/", "{next:?}");
    }
}

on_both_backends!(
    passwords_follow_the_rules_and_a_change_ends_the_other_sessions,
    a_reset_code_works_once_and_ends_every_session,
    api_tokens_are_named_listed_expire_and_are_revoked_at_once,
    deactivation_ends_sessions_and_tokens_for_good,
    sign_in_goes_back_only_to_this_site,
);
