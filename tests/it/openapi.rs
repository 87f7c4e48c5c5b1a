//! The OpenAPI document (`/api/v1/openapi.json`) is a contract: generated clients are built from
//! it. Its snapshot makes every change to it a reviewed change (`cargo insta review`, or
//! `INSTA_UPDATE=always cargo test --test it openapi::` and read the diff), and the checks below refuse
//! the mistakes that made it unusable before: query parameters declared `in: path`, `$ref`s to
//! missing components, missing or repeated operationIds, errors not documented as problem+json,
//! and files typed as arrays of integers.

use std::collections::{BTreeMap, BTreeSet};

use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn document() -> Value {
    serde_json::to_value(clientele_web::api::openapi()).expect("the document serializes")
}

/// Every operation: (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                out.push((method.clone(), path.clone(), operation));
            }
        }
    }
    out
}

/// Parameters resolved through `$ref`.
fn parameters<'a>(doc: &'a Value, operation: &'a Value) -> Vec<&'a Value> {
    operation["parameters"]
        .as_array()
        .map(|list| list.iter().map(|p| resolve(doc, p)).collect())
        .unwrap_or_default()
}

fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => pointer(doc, r).unwrap_or_else(|| panic!("unresolved $ref {r}")),
        None => value,
    }
}

fn pointer<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

