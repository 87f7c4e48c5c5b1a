//! The REST API under `/api/v1`. Every route is registered through `routes!`, which also puts it
//! in the OpenAPI document, so the document cannot fall behind the router.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

mod access;
mod assignments;
mod audit;
mod business_units;
mod clients;
mod csv;
pub(crate) use csv::export_body;
mod groups;
mod members;
mod organization;
mod process_requests;
mod reports;
mod staff;

#[derive(OpenApi)]
#[openapi(
    info(title = "Clientele API", description = "Client groups, memberships and access for firms. Errors are application/problem+json with a stable `code`."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(crate::error::Problem))
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
        .routes(routes!(staff::get_one, staff::update))
        .routes(routes!(clients::list, clients::create))
        .routes(routes!(clients::get_one, clients::update))
        .routes(routes!(clients::groups_of_client))
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

/// The OpenAPI 3.1 document of every `/api/v1` route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = router().into_openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// Query parameters shared by every list: cursor paging.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<i64>,
}
