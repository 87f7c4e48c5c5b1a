//! The server-rendered web UI: askama templates (escaped by default), one stylesheet, a little
//! progressive JavaScript. Handlers are as thin as the API's: they parse the form, take the actor's
//! capability, call the same [`clientele_app::App`] use cases, and render.
//!
//! Signing in opens a session (see `clientele_app::sessions`): a random token in a
//! `Secure; HttpOnly; SameSite=Lax` cookie. Every form carries the session's anti-CSRF token in a
//! hidden field and every POST is refused without it; in addition, POSTs that the browser marks as
//! cross-site (`Sec-Fetch-Site`, `Origin`) are refused before any handler runs. These layers wrap
//! the UI routes only: the JSON API keeps its bearer tokens and never looks at cookies.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Multipart, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use tower_http::set_header::SetResponseHeaderLayer;

use clientele_app::Actor;
use clientele_app::members::MemberRef;
use clientele_domain::entities::Staff;
use clientele_domain::{ClientId, Error, ErrorCode, GroupId};

use crate::{AppState, REQUEST_ID};

mod account;
mod auth;
mod client_form;
mod client_page;
mod clients;
mod group_form;
mod group_page;
mod groups;
mod list;
mod my_clients;
mod process_requests;
mod reports;
mod settings;
mod staff;
mod time;
mod transfers;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "clientele_session";

const STYLESHEET: &str = include_str!("../../static/app.css");
const SCRIPT: &str = include_str!("../../static/app.js");
const FAVICON: &str = include_str!("../../static/favicon.svg");

/// What every UI page's CSP allows: our own stylesheet and script, logos as `data:`/`blob:`
/// previews, no framing, forms posting only to us.
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; \
                   object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Admins land on their groups; other staff on the clients their groups give them.
async fn home(session: Session) -> Redirect {
    if session.actor.admin().is_ok() {
        Redirect::to("/groups")
    } else {
        Redirect::to("/my-group-clients")
    }
}

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/my-group-clients", get(my_clients::list))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/groups", get(groups::list))
        .route("/groups/new", get(group_form::new_page).post(group_form::create))
        .route("/groups/{id}", get(group_page::show))
        .route("/groups/{id}/edit", get(group_form::edit_page).post(group_form::update))
        .route("/groups/{id}/delete", get(groups::delete_page).post(groups::delete))
        .route("/groups/{id}/logo/{variant}", get(group_form::logo))
        .route("/groups/{id}/members/review", post(group_page::review))
        .route("/groups/{id}/members", post(group_page::apply))
        .route("/groups/{id}/staff", post(group_page::assign))
        .route("/staff", get(staff::list))
        .route("/staff/review", post(staff::review))
        .route("/staff/assign", post(staff::assign))
        .route("/staff/{id}", get(staff::show))
        .route("/groups/{id}/protection", post(group_page::lift_protection))
        .route("/groups/{id}/staff/{staff_id}/remove", post(group_page::unassign))
        .route("/clients", get(clients::list))
        .route("/clients/new", get(client_form::new_page).post(client_form::create))
        .route("/clients/bulk", post(clients::bulk))
        .route("/clients/{id}", get(client_page::profile))
        .route(
            "/clients/{id}/edit",
            get(client_form::edit_page).post(client_form::update),
        )
        .route("/clients/{id}/groups/add", post(client_page::add_to_group))
        .route("/clients/{id}/groups/remove", post(client_page::remove_from_group))
        .route("/clients/{id}/accounts", post(client_page::add_account))
        .route("/clients/{id}/accounts/{account}", post(client_page::change_account))
        .route("/clients/{id}/time", post(client_page::log))
        .route("/time", get(time::mine))
        .route("/time/{id}/edit", get(time::edit_page).post(time::update))
        .route("/time/{id}/delete", get(time::delete_page).post(time::delete))
        .route("/reports", get(reports::show))
        .route("/reports/chart.svg", get(reports::chart_svg))
        .route("/reports/time.csv", get(reports::csv))
        .route("/reports/saved", post(reports::save))
        .route(
            "/reports/saved/{id}",
            get(reports::open_saved).post(reports::update_saved),
        )
        .route("/reports/saved/{id}/delete", post(reports::delete_saved))
        .route("/transfers", get(transfers::page))
        .route("/transfers/{format}/guide.csv", get(transfers::guide))
        .route("/transfers/{format}/export.csv", get(transfers::export))
        // The file is streamed into the import under the CSV upload limit, checked by the handler;
        // the general body limit (sized for logos) would refuse any real file.
        .route(
            "/transfers/upload",
            post(transfers::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/process-requests", get(process_requests::list))
        .route("/process-requests/{id}", get(process_requests::show))
        .route("/process-requests/{id}/report.csv", get(process_requests::report))
        .route("/process-requests/{id}/cancel", post(process_requests::cancel))
        .route("/process-requests/{id}/retry", post(process_requests::retry))
        .route("/process-requests/{id}/apply", post(process_requests::apply))
        .route("/account", get(account::page))
        .route("/account/password", post(account::change_password))
        .route("/account/tokens", post(account::create_token))
        .route("/account/tokens/{id}/revoke", post(account::revoke_token))
        .route("/reset-password", get(account::reset_page).post(account::reset))
        .route("/settings/staff/{id}/reset", post(account::issue_reset))
        .route("/settings", get(settings::page))
        .route("/settings/policies", post(settings::policies))
        .route("/settings/business-units", post(settings::create_unit))
        .route("/settings/business-units/{id}", post(settings::change_unit))
        .route("/settings/staff", post(settings::create_staff))
        .route("/settings/staff/{id}", post(settings::update_staff))
        .route(
            "/static/app.css",
            get(|| async { asset("text/css; charset=utf-8", STYLESHEET) }),
        )
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route("/favicon.ico", get(|| async { asset("image/svg+xml", FAVICON) }))
        .route("/static/favicon.svg", get(|| async { asset("image/svg+xml", FAVICON) }))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), with_navigation))
        .layer(axum::middleware::from_fn(refuse_cross_site))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// Refuses state-changing requests a browser says come from another site, before any handler.
