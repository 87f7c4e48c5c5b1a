//! New client and edit client: one form over the fields `create_client` and `update_client` take.
//! Who may use it is the use cases' decision (admins create; admins, editors and managers of one
//! of the client's groups edit), asked through the app layer. A refused save shows the form again
//! with everything typed and the message next to the field the error names.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use clientele_app::clients::ClientInput;
use clientele_app::members::{MemberRef, Outcome};
use clientele_domain::audit::Cause;
use clientele_domain::client::{ClientStatus, Relationship};
use clientele_domain::entities::{BusinessUnit, Client, ClientGroup};
use clientele_domain::group::GroupFilter;
use clientele_domain::group::GroupKind;
use clientele_domain::policy::MembershipMode;
use clientele_domain::{BusinessUnitId, ClientId, Error, GroupId};

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
pub(super) fn date_of(ms: i64) -> String {
    let d = clientele_domain::from_millis(ms).date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

pub(super) fn parse_date(s: &str) -> Option<time::Date> {
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
    /// For admins: the groups of clients it can be in, and those ticked.
    groups: Vec<ClientGroup>,
    picked: Vec<GroupId>,
    errors: FieldErrors,
}

impl FormPage {
    fn is_picked(&self, id: &GroupId) -> bool {
        self.picked.contains(id)
    }
}

async fn form_page(
    s: &AppState,
    session: &Session,
    id: Option<ClientId>,
    version: i64,
    v: Values,
    picked: Vec<GroupId>,
    errors: FieldErrors,
) -> Result<FormPage, UiError> {
    // Admins choose the groups on the form; staff who may edit a client change its groups on
    // the group side, where the manager role is checked for each group.
    let groups = if session.actor.admin().is_ok() {
        client_groups(s, session).await?
    } else {
        Vec::new()
    };
    Ok(FormPage {
        l: session.layout("clients"),
        units: super::groups::units(s, session).await?,
        groups,
        picked,
        id,
        version,
        v,
        errors,
    })
}

/// Groups of clients, the kind a client can be put in.
async fn client_groups(s: &AppState, session: &Session) -> Result<Vec<ClientGroup>, UiError> {
    let filter = GroupFilter {
        kind: Some(GroupKind::Clients),
        ..GroupFilter::default()
    };
    Ok(s.app.groups(&session.actor, &filter, None, Some(500)).await?.items)
}

/// The groups ticked on the form, when it showed them (an untouched form without the section
/// changes no membership).
fn ticked_groups(form: &FormData) -> Option<Vec<GroupId>> {
    if !form.has("groups_shown") {
        return None;
    }
    let mut picked: Vec<GroupId> = form
        .all("groups")
        .iter()
        .filter_map(|g| g.parse().ok())
        .map(GroupId)
        .collect();
    picked.sort_by_key(|g| g.0);
    picked.dedup();
    Some(picked)
}

/// Refuses, before anything is saved, a choice the firm's policy forbids.
async fn check_groups(s: &AppState, session: &Session, picked: &[GroupId]) -> Result<(), Error> {
    let exclusive = s.app.organization(&session.actor).await?.policies.membership_mode == MembershipMode::Exclusive;
    if exclusive && picked.len() > 1 {
        return Err(Error::invalid(
            "groups",
            "choose one group only: in this firm a client is in one group at a time",
        ));
    }
    Ok(())
}

/// Puts a saved client in `add` and takes it out of `remove`. Each group is a change of its own
/// (checked, recorded and audited like one made on the group's page): one refused (a policy, a
/// group deleted meanwhile) leaves the client and the other groups as they are, and is reported.
async fn change_groups(
    s: &AppState,
    session: &Session,
    client: ClientId,
    add: &[GroupId],
    remove: &[GroupId],
    saved: &str,
) -> FieldErrors {
    let mut refusals = FieldErrors::default();
    let me = [MemberRef::Client(client)];
    for (group, adding) in add.iter().map(|g| (g, true)).chain(remove.iter().map(|g| (g, false))) {
        let result = if adding {
            s.app
                .add_members(&session.actor, *group, &me, Cause::Manual, None)
                .await
        } else {
            s.app
                .remove_members(&session.actor, *group, &me, Cause::Manual, None)
                .await
        };
        let refusal = match result {
            Ok(out) => out
                .into_iter()
                .find(|o| o.outcome == Outcome::Rejected)
                .map(|o| o.detail.unwrap_or_default()),
            Err(e) => Some(super::for_people(&e)),
        };
        if let Some(why) = refusal {
            let name = s
                .app
                .group(&session.actor, *group)
                .await
                .map_or_else(|_| format!("group {group}"), |g| g.group.name);
            let what = if adding { "not added to" } else { "not taken out of" };
            refusals
                .0
                .push(("group_id".into(), format!("{saved}, but {what} {name}: {why}")));
        }
    }
    refusals
}

pub async fn new_page(State(s): State<AppState>, session: Session) -> Result<Response, UiError> {
    session.actor.admin()?;
    let v = Values {
        status: "active".into(),
        relationship: "active".into(),
        ..Values::default()
    };
    let page = form_page(&s, &session, None, 0, v, Vec::new(), FieldErrors::default()).await?;
    Ok(render(&page))
}

pub async fn create(State(s): State<AppState>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    // Refused before the input is even read: only admins create clients.
    let admin = session.actor.admin()?;
    let v = Values::typed(&form);
    let picked = ticked_groups(&form).unwrap_or_default();
    let result = match check_groups(&s, &session, &picked).await {
        Ok(()) => match v.input() {
            Ok(input) => s.app.create_client(admin, input).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let c = match result {
        Ok(c) => c,
        Err(e) => {
            let page = form_page(&s, &session, None, 0, v, picked, FieldErrors::from_error(&e, "form")).await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let refusals = change_groups(&s, &session, c.id, &picked, &[], "Created").await;
    if refusals.any() {
        let page =
            super::client_page::profile_page(&s, &session, c.id, String::new(), refusals, "created".into(), None)
                .await?;
        return Ok(render(&page));
    }
    Ok(see_other(&format!(
        "/clients/{}?{}",
        c.id,
        query(&[("done", "created")])
    )))
}

/// The client's groups of clients, as the form's boxes start.
async fn current_groups(s: &AppState, session: &Session, id: ClientId) -> Result<Vec<GroupId>, UiError> {
    Ok(s.app
        .groups_of_client(&session.actor, id)
        .await?
        .into_iter()
        .filter(|g| g.kind == GroupKind::Clients)
        .map(|g| g.id)
        .collect())
}

pub async fn edit_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<ClientId>,
) -> Result<Response, UiError> {
    let c = s.app.client(&session.actor, id).await?;
    s.app.may_edit_client(&session.actor, id)?;
    let picked = current_groups(&s, &session, id).await?;
    let page = form_page(
        &s,
        &session,
        Some(id),
        c.version,
        Values::of(&c),
        picked,
        FieldErrors::default(),
    )
    .await?;
    Ok(render(&page))
}

pub async fn update(State(s): State<AppState>, Path(id): Path<ClientId>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let v = Values::typed(&form);
    let version = form.i64("version");
    // Only an admin's form shows the groups (see `form_page`).
    let ticked = ticked_groups(&form).filter(|_| session.actor.admin().is_ok());
    let checked = match &ticked {
        Some(picked) => check_groups(&s, &session, picked).await,
        None => Ok(()),
    };
    let result = match checked.and_then(|()| v.input()) {
        Ok(input) => s.app.update_client(&session.actor, id, input, version).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => {
            if let Some(picked) = ticked {
                let before = current_groups(&s, &session, id).await?;
                let add: Vec<GroupId> = picked.iter().filter(|g| !before.contains(g)).copied().collect();
                let remove: Vec<GroupId> = before.iter().filter(|g| !picked.contains(g)).copied().collect();
                let refusals = change_groups(&s, &session, id, &add, &remove, "Saved").await;
                if refusals.any() {
                    let page = super::client_page::profile_page(
                        &s,
                        &session,
                        id,
                        String::new(),
                        refusals,
                        "saved".into(),
                        None,
                    )
                    .await?;
                    return Ok(render(&page));
                }
            }
            Ok(see_other(&format!("/clients/{id}?{}", query(&[("done", "saved")]))))
        }
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
                ticked.unwrap_or_default(),
                FieldErrors::from_error(&e, "form"),
            )
            .await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
