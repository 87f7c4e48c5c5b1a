//! Upload / Download Client Groups (seed 000): each CSV format's guide and export, and the upload
//! form. The upload is streamed from the multipart body into the same `receive_import` the API
//! uses (never held whole in memory, under the configured CSV limit); small files run before the
//! answer, and the browser is sent to the process request's page with its row report.

use std::io::{self, Read};

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use clientele_app::bulk::Format;
use clientele_app::process_requests::{Mode, SMALL};
use clientele_domain::{Error, ErrorCode};

use super::process_requests::csv_download;
use super::{FieldErrors, Layout, Session, UiError, constant_time_eq, forbidden_page, render_status, see_other};
use crate::AppState;

/// The formats, as the page lists them.
pub struct FormatRow {
    pub key: &'static str,
    pub label: &'static str,
    pub about: &'static str,
}

const FORMATS: &[FormatRow] = &[
    FormatRow {
        key: "clients",
        label: "Clients",
        about: "One row per client: reference, name, contact details, status, relationship, business unit.",
    },
    FormatRow {
        key: "groups",
        label: "Client groups",
        about: "One row per client group: name, kind, business unit, CRM ID, description.",
    },
    FormatRow {
        key: "memberships",
        label: "Memberships",
        about: "One row per member of a group: the group, and the client (or the nested group) in it.",
    },
    FormatRow {
        key: "time_entries",
        label: "Time entries",
        about: "One row per piece of work: the day, the client, whose time, how long, billable or not, service and note.",
    },
    FormatRow {
        key: "program_accounts",
        label: "Program accounts",
        about: "One row per program account of a client: the client, the account number, its program and status.",
    },
];

#[derive(Template)]
#[template(path = "transfers.html")]
struct TransfersPage {
    l: Layout,
    formats: &'static [FormatRow],
    format: String,
    mode: String,
    replace: bool,
    limit: String,
    errors: FieldErrors,
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    format: String,
    #[serde(default)]
    mode: String,
}

/// "256 MiB": the upload limit for people.
fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

fn page_with(s: &AppState, session: &Session, typed: Typed, errors: FieldErrors) -> TransfersPage {
    TransfersPage {
        l: session.layout("transfers"),
        formats: FORMATS,
        format: if typed.format.is_empty() {
            "memberships".into()
        } else {
            typed.format
        },
        mode: if typed.mode == "apply" {
            "apply".into()
        } else {
            "validate".into()
        },
        replace: typed.replace,
        limit: size(s.csv_max_bytes),
        errors,
    }
}

pub async fn page(
    State(s): State<AppState>,
    session: Session,
    Query(q): Query<PageQuery>,
) -> Result<Response, UiError> {
    session.actor.admin()?;
    let typed = Typed {
        format: q.format,
        mode: q.mode,
        ..Typed::default()
    };
    Ok(render_status(
        StatusCode::OK,
        &page_with(&s, &session, typed, FieldErrors::default()),
    ))
}

fn parse_format(raw: &str) -> Result<Format, UiError> {
    Format::parse(raw).map_err(|_| UiError(Error::not_found("CSV format")))
}

/// The format's guide: the rules as `#` lines, the header and example rows (it uploads as it is).
pub async fn guide(session: Session, Path(format): Path<String>) -> Result<Response, UiError> {
    session.actor.admin()?;
    let format = parse_format(&format)?;
    Ok(csv_download(
        &format!("{}-guide.csv", format.as_str()),
        Body::from(clientele_app::bulk::guide(format)),
    ))
}

/// Every row of the format, in the columns the upload reads, streamed page by page.
pub async fn export(
    State(s): State<AppState>,
    session: Session,
    Path(format): Path<String>,
    axum::extract::Query(q): axum::extract::Query<clientele_app::bulk::export::ExportQuery>,
) -> Result<Response, UiError> {
    let format = parse_format(&format)?;
    // The lists' download icons pass their filters: what is downloaded is what was shown.
    let filter = q.filter(format)?;
    let body = crate::api::export_body(&s.app, session.actor, format, filter).await?;
    Ok(csv_download(&format!("{}.csv", format.as_str()), body))
}

/// The upload form's small fields, as typed.
#[derive(Default)]
struct Typed {
    csrf: String,
    format: String,
    mode: String,
    replace: bool,
}

/// What the pump hands the CSV reader: file bytes, the file's end, or why it stopped.
enum Chunk {
    Data(Bytes),
    End,
    Failed(io::Error),
}

/// The uploaded file as a blocking `Read` for the CSV reader (which runs in a blocking thread).
/// The channel closing without [`Chunk::End`] means the request went away mid-file: that is an
/// error, never the end of a shorter file.
struct FileReader {
    rx: tokio::sync::mpsc::Receiver<Chunk>,
    current: Bytes,
    ended: bool,
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.current.is_empty() {
                let n = self.current.len().min(buf.len());
                buf[..n].copy_from_slice(&self.current[..n]);
                self.current = self.current.slice(n..);
                return Ok(n);
            }
            if self.ended {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Chunk::Data(data)) => self.current = data,
                Some(Chunk::End) => self.ended = true,
                Some(Chunk::Failed(e)) => return Err(e),
                None => return Err(io::Error::other("the upload broke off before the end of the file")),
            }
        }
    }
}

/// Small form fields are a few bytes; anything longer is not from our form.
const MAX_FIELD: usize = 1024;
/// Room for the multipart framing and the small fields around the file.
const FORM_OVERHEAD: u64 = 64 * 1024;

/// `POST /transfers/upload`: the multipart form, read in order. The page puts the file input
/// last, so the token, format and mode are known (and the token checked) before the first byte
/// of the file is read; a file sent before them is refused like a form without a token.
pub async fn upload(State(s): State<AppState>, request: Request) -> Response {
    match receive(&s, request).await {
        Ok(r) | Err(r) => r,
    }
}

