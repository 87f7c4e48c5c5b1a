//! Sign in and sign out.

use askama::Template;
use axum::extract::{Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use clientele_app::sessions::{SESSION_LIFETIME_MS, SignIn};

use super::{FieldErrors, SESSION_COOKIE, SignedForm, UiError, read_form, render_status, see_other};
use crate::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    email: String,
    next: String,
    errors: FieldErrors,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// Only paths of this site, so a crafted link cannot bounce a fresh session elsewhere.
/// Where to go after signing in: only a path on this site. Browsers drop tabs and line breaks
/// from URLs and read `\\` as `/`, so `/%09/evil.example` would leave the site: any control
/// character, whitespace or backslash refuses the path, and so does a second leading slash.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

pub async fn login_page(State(s): State<AppState>, jar: CookieJar, Query(q): Query<LoginQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    if let Some(token) = jar.get(SESSION_COOKIE)
        && let Ok(Some(_)) = s.app.session_actor(token.value(), None).await
    {
        return see_other(&next);
    }
    render_status(
        StatusCode::OK,
        &LoginPage {
            email: String::new(),
            next,
            errors: FieldErrors::default(),
        },
    )
}

/// Pages only admins may open, whatever the groups: staff signing in are not sent there.
fn only_for_admins(path: &str) -> bool {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    const PREFIXES: [&str; 4] = ["/process-requests", "/transfers", "/settings", "/clients/new"];
    path == "/clients"
        || path == "/groups/new"
        || path.ends_with("/edit") && path.starts_with("/groups/")
        || path.ends_with("/delete") && path.starts_with("/groups/")
        || PREFIXES
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

pub async fn login(State(s): State<AppState>, request: Request) -> Response {
    let address = request
        .extensions()
        .get::<crate::proxy::Client>()
        .map_or_else(|| "local".to_string(), |c| c.address.clone());
    let form = match read_form(request, &s).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let email = form.text("email");
    let next = safe_next(form.get("next"));
    let again = |status: StatusCode, field: &str, message: String| {
        render_status(
            status,
            &LoginPage {
                email: email.clone(),
                next: next.clone(),
                errors: FieldErrors::one(field, message),
            },
        )
    };
    match s.app.sign_in(&email, &form.text("password"), &address).await {
        Ok(SignIn::Opened(session)) => {
            let cookie = Cookie::build((SESSION_COOKIE, session.token))
                .path("/")
                .http_only(true)
                .secure(true)
                .same_site(SameSite::Lax)
                .max_age(time::Duration::milliseconds(SESSION_LIFETIME_MS))
                .build();
            let admin = session.staff.role == clientele_domain::staff::StaffRole::Admin;
            let to = if session.staff.must_change_password {
                "/account"
            } else if !admin && only_for_admins(&next) {
                // A link an admin shared (or the last page before the session ended) would
                // only answer "Forbidden": start where staff start instead.
                "/"
            } else {
                next.as_str()
            };
            (CookieJar::new().add(cookie), see_other(to)).into_response()
        }
        Ok(SignIn::WrongCredentials) => again(
            StatusCode::UNAUTHORIZED,
            "password",
            "The e-mail address or the password is not right.".into(),
        ),
        Ok(SignIn::TooManyAttempts { retry_after_secs }) => {
            let mut page = again(
                StatusCode::TOO_MANY_REQUESTS,
                "password",
                format!(
                    "Too many sign-in attempts for this e-mail address or from this network; try again in {} minute(s).",
                    (retry_after_secs + 59) / 60
                ),
            );
            page.headers_mut().insert(header::RETRY_AFTER, retry_after_secs.into());
            page
        }
        Ok(SignIn::Busy) => {
            let mut page = again(
                StatusCode::TOO_MANY_REQUESTS,
                "password",
                "Many people are signing in right now; try again in a moment.".into(),
            );
            page.headers_mut().insert(header::RETRY_AFTER, 1.into());
            page
        }
        Err(e) => UiError(e).into_response(),
    }
}

pub async fn logout(State(s): State<AppState>, SignedForm { session, .. }: SignedForm) -> Response {
    if let Err(e) = s.app.sign_out(&session.token).await {
        return UiError(e).into_response();
    }
    let gone = Cookie::build((SESSION_COOKIE, "")).path("/").build();
    (CookieJar::new().remove(gone), see_other("/login")).into_response()
}

#[cfg(test)]
mod tests {
    use super::{only_for_admins, safe_next};

    #[test]
    fn staff_are_not_sent_to_admin_pages_after_signing_in() {
        for admin_only in [
            "/groups/new",
            "/groups/7/edit",
            "/groups/7/delete",
            "/transfers",
            "/settings/staff",
            "/process-requests?status=failed",
            "/clients",
        ] {
            assert!(only_for_admins(admin_only), "{admin_only}");
        }
        for anyone in [
            "/",
            "/groups",
            "/groups/7",
            "/clients/3",
            "/my-group-clients?q=a",
            "/reports",
            "/account",
            "/time/4/edit",
        ] {
            assert!(!only_for_admins(anyone), "{anyone}");
        }
    }

    #[test]
    fn sign_in_only_returns_to_paths_of_this_site() {
        assert_eq!(safe_next(Some("/groups/7?q=a")), "/groups/7?q=a");
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "groups",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
