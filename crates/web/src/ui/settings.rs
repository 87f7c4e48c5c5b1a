//! Settings: business units, staff (create, role, deactivate) and the organisation's policies.
//! A refused change re-renders the page with the input kept and the message next to its field.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use clientele_app::staff::{NewStaff, StaffPatch};
use clientele_domain::entities::{BusinessUnit, Organization, Staff};
use clientele_domain::policy::{DeletePolicy, MembershipMode, Policies};
use clientele_domain::staff::StaffRole;
use clientele_domain::{BusinessUnitId, Error, StaffId};

use super::{FieldErrors, FormData, Layout, Session, SignedForm, UiError, query, render_status, see_other};
use crate::AppState;

/// What the forms show: the stored values, or what was just typed when a change was refused.
#[derive(Default)]
struct Typed {
    unit_name: String,
    staff_email: String,
    staff_name: String,
    staff_role: String,
    policies: Option<Policies>,
    max_depth: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    l: Layout,
    org: Organization,
    p: Policies,
    max_depth: String,
    units: Vec<BusinessUnit>,
    staff: Vec<Staff>,
    next_staff: Option<String>,
    typed: Typed,
    errors: FieldErrors,
    done: String,
    me: StaffId,
}

#[derive(Deserialize, Default)]
pub struct SettingsQuery {
    #[serde(default)]
    done: String,
    staff_cursor: Option<String>,
}

async fn build(
    s: &AppState,
    session: &Session,
    typed: Typed,
    errors: FieldErrors,
    done: String,
    staff_cursor: Option<&str>,
) -> Result<SettingsPage, UiError> {
    let actor = &session.actor;
    let org = s.app.organization(actor).await?;
    let units = s.app.business_units(actor, None, Some(500)).await?.items;
    let staff = s.app.staff_list(actor, staff_cursor, Some(100)).await?;
    let p = typed.policies.clone().unwrap_or_else(|| org.policies.clone());
    let max_depth = if typed.max_depth.is_empty() {
        p.max_nesting_depth.to_string()
    } else {
        typed.max_depth.clone()
    };
    Ok(SettingsPage {
        l: session.layout("settings"),
        p,
        max_depth,
        org,
        units,
        next_staff: staff.next_cursor.map(|c| query(&[("staff_cursor", &c)])),
        staff: staff.items,
        typed,
        errors,
        done,
        me: actor.staff_id,
    })
}

pub async fn page(
    State(s): State<AppState>,
    session: Session,
    Query(q): Query<SettingsQuery>,
) -> Result<Response, UiError> {
    session.actor.admin()?;
    let page = build(
        &s,
        &session,
        Typed::default(),
        FieldErrors::default(),
        q.done,
        q.staff_cursor.as_deref(),
    )
    .await?;
    Ok(render_status(StatusCode::OK, &page))
}