fn collect_refs(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref"
                    && let Some(r) = v.as_str()
                {
                    out.push((at.to_string(), r.to_string()));
                }
                collect_refs(v, &format!("{at}/{key}"), out);
            }
        }
        Value::Array(list) => {
            for (i, v) in list.iter().enumerate() {
                collect_refs(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_openapi_document_is_the_reviewed_one() {
    let text = serde_json::to_string_pretty(&clientele_web::api::openapi()).expect("the document serializes");
    insta::assert_snapshot!("openapi", text);
}

#[test]
fn the_document_is_built_the_same_every_time() {
    assert_eq!(document(), document());
}

#[test]
fn every_operation_has_a_unique_operation_id() {
    let doc = document();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let ops = operations(&doc);
    assert!(!ops.is_empty());
    for (method, path, operation) in &ops {
        let id = operation["operationId"]
            .as_str()
            .filter(|id| !id.trim().is_empty())
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        if let Some(other) = seen.insert(id.to_string(), format!("{method} {path}")) {
            panic!("operationId {id:?} is used by both {other} and {method} {path}");
        }
    }
    assert_eq!(seen.len(), ops.len());
}

#[test]
fn path_parameters_are_exactly_the_path_templates_variables() {
    let doc = document();
    for (method, path, operation) in operations(&doc) {
        let in_template: BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        let mut declared = BTreeSet::new();
        let mut names = BTreeSet::new();
        for p in parameters(&doc, operation) {
            let name = p["name"].as_str().expect("parameter name");
            let place = p["in"].as_str().expect("parameter in");
            assert!(
                ["path", "query", "header", "cookie"].contains(&place),
                "{method} {path}: {name} is in {place}"
            );
            assert!(
                names.insert((name.to_ascii_lowercase(), place.to_string())),
                "{method} {path}: {name} ({place}) is declared twice"
            );
            if place == "path" {
                assert!(
                    in_template.contains(name),
                    "{method} {path}: parameter {name:?} is declared in: path but the path has no {{{name}}}"
                );
                assert_eq!(
                    p["required"], true,
                    "{method} {path}: path parameter {name} must be required"
                );
                declared.insert(name);
            }
        }
        assert_eq!(
            declared, in_template,
            "{method} {path}: every path variable is declared once"
        );
    }
}

#[test]
fn every_ref_resolves_to_a_component() {
    let doc = document();
    let mut refs = Vec::new();
    collect_refs(&doc, "", &mut refs);
    assert!(!refs.is_empty());
    let broken: Vec<String> = refs
        .iter()
        .filter(|(_, r)| !r.starts_with("#/components/") || pointer(&doc, r).is_none())
        .map(|(at, r)| format!("{at}: {r}"))
        .collect();
    assert!(broken.is_empty(), "unresolved $refs:\n{}", broken.join("\n"));
}

#[test]
fn every_error_is_problem_json_and_the_common_ones_are_documented() {
    let doc = document();
    let mut wrong = Vec::new();
    for (method, path, operation) in operations(&doc) {
        let responses = operation["responses"].as_object().expect("responses");
        for (status, response) in responses {
            let response = resolve(&doc, response);
            assert!(
                response["description"].as_str().is_some(),
                "{method} {path} {status} has no description"
            );
            if !(status.starts_with('4') || status.starts_with('5')) {
                continue;
            }
            let content = response["content"].as_object();
            let only_problem = content.is_some_and(|c| {
                c.len() == 1
                    && c.get("application/problem+json")
                        .is_some_and(|m| m["schema"]["$ref"] == "#/components/schemas/Problem")
            });
            if !only_problem {
                wrong.push(format!("{method} {path} {status}: {content:?}"));
            }
        }
        let has = |status: &str| responses.contains_key(status);
        assert!(
            has("401"),
            "{method} {path}: every route wants a bearer token, so 401 is documented"
        );
        assert!(
            has("503"),
            "{method} {path}: 503 (transaction_conflict, database_unavailable, timeout)"
        );
        assert!(
            responses["503"]["headers"]["Retry-After"].is_object(),
            "{method} {path}: 503 says when to retry"
        );
        let takes_input = !parameters(&doc, operation).is_empty() || operation.get("requestBody").is_some();
        if takes_input {
            assert!(has("422"), "{method} {path} takes input, so 422 is documented");
        }
        if operation.get("requestBody").is_some() {
            assert!(has("413"), "{method} {path} takes a body, so 413 is documented");
        }
        if path.contains("{id}") {
            assert!(has("404"), "{method} {path} names an object, so 404 is documented");
        }
        let success = responses.keys().filter(|s| s.starts_with('2')).count();
        assert!(success > 0, "{method} {path} documents no success");
    }
    assert!(
        wrong.is_empty(),
        "error answers not documented as problem+json:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn files_are_binary_strings_of_their_own_content_type() {
    let doc = document();
    let mut files = 0;
    for (method, path, operation) in operations(&doc) {
        let mut contents: Vec<(String, &Value)> = Vec::new();
        if let Some(body) = operation.get("requestBody") {
            contents.push(("request".into(), resolve(&doc, body)));
        }
        for (status, response) in operation["responses"].as_object().expect("responses") {
            contents.push((status.clone(), resolve(&doc, response)));
        }
        for (what, holder) in contents {
            let Some(content) = holder["content"].as_object() else {
                continue;
            };
            for (media, media_type) in content {
                if media.contains("json") || media.starts_with("image/svg") {
                    continue;
                }
                files += 1;
                let schema = resolve(&doc, &media_type["schema"]);
                assert_eq!(schema["type"], "string", "{method} {path} {what} {media}: {schema}");
                assert_eq!(schema["format"], "binary", "{method} {path} {what} {media}: {schema}");
            }
            for media in content.keys() {
                assert!(
                    media != "application/octet-stream",
                    "{method} {path} {what}: name the file's real content type, not {media}"
                );
            }
        }
    }
    // The logo upload and download, the CSV import, export and guide, and the two CSV reports.
    assert_eq!(files, 7);
    let png = &doc["paths"]["/api/v1/groups/{id}/logos/{variant}"];
    assert!(png["put"]["requestBody"]["content"]["image/png"].is_object());
    assert!(png["get"]["responses"]["200"]["content"]["image/png"].is_object());
    let import = &doc["paths"]["/api/v1/csv/{format}/import"]["post"];
    assert!(import["requestBody"]["content"]["text/csv"].is_object());
}

#[tokio::test]
async fn swagger_ui_shows_the_served_document() {
    let docs: axum::Router = clientele_web::api::swagger_ui().into();
    let get = |uri: &str| {
        let request = http::Request::get(uri).body(axum::body::Body::empty()).unwrap();
        let docs = docs.clone();
        async move {
            let response = docs.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
    };
    let (status, page) = get(&format!("{}/", clientele_web::api::DOCS_PATH)).await;
    assert_eq!(status, http::StatusCode::OK);
    assert!(page.contains("swagger-ui"), "{page}");
    let (status, script) = get(&format!("{}/swagger-initializer.js", clientele_web::api::DOCS_PATH)).await;
    assert_eq!(status, http::StatusCode::OK);
    assert!(script.contains(clientele_web::api::OPENAPI_PATH), "{script}");
    // It reads the document from where it is served, and does not serve another copy.
    let (status, _) = get(clientele_web::api::OPENAPI_PATH).await;
    assert_eq!(status, http::StatusCode::NOT_FOUND);
}
