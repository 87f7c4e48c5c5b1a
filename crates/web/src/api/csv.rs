//! CSV imports, exports and guides. Uploads are streamed into the import reader (never held whole
//! in memory) and stored as a process request; small ones run before the answer, which then
//! carries every row's outcome.

use std::io::{self, Read};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::Deserialize;

use clientele_app::App;
use clientele_app::bulk::export::ExportQuery;
use clientele_app::bulk::{Format, ImportAnswer};
use clientele_app::process_requests::{Mode, SMALL};
use clientele_domain::{Error, ErrorCode};

use super::{Binary, PROBLEM_JSON};
use crate::error::Problem;
use crate::extract::{Auth, P, Q};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `validate` (a dry run: nothing changes, every row gets the outcome it would have) or `apply`.
    pub mode: Mode,
    /// Memberships only: each group the file names ends with exactly the file's members.
    #[serde(default)]
    pub replace: bool,
}

/// The request body as a blocking `Read` for the CSV reader, fed by a task that pulls the body
/// and stops at the size limit.
struct BodyReader {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl BodyReader {
    fn spawn(mut body: Body, limit: u64, idle: std::time::Duration) -> BodyReader {
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        tokio::spawn(async move {
            let mut seen = 0u64;
            loop {
                let Ok(frame) = tokio::time::timeout(idle, body.frame()).await else {
                    let e = io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the upload stalled: nothing arrived for {} s", idle.as_secs()),
                    );
                    let _ = tx.send(Err(e)).await;
                    return;
                };
                let Some(frame) = frame else { break };
                let data = match frame {
                    Ok(frame) => match frame.into_data() {
                        Ok(data) => data,
                        Err(_) => continue,
                    },
                    Err(e) => {
                        let _ = tx
                            .send(Err(io::Error::other(format!("the upload broke off: {e}"))))
                            .await;
                        return;
                    }
                };
                seen += data.len() as u64;
                if seen > limit {
                    let e = io::Error::new(
                        io::ErrorKind::FileTooLarge,
                        format!("the file is larger than the upload limit of {limit} bytes"),
                    );
                    let _ = tx.send(Err(e)).await;
                    return;
                }
                if tx.send(Ok(data)).await.is_err() {
                    return;
                }
            }
        });
        BodyReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.current.is_empty() {
                let n = self.current.len().min(buf.len());
                buf[..n].copy_from_slice(&self.current[..n]);
                self.current = self.current.slice(n..);
                return Ok(n);
            }
            match self.rx.blocking_recv() {
                Some(Ok(data)) => self.current = data,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
    }
}

fn csv_response(filename: &str, body: Body) -> Response {
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")).expect("ASCII");
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// Uploads a CSV file (the body, `text/csv`) as a process request (admins). Files of at most 1000
/// rows run before the answer (200, with every row's outcome); larger ones answer 202 at once and
/// run in the background (follow them under `/api/v1/process-requests`). A file that cannot be read
/// at all (not UTF-8: the byte offset is named; an unknown column) is refused with 422.
#[utoipa::path(post, path = "/api/v1/csv/{format}/import", tag = "csv", operation_id = "importCsv",
    params(("format" = Format, Path, description = "What one row describes."), ImportQuery),
    request_body(content = inline(Binary), content_type = "text/csv", description = "The CSV file, UTF-8, in the \
        columns of the format's guide."),
    responses(
        (status = 200, description = "Done (at most 1000 rows): the request with every row's outcome.", body = ImportAnswer),
        (status = 202, description = "Queued (more than 1000 rows): follow the process request.", body = ImportAnswer),
        (status = 403, description = "`forbidden`: only admins import.", body = Problem, content_type = PROBLEM_JSON),
        (status = 413, description = "`payload_too_large`: the file is larger than the upload limit.", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "`invalid_input`: the file cannot be read at all (not UTF-8, an unknown column), \
            or a parameter is invalid; `field` names it.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn import(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(format): P<Format>,
    Q(q): Q<ImportQuery>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    actor.admin()?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > s.csv_max_bytes) {
        return Err(Error::new(
            ErrorCode::PayloadTooLarge,
            format!("the file is larger than the upload limit of {} bytes", s.csv_max_bytes),
        )
        .into());
    }
    let reader = BodyReader::spawn(body, s.csv_max_bytes, s.upload_idle_timeout);
    // Received in its own task: when the request times out or the client goes away, the upload
    // still ends (`failed`, with the reason) instead of staying `receiving`.
    let receiving = {
        let (app, actor) = (s.app.clone(), actor.clone());
        tokio::spawn(App::carrying_claim(async move {
            app.receive_import(actor.admin()?, format, q.mode, q.replace, reader)
                .await
        }))
    };
    let received = receiving
        .await
        .map_err(|e| Error::internal("the upload task stopped").caused_by(e))??;
    if received.total <= SMALL {
        s.app.run_now(received.id.0).await?;
    }
    let request = s.app.process_request(&actor, received.id).await?;
    let finished = !request.status.is_active();
    let rows = if finished {
        Some(s.app.report_rows(&actor, request.id, 0, 10 * SMALL).await?)
    } else {
        None
    };
    let summary = s.app.process_request_summary(&actor, &request).await?;
    let status = if finished { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((status, axum::Json(ImportAnswer { request, rows, summary })).into_response())
}

/// Downloads the organisation's clients, groups or memberships as CSV (admins), in the columns
/// the import reads: the file uploads back unchanged. Without filters, everything; with them,
/// what the matching list shows (seed 000's "export your business unit"). Streamed page by page.
#[utoipa::path(get, path = "/api/v1/csv/{format}/export", tag = "csv", operation_id = "exportCsv",
    params(("format" = Format, Path, description = "What one row describes."), ExportQuery),
    responses(
        (status = 200, description = "The CSV file (UTF-8), as an attachment.", body = inline(Binary), content_type = "text/csv"),
        (status = 403, description = "`forbidden`: only admins export.", body = Problem, content_type = PROBLEM_JSON),
        (status = 422, description = "`invalid_input`: a filter that is not understood (names `status` or `kind`), or a filter on the time entries export.", body = Problem, content_type = PROBLEM_JSON),
    ))]
pub async fn export(
    State(s): State<AppState>,
    Auth(actor): Auth,
    P(format): P<Format>,
    Q(q): Q<ExportQuery>,
) -> Result<Response, ApiError> {
    let filter = q.filter(format)?;
    let body = export_body(&s.app, actor, format, filter).await?;
    Ok(csv_response(&format!("{}.csv", format.as_str()), body))
}

/// An export as a streamed body (the API's and the UI's download): the first page is read before
/// the answer starts, so a refusal is still a proper error; a later failure cuts the download.
pub(crate) async fn export_body(
    app: &clientele_app::App,
    actor: clientele_app::Actor,
    format: Format,
    filter: clientele_app::bulk::export::ExportFilter,
) -> Result<Body, clientele_domain::Error> {
    let (first, next) = app.export_filtered_page(actor.admin()?, format, &filter, 0).await?;
    let filter = std::sync::Arc::new(filter);
    let app = app.clone();
    let rest = futures_util::stream::unfold(next, move |after| {
        let (app, actor, filter) = (app.clone(), actor.clone(), filter.clone());
        async move {
            let after = after?;
            let page = match actor.admin() {
                Ok(admin) => app.export_filtered_page(admin, format, &filter, after).await,
                Err(e) => Err(e),
            };
            Some(match page {
                Ok((bytes, next)) => (Ok::<_, io::Error>(Bytes::from(bytes)), next),
                Err(e) => {
                    tracing::warn!(error = %e, "export stopped");
                    (Err(io::Error::other(e.detail)), None)
                }
            })
        }
    });
    let first = futures_util::stream::once(async move { Ok::<_, io::Error>(Bytes::from(first)) });
    Ok(Body::from_stream(futures_util::StreamExt::chain(first, rest)))
}

/// The guide of a format: a CSV file whose `#` lines before the header explain every column and
/// rule, then the header, then one example row per case. It uploads as it is (the `#` lines are
/// skipped), so `mode=validate` shows what its examples would do.
#[utoipa::path(get, path = "/api/v1/csv/{format}/guide", tag = "csv", operation_id = "getCsvGuide",
    params(("format" = Format, Path, description = "What one row describes.")),
    responses((status = 200, description = "The guide, a CSV file (UTF-8), as an attachment.", body = inline(Binary), content_type = "text/csv")))]
pub async fn guide(Auth(_actor): Auth, P(format): P<Format>) -> Response {
    csv_response(
        &format!("{}-guide.csv", format.as_str()),
        Body::from(clientele_app::bulk::guide(format)),
    )
}