/// The per-session token in every form is the main defence; this one also covers the sign-in form
/// (login CSRF), which has no session yet.
async fn refuse_cross_site(request: Request, next: Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD && is_cross_site(&request) {
        return forbidden_page("This form was sent from another site, so it was refused.");
    }
    next.run(request).await
}

fn is_cross_site(request: &Request) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site == "cross-site"
    {
        return true;
    }
    // The host the browser named (behind a trusted proxy, the one it forwarded; `edge` puts it
    // on every request, and `Host` is its fallback for a request that did not pass there).
    let host = match request.extensions().get::<crate::proxy::Client>() {
        Some(client) => client.host.as_deref(),
        None => headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    };
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => false,
        Some(origin) => {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
            // An origin we cannot compare ("null", or no host to compare with) is refused.
            origin == "null" || host != Some(origin_host)
        }
    }
}

/// A UI address that matches no page: an HTML page with the navigation. Under `/api/` (and for
/// the operations routes' neighbours) the answer stays empty, so `edge` renders it as the API's
/// problem document.
async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return StatusCode::NOT_FOUND.into_response();
    }
    UiError(Error::new(
        ErrorCode::NotFound,
        "There is no page at this address. The link may be mistyped, or what it showed may have been deleted.",
    ))
    .into_response()
}

/// The session a handler's [`Session`] extractor found, kept for [`with_navigation`].
#[derive(Clone, Default)]
struct SessionSeen(std::sync::Arc<std::sync::OnceLock<Session>>);

