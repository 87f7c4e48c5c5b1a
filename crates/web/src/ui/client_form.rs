//! New client and edit client: one form over the fields `create_client` and `update_client` take.
//! Who may use it is the use cases' decision (admins create; admins, editors and managers of one
//! of the client's groups edit), asked through the app layer. A refused save shows the form again
//! with everything typed and the message next to the field the error names.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use clientele_app::clients::ClientInput;
use clientele_domain::client::{ClientStatus, Relationship};
use clientele_domain::entities::{BusinessUnit, Client};
use clientele_domain::{BusinessUnitId, ClientId, Error};

use super::{FieldErrors, FormData, Layout, Session, SignedForm, UiError, query, render, render_status, see_other};
use crate::AppState;

/// The form's values as text, as stored or as typed.
#[derive(Default, Clone)]
struct Values {
    name: String,
    external_ref: String,
    email: String,
    phone: String,
    status: String,
    relationship: String,
    /// `YYYY-MM-DD` (what a date input sends).
    expires: String,
    /// The stored expiry's date, so an untouched date keeps its exact instant.
    expires_was: String,
    business_unit_id: String,
    notes: String,
}

/// An instant's date, as a date input shows it (UTC, like every instant here).
fn date_of(ms: i64) -> String {
    let d = clientele_domain::from_millis(ms).date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn parse_date(s: &str) -> Option<time::Date> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

impl Values {
    fn of(c: &Client) -> Values {
        let expires = c.relationship_expires_at.map(date_of).unwrap_or_default();
        Values {
            name: c.name.clone(),
            external_ref: c.external_ref.clone().unwrap_or_default(),
            email: c.email.clone().unwrap_or_default(),
            phone: c.phone.clone().unwrap_or_default(),
            status: c.status.as_str().into(),
            relationship: c.relationship.as_str().into(),
            expires_was: expires.clone(),
            expires,
            business_unit_id: c.business_unit_id.map(|u| u.to_string()).unwrap_or_default(),
            notes: c.notes.clone().unwrap_or_default(),
        }
    }

    fn typed(form: &FormData) -> Values {
        Values {
            name: form.text("name"),
            external_ref: form.text("external_ref"),
            email: form.text("email"),
            phone: form.text("phone"),
            status: form.text("status"),
            relationship: form.text("relationship"),
            expires: form.text("relationship_expires_at").trim().to_string(),
            expires_was: form.text("expires_was"),
            business_unit_id: form.text("business_unit_id"),
            notes: form.text("notes"),
        }
    }

    /// The use case's input; a value the form itself cannot read is an error on its field.
    fn input(&self) -> Result<ClientInput, Error> {
        let expires = if self.expires.is_empty() {
            Some(None)
        } else if self.expires == self.expires_was {
            None
        } else {
            let date = parse_date(&self.expires)
                .ok_or_else(|| Error::invalid("relationship_expires_at", "must be a date like 2026-12-31"))?;
            Some(Some(clientele_domain::to_millis(date.midnight().assume_utc())))
        };
        let unit = if self.business_unit_id.is_empty() {
            Some(None)
        } else {
            let id = self
                .business_unit_id
                .parse()
                .map_err(|_| Error::invalid("business_unit_id", "choose one of the business units"))?;
            Some(Some(BusinessUnitId(id)))
        };
        Ok(ClientInput {
            name: Some(self.name.clone()),
            external_ref: Some(self.external_ref.clone()),
            email: Some(self.email.clone()),
            phone: Some(self.phone.clone()),
            status: Some(ClientStatus::parse(&self.status)?),
            relationship: Some(Relationship::parse(&self.relationship)?),
            relationship_expires_at: expires,
            business_unit_id: unit,
            notes: Some(self.notes.clone()),
        })
    }
}

#[derive(Template)]
#[template(path = "client_form.html")]
struct FormPage {
    l: Layout,
    id: Option<ClientId>,
    version: i64,
    v: Values,
    units: Vec<BusinessUnit>,
    errors: FieldErrors,
}

async fn form_page(
    s: &AppState,
    session: &Session,
    id: Option<ClientId>,
    version: i64,
    v: Values,
    errors: FieldErrors,
) -> Result<FormPage, UiError> {
    Ok(FormPage {
        l: session.layout("clients"),
        units: super::groups::units(s, session).await?,
        id,
        version,
        v,
        errors,
    })
}

pub async fn new_page(State(s): State<AppState>, session: Session) -> Result<Response, UiError> {
    session.actor.admin()?;
    let v = Values {
        status: "active".into(),
        relationship: "active".into(),
        ..Values::default()
    };
    let page = form_page(&s, &session, None, 0, v, FieldErrors::default()).await?;
    Ok(render(&page))
}

pub async fn create(State(s): State<AppState>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    // Refused before the input is even read: only admins create clients.
    let admin = session.actor.admin()?;
    let v = Values::typed(&form);
    let result = match v.input() {
        Ok(input) => s.app.create_client(admin, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(c) => Ok(see_other(&format!(
            "/clients/{}?{}",
            c.id,
            query(&[("done", "created")])
        ))),
        Err(e) => {
            let page = form_page(&s, &session, None, 0, v, FieldErrors::from_error(&e, "form")).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

pub async fn edit_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<ClientId>,
) -> Result<Response, UiError> {
    let c = s.app.client(&session.actor, id).await?;
    s.app.may_edit_client(&session.actor, id)?;
    let page = form_page(
        &s,
        &session,
        Some(id),
        c.version,
        Values::of(&c),
        FieldErrors::default(),
    )
    .await?;
    Ok(render(&page))
}

pub async fn update(State(s): State<AppState>, Path(id): Path<ClientId>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let v = Values::typed(&form);
    let version = form.i64("version");
    let result = match v.input() {
        Ok(input) => s.app.update_client(&session.actor, id, input, version).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/clients/{id}?{}", query(&[("done", "saved")])))),
        // Not theirs to see or change: the error page, not a form they cannot use.
        Err(e)
            if matches!(
                crate::error::status_of(e.code),
                StatusCode::NOT_FOUND | StatusCode::FORBIDDEN
            ) =>
        {
            Err(UiError(e))
        }
        Err(e) => {
            let page = form_page(
                &s,
                &session,
                Some(id),
                version.unwrap_or_default(),
                v,
                FieldErrors::from_error(&e, "form"),
            )
            .await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
