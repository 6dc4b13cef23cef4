//! A Judge0 CE 1.13-compatible API under `/judge0`, so that the official SDKs
//! (`judge0.Client("http://host/judge0")`) and apps written for a self-hosted Judge0 work
//! unchanged. Submissions live in the shared submissions table like `/api/v1/submissions`
//! (their token is the row's id) and run through the one run path (`crate::runner`):
//! `wait=false` ones through the shared queue, `wait=true` ones on the node that was asked.
//! Differences are listed in the README.

pub mod callback;
pub mod files;
pub mod model;

use crate::cluster::queue;
use crate::error::ApiError;
use crate::extract::{LenientJson, Metered};
use crate::state::SharedState;
use crate::submissions::{Status as RowStatus, SubmissionRow};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use model::{Accepted, Outcome, Status, View};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

/// An error in Judge0's shapes: `{"error": "..."}`, or attribute → messages (422).
#[derive(Debug)]
pub enum Judge0Error {
    Message {
        status: StatusCode,
        message: String,
        retry_after_s: Option<u64>,
    },
    Invalid(model::Invalid),
}

impl Judge0Error {
    fn new(status: StatusCode, message: impl Into<String>) -> Judge0Error {
        Judge0Error::Message {
            status,
            message: message.into(),
            retry_after_s: None,
        }
    }
}

impl From<ApiError> for Judge0Error {
    fn from(e: ApiError) -> Self {
        Judge0Error::Message {
            status: e.status,
            message: e.message,
            retry_after_s: e.retry_after_s,
        }
    }
}

