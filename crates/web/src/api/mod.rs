//! The REST API under `/api/v1`. Every route is registered through `routes!`, which also puts it
//! in the OpenAPI document, so the document cannot fall behind the router.
//!
//! The document is a contract for generated clients (its snapshot is `tests/snapshots/`): every
//! operation has a unique `operationId`, query parameters are `in: query`, every `$ref` resolves,
//! and every error is `application/problem+json` with the [`Problem`](crate::error::Problem)
//! schema. The answers every operation can give (401, 422, 413, 503, a POST's 409) are added by
//! [`CommonResponses`], so each handler's annotation names only its own.

use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, RefOr, Required, Response, ResponseBuilder, Type,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

mod access;
mod assignments;
mod audit;
mod business_units;
mod clients;
mod credentials;
mod csv;
pub(crate) use csv::export_body;
mod groups;
mod members;
mod organization;
mod process_requests;
mod program_accounts;
mod reports;
mod staff;

/// The content type of every error answer (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(OpenApi)]
#[openapi(
    info(title = "Clientele API", description = "Client groups, memberships and access for firms. Errors are application/problem+json with a stable `code`."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(
        crate::error::Problem,
        clientele_app::bulk::Format,
        clientele_app::process_requests::Mode,
        clientele_domain::logo::LogoVariant
    ))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Adds to every operation the answers that do not depend on the handler, unless its annotation
/// already documents that status with its own description:
/// - 401: every route wants `Authorization: Bearer <token>`;
/// - 422: any input (path, query, header or body) may be refused, naming the `field`;
/// - 413: any body is refused past the server's limit;
/// - 409 on POST: the `Idempotency-Key` header (documented here too) names a request still running;
/// - 414 where the operation takes input: a URI over the edge's limit;
/// - 503 with `Retry-After`: `transaction_conflict`, `database_unavailable` and `timeout`.
pub struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for (method, operation) in operations_mut(item) {
                if method == "post" {
                    let parameters = operation.parameters.get_or_insert_with(Vec::new);
                    let is_key = |p: &RefOr<Parameter>| match p {
                        RefOr::T(p) => p.name.eq_ignore_ascii_case("Idempotency-Key"),
                        RefOr::Ref(_) => false,
                    };
                    if !parameters.iter().any(is_key) {
                        parameters.push(RefOr::T(idempotency_key()));
                    }
                }
                let takes_input =
                    operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) || operation.request_body.is_some();
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, response: Response| {
                    responses.entry(status.to_string()).or_insert(RefOr::T(response));
                };
                add(
                    "401",
                    problem("`unauthenticated`: no valid API token; send `Authorization: Bearer <token>`."),
                );
                if takes_input {
                    add(
                        "422",
                        problem("`invalid_input`: a path, query, header or body value is invalid; `field` names it."),
                    );
                }
                if takes_input {
                    add(
                        "414",
                        problem("`uri_too_long`: the URI (path and query) is longer than the server accepts (8 KiB)."),
                    );
                }
                if operation.request_body.is_some() {
                    add(
                        "413",
                        problem("`payload_too_large`: the request body is larger than the server accepts."),
                    );
                }
                if method == "post" {
                    add(
                        "409",
                        problem(
                            "`idempotency_key_in_progress`: a request with the same `Idempotency-Key` is still \
                             running (retry after `Retry-After` seconds), or its answer was lost.",
                        ),
                    );
                }
                add("503", unavailable());
            }
        }
    }
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("options", item.options.as_mut()),
        ("head", item.head.as_mut()),
        ("patch", item.patch.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| Some((method, operation?)))
}

/// An error answer: problem+json with the `Problem` schema.
fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

fn unavailable() -> Response {
    let mut response = problem(
        "`transaction_conflict`, `database_unavailable` or `timeout`: not now, rather than not this; send \
         the request again after `Retry-After` seconds.",
    );
    let seconds = HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0))))
        .description(Some("Seconds to wait before sending the request again."))
        .build();
    response.headers.insert("Retry-After".to_string(), RefOr::T(seconds));
    response
}

fn idempotency_key() -> Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes the POST safe to send again: the same request with the same key gets the first answer \
             again; a different request with a used key is refused (422).",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255)),
        ))
        .build()
}