async fn receive(s: &AppState, request: Request) -> Result<Response, Response> {
    let (mut parts, body) = request.into_parts();
    let session = Session::from_request_parts(&mut parts, s)
        .await
        .map_err(IntoResponse::into_response)?;
    session.actor.admin().map_err(|e| UiError(e).into_response())?;
    let unreadable = || UiError(Error::invalid("form", "could not be read")).into_response();
    let again = |typed: Typed, field: &str, message: String, status: StatusCode| {
        let page = page_with(s, &session, typed, FieldErrors::one(field, message));
        render_status(status, &page)
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = format!("The file is larger than the upload limit of {}.", size(s.csv_max_bytes));
    let request = Request::from_parts(parts, body);
    let mut multipart = Multipart::from_request(request, s).await.map_err(|_| unreadable())?;
    let mut typed = Typed::default();
    while let Some(mut field) = multipart.next_field().await.map_err(|_| unreadable())? {
        let name = field.name().unwrap_or_default().to_string();
        let Some(file_name) = field.file_name().map(str::to_string) else {
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|_| unreadable())? {
                value.extend_from_slice(&chunk);
                if value.len() > MAX_FIELD {
                    return Err(unreadable());
                }
            }
            let value = String::from_utf8_lossy(&value).into_owned();
            match name.as_str() {
                "csrf" => typed.csrf = value,
                "format" => typed.format = value,
                "mode" => typed.mode = value,
                "membership" => typed.replace = value == "replace",
                _ => {}
            }
            continue;
        };
        if name != "file" {
            continue;
        }
        if !constant_time_eq(&typed.csrf, &session.csrf) {
            return Err(forbidden_page(
                "This form has expired or did not come from this site. Go back, reload the page and try again.",
            ));
        }
        if file_name.is_empty() {
            // A browser sends an empty, nameless file part when none was chosen.
            break;
        }
        let Ok(format) = Format::parse(&typed.format) else {
            return Err(again(
                typed,
                "format",
                "Choose what the file holds.".into(),
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        };
        let Ok(mode) = Mode::parse(&typed.mode) else {
            return Err(again(
                typed,
                "mode",
                "Choose whether to check the file only or to apply it.".into(),
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        };
        if declared.is_some_and(|n| n > s.csv_max_bytes + FORM_OVERHEAD) {
            return Err(again(typed, "file", too_large, StatusCode::PAYLOAD_TOO_LARGE));
        }

        // Pump the file into the reader while the import stores its rows. The import runs in its
        // own task, so a request that times out or goes away still ends it (`failed`, with the
        // reason) instead of leaving it `receiving`.
        let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(8);
        let reader = FileReader {
            rx,
            current: Bytes::new(),
            ended: false,
        };
        let receiving = {
            let (app, actor, replace) = (s.app.clone(), session.actor.clone(), typed.replace);
            tokio::spawn(async move { app.receive_import(actor.admin()?, format, mode, replace, reader).await })
        };
        let mut seen = 0u64;
        loop {
            let Ok(next) = tokio::time::timeout(s.upload_idle_timeout, field.chunk()).await else {
                let stalled = format!(
                    "the upload stalled: nothing arrived for {} s",
                    s.upload_idle_timeout.as_secs()
                );
                let _ = tx
                    .send(Chunk::Failed(io::Error::new(io::ErrorKind::TimedOut, stalled)))
                    .await;
                break;
            };
            let chunk = match next {
                Ok(Some(data)) => {
                    seen += data.len() as u64;
                    if seen > s.csv_max_bytes {
                        Chunk::Failed(io::Error::new(io::ErrorKind::FileTooLarge, too_large.clone()))
                    } else {
                        Chunk::Data(data)
                    }
                }
                Ok(None) => Chunk::End,
                Err(e) => Chunk::Failed(io::Error::other(format!("the upload broke off: {e}"))),
            };
            let last = !matches!(chunk, Chunk::Data(_));
            // A send fails when the reader already stopped (a bad file): its error says why.
            if tx.send(chunk).await.is_err() || last {
                break;
            }
        }
        drop(tx);
        let received = receiving
            .await
            .map_err(|e| UiError(Error::internal("the upload task stopped").caused_by(e)).into_response())?;
        return match received {
            Ok(request) => {
                if request.total <= SMALL
                    && let Err(e) = s.app.run_now(request.id.0).await
                {
                    return Err(UiError(e).into_response());
                }
                Ok(see_other(&format!("/process-requests/{}", request.id)))
            }
            Err(e) if e.code == ErrorCode::Internal => Err(UiError(e).into_response()),
            Err(e) => {
                let field = match e.field.as_deref() {
                    Some("replace") => "replace",
                    _ => "file",
                };
                let status = crate::error::status_of(e.code);
                let message = if e.code == ErrorCode::PayloadTooLarge {
                    too_large
                } else {
                    upload_message(&e)
                };
                Err(again(typed, field, message, status))
            }
        };
    }
    if !constant_time_eq(&typed.csrf, &session.csrf) {
        return Err(forbidden_page(
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        ));
    }
    Err(again(
        typed,
        "file",
        "Choose a CSV file to upload.".into(),
        StatusCode::UNPROCESSABLE_ENTITY,
    ))
}

/// "The file is not UTF-8 ...": the reader's message about the file, as a sentence.
fn upload_message(e: &Error) -> String {
    match e.field.as_deref() {
        Some("file") => format!("The file {}.", e.detail.trim_end_matches('.')),
        Some(field) if field != "replace" => format!("{field}: {}", e.detail),
        _ => e.detail.clone(),
    }
}