impl From<crate::snippets::StoreError> for Judge0Error {
    fn from(e: crate::snippets::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for Judge0Error {
    fn into_response(self) -> Response {
        match self {
            Judge0Error::Invalid(errors) => {
                (StatusCode::UNPROCESSABLE_ENTITY, Json(errors)).into_response()
            }
            Judge0Error::Message {
                status,
                message,
                retry_after_s,
            } => {
                let mut resp = (status, Json(json!({ "error": message }))).into_response();
                if let Some(v) = retry_after_s.and_then(|s| s.to_string().parse().ok()) {
                    resp.headers_mut()
                        .insert(axum::http::header::RETRY_AFTER, v);
                }
                resp
            }
        }
    }
}

type Reply<T> = Result<T, Judge0Error>;

/// `GET /judge0/languages`: `[{id, name}]`.
pub async fn languages(State(state): State<SharedState>) -> Json<Vec<Value>> {
    let catalog = state.engine.catalog();
    Json(
        model::languages(catalog)
            .iter()
            .map(|l| json!({ "id": l.id, "name": l.name }))
            .collect(),
    )
}

/// `GET /judge0/languages/all`: `[{id, name, is_archived}]`.
pub async fn languages_all(State(state): State<SharedState>) -> Json<Vec<Value>> {
    let catalog = state.engine.catalog();
    Json(
        model::languages(catalog)
            .iter()
            .map(|l| json!({ "id": l.id, "name": l.name, "is_archived": false }))
            .collect(),
    )
}

/// `GET /judge0/languages/{id}`: the full record.
pub async fn language(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Reply<Json<Value>> {
    let catalog = state.engine.catalog();
    id.parse()
        .ok()
        .and_then(|id| model::language(catalog, id))
        .map(|l| Json(model::language_detail(&l)))
        .ok_or_else(|| {
            Judge0Error::new(
                StatusCode::NOT_FOUND,
                format!("language with id {id} doesn't exist"),
            )
        })
}

/// `GET /judge0/statuses`.
pub async fn statuses() -> Json<Vec<Value>> {
    Json(Status::ALL.iter().map(|s| s.to_json()).collect())
}

/// `GET /judge0/about`.
pub async fn about() -> Json<Value> {
    Json(json!({
        "version": model::VERSION,
        "homepage": null,
        "source_code": null,
        "maintainer": "warmrun (Judge0-compatible API)",
    }))
}

/// `GET /judge0/version`: plain text, as Judge0 answers it.
pub async fn version() -> &'static str {
    model::VERSION
}

/// `GET /judge0/config_info`: Judge0's configuration keys, with this server's values.
pub async fn config_info(State(state): State<SharedState>) -> Json<Value> {
    let max = &state.engine.config().max_limits;
    let catalog = state.engine.catalog();
    // Defaults are per language here; Judge0 has one: the largest is shown.
    let default = |f: fn(&pool::Limits) -> u64| {
        catalog
            .languages
            .iter()
            .map(|l| f(&l.limits))
            .max()
            .unwrap_or(0)
    };
    let secs = |ms: u64| ms as f64 / 1000.0;
    Json(json!({
        "maintenance_mode": false,
        "enable_wait_result": true,
        "enable_compiler_options": true,
        "allowed_languages_for_compile_options": [],
        "enable_command_line_arguments": true,
        "enable_submission_delete": true,
        "enable_callbacks": !state.config.judge0_callback_hosts.is_empty(),
        "callbacks_max_tries": callback::TRIES,
        "callbacks_timeout": callback::TIMEOUT.as_secs_f64(),
        "enable_additional_files": true,
        "max_queue_size": state.config.max_submissions,
        "cpu_time_limit": secs(default(|l| l.cpu_ms).min(max.cpu_ms)),
        "max_cpu_time_limit": secs(max.cpu_ms),
        "cpu_extra_time": 0.0,
        "max_cpu_extra_time": 0.0,
        "wall_time_limit": secs(default(|l| l.wall_ms).min(max.wall_ms)),
        "max_wall_time_limit": secs(max.wall_ms),
        "memory_limit": default(|l| l.memory_mb).min(max.memory_mb) * 1024,
        "max_memory_limit": max.memory_mb * 1024,
        "stack_limit": 0,
        "max_stack_limit": 0,
        "max_processes_and_or_threads": 0,
        "max_max_processes_and_or_threads": 0,
        "enable_per_process_and_thread_time_limit": false,
        "allow_enable_per_process_and_thread_time_limit": false,
        "enable_per_process_and_thread_memory_limit": false,
        "allow_enable_per_process_and_thread_memory_limit": false,
        "max_file_size": default(|l| l.output_kb).min(max.output_kb),
        "max_max_file_size": max.output_kb,
        "number_of_runs": 1,
        "max_number_of_runs": model::MAX_NUMBER_OF_RUNS,
        "redirect_stderr_to_stdout": false,
        "max_extract_size": files::MAX_UNPACKED_BYTES / 1024,
        "enable_batched_submissions": true,
        "max_submission_batch_size": state.config.judge0_max_batch,
        "submission_cache_duration": 0.0,
        "use_docs_as_homepage": false,
        "allow_enable_network": false,
        "enable_network": false,
    }))
}

/// `GET /judge0/workers`: the shared queue as Judge0's one queue.
pub async fn workers(State(state): State<SharedState>) -> Reply<Json<Value>> {
    let (queued, running) = state.submissions.queued_and_running().await?;
    let available = state.config.submission_workers();
    Ok(Json(json!([{
        "queue": model::VERSION,
        "size": queued,
        "available": available,
        "idle": (available as i64 - running).max(0),
        "working": running,
        "paused": 0,
        "failed": 0,
    }])))
}

/// A boolean query parameter (`wait`, `base64_encoded`): Judge0 1.13 takes only `true`.
fn flag(query: &HashMap<String, String>, name: &str) -> bool {
    query.get(name).map(String::as_str) == Some("true")
}

/// The `fields` query parameter, or 400 naming the unknown ones.
fn fields(query: &HashMap<String, String>) -> Reply<Vec<&'static str>> {
    model::requested_fields(query.get("fields").map(String::as_str)).map_err(|bad| {
        Judge0Error::new(
            StatusCode::BAD_REQUEST,
            format!("invalid fields: [{}]", bad.join(", ")),
        )
    })
}

fn object(body: Value) -> Reply<Map<String, Value>> {
    match body {
        Value::Object(m) => Ok(m),
        _ => Err(Judge0Error::new(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object",
        )),
    }
}

/// Refuses new submissions while `adding` more would pass the store's bound.
async fn check_room(state: &SharedState, adding: usize) -> Reply<()> {
    let stored = state.submissions.count().await?;
    if stored.saturating_add(adding as i64) > state.config.max_submissions as i64 {
        return Err(Judge0Error::Message {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "queue is full".into(),
            retry_after_s: Some(5),
        });
    }
    Ok(())
}

/// Judge0's checks, then ours: the language must be served here.
fn accept(state: &SharedState, body: &Map<String, Value>, base64: bool) -> Reply<Accepted> {
    let engine = &state.engine;
    model::accept(
        body,
        base64,
        engine.catalog(),
        &engine.config().max_limits,
        &state.config.judge0_callback_hosts,
    )
    .map_err(Judge0Error::Invalid)
}

/// `POST /judge0/submissions`: `{token}` at once (201), or with `wait=true` the finished
/// submission.
pub async fn create(
    State(state): State<SharedState>,
    client: Result<Metered, ApiError>,
    Query(query): Query<HashMap<String, String>>,
    body: Result<LenientJson<Value>, ApiError>,
) -> Reply<(StatusCode, Json<Value>)> {
    client?;
    let wait = flag(&query, "wait");
    let base64 = flag(&query, "base64_encoded");
    let fields = fields(&query)?;
    let LenientJson(body) = body?;
    let sub = accept(&state, &object(body)?, base64)?;
    check_room(&state, 1).await?;
    if !wait {
        let token = state.submissions.insert(&sub.stored()).await?;
        state.queue.wake.notify_one();
        return Ok((StatusCode::CREATED, Json(json!({ "token": token }))));
    }
    // Run here and now, as a row this node has claimed: it is stored like any other, and
    // if this node dies meanwhile the cluster marks it lost.
    let claimed = state
        .submissions
        .insert_claimed(&sub.stored(), &state.node)
        .await?;
    let token = claimed.id;
    // In a task of its own, so that a client that hangs up does not leave the row running
    // forever; `serve` waits for the tracker's tasks when the node drains.
    let bg = state.clone();
    let run = state
        .queue
        .tracker
        .spawn(async move { queue::run_claimed(&bg, claimed).await });
    run.await.map_err(|e| {
        Judge0Error::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the run's task failed: {e}"),
        )
    })?;
    let view = load(&state, token).await?.ok_or_else(|| {
        Judge0Error::new(StatusCode::INTERNAL_SERVER_ERROR, "the submission vanished")
    })?;
    Ok((StatusCode::CREATED, Json(view.render(&fields, base64))))
}