/// Draws an error page again inside the signed-in frame (the navigation, the sign-out button),
/// so that no error is a dead end: a handler's error knows nothing of the page around it.
async fn with_navigation(
    axum::extract::State(s): axum::extract::State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let seen = SessionSeen::default();
    request.extensions_mut().insert(seen.clone());
    let token = CookieJar::from_headers(request.headers())
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_string());
    let mut response = next.run(request).await;
    let Some(shown) = response.extensions_mut().remove::<ErrorShown>() else {
        return response;
    };
    let session = match (seen.0.get(), token) {
        (Some(session), _) => Some(session.clone()),
        // The error came before any handler looked (a page that does not exist).
        (None, Some(token)) => match s.app.session_actor(&token, None).await {
            Ok(Some((actor, staff))) => Some(Session {
                actor,
                staff,
                csrf: clientele_app::sessions::csrf_token(&token),
                token,
            }),
            _ => None,
        },
        (None, None) => None,
    };
    let Some(session) = session else {
        return response;
    };
    let page = SignedInErrorPage {
        l: session.layout(""),
        title: shown.title,
        message: shown.message,
    };
    if let Ok(html) = page.render() {
        response.headers_mut().remove(header::CONTENT_LENGTH);
        *response.body_mut() = axum::body::Body::from(html);
    }
    response
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// A signed-in staff member, from the session cookie. Pages that need one redirect to the sign-in
/// page without it.
#[derive(Clone)]
pub struct Session {
    pub actor: Actor,
    pub staff: Staff,
    /// The anti-CSRF token every form of this session carries.
    pub csrf: String,
    token: String,
}

/// One entry of the main navigation.
#[derive(Debug)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    /// The `section` that this screen's pages pass to [`Session::layout`], to mark it current.
    pub section: &'static str,
    /// Listed for admins only, under the "Admin" heading (the handlers refuse others anyway).
    pub admin_only: bool,
}

/// The main navigation, in order: a new screen is one more line here.
pub const NAV: &[NavItem] = &[
    NavItem {
        href: "/my-group-clients",
        label: "My group clients",
        section: "my-clients",
        admin_only: false,
    },
    NavItem {
        href: "/time",
        label: "My time",
        section: "time",
        admin_only: false,
    },
    NavItem {
        href: "/groups",
        label: "Client Groups",
        section: "groups",
        admin_only: false,
    },
    NavItem {
        href: "/clients",
        label: "Clients",
        section: "clients",
        admin_only: true,
    },
    NavItem {
        href: "/staff",
        label: "Employees",
        section: "staff",
        admin_only: true,
    },
    NavItem {
        href: "/transfers",
        label: "Upload/Download",
        section: "transfers",
        admin_only: true,
    },
    NavItem {
        href: "/process-requests",
        label: "Process requests",
        section: "process-requests",
        admin_only: true,
    },
    NavItem {
        href: "/reports",
        label: "Reports",
        section: "reports",
        admin_only: false,
    },
    NavItem {
        href: "/account",
        label: "Your account",
        section: "account",
        admin_only: false,
    },
    NavItem {
        href: "/settings",
        label: "Settings",
        section: "settings",
        admin_only: true,
    },
];

impl Session {
    /// The session's own token (to keep this session when the password changes).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// What the layout needs.
    pub fn layout(&self, section: &'static str) -> Layout {
        Layout {
            staff_name: self.staff.name.clone(),
            staff_email: self.staff.email.clone(),
            staff_id: self.staff.id,
            csrf: self.csrf.clone(),
            section,
            admin: self.actor.admin().is_ok(),
        }
    }
}

/// The page frame: who is signed in, the CSRF token for the sign-out form, the current section.
#[derive(Clone, Debug)]
pub struct Layout {
    pub staff_name: String,
    pub staff_email: String,
    pub staff_id: clientele_domain::StaffId,
    pub csrf: String,
    pub section: &'static str,
    /// Whether to show the admin screens in the navigation.
    pub admin: bool,
}

impl Layout {
    /// The navigation entries everyone signed in sees.
    pub fn nav_common(&self) -> impl Iterator<Item = &'static NavItem> {
        NAV.iter().filter(|n| !n.admin_only)
    }
    /// The admin screens, for admins; none for others.
    pub fn nav_admin(&self) -> impl Iterator<Item = &'static NavItem> {
        let admin = self.admin;
        NAV.iter().filter(move |n| admin && n.admin_only)
    }
}