// The raw bytes of a file (a PNG logo, a CSV file) as a request or response body: a binary string
// whose content type says what it is. (A plain comment: a doc comment would become the schema's
// description in every file body.)
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(pub Vec<u8>);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(organization::get_organization))
        .routes(routes!(organization::put_policies))
        .routes(routes!(business_units::list, business_units::create))
        .routes(routes!(
            business_units::get_one,
            business_units::rename,
            business_units::delete
        ))
        .routes(routes!(staff::list, staff::create))
        .routes(routes!(staff::colleagues))
        .routes(routes!(credentials::change_password))
        .routes(routes!(credentials::list_tokens, credentials::create_token))
        .routes(routes!(credentials::revoke_token))
        .routes(routes!(credentials::issue_reset))
        .routes(routes!(credentials::redeem_reset))
        .routes(routes!(staff::get_one, staff::update))
        .routes(routes!(clients::list, clients::create))
        .routes(routes!(clients::get_one, clients::update))
        .routes(routes!(clients::groups_of_client))
        .routes(routes!(program_accounts::list, program_accounts::create))
        .routes(routes!(
            program_accounts::get_one,
            program_accounts::update,
            program_accounts::delete
        ))
        .routes(routes!(groups::list, groups::create))
        .routes(routes!(groups::get_one, groups::update, groups::delete))
        .routes(routes!(groups::get_logo, groups::put_logo, groups::delete_logo))
        .routes(routes!(members::list, members::add))
        .routes(routes!(members::remove))
        .routes(routes!(members::bulk))
        .routes(routes!(csv::import))
        .routes(routes!(csv::export))
        .routes(routes!(csv::guide))
        .routes(routes!(process_requests::list))
        .routes(routes!(process_requests::get_one))
        .routes(routes!(process_requests::report))
        .routes(routes!(process_requests::cancel))
        .routes(routes!(process_requests::retry))
        .routes(routes!(audit::list))
        .routes(routes!(access::my_clients))
        .routes(routes!(access::staff_clients))
        .routes(routes!(access::check, access::check_batch))
        .routes(routes!(access::client_access))
        .routes(routes!(assignments::group_staff))
        .routes(routes!(assignments::assign, assignments::unassign))
        .routes(routes!(assignments::staff_assignments))
        .routes(routes!(reports::list_entries, reports::create_entry))
        .routes(routes!(
            reports::get_entry,
            reports::update_entry,
            reports::delete_entry
        ))
        .routes(routes!(reports::time_report))
        .routes(routes!(reports::time_report_csv))
        .routes(routes!(reports::time_report_svg))
        .routes(routes!(reports::list_saved, reports::create_saved))
        .routes(routes!(
            reports::get_saved,
            reports::update_saved,
            reports::delete_saved
        ))
}

/// The OpenAPI 3.1 document of every `/api/v1` route, as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = router().into_openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    // After the routes are in: `ApiDoc`'s own modifiers run before `routes!` adds them.
    utoipa::Modify::modify(&CommonResponses, &mut doc);
    doc
}

/// Where the interactive documentation is served.
pub const DOCS_PATH: &str = "/api/v1/docs";

/// Where the document is served (by `crate::router`).
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// Swagger UI at `/api/v1/docs` (its assets are vendored in the binary: nothing is fetched from
/// elsewhere). It reads the document from `/api/v1/openapi.json`, so it shows exactly what is
/// served there; this router does not serve the document itself.
pub fn docs_router() -> axum::Router<AppState> {
    swagger_ui().into()
}

/// The Swagger UI of [`docs_router`], for routers of any state.
pub fn swagger_ui() -> utoipa_swagger_ui::SwaggerUi {
    // The token typed into "Authorize" is not persisted (`persistAuthorization` would keep it in
    // the browser's local storage, readable by any script of this origin).
    let config = utoipa_swagger_ui::Config::new([OPENAPI_PATH]).display_operation_id(true);
    utoipa_swagger_ui::SwaggerUi::new(DOCS_PATH).config(config)
}

/// Query parameters shared by every list: cursor paging.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<i64>,
}

/// The `If-Match` header of the changes that check the version they are based on.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatchHeader {
    /// The `ETag` of the version the change is based on (`"v7"`): if the object changed since, the
    /// change is refused with 412. Absent or `*`: no check.
    #[param(rename = "If-Match")]
    pub if_match: Option<String>,
}
