//! A client's page (seeds 001, 002, 004): its facts, its group badges with "Add to group" and "x",
//! its program accounts, and its time entries with "Log time" (the entries' own pages are
//! `ui::time`'s).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Query;
use serde::Deserialize;

use clientele_app::members::{MemberRef, Outcome};
use clientele_app::program_accounts::ProgramAccountInput;
use clientele_domain::audit::Cause;
use clientele_domain::entities::{Client, ClientGroup, GroupRef};
use clientele_domain::group::GroupFilter;
use clientele_domain::group::GroupKind;
use clientele_domain::program_account::{AccountStatus, ProgramAccount};
use clientele_domain::{ClientId, Error, ErrorCode, GroupId, ProgramAccountId};

use super::time::{TimeSection, TimeValues, back_with, client_section, field_errors, is_refusal};
use super::{FieldErrors, Layout, Session, SignedForm, UiError, query, render, render_status, see_other, when};
use crate::AppState;

/// Groups of clients for the pickers, by name (the first 200; the search narrows).
async fn client_groups(s: &AppState, session: &Session, text: Option<String>) -> Result<Vec<ClientGroup>, UiError> {
    let filter = GroupFilter {
        kind: Some(GroupKind::Clients),
        text,
        ..GroupFilter::default()
    };
    Ok(s.app.groups(&session.actor, &filter, None, Some(200)).await?.items)
}

#[derive(Template)]
#[template(path = "client.html")]
pub(super) struct ProfilePage {
    l: Layout,
    c: Client,
    expires: String,
    unit: String,
    groups: Vec<GroupRef>,
    choices: Vec<ClientGroup>,
    gq: String,
    errors: FieldErrors,
    done: String,
    /// Whether "Edit" is offered: the use case's own decision, asked beforehand.
    can_edit: bool,
    /// The client's time entries and the "Log time" form.
    pub(super) time: TimeSection,
    /// The client's program accounts (seed 004), and the "Add a program account" form as typed.
    accounts: Vec<ProgramAccount>,
    account: AccountForm,
}

/// The "Add a program account" form as typed, shown again with its errors.
#[derive(Default)]
struct AccountForm {
    number: String,
    program: String,
}

/// The statuses a program account may have, for its select.
const ACCOUNT_STATUSES: &[AccountStatus] = &[AccountStatus::Active, AccountStatus::Inactive, AccountStatus::Closed];

#[derive(Deserialize, Default)]
pub struct ProfileQuery {
    #[serde(default)]
    gq: String,
    #[serde(default)]
    done: String,
    /// Where the Time section's page starts.
    tcursor: Option<String>,
}