/// Why a request did not get a session.
pub enum NoSession {
    SignIn(String),
    /// Signed in with a password that must be changed first.
    ChangePassword,
    Failed(UiError),
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match self {
            NoSession::SignIn(next) => {
                let target = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
                Redirect::to(&format!("/login?{target}")).into_response()
            }
            NoSession::ChangePassword => Redirect::to("/account").into_response(),
            NoSession::Failed(e) => e.into_response(),
        }
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = NoSession;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let next = if parts.method == Method::GET {
            parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default()
        } else {
            "/".to_string()
        };
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
            return Err(NoSession::SignIn(next));
        };
        let request_id = parts
            .headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match state.app.session_actor(&token, request_id).await {
            // A password someone else set (the first start, a reset by an admin... no: a reset is
            // chosen by its owner) must be replaced before anything else.
            Ok(Some((_, staff)))
                if staff.must_change_password
                    && !parts.uri.path().starts_with("/account")
                    && parts.uri.path() != "/logout" =>
            {
                Err(NoSession::ChangePassword)
            }
            Ok(Some((actor, staff))) => {
                let session = Session {
                    actor,
                    staff,
                    csrf: clientele_app::sessions::csrf_token(&token),
                    token,
                };
                if let Some(seen) = parts.extensions.get::<SessionSeen>() {
                    let _ = seen.0.set(session.clone());
                }
                Ok(session)
            }
            Ok(None) => Err(NoSession::SignIn(next)),
            Err(e) => Err(NoSession::Failed(UiError(e))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Forms

/// A submitted form as name/value pairs in order (names repeat for checkboxes), plus any uploaded
/// files of a multipart form.
#[derive(Debug, Default, Clone)]
pub struct FormData {
    pairs: Vec<(String, String)>,
    pub files: HashMap<String, Vec<u8>>,
}

impl FormData {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    /// The value, or the empty string.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    pub fn i64(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }
}

/// A POSTed form of a signed-in staff member whose anti-CSRF token matched. Takes
/// `application/x-www-form-urlencoded` and `multipart/form-data` alike.
pub struct SignedForm {
    pub session: Session,
    pub form: FormData,
}

impl FromRequest<AppState> for SignedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let request = Request::from_parts(parts, body);
        let form = read_form(request, state).await?;
        if !constant_time_eq(form.get("csrf").unwrap_or_default(), &session.csrf) {
            return Err(forbidden_page(
                "This form has expired or did not come from this site. Go back, reload the page and try again.",
            ));
        }
        Ok(SignedForm { session, form })
    }
}

/// Reads a urlencoded or multipart body into [`FormData`].
pub async fn read_form(request: Request, state: &AppState) -> Result<FormData, Response> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let too_large = || {
        UiError(Error::new(
            ErrorCode::PayloadTooLarge,
            "The upload is too large; a logo may be at most 1 MiB.",
        ))
        .into_response()
    };
    if is_multipart {
        let mut multipart = Multipart::from_request(request, state)
            .await
            .map_err(|_| UiError(Error::invalid("form", "could not be read")).into_response())?;
        let mut form = FormData::default();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
                Err(_) => return Err(UiError(Error::invalid("form", "could not be read")).into_response()),
            };
            let name = field.name().unwrap_or_default().to_string();
            let is_file = field.file_name().is_some();
            let data = match field.bytes().await {
                Ok(d) => d,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
                Err(_) => return Err(UiError(Error::invalid("form", "could not be read")).into_response()),
            };
            if is_file {
                if !data.is_empty() {
                    form.files.insert(name, data.to_vec());
                }
            } else {
                form.pairs.push((name, String::from_utf8_lossy(&data).into_owned()));
            }
        }
        refuse_control_characters(&form.pairs).map_err(|e| UiError(e).into_response())?;
        Ok(form)
    } else {
        let bytes = Bytes::from_request(request, state).await.map_err(|_| too_large())?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| UiError(Error::invalid("form", "could not be read")).into_response())?;
        refuse_control_characters(&pairs).map_err(|e| UiError(e).into_response())?;
        Ok(FormData {
            pairs,
            files: HashMap::new(),
        })
    }
}

/// A form field holding a control character is refused whole (see `names::control_character`).
fn refuse_control_characters(pairs: &[(String, String)]) -> Result<(), Error> {
    for (name, value) in pairs {
        clientele_domain::names::refuse_control_characters(name, value)?;
    }
    Ok(())
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
}

