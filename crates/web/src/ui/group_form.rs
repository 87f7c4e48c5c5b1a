//! New and edit client group (seed 000): a Settings tab (name, kind, members picker with search
//! and "x", CRM ID, business unit, description) and a Branding tab (light and dark PNG logos with a
//! preview). The picker works without JavaScript: searching, adding and "x" re-render the form with
//! everything typed so far, pending members and already-checked logos kept in the form. Saving
//! member changes to an existing group asks for a typed CONFIRM (seed 004).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use clientele_app::groups::{GroupPatch, NewGroup};
use clientele_app::members::{MemberRef, Outcome};
use clientele_domain::audit::Cause;
use clientele_domain::client::ClientFilter;
use clientele_domain::client::ClientStatus;
use clientele_domain::entities::{BusinessUnit, GroupDetail, Member};
use clientele_domain::group::GroupFilter;
use clientele_domain::group::GroupKind;
use clientele_domain::logo::{Logo, LogoVariant};
use clientele_domain::names::{Name, optional_reference, optional_text};
use clientele_domain::policy::MembershipMode;
use clientele_domain::{BusinessUnitId, Error, GroupId};

use super::group_page::{ResultRow, ResultsPage, describe_outcomes};
use super::groups::units;
use super::{
    FieldErrors, FormData, Layout, Session, SignedForm, UiError, member_key, parse_member, render, render_status,
    see_other, typed,
};
use crate::AppState;

/// One member shown in the picker, with its "x".
pub struct Chip {
    pub key: String,
    pub name: String,
    pub pending: bool,
    /// An existing member the pending changes take out; its button undoes that.
    pub removing: bool,
}

/// A search result in the picker.
pub struct Candidate {
    pub key: String,
    pub name: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "group_form.html")]
struct FormPage {
    l: Layout,
    /// The group being edited; `None` for a new one.
    id: Option<GroupId>,
    title: String,
    version: i64,
    name: String,
    kind: String,
    unit: String,
    crm_id: String,
    description: String,
    protected: bool,
    units: Vec<BusinessUnit>,
    clients: Vec<Chip>,
    groups: Vec<Chip>,
    /// Members of the group not shown in the picker (more than one page).
    more_members: i64,
    client_q: String,
    group_q: String,
    include_inactive: bool,
    client_results: Option<Vec<Candidate>>,
    group_results: Option<Vec<Candidate>>,
    add: Vec<String>,
    remove: Vec<String>,
    /// "3 clients added, 1 removed": shown before CONFIRM is typed.
    pending: String,
    logo_light: String,
    logo_dark: String,
    has_light: bool,
    has_dark: bool,
    drop_light: bool,
    drop_dark: bool,
    tab: &'static str,
    errors: FieldErrors,
}

/// What the form holds between round trips.
#[derive(Default)]
struct State_ {
    name: String,
    kind: String,
    unit: String,
    crm_id: String,
    description: String,
    protected: bool,
    version: i64,
    add: Vec<MemberRef>,
    remove: Vec<MemberRef>,
    client_q: String,
    group_q: String,
    include_inactive: bool,
    logo_light: Option<Vec<u8>>,
    logo_dark: Option<Vec<u8>>,
    /// "Remove the logo" ticked on the Branding tab of an existing group.
    drop_light: bool,
    drop_dark: bool,
}

impl State_ {
    fn from_group(g: &GroupDetail) -> State_ {
        State_ {
            name: g.group.name.clone(),
            kind: g.group.kind.as_str().into(),
            unit: g.group.business_unit_id.to_string(),
            crm_id: g.group.crm_id.clone().unwrap_or_default(),
            description: g.group.description.clone().unwrap_or_default(),
            protected: g.group.protected,
            version: g.group.version,
            ..State_::default()
        }
    }

    /// Reads the form; logos are checked here so a bad one is reported next to its field.
    fn from_form(f: &FormData, errors: &mut FieldErrors) -> State_ {
        let members = |name: &str| -> Vec<MemberRef> { f.all(name).into_iter().filter_map(parse_member).collect() };
        let mut logo = |variant: LogoVariant| -> Option<Vec<u8>> {
            let field = format!("logo_{}", variant.as_str());
            let bytes = match f.files.get(&field) {
                Some(b) => b.clone(),
                None => B64.decode(f.get(&format!("{field}_data")).unwrap_or_default()).ok()?,
            };
            if bytes.is_empty() {
                return None;
            }
            match Logo::parse(&field, bytes) {
                Ok(l) => Some(l.png),
                Err(e) => {
                    errors.0.push((field, e.detail));
                    None
                }
            }
        };
        let logo_light = logo(LogoVariant::Light);
        let logo_dark = logo(LogoVariant::Dark);
        State_ {
            name: f.text("name"),
            kind: f.text("kind"),
            unit: f.text("business_unit_id"),
            crm_id: f.text("crm_id"),
            description: f.text("description"),
            protected: f.has("protected"),
            version: f.i64("version").unwrap_or(0),
            add: members("add"),
            remove: members("remove"),
            client_q: f.text("client_q"),
            group_q: f.text("group_q"),
            include_inactive: f.has("include_inactive"),
            logo_light,
            logo_dark,
            drop_light: f.has("remove_logo_light"),
            drop_dark: f.has("remove_logo_dark"),
        }
    }

