//! The web UI called in-process, on both backends: what the pages show, and the protections
//! around them (escaping, CSRF, session cookie flags, sign-in rate limit, typed confirmations).

use crate::common;

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::json;

use clientele_domain::staff::StaffRole;
use common::{Resp, TestApp};

const EMAIL: &str = "ui-admin@firm.example";
const PASSWORD: &str = "correct horse battery staple";

/// A signed-in browser: its session cookie, and the page it last loaded.
struct Browser<'a> {
    t: &'a TestApp,
    cookie: String,
}

fn html(r: &Resp) -> String {
    String::from_utf8_lossy(&r.bytes).into_owned()
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

async fn post_login(t: &TestApp, email: &str, password: &str) -> Resp {
    let req = Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form_body(&[
            ("email", email),
            ("password", password),
            ("next", "/groups"),
        ])))
        .unwrap();
    t.send(req).await
}

/// An admin with a password, signed in through the form.
async fn sign_in(t: &TestApp) -> Browser<'_> {
    t.app
        .create_staff_cli(EMAIL, "UI Admin", StaffRole::Admin, Some(PASSWORD))
        .await
        .unwrap();
    let r = post_login(t, EMAIL, PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let set_cookie = r.headers.get("set-cookie").unwrap().to_str().unwrap().to_string();
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    Browser { t, cookie }
}

impl Browser<'_> {
    async fn get(&self, path: &str) -> Resp {
        let req = Request::get(path)
            .header("cookie", &self.cookie)
            .body(Body::empty())
            .unwrap();
        self.t.send(req).await
    }

    /// The page's anti-CSRF token, as a form on it would send it.
    async fn csrf(&self) -> String {
        // Every page's sign-out form carries it, and this page is open to every staff member.
        let page = html(&self.get("/my-group-clients").await.expect(StatusCode::OK));
        let at = page.find("name=\"csrf\" value=\"").expect("a form with a csrf field") + 19;
        page[at..at + 64].to_string()
    }

    async fn post_raw(&self, path: &str, pairs: &[(&str, &str)], headers: &[(&str, &str)]) -> Resp {
        let mut req = Request::post(path)
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.t.send(req.body(Body::from(form_body(pairs))).unwrap()).await
    }

    /// Posts a form the way the page would: with the session's token.
    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Resp {
        let csrf = self.csrf().await;
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(pairs);
        self.post_raw(path, &all, &[]).await
    }
}

fn png_bytes() -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 2, 2);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[90u8; 16]).unwrap();
    writer.finish().unwrap();
    out
}

/// A multipart form as a browser sends it: text fields, then files.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----clientele-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    for (k, bytes) in files {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn pages_need_a_session_and_sign_in_opens_one_with_safe_cookie_flags(t: TestApp) {
    let r = t.send(Request::get("/groups").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/login?next=%2Fgroups");
    let login = t
        .send(Request::get("/login").body(Body::empty()).unwrap())
        .await
        .expect(StatusCode::OK);
    assert!(html(&login).contains("<label for=\"password\">Password</label>"));

    t.app
        .create_staff_cli(EMAIL, "UI Admin", StaffRole::Admin, Some(PASSWORD))
        .await
        .unwrap();
    let r = post_login(&t, EMAIL, PASSWORD).await.expect(StatusCode::SEE_OTHER);
    let cookie = r.headers["set-cookie"].to_str().unwrap().to_string();
    for flag in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    let token = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_string();
    assert_eq!(token.len(), 64);
    // Only the hash is stored: the token itself appears nowhere in the table.
    let stored: Vec<String> = match &t.app.db {
        clientele_store::Db::Sqlite(p) => sqlx::query_scalar("SELECT token_hash FROM sessions")
            .fetch_all(&p.read)
            .await
            .unwrap(),
        clientele_store::Db::Postgres(p) => sqlx::query_scalar("SELECT token_hash FROM sessions")
            .fetch_all(p)
            .await
            .unwrap(),
    };
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token);

    let b = Browser {
        t: &t,
        cookie: format!("clientele_session={token}"),
    };
    let missing = b.get("/groups/999999").await.expect(StatusCode::NOT_FOUND);
    assert!(
        html(&missing).contains("client group not found"),
        "a page, not problem+json"
    );
    let page = b.get("/groups").await.expect(StatusCode::OK);
    assert!(html(&page).contains("UI Admin"));
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );

    // Signing out ends the session on the server, not just in the browser.
    b.post("/logout", &[]).await.expect(StatusCode::SEE_OTHER);
    assert_eq!(b.get("/groups").await.status, StatusCode::SEE_OTHER);
}

async fn sign_in_is_rate_limited_per_email_and_address(t: TestApp) {
    t.app
        .create_staff_cli(EMAIL, "UI Admin", StaffRole::Admin, Some(PASSWORD))
        .await
        .unwrap();
    for _ in 0..5 {
        let r = post_login(&t, EMAIL, "wrong password!")
            .await
            .expect(StatusCode::UNAUTHORIZED);
        assert!(html(&r).contains("The e-mail address or the password is not right."));
        assert!(html(&r).contains(&format!("value=\"{EMAIL}\"")), "the e-mail is kept");
    }
    // Even the right password is refused until the window passes.
    let r = post_login(&t, EMAIL, PASSWORD)
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS);
    assert!(html(&r).contains("Too many sign-in attempts"));
    assert!(r.headers.contains_key("retry-after"));
    // Another e-mail from the same address is counted apart.
    t.app
        .create_staff_cli("other@firm.example", "Other", StaffRole::Admin, Some(PASSWORD))
        .await
        .unwrap();
    post_login(&t, "other@firm.example", PASSWORD)
        .await
        .expect(StatusCode::SEE_OTHER);
}

async fn user_text_is_escaped_on_every_page(t: TestApp) {
    let evil = "<script>alert(1)</script>";
    let client = t.client(&format!("{evil} Ltd")).await;
    let group = t.group(evil, &[client]).await;
    let b = sign_in(&t).await;
    for path in [
        "/groups".to_string(),
        format!("/groups/{group}"),
        format!("/groups/{group}/edit"),
        "/clients".to_string(),
        format!("/clients/{client}"),
    ] {
        let page = html(&b.get(&path).await.expect(StatusCode::OK));
        assert!(!page.contains(evil), "{path} shows raw markup");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
                || page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{path} lost the text"
        );
    }
}

async fn cross_site_posts_are_refused_and_the_api_is_unaffected(t: TestApp) {
    let group = t.group("Keep me", &[]).await;
    let b = sign_in(&t).await;
    let path = format!("/groups/{group}/delete");
    // No token, a wrong token, and a right token sent from another site.
    let r = b
        .post_raw(&path, &[("confirm", "DELETE")], &[])
        .await
        .expect(StatusCode::FORBIDDEN);
    assert!(html(&r).contains("did not come from this site"));
    b.post_raw(&path, &[("csrf", &"0".repeat(64)), ("confirm", "DELETE")], &[])
        .await
        .expect(StatusCode::FORBIDDEN);
    let csrf = b.csrf().await;
    b.post_raw(
        &path,
        &[("csrf", &csrf), ("confirm", "DELETE")],
        &[("origin", "https://evil.example")],
    )
    .await
    .expect(StatusCode::FORBIDDEN);
    b.post_raw(
        &path,
        &[("csrf", &csrf), ("confirm", "DELETE")],
        &[("sec-fetch-site", "cross-site")],
    )
    .await
    .expect(StatusCode::FORBIDDEN);
    t.get(&format!("/api/v1/groups/{group}")).await.expect(StatusCode::OK);

    // The JSON API keeps working with bearer tokens alone, whatever Origin says.
    t.call(
        http::Method::POST,
        "/api/v1/clients",
        Some(json!({"name": "API Client"})),
        &[("origin", "https://elsewhere.example")],
    )
    .await
    .expect(StatusCode::CREATED);

    // The same form from the page itself goes through.
    b.post_raw(
        &path,
        &[("csrf", &csrf), ("confirm", "DELETE")],
        &[("origin", "http://localhost"), ("host", "localhost")],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    t.get(&format!("/api/v1/groups/{group}"))
        .await
        .expect(StatusCode::NOT_FOUND);
}

async fn deleting_asks_for_delete_typed_and_says_what_it_touches(t: TestApp) {
    t.policies(|p| p.delete_policy = clientele_domain::policy::DeletePolicy::DetachMembers)
        .await;
    let a = t.client("Alpha Ltd").await;
    let b_ = t.client("Beta Ltd").await;
    let group = t.group("Two clients", &[a, b_]).await;
    let b = sign_in(&t).await;
    let page = html(&b.get(&format!("/groups/{group}/delete")).await.expect(StatusCode::OK));
    assert!(page.contains("This touches 2 clients"), "{page}");
    let wrong = b
        .post(&format!("/groups/{group}/delete"), &[("confirm", "delete")])
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&wrong).contains("Type DELETE, in capitals"));
    t.get(&format!("/api/v1/groups/{group}")).await.expect(StatusCode::OK);
    b.post(&format!("/groups/{group}/delete"), &[("confirm", "DELETE")])
        .await
        .expect(StatusCode::SEE_OTHER);
    t.get(&format!("/api/v1/groups/{group}"))
        .await
        .expect(StatusCode::NOT_FOUND);
    assert!(t.groups_of(a).await.is_empty(), "members were detached, clients kept");
}