/// Members in forms are written `c:12` (a client) or `g:7` (a group).
pub fn member_key(m: MemberRef) -> String {
    match m {
        MemberRef::Client(id) => format!("c:{id}"),
        MemberRef::Group(id) => format!("g:{id}"),
    }
}

pub fn parse_member(s: &str) -> Option<MemberRef> {
    let (kind, id) = s.split_once(':')?;
    let id: i64 = id.parse().ok()?;
    match kind {
        "c" => Some(MemberRef::Client(ClientId(id))),
        "g" => Some(MemberRef::Group(GroupId(id))),
        _ => None,
    }
}

/// The typed confirmations of seed 004: the exact word, in capitals.
pub fn typed(form: &FormData, word: &str) -> bool {
    form.get("confirm").map(str::trim) == Some(word)
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// Renders a page; a template failure is a 500 (logged), never a half page.
pub fn render<T: Template>(template: &T) -> Response {
    render_status(StatusCode::OK, template)
}

pub fn render_status<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => UiError(Error::internal("template failed").caused_by(e)).into_response(),
    }
}

/// An error shown as a page.
#[derive(Debug)]
pub struct UiError(pub Error);

impl From<Error> for UiError {
    fn from(e: Error) -> Self {
        UiError(e)
    }
}

/// An error page for someone not signed in (or whose session could not be read).
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: String,
    message: String,
}

/// The same page inside the signed-in frame (see [`with_navigation`]).
#[derive(Template)]
#[template(path = "error_signed_in.html")]
struct SignedInErrorPage {
    l: Layout,
    title: String,
    message: String,
}

/// What an error page says, left on its response for [`with_navigation`].
#[derive(Clone)]
struct ErrorShown {
    title: String,
    message: String,
}

/// An error page: drawn bare here, and again with the navigation by [`with_navigation`] when
/// the viewer is signed in.
fn error_page(status: StatusCode, title: &str, message: String) -> Response {
    let page = ErrorPage {
        title: title.to_string(),
        message: message.clone(),
    };
    let mut response = match page.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(_) => status.into_response(),
    };
    response.extensions_mut().insert(ErrorShown {
        title: title.to_string(),
        message,
    });
    response
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = crate::error::status_of(self.0.code);
        let (title, message) = match self.0.code {
            ErrorCode::Internal => {
                tracing::error!(error = %self.0.report(), "UI request failed");
                (
                    "Something went wrong",
                    "Something went wrong on our side. Try again; if it persists, tell your administrator the time it happened."
                        .to_string(),
                )
            }
            ErrorCode::NotFound => ("Page not found", self.0.detail),
            ErrorCode::Forbidden => ("You cannot do this", for_people(&self.0)),
            _ => (status.canonical_reason().unwrap_or("Error"), for_people(&self.0)),
        };
        error_page(status, title, message)
    }
}

pub fn forbidden_page(message: &str) -> Response {
    error_page(StatusCode::FORBIDDEN, "You cannot do this", message.to_string())
}

