//! The seeds' stories, told against the API on both backends.

use crate::common;

use common::TestApp;
use http::StatusCode;
use serde_json::json;

// Seed 000: a group of clients, then a group of client groups over it; the nested group's
// delete icon is greyed out and says why.
async fn seed_000_groups_of_client_groups_nest_and_explain_why_they_cannot_be_deleted(t: TestApp) {
    let north = t.client("North Bakery Ltd").await;
    let south = t.client("South Bakery Ltd").await;
    let bakeries = t.group("Bakeries", &[north, south]).await;
    let region = t.group_of_groups("All food clients", &[bakeries]).await;

    let detail = t.get(&format!("/api/v1/groups/{region}")).await.expect(StatusCode::OK);
    assert_eq!(detail.body["kind"], "groups");
    assert_eq!(detail.body["member_count"], 1);

    let nested = t
        .get(&format!("/api/v1/groups/{bakeries}"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(nested.body["deletable"], false);
    assert_eq!(nested.body["parents"][0]["name"], "All food clients");
    let codes: Vec<&str> = nested.body["delete_blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["has_members", "nested_in_groups"]);
    assert!(
        nested.body["delete_blockers"][1]["message"]
            .as_str()
            .unwrap()
            .contains("All food clients")
    );

    let refused = t
        .delete(&format!("/api/v1/groups/{bakeries}"))
        .await
        .expect(StatusCode::CONFLICT);
    assert_eq!(refused.code(), "not_deletable");
    assert_eq!(refused.body["delete_blockers"].as_array().unwrap().len(), 2);

    let members = t
        .get(&format!("/api/v1/groups/{region}/members"))
        .await
        .expect(StatusCode::OK);
    assert_eq!(members.body["items"][0]["type"], "group");
    assert_eq!(members.body["items"][0]["name"], "Bakeries");
}

async fn seed_000_a_cycle_a_wrong_kind_and_too_deep_a_chain_are_refused_with_the_path(t: TestApp) {
    let a = t.group_of_groups("A", &[]).await;
    let b = t.group_of_groups("B", &[a]).await;
    let c = t.group_of_groups("C", &[b]).await;
    let looped = t
        .post(&format!("/api/v1/groups/{a}/members"), json!({ "group_ids": [c] }))
        .await
        .expect(StatusCode::OK);
    let result = &looped.body["results"][0];
    assert_eq!(result["outcome"], "rejected");
    assert_eq!(result["code"], "nesting_cycle");
    assert!(
        result["detail"]
            .as_str()
            .unwrap()
            .contains("\"C\" > \"B\" > \"A\" > \"C\""),
        "{result}"
    );

    let clients_group = t.group("Plain", &[]).await;
    let wrong = t
        .post(
            &format!("/api/v1/groups/{clients_group}/members"),
            json!({ "group_ids": [a] }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(wrong.body["results"][0]["code"], "kind_mismatch");
    let client = t.client("Solo Ltd").await;
    let wrong = t
        .post(
            &format!("/api/v1/groups/{a}/members"),
            json!({ "client_ids": [client] }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(wrong.body["results"][0]["code"], "kind_mismatch");

    t.policies(|p| p.max_nesting_depth = 3).await;
    let d = t.group_of_groups("D", &[]).await;
    let deep = t
        .post(&format!("/api/v1/groups/{d}/members"), json!({ "group_ids": [c] }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(deep.body["results"][0]["code"], "nesting_too_deep");
    assert!(
        deep.body["results"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("\"D\" > \"C\" > \"B\" > \"A\"")
    );
    // The refusals changed nothing.
    assert_eq!(t.get(&format!("/api/v1/groups/{d}")).await.body["member_count"], 0);
    assert_eq!(t.get(&format!("/api/v1/groups/{a}")).await.body["member_count"], 0);
}

// Seed 001: "You can delete the groups to which no clients have been added."
async fn seed_001_a_group_with_clients_cannot_be_deleted_until_emptied(t: TestApp) {
    let ann = t.client("Ann's Annual Reports").await;
    let annual = t.group("Annual report clients", &[ann]).await;
    let one_time = t.group("One-time service clients", &[ann]).await;
    assert_eq!(
        t.groups_of(ann).await,
        ["Annual report clients", "One-time service clients"]
    );

    let refused = t
        .delete(&format!("/api/v1/groups/{annual}"))
        .await
        .expect(StatusCode::CONFLICT);
    assert_eq!(refused.code(), "not_deletable");
    assert!(refused.body["detail"].as_str().unwrap().contains("1 member"));
    assert_eq!(t.groups_of(ann).await.len(), 2, "a refused delete changes nothing");

    t.post(
        &format!("/api/v1/groups/{annual}/members/remove"),
        json!({ "client_ids": [ann] }),
    )
    .await
    .expect(StatusCode::OK);
    t.delete(&format!("/api/v1/groups/{annual}"))
        .await
        .expect(StatusCode::NO_CONTENT);
    t.get(&format!("/api/v1/groups/{annual}"))
        .await
        .expect(StatusCode::NOT_FOUND);
    assert_eq!(t.groups_of(ann).await, ["One-time service clients"]);
    assert_eq!(
        t.get(&format!("/api/v1/groups/{one_time}")).await.body["member_count"],
        1
    );
}

// Seed 002: "Deleting a group doesn't delete the clients—just the group membership."
async fn seed_002_deleting_a_group_detaches_its_members_and_keeps_the_clients(t: TestApp) {
    t.policies(|p| p.delete_policy = clientele_domain::policy::DeletePolicy::DetachMembers)
        .await;
    let trade = t.client("Builders Trade Co.").await;
    let vip = t.group("VIP", &[trade]).await;
    let trade_group = t.group("Trade Customers", &[trade]).await;
    let all = t.group_of_groups("Everyone special", &[vip]).await;

    t.delete(&format!("/api/v1/groups/{vip}"))
        .await
        .expect(StatusCode::NO_CONTENT);
    t.get(&format!("/api/v1/clients/{trade}")).await.expect(StatusCode::OK);
    assert_eq!(t.groups_of(trade).await, ["Trade Customers"]);
    assert_eq!(t.get(&format!("/api/v1/groups/{all}")).await.body["member_count"], 0);
    assert_eq!(
        t.get(&format!("/api/v1/groups/{trade_group}")).await.body["member_count"],
        1
    );

    let audit = t
        .get(&format!("/api/v1/audit?group={vip}"))
        .await
        .expect(StatusCode::OK);
    let actions: Vec<(&str, &str)> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["cause"].as_str().unwrap()))
        .collect();
    assert_eq!(actions[0], ("group.deleted", "manual"));
    assert!(
        actions.contains(&("membership.removed", "group_deleted")),
        "{actions:?}"
    );
}

// Seed 002: bulk add from the client list, and filtering the client list by group.
async fn seed_002_bulk_add_then_filter_the_client_list_by_group(t: TestApp) {
    let a = t.client("Alpha Imports").await;
    let b = t.client("Beta Imports").await;
    let c = t.client("Gamma Imports").await;
    let vip = t.group("VIP", &[]).await;
    let added = t
        .post(
            &format!("/api/v1/groups/{vip}/members"),
            json!({ "client_ids": [a, b, 999_999] }),
        )
        .await
        .expect(StatusCode::OK);
    let outcomes: Vec<&str> = added.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["added", "added", "rejected"]);
    assert_eq!(added.body["results"][2]["code"], "not_found");

    let again = t
        .post(&format!("/api/v1/groups/{vip}/members"), json!({ "client_ids": [a] }))
        .await
        .expect(StatusCode::OK);
    assert_eq!(again.body["results"][0]["outcome"], "already_member");

    let listed = t
        .get(&format!("/api/v1/clients?group={vip}"))
        .await
        .expect(StatusCode::OK);
    let names: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Alpha Imports", "Beta Imports"]);
    let _ = c;
}

// Seed 004: "To be 'available', a client business account must not already be associated to a
// client group by the service provider".
async fn seed_004_a_client_already_in_a_group_is_not_available_to_a_second_group(t: TestApp) {
    t.policies(|p| p.membership_mode = clientele_domain::policy::MembershipMode::Exclusive)
        .await;
    let broker_client = t.client("Maple Imports Inc.").await;
    let first = t.group("Ontario importers", &[broker_client]).await;
    let second = t.group("Quebec importers", &[]).await;
    let refused = t
        .post(
            &format!("/api/v1/groups/{second}/members"),
            json!({ "client_ids": [broker_client] }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(refused.body["results"][0]["code"], "client_in_another_group");
    assert!(
        refused.body["results"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("Ontario importers")
    );

    // Creating a group with an unavailable client is refused as a whole, naming the item.
    let whole = t.post("/api/v1/groups", json!({ "name": "Atlantic importers", "kind": "clients", "business_unit_id": t.unit, "client_ids": [broker_client] })).await;
    assert_eq!(whole.expect(StatusCode::CONFLICT).body["field"], "members[0]");
    t.get("/api/v1/groups?q=atlantic").await.body["items"]
        .as_array()
        .unwrap()
        .is_empty()
        .then_some(())
        .expect("nothing was created");

    // Once removed from the first group, it is available again.
    t.post(
        &format!("/api/v1/groups/{first}/members/remove"),
        json!({ "client_ids": [broker_client] }),
    )
    .await
    .expect(StatusCode::OK);
    let moved = t
        .post(
            &format!("/api/v1/groups/{second}/members"),
            json!({ "client_ids": [broker_client] }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(moved.body["results"][0]["outcome"], "added");
}

async fn seed_004_exclusive_membership_holds_under_concurrent_requests(t: TestApp) {
    t.policies(|p| p.membership_mode = clientele_domain::policy::MembershipMode::Exclusive)
        .await;
    let client = t.client("Contested Ltd").await;
    let groups: Vec<i64> = futures::future::join_all((0..6).map(|i| {
        let t = &t;
        async move { t.group(&format!("Race {i}"), &[]).await }
    }))
    .await;
    let answers = futures::future::join_all(groups.iter().map(|g| {
        let t = &t;
        async move {
            t.post(
                &format!("/api/v1/groups/{g}/members"),
                json!({ "client_ids": [client] }),
            )
            .await
        }
    }))
    .await;
    let added = answers
        .iter()
        .filter(|r| r.status == StatusCode::OK && r.body["results"][0]["outcome"] == "added")
        .count();
    assert_eq!(added, 1, "exactly one group may win the client");
    assert_eq!(t.groups_of(client).await.len(), 1);
}

async fn seed_004_switching_to_exclusive_is_refused_while_clients_are_in_several_groups(t: TestApp) {
    let shared = t.client("Shared Client").await;
    t.group("One", &[shared]).await;
    t.group("Two", &[shared]).await;
    let p = clientele_domain::policy::Policies {
        membership_mode: clientele_domain::policy::MembershipMode::Exclusive,
        ..Default::default()
    };
    let refused = t
        .put("/api/v1/organization/policies", serde_json::to_value(&p).unwrap())
        .await
        .expect(StatusCode::CONFLICT);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("\"Shared Client\" (2 groups)")
    );
    assert_eq!(refused.body["clients"], json!([shared]));
    assert_eq!(
        t.get("/api/v1/organization").await.body["policies"]["membership_mode"],
        "multiple"
    );
}

// Seed 004: "this name must be unique and cannot be the same as an active or previously
// deleted group".
async fn seed_004_a_deleted_groups_name_is_never_reused(t: TestApp) {
    let g = t.group("Customs brokers", &[]).await;
    let taken = t
        .post(
            "/api/v1/groups",
            json!({ "name": "  CUSTOMS   brokers ", "kind": "clients", "business_unit_id": t.unit }),
        )
        .await;
    assert_eq!(taken.expect(StatusCode::CONFLICT).code(), "name_taken");

    t.policies(|p| p.reserve_deleted_names = true).await;
    t.delete(&format!("/api/v1/groups/{g}"))
        .await
        .expect(StatusCode::NO_CONTENT);
    let reused = t
        .post(
            "/api/v1/groups",
            json!({ "name": "customs brokers", "kind": "clients", "business_unit_id": t.unit }),
        )
        .await;
    let reused = reused.expect(StatusCode::CONFLICT);
    assert_eq!(reused.code(), "name_reserved");
    assert_eq!(reused.body["field"], "name");

    // Without the policy, a deleted group's name is free again.
    let h = t.group("Trade consultants", &[]).await;
    t.policies(|p| p.reserve_deleted_names = false).await;
    t.delete(&format!("/api/v1/groups/{h}"))
        .await
        .expect(StatusCode::NO_CONTENT);
    t.group("Trade consultants", &[]).await;
}

// Seed 004: only clients in an active relationship may join; "When a relationship is expired,
// the client will be removed from the client group".
async fn seed_004_an_expired_relationship_removes_the_client_from_its_groups(t: TestApp) {
    t.policies(|p| p.require_active_relationship = true).await;
    let lapsed = t
        .post(
            "/api/v1/clients",
            json!({ "name": "Lapsed Ltd", "relationship": "expired" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let steady = t.client("Steady Ltd").await;
    let g = t.group("Program accounts", &[steady]).await;
    let refused = t
        .post(
            &format!("/api/v1/groups/{g}/members"),
            json!({ "client_ids": [lapsed] }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(refused.body["results"][0]["code"], "relationship_not_active");

    t.patch(
        &format!("/api/v1/clients/{steady}"),
        json!({ "relationship": "expired" }),
    )
    .await
    .expect(StatusCode::OK);
    assert!(t.groups_of(steady).await.is_empty());
    let audit = t
        .get(&format!("/api/v1/audit?client={steady}"))
        .await
        .expect(StatusCode::OK);
    let removal = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "membership.removed")
        .expect("removal recorded");
    assert_eq!(removal["cause"], "relationship_expired");
}

async fn seed_004_an_expiry_date_that_passes_is_applied_by_the_sweep(t: TestApp) {
    let expires = t.in_minutes(24 * 60);
    let soon = t
        .post(
            "/api/v1/clients",
            json!({ "name": "Soon Expired Inc.", "relationship_expires_at": expires }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let g = t.group("Brokerage", &[soon]).await;
    t.policies(|p| p.require_active_relationship = true).await;
    assert_eq!(t.app.sweep_lapsed_relationships().await.unwrap(), 0, "not expired yet");
    t.minutes_pass(24 * 60 + 1);
    assert_eq!(t.app.sweep_lapsed_relationships().await.unwrap(), 1);
    assert!(t.groups_of(soon).await.is_empty());
    assert_eq!(t.get(&format!("/api/v1/groups/{g}")).await.body["member_count"], 0);
}

// Seed 003: only senior account managers (admins) create groups.
async fn seed_003_only_admins_create_edit_and_delete_groups(t: TestApp) {
    let g = t.group("Managed", &[]).await;
    let staff = t
        .staff_token("junior@firm.example", clientele_domain::staff::StaffRole::Staff)
        .await;
    let create = t
        .call_as(
            &staff,
            http::Method::POST,
            "/api/v1/groups",
            Some(json!({ "name": "Mine", "kind": "clients", "business_unit_id": t.unit })),
            &[],
        )
        .await;
    assert_eq!(create.expect(StatusCode::FORBIDDEN).code(), "forbidden");
    let edit = t
        .call_as(
            &staff,
            http::Method::PATCH,
            &format!("/api/v1/groups/{g}"),
            Some(json!({ "name": "Renamed" })),
            &[],
        )
        .await;
    edit.expect(StatusCode::FORBIDDEN);
    t.call_as(&staff, http::Method::DELETE, &format!("/api/v1/groups/{g}"), None, &[])
        .await
        .expect(StatusCode::FORBIDDEN);
    assert_eq!(t.get(&format!("/api/v1/groups/{g}")).await.body["name"], "Managed");
}

// Seed 000, "export your business unit": an export takes the filters of its list, in the
// API as in the UI's download icons, and what it downloads uploads back unchanged.
async fn seed_000_exports_take_the_filters_of_their_list(t: TestApp) {
    let west = t
        .post("/api/v1/business-units", json!({ "name": "West office" }))
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let here = t
        .post("/api/v1/clients", json!({ "name": "Main office client" }))
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let there = t
        .post(
            "/api/v1/clients",
            json!({ "name": "West office client", "business_unit_id": west }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    t.post(
        "/api/v1/groups",
        json!({ "name": "Main group", "kind": "clients", "business_unit_id": t.unit, "client_ids": [here] }),
    )
    .await
    .expect(StatusCode::CREATED);
    t.post(
        "/api/v1/groups",
        json!({ "name": "West group", "kind": "clients", "business_unit_id": west, "client_ids": [there] }),
    )
    .await
    .expect(StatusCode::CREATED);
    let text = |r: common::Resp| String::from_utf8(r.bytes).unwrap();
    let clients = text(
        t.get(&format!("/api/v1/csv/clients/export?business_unit={west}"))
            .await
            .expect(StatusCode::OK),
    );
    assert!(
        clients.contains("West office client") && !clients.contains("Main office client"),
        "{clients}"
    );
    let groups = text(
        t.get(&format!("/api/v1/csv/groups/export?business_unit={west}"))
            .await
            .expect(StatusCode::OK),
    );
    assert_eq!(groups.lines().count(), 2, "the header and the West group: {groups}");
    assert!(groups.contains("West group"));
    let members = text(
        t.get(&format!("/api/v1/csv/memberships/export?business_unit={west}"))
            .await
            .expect(StatusCode::OK),
    );
    assert!(
        members.contains("West group") && !members.contains("Main group"),
        "{members}"
    );
    let searched = text(t.get("/api/v1/csv/clients/export?q=main").await.expect(StatusCode::OK));
    assert!(
        searched.contains("Main office client") && !searched.contains("West"),
        "{searched}"
    );
    // Everything without a filter; a filter that is not understood is named.
    let all = text(t.get("/api/v1/csv/clients/export").await.expect(StatusCode::OK));
    assert!(all.contains("Main office client") && all.contains("West office client"));
    let bad = t
        .get("/api/v1/csv/clients/export?status=sleeping")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["field"], "status");
    // The filtered file uploads back unchanged.
    let req = http::Request::builder()
        .method(http::Method::POST)
        .uri("/api/v1/csv/clients/import?mode=validate")
        .header("authorization", format!("Bearer {}", t.token))
        .header("content-type", "text/csv")
        .body(axum::body::Body::from(clients))
        .unwrap();
    let checked = t.send(req).await.expect(StatusCode::OK);
    assert!(
        checked.body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "unchanged"),
        "{}",
        checked.body
    );
}

// Issue 19: a group created by name alone is answered in words, not in the parser's.
async fn a_group_needs_its_kind_and_takes_the_only_business_unit(t: TestApp) {
    let missing = t
        .post("/api/v1/groups", json!({ "name": "Alliance" }))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.body["field"], "kind");
    assert!(
        missing.body["detail"]
            .as_str()
            .unwrap()
            .contains("is required: clients"),
        "{}",
        missing.body
    );
    let made = t
        .post("/api/v1/groups", json!({ "name": "Alliance", "kind": "clients" }))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(made.body["business_unit_id"], t.unit, "the organisation's only unit");
    t.post("/api/v1/business-units", json!({ "name": "Second office" }))
        .await
        .expect(StatusCode::CREATED);
    let ambiguous = t
        .post("/api/v1/groups", json!({ "name": "Beta", "kind": "clients" }))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(ambiguous.body["field"], "business_unit_id");
}

// Seed 004, "Select at least one available client": a firm may require a group of clients to
// start with a member; off by default, and groups of groups are not concerned.
async fn seed_004_a_group_of_clients_starts_with_a_member_when_the_firm_says_so(t: TestApp) {
    t.post(
        "/api/v1/groups",
        json!({ "name": "Empty by default", "kind": "clients", "business_unit_id": t.unit }),
    )
    .await
    .expect(StatusCode::CREATED);
    t.policies(|p| p.require_first_member = true).await;
    assert_eq!(
        t.get("/api/v1/organization").await.body["policies"]["require_first_member"],
        true
    );
    let refused = t
        .post(
            "/api/v1/groups",
            json!({ "name": "Empty", "kind": "clients", "business_unit_id": t.unit }),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.body["field"], "client_ids");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("select at least one available client"),
        "{}",
        refused.body
    );
    let client = t.client("First member Ltd").await;
    t.post(
        "/api/v1/groups",
        json!({ "name": "Started", "kind": "clients", "business_unit_id": t.unit, "client_ids": [client] }),
    )
    .await
    .expect(StatusCode::CREATED);
    t.post(
        "/api/v1/groups",
        json!({ "name": "Region", "kind": "groups", "business_unit_id": t.unit }),
    )
    .await
    .expect(StatusCode::CREATED);
    assert_eq!(
        t.get("/api/v1/groups?q=Empty").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing was created by the refusal"
    );

    // Uploads: the groups format cannot give a group of clients its first member, and says
    // which format can; a memberships file creates a group with its first client, and a new
    // group none of whose rows is accepted is not created at all.
    let upload = |format: &'static str, file: &'static str| {
        let req = http::Request::builder()
            .method(http::Method::POST)
            .uri(format!("/api/v1/csv/{format}/import?mode=apply"))
            .header("authorization", format!("Bearer {}", t.token))
            .header("content-type", "text/csv")
            .body(axum::body::Body::from(file))
            .unwrap();
        t.send(req)
    };
    let groups = upload(
        "groups",
        "name,kind,business_unit\r\nFrom groups file,clients,Main office\r\nRegion two,groups,Main office\r\n",
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(groups.body["rows"][0]["outcome"], "rejected");
    assert!(
        groups.body["rows"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("memberships format"),
        "{}",
        groups.body
    );
    assert_eq!(groups.body["rows"][1]["outcome"], "created");
    t.post(
        "/api/v1/clients",
        json!({ "name": "Second member Ltd", "external_ref": "SM-1" }),
    )
    .await
    .expect(StatusCode::CREATED);
    let members = upload(
        "memberships",
        "group,client_ref,new_group_kind\r\nWith a client,SM-1,clients\r\nNobody joins,NO-SUCH-REF,clients\r\n",
    )
    .await
    .expect(StatusCode::OK);
    let rows = members.body["rows"].as_array().unwrap();
    assert_eq!(rows[0]["outcome"], "added", "{}", members.body);
    assert_eq!(rows[1]["outcome"], "rejected", "{}", members.body);
    assert!(
        rows[1]["reason"]
            .as_str()
            .unwrap()
            .contains("select at least one available client"),
        "{}",
        members.body
    );
    assert_eq!(
        members.body["summary"]["text"],
        "1 group created, 1 membership added, 1 row refused"
    );
    assert_eq!(
        t.get("/api/v1/groups?q=With%20a%20client").await.body["items"][0]["member_count"],
        1
    );
    assert!(
        t.get("/api/v1/groups?q=Nobody").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "no empty group is left behind"
    );
}

// Seed 000, "create a list of clients ... Upload": one memberships file creates the group it
// names (when the row says with which kind) together with its clients, validated first.
async fn seed_000_one_upload_creates_a_group_with_its_clients(t: TestApp) {
    for (name, reference) in [
        ("Anna's Bakery", "C-1"),
        ("Bruno's Deli", "C-2"),
        ("Carla's Café", "C-3"),
    ] {
        t.post("/api/v1/clients", json!({ "name": name, "external_ref": reference }))
            .await
            .expect(StatusCode::CREATED);
    }
    let file = "group,client_ref,new_group_kind,new_group_business_unit\r\n\
                Spring campaign,C-1,clients,Main office\r\n\
                Spring campaign,C-2,clients,Main office\r\n\
                Spring campaign,C-3,,\r\n\
                Nowhere,C-1,,\r\n\
                Bad kind,C-1,planets,\r\n";
    let upload = |mode: &str| {
        let req = http::Request::builder()
            .method(http::Method::POST)
            .uri(format!("/api/v1/csv/memberships/import?mode={mode}"))
            .header("authorization", format!("Bearer {}", t.token))
            .header("content-type", "text/csv")
            .body(axum::body::Body::from(file))
            .unwrap();
        t.send(req)
    };
    let checked = upload("validate").await.expect(StatusCode::OK);
    let rows = checked.body["rows"].as_array().unwrap().clone();
    let outcomes: Vec<&str> = rows.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(
        outcomes,
        ["added", "added", "added", "rejected", "rejected"],
        "{}",
        checked.body
    );
    assert!(
        rows[0]["reason"]
            .as_str()
            .unwrap()
            .contains("created the group \"Spring campaign\""),
        "{}",
        checked.body
    );
    assert!(
        rows[3]["reason"]
            .as_str()
            .unwrap()
            .contains("no client group named \"Nowhere\"")
    );
    assert!(rows[4]["reason"].as_str().unwrap().contains("clients or groups"));
    assert_eq!(
        t.get("/api/v1/groups?q=Spring").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "a dry run creates nothing"
    );
    assert_eq!(
        checked.body["summary"]["text"],
        "1 group would be created, 3 memberships would be added, 2 rows would be refused"
    );
    let applied = upload("apply").await.expect(StatusCode::OK);
    assert_eq!(
        applied.body["summary"]["text"],
        "1 group created, 3 memberships added, 2 rows refused"
    );
    assert_eq!(applied.body["summary"]["groups_created"], 1);
    let groups = t.get("/api/v1/groups?q=Spring").await.body["items"].clone();
    assert_eq!(groups.as_array().unwrap().len(), 1);
    assert_eq!(groups[0]["member_count"], 3);
    assert_eq!(groups[0]["kind"], "clients");
    // The export leaves the import-only columns empty and still uploads back unchanged.
    let export = String::from_utf8(
        t.get("/api/v1/csv/memberships/export")
            .await
            .expect(StatusCode::OK)
            .bytes,
    )
    .unwrap();
    assert!(
        export.starts_with("group_id,group,client_id,client_ref,child_group,new_group_kind,new_group_business_unit"),
        "{export}"
    );
}

// Seed 004, program accounts: "a client's business account and program account can only be part
// of one client group". Accounts belong to their client, travel with its membership, are seen
// and changed by whoever sees and may change the client, and go in and out as CSV.
async fn seed_004_program_accounts_travel_with_their_client(t: TestApp) {
    t.policies(|p| p.membership_mode = clientele_domain::policy::MembershipMode::Exclusive)
        .await;
    let broker_client = t
        .post(
            "/api/v1/clients",
            json!({ "name": "Maple Imports Inc.", "external_ref": "BN-123456789" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .body["id"]
        .as_i64()
        .unwrap();
    let other = t.client("Birch Exports Ltd").await;
    let ontario = t.group("Ontario importers", &[broker_client]).await;
    let quebec = t.group("Quebec importers", &[other]).await;

    let rm = t
        .post(
            &format!("/api/v1/clients/{broker_client}/program-accounts"),
            json!({ "number": "123456789 RM 0001", "program": "RM import-export" }),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(rm.body["status"], "active");
    assert_eq!(rm.body["client_id"], broker_client);
    // However it is typed, a number belongs to one account of one client.
    let again = t
        .post(
            &format!("/api/v1/clients/{other}/program-accounts"),
            json!({ "number": "123456789-rm-0001", "program": "RM" }),
        )
        .await
        .expect(StatusCode::CONFLICT);
    assert_eq!(again.body["field"], "number");
    assert!(
        again.body["detail"].as_str().unwrap().contains("Maple Imports Inc."),
        "{}",
        again.body
    );
    let missing = t
        .post(
            &format!("/api/v1/clients/{other}/program-accounts"),
            json!({ "number": "987654321RM0001" }),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.body["field"], "program");

    // A program account is never a member on its own: it is where its client is.
    let rm_id = rm.body["id"].as_i64().unwrap();
    assert_eq!(t.groups_of(broker_client).await, ["Ontario importers"]);
    let moved = t
        .post(
            &format!("/api/v1/groups/{quebec}/members"),
            json!({ "client_ids": [broker_client] }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(moved.body["results"][0]["code"], "client_in_another_group");

    // Staff: a reader of the client's group sees its accounts and cannot change them; an editor
    // can; someone without access learns nothing, not even that the account exists.
    let token = |email: &str, group: i64, role: &str| {
        let (t, email, role) = (&t, email.to_string(), role.to_string());
        async move {
            let token = t.staff_token(&email, clientele_domain::staff::StaffRole::Staff).await;
            let listed = t.get("/api/v1/staff?limit=500").await.body["items"].clone();
            let id = listed
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["email"] == email.as_str())
                .unwrap()["id"]
                .as_i64()
                .unwrap();
            t.put(&format!("/api/v1/groups/{group}/staff/{id}"), json!({ "role": role }))
                .await
                .expect(StatusCode::OK);
            token
        }
    };
    let reader = token("reader@broker.example", ontario, "reader").await;
    let editor = token("editor@broker.example", ontario, "editor").await;
    let stranger = token("stranger@broker.example", quebec, "editor").await;
    let path = format!("/api/v1/clients/{broker_client}/program-accounts");
    let seen = t
        .call_as(&reader, http::Method::GET, &path, None, &[])
        .await
        .expect(StatusCode::OK);
    assert_eq!(seen.body[0]["number"], "123456789 RM 0001");
    t.call_as(
        &reader,
        http::Method::POST,
        &path,
        Some(json!({ "number": "123456789RT0001", "program": "RT GST/HST" })),
        &[],
    )
    .await
    .expect(StatusCode::FORBIDDEN);
    t.call_as(
        &reader,
        http::Method::DELETE,
        &format!("/api/v1/program-accounts/{rm_id}"),
        None,
        &[],
    )
    .await
    .expect(StatusCode::FORBIDDEN);
    t.call_as(&stranger, http::Method::GET, &path, None, &[])
        .await
        .expect(StatusCode::NOT_FOUND);
    t.call_as(
        &stranger,
        http::Method::GET,
        &format!("/api/v1/program-accounts/{rm_id}"),
        None,
        &[],
    )
    .await
    .expect(StatusCode::NOT_FOUND);
    t.call_as(
        &stranger,
        http::Method::PATCH,
        &format!("/api/v1/program-accounts/{rm_id}"),
        Some(json!({ "status": "closed" })),
        &[],
    )
    .await
    .expect(StatusCode::NOT_FOUND);
    // A staff member typing a number held by a client they cannot see is not told whose it is.
    let hidden = t
        .call_as(
            &stranger,
            http::Method::POST,
            &format!("/api/v1/clients/{other}/program-accounts"),
            Some(json!({ "number": "123456789RM0001", "program": "RM" })),
            &[],
        )
        .await
        .expect(StatusCode::CONFLICT);
    assert!(
        !hidden.body["detail"].as_str().unwrap().contains("Maple"),
        "{}",
        hidden.body
    );
    // A manager of the group may add one too; no account may do nothing, not even look.
    let manager = token("manager@broker.example", ontario, "manager").await;
    let rc = t
        .call_as(
            &manager,
            http::Method::POST,
            &path,
            Some(json!({ "number": "123456789RC0009", "program": "RC payroll" })),
            &[],
        )
        .await
        .expect(StatusCode::CREATED);
    t.call_as(
        &manager,
        http::Method::DELETE,
        &format!("/api/v1/program-accounts/{}", rc.body["id"]),
        None,
        &[],
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    t.call_as("", http::Method::GET, &path, None, &[])
        .await
        .expect(StatusCode::UNAUTHORIZED);
    t.call_as(
        "",
        http::Method::POST,
        &path,
        Some(json!({ "number": "1RM1", "program": "RM" })),
        &[],
    )
    .await
    .expect(StatusCode::UNAUTHORIZED);
    // Racing for one number from two clients at once: exactly one account is made.
    let racers = futures::future::join_all((0..8).map(|i| {
        let (t, owner) = (&t, if i % 2 == 0 { broker_client } else { other });
        async move {
            t.post(
                &format!("/api/v1/clients/{owner}/program-accounts"),
                json!({ "number": "555 RACE 01", "program": "RM" }),
            )
            .await
            .status
        }
    }))
    .await;
    assert_eq!(
        racers.iter().filter(|s| **s == StatusCode::CREATED).count(),
        1,
        "{racers:?}"
    );
    assert!(
        racers
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{racers:?}"
    );
    let mut raced = Vec::new();
    for owner in [broker_client, other] {
        let accounts = t
            .get(&format!("/api/v1/clients/{owner}/program-accounts"))
            .await
            .expect(StatusCode::OK)
            .body;
        raced.extend(
            accounts
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["number"] == "555 RACE 01")
                .map(|a| a["id"].as_i64().unwrap()),
        );
    }
    assert_eq!(raced.len(), 1, "one account holds the number: {raced:?}");
    t.delete(&format!("/api/v1/program-accounts/{}", raced[0]))
        .await
        .expect(StatusCode::NO_CONTENT);
    let rt = t
        .call_as(
            &editor,
            http::Method::POST,
            &path,
            Some(json!({ "number": "123456789RT0001", "program": "RT GST/HST" })),
            &[],
        )
        .await
        .expect(StatusCode::CREATED);
    let rt_id = rt.body["id"].as_i64().unwrap();
    // If-Match: of two editors closing the account from the same version, one wins.
    let stale = [("if-match", "\"v1\"")];
    t.call_as(
        &editor,
        http::Method::PATCH,
        &format!("/api/v1/program-accounts/{rt_id}"),
        Some(json!({ "status": "closed" })),
        &stale,
    )
    .await
    .expect(StatusCode::OK);
    t.call_as(
        &editor,
        http::Method::PATCH,
        &format!("/api/v1/program-accounts/{rt_id}"),
        Some(json!({ "status": "inactive" })),
        &stale,
    )
    .await
    .expect(StatusCode::PRECONDITION_FAILED);
    // Renumbered onto another account's number, however typed, it is refused; retyped, it is not.
    let clash = t
        .call_as(
            &editor,
            http::Method::PATCH,
            &format!("/api/v1/program-accounts/{rt_id}"),
            Some(json!({ "number": "123456789-rm-0001" })),
            &[],
        )
        .await
        .expect(StatusCode::CONFLICT);
    assert!(
        clash.body["detail"]
            .as_str()
            .unwrap()
            .contains("already has the program account"),
        "{}",
        clash.body
    );
    t.call_as(
        &editor,
        http::Method::PATCH,
        &format!("/api/v1/program-accounts/{rt_id}"),
        Some(json!({ "number": "123456789RT0001" })),
        &[],
    )
    .await
    .expect(StatusCode::OK);

    // The CSV round trip: export, guide, and an upload that adds, changes and refuses by row.
    let export = String::from_utf8(
        t.get("/api/v1/csv/program_accounts/export")
            .await
            .expect(StatusCode::OK)
            .bytes,
    )
    .unwrap();
    assert!(
        export.starts_with("client_id,client_ref,client_name,number,program,status\r\n"),
        "{export}"
    );
    assert!(
        export.contains(&format!(
            "{broker_client},BN-123456789,Maple Imports Inc.,123456789 RM 0001,RM import-export,active"
        )),
        "{export}"
    );
    assert!(export.contains("123456789RT0001,RT GST/HST,closed"), "{export}");
    let upload = |file: String, mode: &'static str| {
        let req = http::Request::builder()
            .method(http::Method::POST)
            .uri(format!("/api/v1/csv/program_accounts/import?mode={mode}"))
            .header("authorization", format!("Bearer {}", t.token))
            .header("content-type", "text/csv")
            .body(axum::body::Body::from(file))
            .unwrap();
        t.send(req)
    };
    let back = upload(export.clone(), "validate").await.expect(StatusCode::OK);
    let outcomes: Vec<&str> = back.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["unchanged", "unchanged"],
        "an export uploads back unchanged: {}",
        back.body
    );
    let file = format!(
        "client_ref,client_id,number,program,status\r\n\
                        BN-123456789,,123456789RC0001,RC payroll,\r\n\
                        ,{broker_client},123456789RM0001,,inactive\r\n\
                        ,{other},123456789rm0001,RM,\r\n\
                        NOPE,,555RM0001,RM,\r\n\
                        BN-123456789,,555RM0002,RM,dormant\r\n"
    );
    let applied = upload(file, "apply").await.expect(StatusCode::OK);
    let rows = applied.body["rows"].as_array().unwrap();
    let outcomes: Vec<&str> = rows.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(
        outcomes,
        ["created", "updated", "rejected", "rejected", "rejected"],
        "{}",
        applied.body
    );
    assert!(
        rows[2]["reason"]
            .as_str()
            .unwrap()
            .contains("moves only with its client"),
        "{}",
        applied.body
    );
    assert!(
        rows[3]["reason"]
            .as_str()
            .unwrap()
            .contains("no client with the reference \"NOPE\""),
        "{}",
        applied.body
    );
    assert!(
        rows[4]["reason"].as_str().unwrap().starts_with("status:"),
        "{}",
        applied.body
    );
    let accounts = t.get(&path).await.expect(StatusCode::OK).body;
    let summary: Vec<String> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{} {}", a["number"].as_str().unwrap(), a["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            "123456789RC0001 active",
            "123456789 RM 0001 inactive",
            "123456789RT0001 closed"
        ]
    );
    // Filtered like the clients list: the accounts of clients in the Quebec group are none.
    let filtered = String::from_utf8(
        t.get(&format!("/api/v1/csv/program_accounts/export?group={quebec}"))
            .await
            .expect(StatusCode::OK)
            .bytes,
    )
    .unwrap();
    assert_eq!(filtered.lines().count(), 1, "{filtered}");
    let guide = String::from_utf8(
        t.get("/api/v1/csv/program_accounts/guide")
            .await
            .expect(StatusCode::OK)
            .bytes,
    )
    .unwrap();
    assert!(guide.contains("never members of a group"), "{guide}");
    // The guide uploads as it is: its example rows for a known client are accepted.
    t.post(
        "/api/v1/clients",
        json!({ "name": "Example Bakery Ltd", "external_ref": "CRM-1001" }),
    )
    .await
    .expect(StatusCode::CREATED);
    let tried = upload(guide, "validate").await.expect(StatusCode::OK);
    let outcomes: Vec<&str> = tried.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(&outcomes[..2], ["created", "created"], "{}", tried.body);

    // Every change is in the client's timeline.
    let trail = t
        .get(&format!("/api/v1/audit?client={broker_client}"))
        .await
        .expect(StatusCode::OK)
        .body;
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.iter().filter(|a| a.starts_with("program_account.")).count() >= 5,
        "{actions:?}"
    );
}

on_both_backends!(
    seed_000_groups_of_client_groups_nest_and_explain_why_they_cannot_be_deleted,
    seed_000_a_cycle_a_wrong_kind_and_too_deep_a_chain_are_refused_with_the_path,
    seed_001_a_group_with_clients_cannot_be_deleted_until_emptied,
    seed_002_deleting_a_group_detaches_its_members_and_keeps_the_clients,
    seed_002_bulk_add_then_filter_the_client_list_by_group,
    seed_004_a_client_already_in_a_group_is_not_available_to_a_second_group,
    seed_004_exclusive_membership_holds_under_concurrent_requests,
    seed_004_switching_to_exclusive_is_refused_while_clients_are_in_several_groups,
    seed_004_a_deleted_groups_name_is_never_reused,
    seed_004_an_expired_relationship_removes_the_client_from_its_groups,
    seed_004_an_expiry_date_that_passes_is_applied_by_the_sweep,
    seed_003_only_admins_create_edit_and_delete_groups,
    seed_000_exports_take_the_filters_of_their_list,
    a_group_needs_its_kind_and_takes_the_only_business_unit,
    seed_004_a_group_of_clients_starts_with_a_member_when_the_firm_says_so,
    seed_000_one_upload_creates_a_group_with_its_clients,
    seed_004_program_accounts_travel_with_their_client,
);