async fn member_changes_ask_for_confirm_typed_after_showing_the_count(t: TestApp) {
    let a = t.client("Alpha Ltd").await;
    let c = t.client("Gamma Ltd").await;
    let group = t.group("Reviewed", &[]).await;
    let b = sign_in(&t).await;
    let (ka, kc) = (format!("c:{a}"), format!("c:{c}"));
    let review = b
        .post(
            &format!("/groups/{group}/members/review"),
            &[("op", "add"), ("ids", &ka), ("ids", &kc)],
        )
        .await
        .expect(StatusCode::OK);
    assert!(html(&review).contains("This touches 2 clients"), "{}", html(&review));
    let wrong = b
        .post(
            &format!("/groups/{group}/members"),
            &[("op", "add"), ("ids", &ka), ("ids", &kc), ("confirm", "confirm")],
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&wrong).contains("Type CONFIRM, in capitals"));
    assert!(
        html(&wrong).contains(&format!("name=\"ids\" value=\"{ka}\"")),
        "the selection is kept"
    );
    assert!(t.groups_of(a).await.is_empty());
    let done = b
        .post(
            &format!("/groups/{group}/members"),
            &[("op", "add"), ("ids", &ka), ("ids", &kc), ("confirm", "CONFIRM")],
        )
        .await
        .expect(StatusCode::OK);
    assert!(html(&done).contains("2 added"), "{}", html(&done));
    assert_eq!(t.groups_of(a).await, ["Reviewed"]);

    // The edit form: pending member changes are not saved without CONFIRM, and nothing typed is lost.
    let version = t.get(&format!("/api/v1/groups/{group}")).await.body["version"].to_string();
    let unit = t.unit.to_string();
    let edit = [
        ("name", "Renamed"),
        ("kind", "clients"),
        ("business_unit_id", unit.as_str()),
        ("crm_id", "CRM-9"),
        ("description", ""),
        ("version", version.as_str()),
        ("remove", ka.as_str()),
        ("action", "save"),
    ];
    let refused = b
        .post(&format!("/groups/{group}/edit"), &edit)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&refused);
    assert!(
        page.contains("Pending member changes: 1 client removed. This touches 1 client."),
        "{page}"
    );
    assert!(page.contains("value=\"Renamed\"") && page.contains("value=\"CRM-9\""));
    assert_eq!(t.get(&format!("/api/v1/groups/{group}")).await.body["name"], "Reviewed");
    let mut confirmed = edit.to_vec();
    confirmed.push(("confirm", "CONFIRM"));
    b.post(&format!("/groups/{group}/edit"), &confirmed)
        .await
        .expect(StatusCode::SEE_OTHER);
    let after = t.get(&format!("/api/v1/groups/{group}")).await;
    assert_eq!(after.body["name"], "Renamed");
    assert_eq!(after.body["member_count"], 1);
}