/// A domain error's message for people: "Enter a name" rather than "name: must not be empty".
pub fn for_people(e: &Error) -> String {
    let Some(field) = e.field.as_deref() else {
        return capitalised(&e.detail);
    };
    let field = field.split('[').next().unwrap_or(field);
    let rule = e.detail.strip_prefix(&format!("{field}: ")).unwrap_or(&e.detail);
    let label = match field {
        "name" => "name",
        "email" | "staff" => "e-mail address",
        "external_ref" => "reference",
        "crm_id" => "CRM ID",
        "business_unit_id" => "business unit",
        "description" => "description",
        "phone" => "phone number",
        "notes" | "note" => "notes",
        "relationship_expires_at" => "end date of the relationship",
        "password" | "new_password" => "new password",
        "current_password" => "current password",
        "duration" => "time",
        "date" => "date",
        "service" => "service",
        "groups" => "groups",
        "client_ids" | "group_ids" | "members" => "members",
        // A field the form may not show: keep its name so that the message still says where.
        _ => return capitalised(&e.detail),
    };
    match rule {
        "must not be empty" | "is required" => {
            let article = if label.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            match label {
                "notes" => "Enter notes".to_string(),
                "time" => "Enter the time spent, like 1:30".to_string(),
                _ => format!("Enter {article} {label}"),
            }
        }
        _ if rule.starts_with("must ") || rule.starts_with("is ") || rule.starts_with("mixes ") => {
            format!("The {label} {rule}")
        }
        _ => capitalised(rule),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Field errors for a re-rendered form: the domain error's `field`, or `form` when it names none.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    pub fn from_error(e: &Error, default_field: &str) -> FieldErrors {
        let mut errors = FieldErrors::default();
        errors.push(e, default_field);
        errors
    }
    /// Adds a domain error under its field (or `default_field`), in words for people.
    pub fn push(&mut self, e: &Error, default_field: &str) {
        let field = e
            .field
            .as_deref()
            .map(|f| f.split('[').next().unwrap_or(f))
            // The API's member lists are the form's members picker.
            .map(|f| {
                if matches!(f, "client_ids" | "group_ids") {
                    "members"
                } else {
                    f
                }
            })
            .map(str::to_string)
            .unwrap_or_else(|| default_field.to_string());
        self.0.push((field, for_people(e)));
    }
    /// Every error of a form, for the summary at its top: (the field's id, the message).
    pub fn summary(&self) -> &[(String, String)] {
        &self.0
    }
    pub fn one(field: &str, message: impl Into<String>) -> FieldErrors {
        FieldErrors(vec![(field.to_string(), message.into())])
    }
    /// The message for a field, for the template.
    pub fn of(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }
}

/// A query string for links that keep the current filters.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs.iter().filter(|(_, v)| !v.is_empty()).copied().collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

/// An instant for people: `2026-11-23 14:05 UTC`.
pub fn when(ms: i64) -> String {
    let t = clientele_domain::from_millis(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(headers: &[(&str, &str)]) -> Request {
        let mut r = Request::post("/groups/1/delete");
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn cross_site_requests_are_told_apart_from_our_own_forms() {
        assert!(!is_cross_site(&post(&[("host", "clientele.example")])));
        assert!(!is_cross_site(&post(&[
            ("host", "clientele.example"),
            ("origin", "https://clientele.example"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(is_cross_site(&post(&[
            ("host", "clientele.example"),
            ("origin", "https://evil.example")
        ])));
        assert!(is_cross_site(&post(&[
            ("host", "clientele.example"),
            ("origin", "null")
        ])));
        assert!(is_cross_site(&post(&[
            ("host", "clientele.example"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(
            is_cross_site(&post(&[("origin", "https://evil.example")])),
            "no host to compare with"
        );
    }

    #[test]
    fn members_round_trip_through_forms_and_garbage_is_ignored() {
        for m in [MemberRef::Client(ClientId(7)), MemberRef::Group(GroupId(9))] {
            assert_eq!(parse_member(&member_key(m)), Some(m));
        }
        for bad in ["", "c:", "x:1", "c:one", "7"] {
            assert_eq!(parse_member(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_member_error_is_shown_by_the_members_picker() {
        let e = Error::invalid("members[2]", "kind mismatch");
        assert_eq!(FieldErrors::from_error(&e, "name").0[0].0, "members");
        let e = Error::new(ErrorCode::Conflict, "no field");
        assert_eq!(FieldErrors::from_error(&e, "name").of("name"), Some("No field"));
        let e = Error::invalid("name", "must not be empty");
        assert_eq!(FieldErrors::from_error(&e, "form").of("name"), Some("Enter a name"));
    }

    #[test]
    fn only_the_exact_word_confirms() {
        let form = |v: &str| FormData {
            pairs: vec![("confirm".into(), v.into())],
            files: HashMap::new(),
        };
        assert!(typed(&form("CONFIRM"), "CONFIRM"));
        assert!(typed(&form(" DELETE "), "DELETE"));
        for wrong in ["confirm", "CONFIRMED", "", "DELETE"] {
            assert!(!typed(&form(wrong), "CONFIRM"), "{wrong}");
        }
        assert!(!typed(&FormData::default(), "CONFIRM"));
    }
}
