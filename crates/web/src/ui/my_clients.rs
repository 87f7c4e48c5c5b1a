//! "My group clients" (seed 003): the clients of every group the signed-in staff member is
//! assigned to, through any nesting; admins see every client. Filtered by access before paging,
//! with the exact total.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use clientele_domain::client::ClientStatus;
use clientele_domain::entities::Client;

use super::{Layout, Session, UiError, query, render};
use crate::AppState;

#[derive(Template)]
#[template(path = "my_clients.html")]
struct Page {
    l: Layout,
    clients: Vec<Client>,
    total: u64,
    q: String,
    include_inactive: bool,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    include_inactive: Option<String>,
    cursor: Option<String>,
}

pub async fn list(
    State(s): State<AppState>,
    session: Session,
    Query(q): Query<ListQuery>,
) -> Result<Response, UiError> {
    let include_inactive = q.include_inactive.is_some();
    let filter = clientele_access::ClientFilter {
        also: Vec::new(),
        text: Some(q.q.trim().to_lowercase()).filter(|t| !t.is_empty()),
        statuses: if include_inactive {
            vec![]
        } else {
            vec![ClientStatus::Active]
        },
        ..Default::default()
    };
    let page = s
        .app
        .my_clients(&session.actor, &filter, q.cursor.as_deref(), Some(50))
        .await?;
    let inactive = if include_inactive { "1" } else { "" };
    let next = page
        .next_cursor
        .map(|c| query(&[("q", &q.q), ("include_inactive", inactive), ("cursor", &c)]));
    Ok(render(&Page {
        l: session.layout("my-clients"),
        clients: page.items,
        total: page.total,
        q: q.q,
        include_inactive,
        next,
    }))
}