/// `GET /judge0/submissions/{token}`.
pub async fn get(
    State(state): State<SharedState>,
    Path(token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Reply<Json<Value>> {
    let fields = fields(&query)?;
    let view = find(&state, &token).await?;
    Ok(Json(view.render(&fields, flag(&query, "base64_encoded"))))
}

/// `DELETE /judge0/submissions/{token}`: an ended submission, answered one last time
/// (base64-encoded, as Judge0 forces it here).
pub async fn delete(
    State(state): State<SharedState>,
    client: Result<Metered, ApiError>,
    Path(token): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Reply<Json<Value>> {
    client?;
    let fields = fields(&query)?;
    let view = find(&state, &token).await?;
    let status = view.outcome.status.unwrap_or(Status::InQueue);
    if matches!(status, Status::InQueue | Status::Processing)
        || !state.submissions.delete_ended(view.token).await?
    {
        return Err(Judge0Error::new(
            StatusCode::BAD_REQUEST,
            format!(
                "submission cannot be deleted because its status is {} ({})",
                status.id(),
                status.description()
            ),
        ));
    }
    Ok(Json(view.render(&fields, true)))
}

/// `POST /judge0/submissions/batch`: `{"submissions": [...]}` → `[{token} | errors]`.
pub async fn batch_create(
    State(state): State<SharedState>,
    client: Result<Metered, ApiError>,
    Query(query): Query<HashMap<String, String>>,
    body: Result<LenientJson<Value>, ApiError>,
) -> Reply<(StatusCode, Json<Vec<Value>>)> {
    client?;
    let base64 = flag(&query, "base64_encoded");
    let LenientJson(body) = body?;
    let items = match object(body)?.remove("submissions") {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    check_batch_size(&state, items.len())?;
    check_room(&state, items.len()).await?;
    let mut answers = Vec::with_capacity(items.len());
    let mut any = false;
    for item in items {
        let accepted = object(item).and_then(|m| accept(&state, &m, base64));
        match accepted {
            Ok(sub) => {
                let token = state.submissions.insert(&sub.stored()).await?;
                answers.push(json!({ "token": token }));
                any = true;
            }
            Err(Judge0Error::Invalid(errors)) => answers.push(json!(errors)),
            Err(Judge0Error::Message { message, .. }) => {
                answers.push(json!({ "submission": [message] }))
            }
        }
    }
    if any {
        state.queue.wake.notify_one();
    }
    let status = if any {
        StatusCode::CREATED
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(answers)))
}

/// `GET /judge0/submissions/batch?tokens=a,b`: `{"submissions": [... | null]}`.
pub async fn batch_get(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Reply<Json<Value>> {
    let fields = fields(&query)?;
    let base64 = flag(&query, "base64_encoded");
    let tokens_text = headers
        .get("tokens")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| query.get("tokens").cloned())
        .unwrap_or_default();
    let tokens: Vec<&str> = tokens_text
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    check_batch_size(&state, tokens.len())?;
    let mut out = Vec::with_capacity(tokens.len());
    for token in tokens {
        let view = match token.parse() {
            Ok(id) => load(&state, id).await?,
            Err(_) => None,
        };
        out.push(view.map_or(Value::Null, |v| v.render(&fields, base64)));
    }
    Ok(Json(json!({ "submissions": out })))
}

fn check_batch_size(state: &SharedState, n: usize) -> Reply<()> {
    let max = state.config.judge0_max_batch;
    if n > max {
        Err(Judge0Error::new(
            StatusCode::BAD_REQUEST,
            format!("number of submissions in a batch should be less than or equal to {max}"),
        ))
    } else if n == 0 {
        Err(Judge0Error::new(
            StatusCode::BAD_REQUEST,
            "there should be at least one submission in a batch",
        ))
    } else {
        Ok(())
    }
}

/// A submission by its token, or 404.
async fn find(state: &SharedState, token: &str) -> Reply<View> {
    let not_found = || Judge0Error::new(StatusCode::NOT_FOUND, "Not Found");
    let id: Uuid = token.parse().map_err(|_| not_found())?;
    load(state, id).await?.ok_or_else(not_found)
}

/// A Judge0 submission as Judge0 shows it; `None` when unknown, expired, or posted
/// through another API.
pub(crate) async fn load(state: &SharedState, id: Uuid) -> Reply<Option<View>> {
    let Some((row, request)) = state.submissions.get_with_request(id).await? else {
        return Ok(None);
    };
    let Some(sub) = Accepted::from_stored(&request) else {
        return Ok(None);
    };
    let outcome = outcome(&row, &sub)?;
    let language_name =
        model::language(state.engine.catalog(), sub.extras.language_id).map(|l| l.name);
    let ended = matches!(row.status, RowStatus::Finished | RowStatus::Failed);
    let view = View {
        token: id,
        submission: sub,
        language_name,
        created_ms: row.created_ms,
        finished_ms: ended.then_some(row.updated_ms),
        outcome,
    };
    Ok(Some(view))
}

/// Where a stored row stands, in Judge0's terms.
fn outcome(row: &SubmissionRow, sub: &Accepted) -> Reply<Outcome> {
    let parse = |text: Option<&str>| -> Reply<Value> {
        serde_json::from_str(text.unwrap_or("null")).map_err(|e| {
            Judge0Error::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("submission {}: stored result unreadable: {e}", row.id),
            )
        })
    };
    Ok(match row.status {
        RowStatus::Queued => Outcome {
            status: Some(Status::InQueue),
            ..Outcome::default()
        },
        RowStatus::Running => Outcome {
            status: Some(Status::Processing),
            ..Outcome::default()
        },
        RowStatus::Finished => {
            let result = serde_json::from_value(parse(row.result.as_deref())?).map_err(|e| {
                Judge0Error::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("submission {}: stored result unreadable: {e}", row.id),
                )
            })?;
            model::judge(&result, &sub.extras)
        }
        RowStatus::Failed => model::failed(&parse(row.error.as_deref())?),
    })
}