async fn refused(s: &AppState, session: &Session, typed: Typed, e: &Error, field: &str) -> Result<Response, UiError> {
    let errors = FieldErrors::from_error(e, field);
    let page = build(s, session, typed, errors, String::new(), None).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

fn read_policies(form: &FormData) -> Result<Policies, Error> {
    Ok(Policies {
        membership_mode: MembershipMode::parse(&form.text("membership_mode"))?,
        delete_policy: DeletePolicy::parse(&form.text("delete_policy"))?,
        reserve_deleted_names: form.has("reserve_deleted_names"),
        require_active_relationship: form.has("require_active_relationship"),
        max_nesting_depth: form
            .text("max_nesting_depth")
            .trim()
            .parse()
            .map_err(|_| Error::invalid("max_nesting_depth", "must be a whole number"))?,
        require_first_member: form.has("require_first_member"),
    })
}

pub async fn policies(State(s): State<AppState>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let mut typed = Typed {
        max_depth: form.text("max_nesting_depth"),
        ..Typed::default()
    };
    let policies = match read_policies(&form) {
        Ok(p) => p,
        Err(e) => return refused(&s, &session, typed, &e, "policies").await,
    };
    typed.policies = Some(policies.clone());
    match s
        .app
        .update_policies(session.actor.admin()?, policies, form.i64("version"))
        .await
    {
        Ok(_) => Ok(see_other("/settings?done=policies")),
        Err(e) => refused(&s, &session, typed, &e, "policies").await,
    }
}

pub async fn create_unit(State(s): State<AppState>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let name = form.text("name");
    match s.app.create_business_unit(session.actor.admin()?, &name).await {
        Ok(_) => Ok(see_other("/settings?done=unit")),
        Err(e) => {
            let typed = Typed {
                unit_name: name,
                ..Typed::default()
            };
            let e = Error {
                field: Some(format!("unit_{}", e.field.as_deref().unwrap_or("name"))),
                ..e
            };
            refused(&s, &session, typed, &e, "unit_name").await
        }
    }
}

#[derive(Template)]
#[template(path = "unit_delete.html")]
struct UnitDeletePage {
    l: Layout,
    unit: BusinessUnit,
    errors: FieldErrors,
}

/// Renames a business unit, or deletes it once DELETE is typed on the confirmation page (refused
/// while groups or clients still use it, with the counts).
pub async fn change_unit(
    State(s): State<AppState>,
    Path(id): Path<BusinessUnitId>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let version = form.i64("version");
    let deleting = form.get("action") == Some("delete");
    if deleting && form.text("confirm").trim() != "DELETE" {
        // A delete is typed, not clicked: the confirmation first (again, if the word was wrong).
        session.actor.admin()?;
        let unit = s
            .app
            .business_units(&session.actor, None, Some(500))
            .await?
            .items
            .into_iter()
            .find(|u| u.id == id)
            .ok_or_else(|| Error::not_found("business unit"))?;
        let errors = if form.has("confirm") {
            FieldErrors::one("confirm", "Type DELETE in capital letters to delete the business unit.")
        } else {
            FieldErrors::default()
        };
        let status = if errors.any() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        let page = UnitDeletePage {
            l: session.layout("settings"),
            unit,
            errors,
        };
        return Ok(render_status(status, &page));
    }
    let result = if deleting {
        s.app.delete_business_unit(session.actor.admin()?, id, version).await
    } else {
        s.app
            .rename_business_unit(session.actor.admin()?, id, &form.text("name"), version)
            .await
            .map(|_| ())
    };
    match result {
        Ok(()) => Ok(see_other("/settings?done=unit")),
        Err(e) => {
            let e = Error {
                field: Some(format!("unit_{id}")),
                ..e
            };
            refused(&s, &session, Typed::default(), &e, "unit_row").await
        }
    }
}

pub async fn create_staff(State(s): State<AppState>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let typed = Typed {
        staff_email: form.text("email"),
        staff_name: form.text("name"),
        staff_role: form.text("role"),
        ..Typed::default()
    };
    let role = match StaffRole::parse(&typed.staff_role) {
        Ok(r) => r,
        Err(e) => return refused(&s, &session, typed, &with_prefix(e), "staff_role").await,
    };
    let password = Some(form.text("password")).filter(|p| !p.is_empty());
    let new = NewStaff {
        email: typed.staff_email.clone(),
        name: typed.staff_name.clone(),
        role,
        password,
    };
    match s.app.create_staff(session.actor.admin()?, new).await {
        Ok(_) => Ok(see_other("/settings?done=staff")),
        Err(e) => refused(&s, &session, typed, &with_prefix(e), "staff_email").await,
    }
}

/// Staff form fields are prefixed on the page (`staff_email`), so errors must name them so.
fn with_prefix(e: Error) -> Error {
    let field = e.field.as_deref().map(|f| format!("staff_{f}"));
    Error { field, ..e }
}

pub async fn update_staff(
    State(s): State<AppState>,
    Path(id): Path<StaffId>,
    f: SignedForm,
) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let role = match StaffRole::parse(&form.text("role")) {
        Ok(r) => r,
        Err(e) => return refused(&s, &session, Typed::default(), &e, &format!("staff_{id}")).await,
    };
    let patch = StaffPatch {
        name: None,
        role: Some(role),
        active: Some(form.has("active")),
    };
    match s
        .app
        .update_staff(session.actor.admin()?, id, patch, form.i64("version"))
        .await
    {
        Ok(_) => Ok(see_other("/settings?done=staff_updated")),
        Err(e) => {
            let e = Error {
                field: Some("staff_row".into()),
                ..e
            };
            refused(&s, &session, Typed::default(), &e, "staff_row").await
        }
    }
}