async fn a_refused_form_comes_back_with_the_input_and_the_error_by_its_field(t: TestApp) {
    t.group("Taken", &[]).await;
    let a = t.client("Alpha Ltd").await;
    let b = sign_in(&t).await;
    let unit = t.unit.to_string();
    let ka = format!("c:{a}");
    let r = b
        .post(
            "/groups/new",
            &[
                ("name", "taken"),
                ("kind", "clients"),
                ("business_unit_id", &unit),
                ("crm_id", "CRM-1"),
                ("description", "Kept text"),
                ("add", &ka),
                ("action", "save"),
            ],
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    assert!(page.contains("id=\"name-error\""), "{page}");
    assert!(page.contains("already exists"));
    assert!(page.contains("value=\"CRM-1\"") && page.contains("Kept text") && page.contains("Alpha Ltd"));
    // Searching the picker is not saving.
    let r = b
        .post(
            "/groups/new",
            &[
                ("name", "Fresh"),
                ("kind", "clients"),
                ("business_unit_id", &unit),
                ("client_q", "alp"),
                ("action", "search_clients"),
            ],
        )
        .await
        .expect(StatusCode::OK);
    assert!(html(&r).contains(&format!("name=\"pick\" value=\"{ka}\"")));
    assert_eq!(
        t.get("/api/v1/groups?q=Fresh").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let r = b
        .post(
            "/groups/new",
            &[
                ("name", "Fresh"),
                ("kind", "clients"),
                ("business_unit_id", &unit),
                ("add", &ka),
                ("action", "save"),
            ],
        )
        .await
        .expect(StatusCode::SEE_OTHER);
    assert!(r.headers["location"].to_str().unwrap().starts_with("/groups/"));
    assert_eq!(t.groups_of(a).await, ["Fresh"]);
}

async fn a_firm_that_wants_a_first_member_says_so_by_the_members_picker(t: TestApp) {
    t.policies(|p| p.require_first_member = true).await;
    let b = sign_in(&t).await;
    let unit = t.unit.to_string();
    let r = b
        .post(
            "/groups/new",
            &[
                ("name", "Lonely"),
                ("kind", "clients"),
                ("business_unit_id", &unit),
                ("action", "save"),
            ],
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    assert!(page.contains("Select at least one available client"), "{page}");
    assert!(page.contains("value=\"Lonely\""), "the name is kept");
    assert_eq!(
        t.get("/api/v1/groups?q=Lonely").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

async fn the_groups_list_greys_out_a_delete_the_rules_forbid_and_says_why(t: TestApp) {
    let a = t.client("Alpha Ltd").await;
    let inner = t.group("Bakeries", &[a]).await;
    t.group_of_groups("All food clients", &[inner]).await;
    t.group("Empty one", &[]).await;
    let b = sign_in(&t).await;
    let page = html(&b.get("/groups").await.expect(StatusCode::OK));
    assert!(page.contains("aria-label=\"Cannot delete Bakeries\""), "{page}");
    assert!(page.contains("This group has 1 member; only empty groups can be deleted."));
    assert!(
        page.contains("member of the group of client groups &quot;All food clients&quot;")
            || page.contains("member of the group of client groups &#34;All food clients&#34;"),
        "{page}"
    );
    assert!(page.contains("aria-label=\"Delete Empty one\""));
    let filtered = html(&b.get("/groups?kind=groups").await.expect(StatusCode::OK));
    assert!(filtered.contains("All food clients") && !filtered.contains("Empty one"));
    // A refused delete posted anyway is refused by the server too.
    let r = b
        .post(&format!("/groups/{inner}/delete"), &[("confirm", "DELETE")])
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("cannot be deleted"));
}

async fn staff_see_their_own_groups_and_only_admins_may_create_one(t: TestApp) {
    let a = t.client("Alpha Ltd").await;
    let mine = t.group("Mine", &[a]).await;
    t.group("Not mine", &[]).await;
    let (b, junior) = sign_in_staff(&t, "junior@firm.example").await;
    t.put(
        &format!("/api/v1/groups/{mine}/staff/{junior}"),
        json!({ "role": "reader" }),
    )
    .await
    .expect(StatusCode::OK);
    let page = html(&b.get("/groups").await.expect(StatusCode::OK));
    assert!(page.contains(">Mine</a>") && !page.contains("Not mine"), "{page}");
    assert!(
        !page.contains("href=\"/groups/new\"") && !page.contains("/delete\""),
        "{page}"
    );
    // Refused, on a page that still has the navigation to go somewhere else.
    let refused = html(&b.get("/groups/new").await.expect(StatusCode::FORBIDDEN));
    assert!(
        refused.contains("Only admins") && refused.contains("href=\"/my-group-clients\""),
        "{refused}"
    );
}

// Seed 003: "the account managers can access those clients by navigating to the 'Clients'
// area and selecting the 'My group clients' tab".
async fn seed_003_an_account_manager_finds_their_group_clients_in_my_group_clients(t: TestApp) {
    let mine = t.client("Mine Bakery").await;
    let nested = t.client("Nested Bakery").await;
    let theirs = t.client("Theirs Bakery").await;
    let inner = t.group("Inner", &[nested]).await;
    let top = t.group("Top", &[mine]).await;
    let region = t.group_of_groups("Region", &[inner]).await;
    t.group("Elsewhere", &[theirs]).await;
    let staff = t
        .app
        .create_staff_cli("am@firm.example", "Account Manager", StaffRole::Staff, Some(PASSWORD))
        .await
        .unwrap();
    for g in [top, region] {
        t.put(
            &format!("/api/v1/groups/{g}/staff/{}", staff.id),
            serde_json::json!({ "role": "reader" }),
        )
        .await
        .expect(StatusCode::OK);
    }
    let r = post_login(&t, "am@firm.example", PASSWORD)
        .await
        .expect(StatusCode::SEE_OTHER);
    let cookie = r.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let b = Browser { t: &t, cookie };
    let home = b.get("/").await.expect(StatusCode::SEE_OTHER);
    assert_eq!(home.headers["location"], "/my-group-clients");
    let page = html(&b.get("/my-group-clients").await.expect(StatusCode::OK));
    assert!(page.contains("Mine Bakery") && page.contains("Nested Bakery"), "{page}");
    assert!(!page.contains("Theirs Bakery"));
    assert!(page.contains("2 clients"));
    assert!(
        !page.contains("href=\"/settings\""),
        "staff are not shown the admin screens"
    );
    let _ = (mine, theirs);
}

// Seeds 003 and 004: assign an account manager to a group from its page, with a role.
async fn an_admin_assigns_and_removes_staff_on_the_group_page(t: TestApp) {
    let g = t.group("Program accounts", &[]).await;
    let staff = t
        .app
        .create_staff_cli("pam@firm.example", "Pam Manager", StaffRole::Staff, None)
        .await
        .unwrap();
    let b = sign_in(&t).await;
    let page = html(&b.get(&format!("/groups/{g}")).await.expect(StatusCode::OK));
    assert!(page.contains("No staff are assigned to this group."));
    assert!(page.contains("Pam Manager (pam@firm.example)"));
    b.post(
        &format!("/groups/{g}/staff"),
        &[("staff_id", &staff.id.to_string()), ("role", "manager")],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    let page = html(&b.get(&format!("/groups/{g}")).await.expect(StatusCode::OK));
    assert!(page.contains("<td data-label=\"Role\">manager</td>"), "{page}");
    b.post(&format!("/groups/{g}/staff/{}/remove", staff.id), &[])
        .await
        .expect(StatusCode::SEE_OTHER);
    assert!(
        html(&b.get(&format!("/groups/{g}")).await.expect(StatusCode::OK))
            .contains("No staff are assigned to this group.")
    );
}

async fn logos_upload_from_the_branding_tab_and_bad_ones_are_reported_by_their_field(t: TestApp) {
    let b = sign_in(&t).await;
    let csrf = b.csrf().await;
    let unit = t.unit.to_string();
    let send = |path: String, fields: Vec<(&'static str, String)>, files: Vec<(&'static str, Vec<u8>)>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let files: Vec<(&str, &[u8])> = files.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        let (content_type, body) = multipart(&fields, &files);
        Request::post(path)
            .header("cookie", &b.cookie)
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let base = |name: &str| {
        vec![
            ("csrf", csrf.clone()),
            ("name", name.to_string()),
            ("kind", "clients".to_string()),
            ("business_unit_id", unit.clone()),
            ("action", "save".to_string()),
        ]
    };
    // A broken PNG: nothing is created, the message sits by the logo field, the name is kept.
    let r = t
        .send(send(
            "/groups/new".into(),
            base("Branded"),
            vec![("logo_light", b"\x89PNG not really".to_vec())],
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    assert!(
        page.contains("data-tab=\"branding\"") && page.contains("value=\"Branded\""),
        "{page}"
    );
    assert_eq!(
        t.get("/api/v1/groups?q=Branded").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // A good one is created with the group and served back.
    let r = t
        .send(send(
            "/groups/new".into(),
            base("Branded"),
            vec![("logo_light", png_bytes())],
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let id = r.headers["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/groups/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        t.get(&format!("/api/v1/groups/{id}")).await.body["has_light_logo"],
        true
    );
    let logo = b.get(&format!("/groups/{id}/logo/light")).await.expect(StatusCode::OK);
    assert_eq!(logo.headers["content-type"], "image/png");
    assert_eq!(logo.bytes, png_bytes());
    // "Remove the light logo" on the edit form.
    let version = t.get(&format!("/api/v1/groups/{id}")).await.body["version"].to_string();
    let mut fields = base("Branded");
    fields.push(("version", version));
    fields.push(("remove_logo_light", "1".into()));
    let r = t.send(send(format!("/groups/{id}/edit"), fields, vec![])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    assert_eq!(
        t.get(&format!("/api/v1/groups/{id}")).await.body["has_light_logo"],
        false
    );
}

async fn settings_manage_business_units_and_refusals_stay_by_their_row(t: TestApp) {
    t.group("Uses the main office", &[]).await;
    let b = sign_in(&t).await;
    b.post("/settings/business-units", &[("name", "West office")])
        .await
        .expect(StatusCode::SEE_OTHER);
    let dup = b
        .post("/settings/business-units", &[("name", "west OFFICE")])
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html(&dup).contains("id=\"unit-error\"") && html(&dup).contains("value=\"west OFFICE\""),
        "{}",
        html(&dup)
    );
    let units = t.get("/api/v1/business-units").await.body["items"].clone();
    let west = units
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "West office")
        .unwrap()["id"]
        .to_string();
    b.post(
        &format!("/settings/business-units/{west}"),
        &[("name", "North office"), ("action", "rename")],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    let main = t.unit.to_string();
    let refused = b
        .post(
            &format!("/settings/business-units/{main}"),
            &[("action", "delete"), ("confirm", "DELETE")],
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&refused).contains("still has 1 group(s)"), "{}", html(&refused));
    // The Delete button asks for the typed word first; a wrong word deletes nothing.
    let asked = html(
        &b.post(&format!("/settings/business-units/{west}"), &[("action", "delete")])
            .await
            .expect(StatusCode::OK),
    );
    assert!(
        asked.contains("Type DELETE to confirm") && asked.contains("North office"),
        "{asked}"
    );
    b.post(
        &format!("/settings/business-units/{west}"),
        &[("action", "delete"), ("confirm", "delete")],
    )
    .await
    .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        t.get("/api/v1/business-units").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    b.post(
        &format!("/settings/business-units/{west}"),
        &[("action", "delete"), ("confirm", "DELETE")],
    )
    .await
    .expect(StatusCode::SEE_OTHER);
    let names: Vec<String> = t.get("/api/v1/business-units").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Main office"]);
}

async fn deactivating_a_staff_member_ends_their_sessions(t: TestApp) {
    let b = sign_in(&t).await;
    b.get("/groups").await.expect(StatusCode::OK);
    let staff = t.get("/api/v1/staff").await.body["items"].clone();
    let me = staff.as_array().unwrap().iter().find(|s| s["email"] == EMAIL).unwrap()["id"].to_string();
    t.patch(&format!("/api/v1/staff/{me}"), json!({ "active": false }))
        .await
        .expect(StatusCode::OK);
    let r = b.get("/groups").await.expect(StatusCode::SEE_OTHER);
    assert!(r.headers["location"].to_str().unwrap().starts_with("/login"));
    post_login(&t, EMAIL, PASSWORD).await.expect(StatusCode::UNAUTHORIZED);
}

async fn a_bulk_action_without_a_group_keeps_the_list_and_the_ticked_boxes(t: TestApp) {
    let a = t.client("Alpha Ltd").await;
    t.client("Beta Ltd").await;
    let b = sign_in(&t).await;
    let ka = format!("c:{a}");
    let r = b
        .post(
            "/clients/bulk",
            &[
                ("back", "/clients?q=ltd"),
                ("ids", &ka),
                ("group_id", ""),
                ("op", "add"),
            ],
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    assert!(
        page.contains("class=\"error-summary\"") && page.contains("<a href=\"#group_id\">Choose a group first.</a>"),
        "{page}"
    );
    assert!(
        page.contains("id=\"group_id\" name=\"group_id\" aria-invalid=\"true\""),
        "{page}"
    );
    assert!(page.contains(&format!("value=\"{ka}\" checked")), "{page}");
    assert!(
        page.contains("Beta Ltd") && page.contains("value=\"ltd\""),
        "the filtered list is back"
    );
    let group = t.group("Bulk target", &[]).await.to_string();
    let review = b
        .post(
            "/clients/bulk",
            &[("back", "/clients"), ("ids", &ka), ("group_id", &group), ("op", "add")],
        )
        .await
        .expect(StatusCode::OK);
    assert!(html(&review).contains("This touches 1 client"));
}

// Reports (issue 6) in the UI: seed 001's "Report" page with its client group filter, the chart,
// the CSV, and "save it at the disc icon ... for the entire office".
async fn seed_001_the_report_page_filters_by_group_charts_and_saves(t: TestApp) {
    let bakery = t.client("Bakery").await;
    let garage = t.client("Garage <b>&</b>").await;
    let annual = t.group("Annual <script>x</script>", &[bakery]).await;
    t.group("One-time", &[garage]).await;
    for (client, minutes) in [(bakery, "90"), (garage, "30")] {
        t.post(
            "/api/v1/time-entries",
            json!({ "client_id": client, "date": "2026-11-02", "duration": minutes, "billable": true }),
        )
        .await
        .expect(StatusCode::CREATED);
    }
    let b = sign_in(&t).await;
    let page = html(
        &b.get("/reports?from=2026-11-01&to=2026-11-30")
            .await
            .expect(StatusCode::OK),
    );
    assert!(
        page.contains("Annual &lt;script&gt;x&lt;/script&gt;") || page.contains("Annual &#60;script&#62;"),
        "names are escaped"
    );
    assert!(!page.contains("<script>x</script>"));
    assert!(page.contains("id=\"report-total\"><strong>2:00</strong>"), "{page}");
    assert!(page.contains("src=\"/reports/chart.svg?from=2026-11-01"), "{page}");

    let filtered = html(
        &b.get(&format!(
            "/reports?from=2026-11-01&to=2026-11-30&groups={annual}&by=client"
        ))
        .await
        .expect(StatusCode::OK),
    );
    assert!(
        filtered.contains("<strong>1:30</strong>") && filtered.contains(">Bakery</a>"),
        "{filtered}"
    );
    assert!(!filtered.contains(">Garage"));

    let svg = b
        .get(&format!(
            "/reports/chart.svg?from=2026-11-01&to=2026-11-30&groups={annual}"
        ))
        .await
        .expect(StatusCode::OK);
    assert_eq!(svg.headers["content-type"], "image/svg+xml");
    assert!(html(&svg).contains(">1:30<"));
    let csv = b
        .get("/reports/time.csv?from=2026-11-01&to=2026-11-30&by=client")
        .await
        .expect(StatusCode::OK);
    assert!(
        html(&csv).contains("client,") && html(&csv).contains("Garage <b>&</b>,0.50,30"),
        "{}",
        html(&csv)
    );

    // A bad range is shown by its field, and nothing breaks.
    let bad = html(
        &b.get("/reports?from=2026-12-01&to=2026-11-01")
            .await
            .expect(StatusCode::OK),
    );
    assert!(bad.contains("id=\"from-error\""), "{bad}");

    // Save it for the office; it opens with its filters, and lists for everyone.
    let qs = format!("from=2026-11-01&to=2026-11-30&groups={annual}");
    let saved = b
        .post(
            "/reports/saved",
            &[("qs", &qs), ("name", "Annual November"), ("visibility", "organization")],
        )
        .await
        .expect(StatusCode::SEE_OTHER);
    let at = saved.headers["location"].to_str().unwrap().to_string();
    let opened = html(&b.get(&at).await.expect(StatusCode::OK));
    assert!(opened.contains("<h1>Annual November</h1>") && opened.contains("for the entire office"));
    assert!(opened.contains("<strong>1:30</strong>"), "the saved filters apply");
    let again = b
        .post("/reports/saved", &[("qs", &qs), ("name", "annual november")])
        .await
        .expect(StatusCode::OK);
    assert!(
        html(&again).contains("id=\"save-error\""),
        "a taken name is refused by the save form"
    );
    let list = t.get("/api/v1/saved-reports").await.body;
    assert_eq!(list[0]["params"]["groups"], annual.to_string());
    let id = list[0]["id"].as_i64().unwrap();
    b.post(&format!("/reports/saved/{id}/delete"), &[])
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(t.get("/api/v1/saved-reports").await.body.as_array().unwrap().len(), 0);
}

// ---------------------------------------------------------------------------------------------
// Upload / Download, process requests, client create and edit

/// A CSV upload as the transfers page's form sends it: the small fields first, the file last.
fn upload_request(cookie: &str, fields: &[(&str, &str)], file: &[u8]) -> Request<Body> {
    let boundary = "----clientele-csv-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"members.csv\"\r\nContent-Type: text/csv\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::post("/transfers/upload")
        .header("cookie", cookie)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap()
}

impl Browser<'_> {
    /// Uploads a CSV through the form; returns the answer.
    async fn upload(&self, format: &str, mode: &str, membership: &str, file: &[u8]) -> Resp {
        let csrf = self.csrf().await;
        let fields = [
            ("csrf", csrf.as_str()),
            ("format", format),
            ("mode", mode),
            ("membership", membership),
        ];
        self.t.send(upload_request(&self.cookie, &fields, file)).await
    }
}

/// The process request a redirect leads to.
fn request_id(r: &Resp) -> i64 {
    let location = r.headers["location"].to_str().unwrap();
    location
        .trim_start_matches("/process-requests/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// A client with an external reference, through the API.
async fn client_with_ref(t: &TestApp, name: &str, reference: &str) -> i64 {
    t.post("/api/v1/clients", json!({ "name": name, "external_ref": reference }))
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap()
}

/// Someone signed in with a password and a staff role (not an admin).
async fn sign_in_staff<'a>(t: &'a TestApp, email: &str) -> (Browser<'a>, clientele_domain::StaffId) {
    let staff = t
        .app
        .create_staff_cli(email, email, StaffRole::Staff, Some(PASSWORD))
        .await
        .unwrap();
    let r = post_login(t, email, PASSWORD).await.expect(StatusCode::SEE_OTHER);
    let cookie = r.headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (Browser { t, cookie }, staff.id)
}

// Seed 000: "Download CSV Guide", fill it in, upload; validate first, then apply the same file.
async fn seed_000_a_memberships_file_is_validated_then_applied_with_each_rows_result(t: TestApp) {
    let a = client_with_ref(&t, "Alpha Ltd", "REF-A").await;
    let c = client_with_ref(&t, "Gamma Ltd", "REF-C").await;
    t.group("VIP", &[]).await;
    let b = sign_in(&t).await;
    let groups = html(&b.get("/groups").await.expect(StatusCode::OK));
    assert!(
        groups.contains("href=\"/transfers\"") && groups.contains("aria-label=\"Upload Client Groups\""),
        "{groups}"
    );
    assert!(groups.contains("href=\"/transfers/groups/export.csv\""));
    let page = html(&b.get("/transfers").await.expect(StatusCode::OK));
    for format in ["clients", "groups", "memberships"] {
        assert!(
            page.contains(&format!("href=\"/transfers/{format}/guide.csv\"")),
            "{page}"
        );
        assert!(page.contains(&format!("href=\"/transfers/{format}/export.csv\"")));
    }
    assert!(page.contains("<label for=\"file\">") && page.contains("enctype=\"multipart/form-data\""));
    let guide = b.get("/transfers/memberships/guide.csv").await.expect(StatusCode::OK);
    assert_eq!(guide.headers["content-type"], "text/csv; charset=utf-8");
    assert!(html(&guide).contains("group_id,group,client_id,client_ref,child_group"));

    // A dry run: one good row, one unknown reference, one reference that is markup.
    let file = b"group,client_ref\r\nVIP,REF-A\r\nVIP,NO-SUCH-REF\r\nVIP,<script>alert(1)</script>\r\n";
    let r = b
        .upload("memberships", "validate", "merge", file)
        .await
        .expect(StatusCode::SEE_OTHER);
    let dry = request_id(&r);
    let page = html(&b.get(&format!("/process-requests/{dry}")).await.expect(StatusCode::OK));
    assert!(
        page.contains("This was a dry run: nothing was changed. 1 row would be accepted, 2 rejected."),
        "{page}"
    );
    assert!(
        page.contains("there is no client with the external reference"),
        "the reason is shown: {page}"
    );
    assert!(page.contains("<tr class=\"rejected\">"));
    assert!(
        !page.contains("<script>alert(1)</script>"),
        "the uploaded value is escaped"
    );
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            || page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{page}"
    );
    assert!(
        page.contains("Apply this file") && page.contains(">Would be added<") && !page.contains("Retry failed rows"),
        "{page}"
    );
    assert!(t.groups_of(a).await.is_empty(), "a dry run changes nothing");
    let rejected_only = html(
        &b.get(&format!("/process-requests/{dry}?only=rejected"))
            .await
            .expect(StatusCode::OK),
    );
    assert_eq!(rejected_only.matches("<tr class=\"rejected\">").count(), 2);
    assert!(!rejected_only.contains(">Added<"));

    // Apply this file: the stored rows run for real, without a second upload.
    let r = b
        .post(&format!("/process-requests/{dry}/apply"), &[])
        .await
        .expect(StatusCode::SEE_OTHER);
    let applied = request_id(&r);
    assert_ne!(applied, dry);
    let page = html(
        &b.get(&format!("/process-requests/{applied}"))
            .await
            .expect(StatusCode::OK),
    );
    assert!(page.contains("id=\"status\">Completed<"), "{page}");
    assert!(page.contains(">Added<") && page.contains("there is no client with the external reference"));
    assert!(
        !page.contains("Apply this file"),
        "an applied file is not applied twice"
    );
    assert_eq!(t.groups_of(a).await, ["VIP"]);
    assert!(t.groups_of(c).await.is_empty());
    // The report as CSV.
    let csv = b
        .get(&format!("/process-requests/{applied}/report.csv"))
        .await
        .expect(StatusCode::OK);
    let text = html(&csv);
    assert!(text.starts_with("row,line,outcome,reason,group,client_ref"), "{text}");
    assert!(text.contains("2,3,rejected,") && text.contains("1,2,added,"), "{text}");

    // Both are in the Process requests table.
    let list = html(&b.get("/process-requests").await.expect(StatusCode::OK));
    for id in [dry, applied] {
        assert!(list.contains(&format!("href=\"/process-requests/{id}\"")), "{list}");
    }
    assert!(list.contains("Import memberships") && list.contains("dry run") && list.contains("UI Admin"));
    assert!(!list.contains("data-live"), "nothing is running");
    // Apply works once only: the dry run of a finished apply cannot be applied.
    let again = b
        .post(&format!("/process-requests/{applied}/apply"), &[])
        .await
        .expect(StatusCode::CONFLICT);
    assert!(html(&again).contains("not a completed dry run"));
}

async fn an_upload_the_reader_refuses_comes_back_with_the_reason_by_the_file(t: TestApp) {
    let b = sign_in(&t).await;
    let r = b
        .upload("memberships", "apply", "merge", b"group,client_ref\r\nVIP,\xff\xfe\r\n")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    assert!(page.contains("id=\"file-error\"") && page.contains("UTF-8"), "{page}");
    assert!(page.contains("value=\"apply\" checked"), "the choices are kept");
    let r = b
        .upload("groups", "validate", "merge", b"name,colour\r\nX,red\r\n")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("unknown column"), "{}", html(&r));
    // Replace is for memberships only; the refusal sits by that choice.
    let r = b
        .upload("groups", "validate", "replace", b"name\r\nX\r\n")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("id=\"replace-error\""), "{}", html(&r));
    // The refused uploads are failed requests, with their reason.
    let list = html(&b.get("/process-requests?status=failed").await.expect(StatusCode::OK));
    let failed: i64 = list
        .split("data-request=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let page = html(
        &b.get(&format!("/process-requests/{failed}"))
            .await
            .expect(StatusCode::OK),
    );
    assert!(
        page.contains("Upload a corrected file")
            && (page.contains("/transfers?format=groups&amp;mode=validate")
                || page.contains("/transfers?format=groups&#38;mode=validate")),
        "{page}"
    );
    assert!(
        html(
            &b.get("/transfers?format=groups&mode=apply")
                .await
                .expect(StatusCode::OK)
        )
        .contains("value=\"apply\" checked"),
        "pre-selected"
    );
    assert!(list.contains("Import groups") && list.contains("Failed"), "{list}");
    // Over the configured limit: refused, as a page.
    let small = clientele_web::router(
        t.app.clone(),
        &clientele_web::WebSettings {
            csv_max_bytes: 64,
            ..Default::default()
        },
    );
    let csrf = b.csrf().await;
    let big = format!("group,client_ref\r\n{}", "VIP,REF-A\r\n".repeat(20));
    let req = upload_request(
        &b.cookie,
        &[
            ("csrf", &csrf),
            ("format", "memberships"),
            ("mode", "validate"),
            ("membership", "merge"),
        ],
        big.as_bytes(),
    );
    let res = tower::ServiceExt::oneshot(small, req).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert!(
        String::from_utf8_lossy(&bytes).contains("larger than the upload limit of 64 bytes"),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
}

async fn uploads_and_request_actions_refuse_forms_without_the_token_or_from_another_site(t: TestApp) {
    let b = sign_in(&t).await;
    let file = b"name,kind,business_unit\r\nVIP,clients,Main office\r\n";
    let fields = [("format", "groups"), ("mode", "apply"), ("membership", "merge")];
    let r = t
        .send(upload_request(&b.cookie, &fields, file))
        .await
        .expect(StatusCode::FORBIDDEN);
    assert!(html(&r).contains("did not come from this site"));
    let csrf = b.csrf().await;
    let signed = [
        ("csrf", csrf.as_str()),
        ("format", "groups"),
        ("mode", "apply"),
        ("membership", "merge"),
    ];
    let mut cross = upload_request(&b.cookie, &signed, file);
    cross
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    t.send(cross).await.expect(StatusCode::FORBIDDEN);
    assert_eq!(
        t.get("/api/v1/groups?q=VIP").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "nothing was imported"
    );
    assert_eq!(
        t.app
            .process_requests(&t.app.cli_admin(None).await.unwrap(), &Default::default(), None, None)
            .await
            .unwrap()
            .items
            .len(),
        0
    );
    // The real form goes through.
    let r = t
        .send(upload_request(&b.cookie, &signed, file))
        .await
        .expect(StatusCode::SEE_OTHER);
    let id = request_id(&r);
    assert_eq!(
        t.get("/api/v1/groups?q=VIP").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Cancel and retry without the token, or from elsewhere.
    for action in ["cancel", "retry", "apply"] {
        b.post_raw(&format!("/process-requests/{id}/{action}"), &[], &[])
            .await
            .expect(StatusCode::FORBIDDEN);
        b.post_raw(
            &format!("/process-requests/{id}/{action}"),
            &[("csrf", &csrf)],
            &[("sec-fetch-site", "cross-site")],
        )
        .await
        .expect(StatusCode::FORBIDDEN);
    }
    // Staff who are not admins see neither screen.
    let (staff, _) = sign_in_staff(&t, "junior@firm.example").await;
    staff.get("/transfers").await.expect(StatusCode::FORBIDDEN);
    staff.get("/process-requests").await.expect(StatusCode::FORBIDDEN);
    staff
        .get(&format!("/process-requests/{id}"))
        .await
        .expect(StatusCode::FORBIDDEN);
    staff
        .get("/transfers/groups/export.csv")
        .await
        .expect(StatusCode::FORBIDDEN);
}

// Seed 004: "monitor the status of system operations by viewing whether they are pending,
// failed, or completed".
async fn seed_004_the_process_requests_table_filters_cancels_and_retries(t: TestApp) {
    use clientele_app::bulk::Format;
    use clientele_app::process_requests::Mode;
    let admin = t.app.cli_admin(None).await.unwrap();
    t.group("VIP", &[]).await;
    // A request waiting for a worker (no worker runs in these tests).
    let file = "group,client_ref\r\nVIP,LATE-1\r\n".to_string();
    let pending = t
        .app
        .receive_import(
            admin.admin().unwrap(),
            Format::Memberships,
            Mode::Apply,
            false,
            std::io::Cursor::new(file.clone().into_bytes()),
        )
        .await
        .unwrap();
    let b = sign_in(&t).await;
    let list = html(&b.get("/process-requests").await.expect(StatusCode::OK));
    assert!(
        list.contains("id=\"requests\" data-live"),
        "a pending request keeps the table live: {list}"
    );
    assert!(
        list.contains("<meta http-equiv=\"refresh\""),
        "and refreshes without JavaScript"
    );
    assert!(list.contains("data-status=\"pending\"") && list.contains("0/1"));
    let page = html(
        &b.get(&format!("/process-requests/{}", pending.id))
            .await
            .expect(StatusCode::OK),
    );
    assert!(
        page.contains("id=\"request\" data-live")
            && page.contains(">Cancel</button>")
            && !page.contains("Retry failed rows"),
        "{page}"
    );
    assert!(page.contains("No row has been processed yet."));
    // Filters.
    assert!(
        !html(&b.get("/process-requests?status=completed").await.expect(StatusCode::OK))
            .contains(&format!("data-request=\"{}\"", pending.id))
    );
    assert!(
        html(
            &b.get("/process-requests?status=pending&operation=import_memberships")
                .await
                .expect(StatusCode::OK)
        )
        .contains(&format!("data-request=\"{}\"", pending.id))
    );
    assert!(
        !html(
            &b.get("/process-requests?operation=import_clients")
                .await
                .expect(StatusCode::OK)
        )
        .contains(&format!("data-request=\"{}\"", pending.id))
    );
    // Cancel; a second cancel is refused with the reason, on the page.
    b.post(&format!("/process-requests/{}/cancel", pending.id), &[])
        .await
        .expect(StatusCode::SEE_OTHER);
    let page = html(
        &b.get(&format!("/process-requests/{}?done=cancelled", pending.id))
            .await
            .expect(StatusCode::OK),
    );
    assert!(
        page.contains("id=\"status\">Cancelled<") && !page.contains("data-live"),
        "{page}"
    );
    let again = b
        .post(&format!("/process-requests/{}/cancel", pending.id), &[])
        .await
        .expect(StatusCode::CONFLICT);
    assert!(html(&again).contains("only pending or running ones can be cancelled"));

    // A finished request with a rejected row: fix the data, then retry only that row.
    let r = b
        .upload("memberships", "apply", "merge", file.as_bytes())
        .await
        .expect(StatusCode::SEE_OTHER);
    let first = request_id(&r);
    let page = html(
        &b.get(&format!("/process-requests/{first}"))
            .await
            .expect(StatusCode::OK),
    );
    assert!(
        page.contains("Retry failed rows") && page.contains("1 rejected"),
        "{page}"
    );
    let late = client_with_ref(&t, "Late Ltd", "LATE-1").await;
    let r = b
        .post(&format!("/process-requests/{first}/retry"), &[])
        .await
        .expect(StatusCode::SEE_OTHER);
    let retry = request_id(&r);
    let page = html(
        &b.get(&format!("/process-requests/{retry}?done=retry"))
            .await
            .expect(StatusCode::OK),
    );
    assert!(
        page.contains(&format!("retries the rejected rows of request {first}")) && page.contains(">Added<"),
        "{page}"
    );
    assert_eq!(t.groups_of(late).await, ["VIP"]);
    let list = html(&b.get("/process-requests").await.expect(StatusCode::OK));
    assert!(list.contains("data-status=\"cancelled\"") && list.contains("data-status=\"completed\""));
}

async fn clients_are_created_and_edited_with_errors_by_their_field(t: TestApp) {
    client_with_ref(&t, "Existing Ltd", "CRM-1").await;
    let b = sign_in(&t).await;
    assert!(html(&b.get("/clients").await.expect(StatusCode::OK)).contains("href=\"/clients/new\""));
    let form = html(&b.get("/clients/new").await.expect(StatusCode::OK));
    for control in [
        "name",
        "external_ref",
        "status",
        "relationship",
        "relationship_expires_at",
        "business_unit_id",
    ] {
        assert!(
            form.contains(&format!("<label for=\"{control}\">")),
            "{control} has a label"
        );
    }
    let unit = t.unit.to_string();
    let base = |name: &'static str, reference: &'static str, expires: &'static str| {
        vec![
            ("name", name),
            ("external_ref", reference),
            ("email", ""),
            ("phone", "+44 1"),
            ("status", "active"),
            ("relationship", "active"),
            ("relationship_expires_at", expires),
            ("notes", "Kept notes"),
        ]
    };
    // A taken reference: the message sits by that field, and everything typed is kept.
    let mut fields = base("New Bakery", "CRM-1", "2030-01-31");
    fields.push(("business_unit_id", &unit));
    let r = b
        .post("/clients/new", &fields)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    assert!(
        page.contains("id=\"external_ref-error\"") && page.contains("already has the external reference CRM-1"),
        "{page}"
    );
    assert!(
        page.contains("value=\"New Bakery\"") && page.contains("Kept notes") && page.contains("value=\"2030-01-31\"")
    );
    assert!(page.contains(&format!("value=\"{unit}\" selected")));
    // A date the form cannot read.
    let mut fields = base("New Bakery", "CRM-2", "31/01/2030");
    fields.push(("business_unit_id", &unit));
    let r = b
        .post("/clients/new", &fields)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&r).contains("id=\"expires-error\""), "{}", html(&r));
    // Saved.
    let mut fields = base("<script>alert(1)</script> Bakery", "CRM-2", "2030-01-31");
    fields.push(("business_unit_id", &unit));
    let r = b.post("/clients/new", &fields).await.expect(StatusCode::SEE_OTHER);
    let location = r.headers["location"].to_str().unwrap().to_string();
    assert!(location.ends_with("?done=created"), "{location}");
    let id: i64 = location
        .trim_start_matches("/clients/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let stored = t
        .get(&format!("/api/v1/clients/{id}"))
        .await
        .expect(StatusCode::OK)
        .body;
    assert_eq!(
        (stored["external_ref"].as_str(), stored["business_unit_id"].as_i64()),
        (Some("CRM-2"), Some(t.unit))
    );
    assert_eq!(stored["relationship_expires_at"], "2030-01-31T00:00:00Z");
    let profile = html(&b.get(&location).await.expect(StatusCode::OK));
    assert!(
        profile.contains("The client has been created.") && profile.contains(&format!("href=\"/clients/{id}/edit\""))
    );
    assert!(
        !profile.contains("<script>alert(1)</script>")
            && (profile.contains("&lt;script&gt;") || profile.contains("&#60;script&#62;")),
        "{profile}"
    );

    // Edit: the stored values are in the form; a stale version is refused and the input kept.
    let edit = html(&b.get(&format!("/clients/{id}/edit")).await.expect(StatusCode::OK));
    assert!(edit.contains("value=\"CRM-2\"") && edit.contains("value=\"2030-01-31\""));
    assert!(!edit.contains("<script>alert(1)</script>"));
    let version = stored["version"].to_string();
    let mut fields = base("Renamed Bakery", "CRM-2", "2030-01-31");
    fields.extend([
        ("business_unit_id", ""),
        ("version", "999"),
        ("expires_was", "2030-01-31"),
        ("status", "inactive"),
    ]);
    let r = b
        .post(&format!("/clients/{id}/edit"), &fields)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html(&r).contains("changed since you read it") && html(&r).contains("value=\"Renamed Bakery\""),
        "{}",
        html(&r)
    );
    let mut fields = base("Renamed Bakery", "CRM-2", "");
    fields.extend([
        ("business_unit_id", ""),
        ("version", version.as_str()),
        ("expires_was", "2030-01-31"),
    ]);
    b.post(&format!("/clients/{id}/edit"), &fields)
        .await
        .expect(StatusCode::SEE_OTHER);
    let stored = t.get(&format!("/api/v1/clients/{id}")).await.body;
    assert_eq!(stored["name"], "Renamed Bakery");
    assert!(
        stored["relationship_expires_at"].is_null() && stored["business_unit_id"].is_null(),
        "{stored}"
    );
}

async fn edit_is_offered_to_exactly_those_the_use_case_lets_save(t: TestApp) {
    let a = t.client("Alpha Ltd").await;
    let group = t.group("Program accounts", &[a]).await;
    let (reader, reader_id) = sign_in_staff(&t, "reader@firm.example").await;
    t.put(
        &format!("/api/v1/groups/{group}/staff/{reader_id}"),
        json!({ "role": "reader" }),
    )
    .await
    .expect(StatusCode::OK);
    let profile = html(&reader.get(&format!("/clients/{a}")).await.expect(StatusCode::OK));
    assert!(
        profile.contains("Alpha Ltd") && !profile.contains(&format!("/clients/{a}/edit")),
        "{profile}"
    );
    assert!(!profile.contains("href=\"/clients/new\""));
    reader
        .get(&format!("/clients/{a}/edit"))
        .await
        .expect(StatusCode::FORBIDDEN);
    reader.get("/clients/new").await.expect(StatusCode::FORBIDDEN);
    reader
        .post(
            "/clients/new",
            &[("name", "Sneaky Ltd"), ("status", "active"), ("relationship", "active")],
        )
        .await
        .expect(StatusCode::FORBIDDEN);
    let refused = reader
        .post(
            &format!("/clients/{a}/edit"),
            &[("name", "Taken over"), ("status", "active"), ("relationship", "active")],
        )
        .await
        .expect(StatusCode::FORBIDDEN);
    assert!(
        html(&refused).to_lowercase().contains("only editors and managers"),
        "{}",
        html(&refused)
    );
    let (editor, editor_id) = sign_in_staff(&t, "editor@firm.example").await;
    t.put(
        &format!("/api/v1/groups/{group}/staff/{editor_id}"),
        json!({ "role": "editor" }),
    )
    .await
    .expect(StatusCode::OK);
    let profile = html(&editor.get(&format!("/clients/{a}")).await.expect(StatusCode::OK));
    assert!(profile.contains(&format!("href=\"/clients/{a}/edit\"")), "{profile}");
    let version = t.get(&format!("/api/v1/clients/{a}")).await.body["version"].to_string();
    editor
        .post(
            &format!("/clients/{a}/edit"),
            &[
                ("name", "Alpha Renamed"),
                ("status", "active"),
                ("relationship", "active"),
                ("version", &version),
            ],
        )
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(
        t.get(&format!("/api/v1/clients/{a}")).await.body["name"],
        "Alpha Renamed"
    );
    // Someone else's client is not found at all.
    let other = t.client("Hidden Ltd").await;
    editor
        .get(&format!("/clients/{other}/edit"))
        .await
        .expect(StatusCode::NOT_FOUND);
}

/// A client's time entries, through the API, newest first.
async fn entries_of(t: &TestApp, client: i64) -> Vec<serde_json::Value> {
    let page = t
        .get(&format!("/api/v1/time-entries?client_id={client}"))
        .await
        .expect(StatusCode::OK);
    page.body["items"].as_array().unwrap().clone()
}

// Issue 6: "Time entries: staff, client, date, duration, billable or not, service/task label,
// note. Created by staff on clients they may edit." The profile's Log time form, Edit and
// Delete of an entry, and My time.
async fn time_is_logged_from_the_client_profile_by_those_who_may_edit_it(t: TestApp) {
    let bakery = t.client("Bakery").await;
    let hidden = t.client("Hidden Ltd").await;
    let group = t.group("Annual report clients", &[bakery]).await;
    t.group("Elsewhere", &[hidden]).await;
    let (editor, editor_id) = sign_in_staff(&t, "editor@firm.example").await;
    let (reader, reader_id) = sign_in_staff(&t, "reader@firm.example").await;
    let (colleague, colleague_id) = sign_in_staff(&t, "colleague@firm.example").await;
    for (id, role) in [(editor_id, "editor"), (reader_id, "reader"), (colleague_id, "editor")] {
        t.put(&format!("/api/v1/groups/{group}/staff/{id}"), json!({ "role": role }))
            .await
            .expect(StatusCode::OK);
    }
    let profile = format!("/clients/{bakery}");
    let log = format!("/clients/{bakery}/time");

    // The form, for an editor: today's date, the duration's formats, every control labelled.
    let page = html(&editor.get(&profile).await.expect(StatusCode::OK));
    assert!(
        page.contains("id=\"log-time\"") && page.contains("No time logged yet."),
        "{page}"
    );
    let today = clientele_domain::time_entry::Day::of_millis(clientele_domain::now_millis()).to_string();
    assert!(
        page.contains(&format!(
            "id=\"time-date\" name=\"date\" type=\"date\" value=\"{today}\""
        )),
        "{page}"
    );
    for control in ["time-date", "time-duration", "time-service", "time-note"] {
        assert!(
            page.contains(&format!("<label for=\"{control}\">")),
            "{control} has a label"
        );
    }
    assert!(page.contains("href=\"/time\""), "My time is in everyone's navigation");

    // A duration the app cannot read: refused by that field, everything typed kept, nothing saved.
    let evil = "<script>alert(1)</script>";
    let r = editor
        .post(
            &log,
            &[
                ("date", "2026-11-02"),
                ("duration", "ninety"),
                ("billable", "1"),
                ("service", "Bookkeeping"),
                ("note", evil),
            ],
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    assert!(
        page.contains("id=\"time-duration-error\"") && page.contains("1:30"),
        "{page}"
    );
    assert!(
        page.contains("value=\"ninety\"")
            && page.contains("value=\"2026-11-02\"")
            && page.contains("value=\"Bookkeeping\""),
        "{page}"
    );
    assert!(
        !page.contains(evil)
            && (page.contains("&lt;script&gt;alert(1)&lt;/script&gt;</textarea>")
                || page.contains("&#60;script&#62;alert(1)&#60;/script&#62;</textarea>")),
        "{page}"
    );
    assert!(!page.contains("time-date-error"), "only the field at fault is marked");
    let r = editor
        .post(&log, &[("date", "2026-13-01"), ("duration", "90")])
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html(&r).contains("id=\"time-date-error\"") && html(&r).contains("value=\"90\""),
        "{}",
        html(&r)
    );
    assert!(entries_of(&t, bakery).await.is_empty());

    // Logged, in each way people write durations; the note is shown as text.
    let r = editor
        .post(
            &log,
            &[
                ("date", "2026-11-02"),
                ("duration", "1:30"),
                ("billable", "1"),
                ("service", "Bookkeeping"),
                ("note", evil),
            ],
        )
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers["location"],
        format!("/clients/{bakery}?done=time-logged#time")
    );
    editor
        .post(&log, &[("date", "2026-11-03"), ("duration", "1.5h")])
        .await
        .expect(StatusCode::SEE_OTHER);
    editor
        .post(&log, &[("date", "2026-11-04"), ("duration", "90"), ("billable", "1")])
        .await
        .expect(StatusCode::SEE_OTHER);
    let stored = entries_of(&t, bakery).await;
    assert_eq!(
        stored
            .iter()
            .map(|e| e["minutes"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [90, 90, 90]
    );
    assert_eq!(
        stored
            .iter()
            .map(|e| e["billable"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [true, false, true]
    );
    assert!(stored.iter().all(|e| e["staff_id"] == editor_id.0));
    let first = stored[2]["id"].as_i64().unwrap();
    let page = html(
        &editor
            .get(&format!("{profile}?done=time-logged"))
            .await
            .expect(StatusCode::OK),
    );
    assert!(
        page.contains("Time logged.") && page.contains(">1:30<") && page.contains("editor@firm.example"),
        "{page}"
    );
    assert!(
        !page.contains(evil) && (page.contains("&lt;script&gt;") || page.contains("&#60;script&#62;")),
        "{page}"
    );
    assert!(
        page.contains(&format!("href=\"/time/{first}/edit?back=%2Fclients%2F{bakery}\"")),
        "{page}"
    );

    // A reader sees the time but no form, and a form posted anyway is refused.
    let page = html(&reader.get(&profile).await.expect(StatusCode::OK));
    assert!(
        page.contains(">1:30<") && !page.contains("id=\"log-time\"") && !page.contains("/edit?back"),
        "{page}"
    );
    let refused = reader
        .post(&log, &[("date", "2026-11-05"), ("duration", "30")])
        .await
        .expect(StatusCode::FORBIDDEN);
    assert!(
        html(&refused).to_lowercase().contains("only editors and managers"),
        "{}",
        html(&refused)
    );
    // Someone who cannot see the client at all: not found, whichever way they ask.
    editor
        .get(&format!("/clients/{hidden}"))
        .await
        .expect(StatusCode::NOT_FOUND);
    editor
        .post(
            &format!("/clients/{hidden}/time"),
            &[("date", "2026-11-05"), ("duration", "30")],
        )
        .await
        .expect(StatusCode::NOT_FOUND);
    reader
        .get(&format!("/time/{first}/edit"))
        .await
        .expect(StatusCode::FORBIDDEN);
    assert_eq!(entries_of(&t, bakery).await.len(), 3);
    assert!(entries_of(&t, hidden).await.is_empty());

    // Edit: the author's; a colleague who may edit the client is still refused someone else's entry.
    let form = html(
        &editor
            .get(&format!("/time/{first}/edit?back=%2Fclients%2F{bakery}"))
            .await
            .expect(StatusCode::OK),
    );
    assert!(
        form.contains("value=\"1:30\"") && form.contains("value=\"Bookkeeping\"") && !form.contains(evil),
        "{form}"
    );
    let version = stored[2]["version"].to_string();
    let back = format!("/clients/{bakery}");
    let r = editor
        .post(
            &format!("/time/{first}/edit"),
            &[
                ("version", &version),
                ("back", &back),
                ("date", "2026-11-02"),
                ("duration", "25:00"),
                ("service", "Payroll"),
            ],
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html(&r).contains("id=\"duration-error\"")
            && html(&r).contains("value=\"25:00\"")
            && html(&r).contains("value=\"Payroll\""),
        "{}",
        html(&r)
    );
    let r = editor
        .post(
            &format!("/time/{first}/edit"),
            &[
                ("version", &version),
                ("back", &back),
                ("date", "2026-11-02"),
                ("duration", "2:00"),
                ("billable", "1"),
                ("service", "Payroll"),
            ],
        )
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], format!("/clients/{bakery}?done=time-saved#time"));
    let stale = editor
        .post(
            &format!("/time/{first}/edit"),
            &[("version", &version), ("date", "2026-11-02"), ("duration", "3:00")],
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&stale).contains("changed since you read it"), "{}", html(&stale));
    let changed = t.get(&format!("/api/v1/time-entries/{first}")).await.body;
    assert_eq!(
        (
            changed["minutes"].as_i64(),
            changed["service"].as_str(),
            changed["client_id"].as_i64()
        ),
        (Some(120), Some("Payroll"), Some(bakery))
    );
    let page = html(&colleague.get(&profile).await.expect(StatusCode::OK));
    assert!(
        page.contains("id=\"log-time\"") && !page.contains(&format!("/time/{first}/edit")),
        "{page}"
    );
    colleague
        .get(&format!("/time/{first}/edit"))
        .await
        .expect(StatusCode::FORBIDDEN);
    colleague
        .post(
            &format!("/time/{first}/edit"),
            &[("date", "2026-11-02"), ("duration", "1:00")],
        )
        .await
        .expect(StatusCode::FORBIDDEN);
    colleague
        .post(&format!("/time/{first}/delete"), &[])
        .await
        .expect(StatusCode::FORBIDDEN);

    // My time: the editor's own entries, newest first, linked to the client, with the totals.
    let mine = html(&editor.get("/time").await.expect(StatusCode::OK));
    assert!(mine.contains("aria-current=\"page\">My time<"), "{mine}");
    let (newest, oldest) = (mine.find("2026-11-04").unwrap(), mine.find("2026-11-02").unwrap());
    assert!(newest < oldest, "newest first");
    assert!(mine.contains(&format!("<a href=\"/clients/{bakery}\">Bakery</a>")));
    assert!(
        mine.contains("<strong>5:00</strong> in 3 entries; 3:30 billable."),
        "{mine}"
    );
    assert!(html(&colleague.get("/time").await.expect(StatusCode::OK)).contains("You have not logged any time yet."));

    // Delete: a confirmation first, the CSRF token required, then gone.
    let confirm = html(
        &editor
            .get(&format!("/time/{first}/delete?back=%2Ftime"))
            .await
            .expect(StatusCode::OK),
    );
    assert!(
        confirm.contains("2:00 on 2026-11-02 for")
            && confirm.contains(">Delete entry<")
            && confirm.contains("name=\"back\" value=\"/time\""),
        "{confirm}"
    );
    editor
        .post_raw(&format!("/time/{first}/delete"), &[("back", "/time")], &[])
        .await
        .expect(StatusCode::FORBIDDEN);
    let r = editor
        .post(&format!("/time/{first}/delete"), &[("back", "/time")])
        .await
        .expect(StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/time?done=time-deleted");
    t.get(&format!("/api/v1/time-entries/{first}"))
        .await
        .expect(StatusCode::NOT_FOUND);
    assert!(
        html(&editor.get("/time?done=time-deleted").await.expect(StatusCode::OK))
            .contains("<strong>3:00</strong> in 2 entries")
    );
    // An admin may change anyone's entry.
    let admin = sign_in(&t).await;
    let page = html(&admin.get(&profile).await.expect(StatusCode::OK));
    assert_eq!(page.matches("aria-label=\"Delete the entry of").count(), 2, "{page}");
    // ... and log a colleague's time, named by e-mail; staff are not offered the field.
    assert!(
        page.contains("<label for=\"time-staff\">Whose time (e-mail)</label>"),
        "{page}"
    );
    assert!(!html(&editor.get(&profile).await.expect(StatusCode::OK)).contains("time-staff"));
    let r = admin
        .post(
            &log,
            &[
                ("staff", "nobody@firm.example"),
                ("date", "2026-11-06"),
                ("duration", "45"),
            ],
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let page = html(&r);
    assert!(
        page.contains("id=\"time-staff-error\"")
            && page.contains("No staff member has the e-mail nobody@firm.example")
            && page.contains("value=\"45\""),
        "{page}"
    );
    admin
        .post(
            &log,
            &[
                ("staff", "Colleague@Firm.example"),
                ("date", "2026-11-06"),
                ("duration", "45"),
            ],
        )
        .await
        .expect(StatusCode::SEE_OTHER);
    let newest = &entries_of(&t, bakery).await[0];
    assert_eq!(
        (newest["staff_id"].as_i64(), newest["minutes"].as_i64()),
        (Some(colleague_id.0), Some(45))
    );
    // A staff member who posts the field anyway is refused.
    editor
        .post(
            &log,
            &[
                ("staff", "colleague@firm.example"),
                ("date", "2026-11-06"),
                ("duration", "45"),
            ],
        )
        .await
        .expect(StatusCode::FORBIDDEN);
}

// Seed 000: "Download Client Groups": the UI's download is the API's export, streamed.
async fn seed_000_the_download_is_the_export_in_the_columns_the_upload_reads(t: TestApp) {
    t.client("Alpha Ltd").await;
    t.client("Beta, \"quoted\" Ltd").await;
    let b = sign_in(&t).await;
    let r = b.get("/transfers/clients/export.csv").await.expect(StatusCode::OK);
    assert!(r.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    let ui = html(&r);
    let api = String::from_utf8(t.get("/api/v1/csv/clients/export").await.expect(StatusCode::OK).bytes).unwrap();
    assert_eq!(ui, api);
    assert!(
        ui.contains("Alpha Ltd") && ui.contains("\"Beta, \"\"quoted\"\" Ltd\""),
        "{ui}"
    );
}

on_both_backends!(
    pages_need_a_session_and_sign_in_opens_one_with_safe_cookie_flags,
    sign_in_is_rate_limited_per_email_and_address,
    user_text_is_escaped_on_every_page,
    cross_site_posts_are_refused_and_the_api_is_unaffected,
    deleting_asks_for_delete_typed_and_says_what_it_touches,
    member_changes_ask_for_confirm_typed_after_showing_the_count,
    a_refused_form_comes_back_with_the_input_and_the_error_by_its_field,
    a_firm_that_wants_a_first_member_says_so_by_the_members_picker,
    the_groups_list_greys_out_a_delete_the_rules_forbid_and_says_why,
    staff_see_their_own_groups_and_only_admins_may_create_one,
    seed_003_an_account_manager_finds_their_group_clients_in_my_group_clients,
    an_admin_assigns_and_removes_staff_on_the_group_page,
    logos_upload_from_the_branding_tab_and_bad_ones_are_reported_by_their_field,
    settings_manage_business_units_and_refusals_stay_by_their_row,
    deactivating_a_staff_member_ends_their_sessions,
    a_bulk_action_without_a_group_keeps_the_list_and_the_ticked_boxes,
    seed_001_the_report_page_filters_by_group_charts_and_saves,
    seed_000_a_memberships_file_is_validated_then_applied_with_each_rows_result,
    an_upload_the_reader_refuses_comes_back_with_the_reason_by_the_file,
    uploads_and_request_actions_refuse_forms_without_the_token_or_from_another_site,
    seed_004_the_process_requests_table_filters_cancels_and_retries,
    clients_are_created_and_edited_with_errors_by_their_field,
    edit_is_offered_to_exactly_those_the_use_case_lets_save,
    time_is_logged_from_the_client_profile_by_those_who_may_edit_it,
    seed_000_the_download_is_the_export_in_the_columns_the_upload_reads,
);