    /// Applies an "Add" or an "x" to the pending member changes.
    fn pick(&mut self, m: MemberRef) {
        if let Some(i) = self.remove.iter().position(|r| *r == m) {
            self.remove.remove(i);
        } else if !self.add.contains(&m) {
            self.add.push(m);
        }
    }
    fn drop(&mut self, m: MemberRef) {
        if let Some(i) = self.add.iter().position(|a| *a == m) {
            self.add.remove(i);
        } else if !self.remove.contains(&m) {
            self.remove.push(m);
        }
    }
}

pub async fn new_page(State(s): State<AppState>, session: Session) -> Result<Response, UiError> {
    session.actor.admin()?;
    let st = State_ {
        kind: "clients".into(),
        ..State_::default()
    };
    show(&s, &session, None, st, None, FieldErrors::default(), StatusCode::OK).await
}

pub async fn edit_page(
    State(s): State<AppState>,
    session: Session,
    Path(id): Path<GroupId>,
) -> Result<Response, UiError> {
    session.actor.admin()?;
    let g = s.app.group(&session.actor, id).await?;
    let st = State_::from_group(&g);
    show(&s, &session, Some(&g), st, None, FieldErrors::default(), StatusCode::OK).await
}

pub async fn create(State(s): State<AppState>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let mut errors = FieldErrors::default();
    let mut st = State_::from_form(&form, &mut errors);
    let action = form.text("action");
    if action != "save" || errors.any() {
        let search = step(&mut st, &form, &action);
        let status = status_for(&errors);
        return show(&s, &session, None, st, search, errors, status).await;
    }
    let errors = field_errors(&st, true);
    if errors.any() {
        return show(&s, &session, None, st, None, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let kind = GroupKind::parse(&st.kind)?;
    let unit = BusinessUnitId(st.unit.parse().unwrap_or_default());
    let new = NewGroup {
        name: st.name.clone(),
        kind,
        business_unit_id: unit,
        description: Some(st.description.clone()),
        crm_id: Some(st.crm_id.clone()),
        protected: st.protected,
        members: st.add.clone(),
    };
    let created = match s.app.create_group(session.actor.admin()?, new).await {
        Ok(g) => g,
        Err(e) => {
            let errors = FieldErrors::from_error(&e, "form");
            return show(&s, &session, None, st, None, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    save_logos(&s, &session, created.group.id, &st).await?;
    Ok(see_other(&format!("/groups/{}?created=1", created.group.id)))
}

pub async fn update(State(s): State<AppState>, Path(id): Path<GroupId>, f: SignedForm) -> Result<Response, UiError> {
    let SignedForm { session, form } = f;
    let g = s.app.group(&session.actor, id).await?;
    let mut errors = FieldErrors::default();
    let mut st = State_::from_form(&form, &mut errors);
    st.kind = g.group.kind.as_str().into();
    let action = form.text("action");
    if action != "save" || errors.any() {
        let search = step(&mut st, &form, &action);
        let status = status_for(&errors);
        return show(&s, &session, Some(&g), st, search, errors, status).await;
    }
    let member_changes = !st.add.is_empty() || !st.remove.is_empty();
    if member_changes && !typed(&form, "CONFIRM") {
        let e = FieldErrors::one("confirm", "Type CONFIRM, in capitals, to save these member changes.");
        return show(&s, &session, Some(&g), st, None, e, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let errors = field_errors(&st, false);
    if errors.any() {
        return show(
            &s,
            &session,
            Some(&g),
            st,
            None,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let unit = BusinessUnitId(st.unit.parse().unwrap_or_default());
    let patch = GroupPatch {
        name: Some(st.name.clone()),
        business_unit_id: Some(unit),
        description: Some(st.description.clone()),
        crm_id: Some(st.crm_id.clone()),
        protected: Some(st.protected),
    };
    if let Err(e) = s
        .app
        .update_group(session.actor.admin()?, id, patch, Some(st.version))
        .await
    {
        let errors = FieldErrors::from_error(&e, "form");
        return show(
            &s,
            &session,
            Some(&g),
            st,
            None,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    save_logos(&s, &session, id, &st).await?;
    let mut rows: Vec<ResultRow> = Vec::new();
    if !st.add.is_empty() {
        let out = s
            .app
            .add_members(&session.actor, id, &st.add, Cause::Manual, None)
            .await?;
        rows.extend(describe_outcomes(&s, &session, &out).await?);
    }
    if !st.remove.is_empty() {
        let out = s
            .app
            .remove_members(&session.actor, id, &st.remove, Cause::Manual, None)
            .await?;
        rows.extend(describe_outcomes(&s, &session, &out).await?);
    }
    if rows.iter().all(|r| r.outcome != Outcome::Rejected) {
        return Ok(see_other(&format!("/groups/{id}?saved=1")));
    }
    let fresh = s.app.group(&session.actor, id).await?;
    Ok(render(&ResultsPage::new(
        session.layout("groups"),
        fresh,
        rows,
        "/groups".into(),
    )))
}

/// Every field's problem at once, by the same rules the use case applies (it checks them again),
/// so one submit shows all that needs fixing.
fn field_errors(st: &State_, new: bool) -> FieldErrors {
    let mut errors = FieldErrors::default();
    if let Err(e) = Name::parse("name", &st.name) {
        errors.push(&e, "name");
    }
    if new && GroupKind::parse(&st.kind).is_err() {
        errors.0.push((
            "kind".into(),
            "Choose what the group holds: clients or client groups".into(),
        ));
    }
    if st.unit.parse::<i64>().is_err() {
        errors
            .0
            .push(("business_unit_id".into(), "Choose a business unit".into()));
    }
    if let Err(e) = optional_reference("crm_id", Some(&st.crm_id)) {
        errors.push(&e, "crm_id");
    }
    if let Err(e) = optional_text("description", Some(&st.description), 2000) {
        errors.push(&e, "description");
    }
    errors
}

fn status_for(errors: &FieldErrors) -> StatusCode {
    if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

/// Applies a picker button ("Add", "x"); returns which search to run when re-rendering.
fn step(st: &mut State_, form: &FormData, action: &str) -> Option<GroupKind> {
    if let Some(key) = action.strip_prefix("drop:") {
        if let Some(m) = parse_member(key) {
            st.drop(m);
        }
        return None;
    }
    if let Some(key) = action.strip_prefix("undo:") {
        if let Some(m) = parse_member(key) {
            st.pick(m);
        }
        return None;
    }
    match action {
        "add_clients" | "add_groups" => {
            for m in form.all("pick").into_iter().filter_map(parse_member) {
                st.pick(m);
            }
            Some(if action == "add_clients" {
                GroupKind::Clients
            } else {
                GroupKind::Groups
            })
        }
        "search_groups" => Some(GroupKind::Groups),
        "search_clients" => Some(GroupKind::Clients),
        _ => None,
    }
}

async fn save_logos(s: &AppState, session: &Session, id: GroupId, st: &State_) -> Result<(), UiError> {
    for (variant, png, remove) in [
        (LogoVariant::Light, &st.logo_light, st.drop_light),
        (LogoVariant::Dark, &st.logo_dark, st.drop_dark),
    ] {
        if let Some(png) = png {
            s.app.put_logo(session.actor.admin()?, id, variant, png.clone()).await?;
        } else if remove {
            s.app.delete_logo(session.actor.admin()?, id, variant).await?;
        }
    }
    Ok(())
}

/// Renders the form for the state, running the search the last button asked for.
async fn show(
    s: &AppState,
    session: &Session,
    group: Option<&GroupDetail>,
    st: State_,
    search: Option<GroupKind>,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, UiError> {
    let actor = &session.actor;
    let units = units(s, session).await?;
    let mut st = st;
    if st.unit.is_empty()
        && let [only] = units.as_slice()
    {
        st.unit = only.id.to_string();
    }
    let mut clients = Vec::new();
    let mut groups = Vec::new();
    let mut more_members = 0;
    if let Some(g) = group {
        let page = s.app.group_members(actor, g.group.id, None, Some(100)).await?;
        more_members = (g.group.member_count - page.items.len() as i64).max(0);
        for m in page.items {
            let (key, name) = match m {
                Member::Client { id, name, .. } => (MemberRef::Client(id), name),
                Member::Group { id, name, .. } => (MemberRef::Group(id), name),
            };
            let chip = Chip {
                key: member_key(key),
                name,
                pending: false,
                removing: st.remove.contains(&key),
            };
            match key {
                MemberRef::Client(_) => clients.push(chip),
                MemberRef::Group(_) => groups.push(chip),
            }
        }
    }
    for &m in &st.add {
        match m {
            MemberRef::Client(id) => {
                let c = s.app.client(actor, id).await?;
                clients.push(Chip {
                    key: member_key(m),
                    name: c.name,
                    pending: true,
                    removing: false,
                });
            }
            MemberRef::Group(id) => {
                let g = s.app.group(actor, id).await?;
                groups.push(Chip {
                    key: member_key(m),
                    name: g.group.name,
                    pending: true,
                    removing: false,
                });
            }
        }
    }
    let client_results = if search == Some(GroupKind::Clients) {
        // Only clients that could join: not in this group already, and under exclusive
        // membership in no group at all.
        let exclusive = s.app.organization(actor).await?.policies.membership_mode == MembershipMode::Exclusive;
        let filter = ClientFilter {
            text: Some(st.client_q.trim().to_string()).filter(|t| !t.is_empty()),
            statuses: if st.include_inactive {
                vec![]
            } else {
                vec![ClientStatus::Active]
            },
            addable_to: group.map(|g| g.group.id),
            available: group.is_none() && exclusive,
            ..ClientFilter::default()
        };
        let page = s.app.clients(actor, &filter, None, Some(25)).await?;
        Some(
            page.items
                .into_iter()
                .map(|c| Candidate {
                    key: member_key(MemberRef::Client(c.id)),
                    detail: [c.external_ref.unwrap_or_default(), c.status.as_str().to_string()]
                        .into_iter()
                        .filter(|t| !t.is_empty())
                        .collect::<Vec<_>>()
                        .join(" · "),
                    name: c.name,
                })
                .collect(),
        )
    } else {
        None
    };
    let group_results = if search == Some(GroupKind::Groups) {
        let filter = GroupFilter {
            text: Some(st.group_q.trim().to_string()).filter(|t| !t.is_empty()),
            ..GroupFilter::default()
        };
        let page = s.app.groups(actor, &filter, None, Some(25)).await?;
        Some(
            page.items
                .into_iter()
                .filter(|g| Some(g.id) != group.map(|x| x.group.id))
                .map(|g| Candidate {
                    key: member_key(MemberRef::Group(g.id)),
                    detail: format!("{} · {} members", super::groups::kind_label(g.kind), g.member_count),
                    name: g.name,
                })
                .collect(),
        )
    } else {
        None
    };
    let pending = pending_summary(&st);
    let tab = if errors.0.iter().any(|(f, _)| f.starts_with("logo_")) {
        "branding"
    } else {
        "settings"
    };
    let page = FormPage {
        l: session.layout("groups"),
        id: group.map(|g| g.group.id),
        title: match group {
            Some(g) => format!("Edit “{}”", g.group.name),
            None => "New Client Group".to_string(),
        },
        version: st.version,
        name: st.name,
        kind: st.kind,
        unit: st.unit,
        crm_id: st.crm_id,
        description: st.description,
        protected: st.protected,
        units,
        clients,
        groups,
        more_members,
        client_q: st.client_q,
        group_q: st.group_q,
        include_inactive: st.include_inactive,
        client_results,
        group_results,
        add: st.add.iter().map(|m| member_key(*m)).collect(),
        remove: st.remove.iter().map(|m| member_key(*m)).collect(),
        pending,
        logo_light: st.logo_light.as_ref().map(|b| B64.encode(b)).unwrap_or_default(),
        logo_dark: st.logo_dark.as_ref().map(|b| B64.encode(b)).unwrap_or_default(),
        has_light: group.is_some_and(|g| g.group.has_light_logo),
        has_dark: group.is_some_and(|g| g.group.has_dark_logo),
        drop_light: st.drop_light,
        drop_dark: st.drop_dark,
        tab,
        errors,
    };
    Ok(render_status(status, &page))
}

fn pending_summary(st: &State_) -> String {
    let count = |v: &[MemberRef], clients: bool| {
        v.iter()
            .filter(|m| matches!(m, MemberRef::Client(_)) == clients)
            .count()
    };
    let mut parts = Vec::new();
    for (list, verb) in [(&st.add, "added"), (&st.remove, "removed")] {
        let c = count(list, true);
        let g = count(list, false);
        if c > 0 {
            parts.push(format!("{c} client{} {verb}", if c == 1 { "" } else { "s" }));
        }
        if g > 0 {
            parts.push(format!("{g} group{} {verb}", if g == 1 { "" } else { "s" }));
        }
    }
    if parts.is_empty() {
        return String::new();
    }
    let touched = count(&st.add, true) + count(&st.remove, true);
    format!(
        "Pending member changes: {}. This touches {touched} client{}.",
        parts.join(", "),
        if touched == 1 { "" } else { "s" }
    )
}

/// A group's logo, for the Branding tab's preview and the group page.
pub async fn logo(
    State(s): State<AppState>,
    session: Session,
    Path((id, variant)): Path<(GroupId, String)>,
) -> Result<Response, UiError> {
    let variant = LogoVariant::parse(&variant).map_err(|_| Error::not_found("logo"))?;
    let (png, _) = s.app.logo(&session.actor, id, variant).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, no-cache"),
        ],
        png,
    )
        .into_response())
}