pub(super) async fn profile_page(
    s: &AppState,
    session: &Session,
    id: ClientId,
    gq: String,
    errors: FieldErrors,
    done: String,
    tcursor: Option<&str>,
) -> Result<ProfilePage, UiError> {
    let c = s.app.client(&session.actor, id).await?;
    let time = client_section(s, session, id, tcursor).await?;
    let groups = s.app.groups_of_client(&session.actor, id).await?;
    let accounts = s.app.program_accounts(&session.actor, id).await?;
    let text = Some(gq.trim().to_string()).filter(|t| !t.is_empty());
    let choices = client_groups(s, session, text)
        .await?
        .into_iter()
        .filter(|g| !groups.iter().any(|m| m.id == g.id))
        .collect();
    let unit = match c.business_unit_id {
        Some(u) => s
            .app
            .business_unit(&session.actor, u)
            .await
            .map(|u| u.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    Ok(ProfilePage {
        l: session.layout("clients"),
        can_edit: s.app.may_edit_client(&session.actor, id).is_ok(),
        expires: c.relationship_expires_at.map(when).unwrap_or_default(),
        c,
        unit,
        groups,
        choices,
        gq,
        errors,
        done,
        time,
        accounts,
        account: AccountForm::default(),
    })
}

/// "Add a program account": a refusal shows the form again as typed, with the reason by its field.
pub async fn add_account(
    State(s): State<AppState>,
    Path(id): Path<ClientId>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let input = ProgramAccountInput {
        number: Some(form.text("number")),
        program: Some(form.text("program")),
        status: None,
    };
    match s.app.create_program_account(&session.actor, id, input).await {
        Ok(_) => Ok(see_other(&format!(
            "/clients/{id}?{}#accounts",
            query(&[("done", "account-added")])
        ))),
        Err(e) if matches!(e.code, ErrorCode::InvalidInput | ErrorCode::AlreadyExists) => {
            let errors = FieldErrors::from_error(&e, "number");
            let mut page = profile_page(&s, &session, id, String::new(), errors, String::new(), None).await?;
            page.account = AccountForm {
                number: form.text("number"),
                program: form.text("program"),
            };
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

/// A program account's status changed, or the account removed (`remove` set), at the version shown.
pub async fn change_account(
    State(s): State<AppState>,
    Path((id, account)): Path<(ClientId, ProgramAccountId)>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let version = form.i64("version");
    let result = if form.get("remove").is_some() {
        s.app
            .delete_program_account(&session.actor, account, version)
            .await
            .map(|()| "account-removed")
    } else {
        let status = AccountStatus::parse(&form.text("status"));
        match status {
            Ok(status) => {
                let input = ProgramAccountInput {
                    status: Some(status),
                    ..Default::default()
                };
                s.app
                    .update_program_account(&session.actor, account, input, version)
                    .await
                    .map(|_| "account-saved")
            }
            Err(e) => Err(e),
        }
    };
    match result {
        Ok(done) => Ok(see_other(&format!(
            "/clients/{id}?{}#accounts",
            query(&[("done", done)])
        ))),
        Err(e) if matches!(e.code, ErrorCode::InvalidInput | ErrorCode::PreconditionFailed) => {
            let errors = FieldErrors::one("accounts", e.detail);
            let page = profile_page(&s, &session, id, String::new(), errors, String::new(), None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn profile(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<ClientId>,
    Query(q): Query<ProfileQuery>,
) -> Result<Response, UiError> {
    let page = profile_page(
        &s,
        &session,
        id,
        q.gq,
        FieldErrors::default(),
        q.done,
        q.tcursor.as_deref(),
    )
    .await?;
    Ok(render(&page))
}

pub async fn add_to_group(
    State(s): State<AppState>,
    Path(id): Path<ClientId>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let Some(group) = form.i64("group_id").map(GroupId) else {
        let page = profile_page(
            &s,
            &session,
            id,
            String::new(),
            FieldErrors::one("group_id", "Choose a group."),
            String::new(),
            None,
        )
        .await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let result = s
        .app
        .add_members(&session.actor, group, &[MemberRef::Client(id)], Cause::Manual, None)
        .await;
    let refusal = match result {
        Ok(out) => out
            .into_iter()
            .find(|o| o.outcome == Outcome::Rejected)
            .map(|o| o.detail.unwrap_or_default()),
        Err(e) => Some(e.detail),
    };
    if let Some(message) = refusal {
        let page = profile_page(
            &s,
            &session,
            id,
            String::new(),
            FieldErrors::one("group_id", message),
            String::new(),
            None,
        )
        .await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    Ok(see_other(&format!("/clients/{id}?{}", query(&[("done", "added")]))))
}

pub async fn remove_from_group(
    State(s): State<AppState>,
    Path(id): Path<ClientId>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let Some(group) = form.i64("group_id").map(GroupId) else {
        return Ok(see_other(&format!("/clients/{id}")));
    };
    if let Err(e) = s
        .app
        .remove_members(&session.actor, group, &[MemberRef::Client(id)], Cause::Manual, None)
        .await
    {
        let page = profile_page(
            &s,
            &session,
            id,
            String::new(),
            FieldErrors::one("groups", e.detail),
            String::new(),
            None,
        )
        .await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page).into_response());
    }
    Ok(see_other(&format!("/clients/{id}?{}", query(&[("done", "removed")]))))
}

/// "Log time" on a client's profile. A refusal the form can fix comes back on the profile with
/// everything typed and the message by its field.
pub async fn log(State(s): State<AppState>, Path(id): Path<ClientId>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let v = TimeValues::typed(&form);
    let mut fields = v.fields(id);
    // Admins may log time for a colleague, named by e-mail; the use case decides who may.
    let staff = match v.staff.as_str() {
        "" => Ok(None),
        email => match session.actor.admin() {
            Ok(admin) => s.app.staff_by_email(admin, "staff", email).await.map(|st| Some(st.id)),
            Err(_) => Err(Error::forbidden("only admins log time for someone else").with_field("staff")),
        },
    };
    let created = match staff {
        Ok(staff) => {
            fields.staff_id = staff;
            s.app.create_time_entry(&session.actor, &fields).await.map_err(|e| {
                if e.field.as_deref() == Some("staff_id") {
                    e.with_field("staff")
                } else {
                    e
                }
            })
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(_) => Ok(see_other(&back_with(&format!("/clients/{id}"), "time-logged"))),
        Err(e) if is_refusal(&e) => Err(UiError(e)),
        Err(e) => {
            let mut page = profile_page(
                &s,
                &session,
                id,
                String::new(),
                FieldErrors::default(),
                String::new(),
                None,
            )
            .await?;
            page.time.v = v;
            page.time.errors = field_errors(&e);
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
