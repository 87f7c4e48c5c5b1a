//! Your account (every staff member): change your password, manage your API tokens. And the
//! pages around credentials: an admin issuing a reset link, a staff member setting a new password
//! with one (issue 17).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use clientele_app::tokens::{ApiToken, NewToken};
use clientele_domain::{Error, StaffId};

use super::{FieldErrors, Layout, Session, SignedForm, UiError, read_form, render_status, see_other, when};
use crate::AppState;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    l: Layout,
    must_change: bool,
    done: String,
    errors: FieldErrors,
    tokens: Vec<TokenLine>,
    new_token: Option<NewToken>,
    token_name: String,
}

/// A token as its row shows it.
struct TokenLine {
    t: ApiToken,
    created: String,
    last_used: String,
    expires: String,
}

impl TokenLine {
    fn of(t: ApiToken) -> TokenLine {
        let or_never = |ms: Option<i64>| ms.map(when).unwrap_or_else(|| "never".to_string());
        TokenLine {
            created: when(t.created_at),
            last_used: or_never(t.last_used_at),
            expires: or_never(t.expires_at),
            t,
        }
    }
}

#[derive(Deserialize, Default)]
pub struct AccountQuery {
    #[serde(default)]
    done: String,
}

async fn build(s: &AppState, session: &Session, done: String, errors: FieldErrors) -> Result<AccountPage, UiError> {
    Ok(AccountPage {
        l: session.layout("account"),
        must_change: session.staff.must_change_password,
        done,
        errors,
        tokens: s
            .app
            .api_tokens(&session.actor, None)
            .await?
            .into_iter()
            .map(TokenLine::of)
            .collect(),
        new_token: None,
        token_name: String::new(),
    })
}

pub async fn page(
    State(s): State<AppState>,
    session: Session,
    Query(q): Query<AccountQuery>,
) -> Result<Response, UiError> {
    Ok(render_status(
        StatusCode::OK,
        &build(&s, &session, q.done, FieldErrors::default()).await?,
    ))
}

/// Changes the signed-in person's password; their other sessions end, this one stays.
pub async fn change_password(State(s): State<AppState>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let new = form.text("new_password");
    let result = if new != form.text("confirm_password") {
        Err(Error::invalid("confirm_password", "Type the same new password twice."))
    } else {
        s.app
            .change_password(
                &session.actor,
                &form.text("current_password"),
                &new,
                Some(session.token()),
            )
            .await
    };
    match result {
        Ok(()) => Ok(see_other("/account?done=password")),
        Err(e) if e.field.is_some() => {
            let page = build(&s, &session, String::new(), FieldErrors::from_error(&e, "new_password")).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn create_token(State(s): State<AppState>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let name = form.text("name");
    let days: Option<i64> = form.text("expires_in_days").parse().ok().filter(|d| *d > 0);
    let expires_at = days.map(|d| s.app.clock.now() + d * 24 * 60 * 60 * 1000);
    match s.app.create_api_token(&session.actor, None, &name, expires_at).await {
        Ok(token) => {
            let mut page = build(&s, &session, String::new(), FieldErrors::default()).await?;
            page.new_token = Some(token);
            Ok(render_status(StatusCode::OK, &page))
        }
        Err(e) if e.field.is_some() => {
            let mut page = build(&s, &session, String::new(), FieldErrors::from_error(&e, "name")).await?;
            page.token_name = name;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke_token(State(s): State<AppState>, Path(id): Path<i64>, f: SignedForm) -> Result<Response, UiError> {
    s.app.revoke_api_token(&f.session.actor, id).await?;
    Ok(see_other("/account?done=revoked"))
}

#[derive(Template)]
#[template(path = "reset_issued.html")]
struct ResetIssuedPage {
    l: Layout,
    name: String,
    link: String,
    expires: String,
}

/// An admin issues a one-time reset link for a staff member; the page shows it once.
pub async fn issue_reset(State(s): State<AppState>, Path(id): Path<i64>, f: SignedForm) -> Result<Response, UiError> {
    let session = f.session;
    let admin = session.actor.admin()?;
    let reset = s.app.issue_password_reset(admin, StaffId(id)).await?;
    let person = s.app.staff(&session.actor, StaffId(id)).await?;
    Ok(render_status(
        StatusCode::OK,
        &ResetIssuedPage {
            l: session.layout("settings"),
            name: person.name,
            link: reset.path.clone(),
            expires: when(reset.expires_at),
        },
    ))
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage {
    code: String,
    errors: FieldErrors,
    done: bool,
}

#[derive(Deserialize, Default)]
pub struct ResetQuery {
    #[serde(default)]
    code: String,
}

/// The page a reset link opens (no session: the code is the credential).
pub async fn reset_page(Query(q): Query<ResetQuery>) -> Response {
    render_status(
        StatusCode::OK,
        &ResetPage {
            code: q.code,
            errors: FieldErrors::default(),
            done: false,
        },
    )
}

pub async fn reset(State(s): State<AppState>, request: axum::extract::Request) -> Response {
    let form = match read_form(request, &s).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let code = form.text("code");
    let new = form.text("new_password");
    let result = if new != form.text("confirm_password") {
        Err(Error::invalid("confirm_password", "Type the same new password twice."))
    } else {
        s.app.redeem_password_reset(&code, &new).await
    };
    match result {
        Ok(()) => render_status(
            StatusCode::OK,
            &ResetPage {
                code: String::new(),
                errors: FieldErrors::default(),
                done: true,
            },
        ),
        Err(e) if e.field.is_some() => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ResetPage {
                code,
                errors: FieldErrors::from_error(&e, "new_password"),
                done: false,
            },
        ),
        Err(e) => axum::response::IntoResponse::into_response(UiError(e)),
    }
}
