//! `POST /api/keys`, `GET /api/keys` and `DELETE /api/keys/{id}`; all need an admin key.

use agentlens_core::validate::FieldError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;
use serde_json::{json, Value};

use crate::auth::{generate_key, hash_key, Caller};
use crate::error::ApiError;
use crate::extract::{JsonBody, PathId};
use crate::store::keys::{ApiKeyRecord, Revocation};
use crate::AppState;

/// Most scopes on one key.
const MAX_SCOPES: usize = 50;

/// Maximum key name length, in characters.
const MAX_NAME_CHARS: usize = 255;

/// Maximum scope length, in bytes.
const MAX_SCOPE_BYTES: usize = 64;

/// Scopes a key may carry: `*` and `manage` give admin, `write` gives member, `audit` gives
/// auditor and `read` gives viewer (see [`crate::auth::Role::from_scopes`]).
pub const VALID_SCOPES: [&str; 5] = ["*", "manage", "write", "audit", "read"];

/// Body of a created key: the only response that contains the key itself.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    /// The full key; it cannot be retrieved again.
    pub key: String,
    /// The stored record.
    #[serde(flatten)]
    pub record: ApiKeyRecord,
}

/// Creates a key from `{name?, scopes?}` (defaults `"Unnamed Key"` and `["*"]`) and
/// returns it once with 201.
#[utoipa::path(
    post,
    path = "/api/keys",
    operation_id = "createApiKey",
    tag = "keys",
    request_body = crate::openapi::schemas::KeyRequest,
    responses(
        (status = 201, description = "The new key, shown only in this response", body = CreatedKey),
        (
            status = 400,
            description = "Invalid JSON, or invalid fields named in `details`",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 401,
            description = "Missing, invalid or revoked API key",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 403,
            description = "The key's role is not admin",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 413,
            description = "Body larger than 1 MiB",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 429,
            description = "Rate limit exceeded. `Retry-After` gives the seconds to wait",
            body = crate::openapi::schemas::ErrorBody,
        ),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let (name, scopes) =
        read_key_request(&body).map_err(|issue| ApiError::Validation(vec![issue]))?;
    let key = generate_key();
    let record = state
        .store
        .insert_api_key(hash_key(&key), name, scopes, &caller.tenant_id)
        .await?;
    tracing::info!(api_key.id = %record.id, "api key created");
    Ok((StatusCode::CREATED, Json(CreatedKey { key, record })))
}

/// Lists the tenant's keys without their secrets.
#[utoipa::path(
    get,
    path = "/api/keys",
    operation_id = "listApiKeys",
    tag = "keys",
    responses(
        (
            status = 200,
            description = "The tenant's keys without their secrets",
            body = crate::openapi::schemas::KeyList,
        ),
        (
            status = 401,
            description = "Missing, invalid or revoked API key",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 403,
            description = "The key's role is not admin",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 429,
            description = "Rate limit exceeded. `Retry-After` gives the seconds to wait",
            body = crate::openapi::schemas::ErrorBody,
        ),
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    let keys = state.store.list_api_keys(&caller.tenant_id).await?;
    Ok(Json(json!({ "keys": keys })))
}

/// Revokes a key: `{id, revoked: true}`, 404 for an unknown id, 409 if already revoked.
#[utoipa::path(
    delete,
    path = "/api/keys/{id}",
    operation_id = "revokeApiKey",
    tag = "keys",
    params(
        ("id" = String, Path, description = "Key id"),
    ),
    responses(
        (
            status = 200,
            description = "The key is revoked",
            body = crate::openapi::schemas::KeyRevoked,
        ),
        (
            status = 401,
            description = "Missing, invalid or revoked API key",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 403,
            description = "The key's role is not admin",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 429,
            description = "Rate limit exceeded. `Retry-After` gives the seconds to wait",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 404,
            description = "API key not found",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 409,
            description = "API key already revoked",
            body = crate::openapi::schemas::ErrorBody,
        ),
    ),
)]
pub async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    match state.store.revoke_api_key(&caller.tenant_id, &id).await? {
        Revocation::Revoked => {
            tracing::info!(api_key.id = %id, "api key revoked");
            Ok(Json(json!({"id": id, "revoked": true})))
        }
        Revocation::AlreadyRevoked => Err(ApiError::Conflict("API key already revoked")),
        Revocation::NotFound => Err(ApiError::NotFound("API key not found")),
    }
}

/// Checks the bounds of a key's name (1 to 255 characters) and scopes (1 to 50, each
/// 1 to 64 bytes and one of [`VALID_SCOPES`]).
///
/// # Errors
///
/// Returns a [`FieldError`] naming `name` or `scopes`. An empty list and an unknown scope
/// are rejected rather than ignored, because a key without a valid scope still reads, so
/// an empty list or a typo such as `wrte` would make a read-only key by accident.
pub fn check_key_fields(name: &str, scopes: &[String]) -> Result<(), FieldError> {
    if !(1..=MAX_NAME_CHARS).contains(&name.chars().count()) {
        return Err(FieldError {
            path: "name".to_owned(),
            message: "expected a string of 1 to 255 characters".to_owned(),
        });
    }
    // Listings print one key per line with tab-separated fields.
    if let Some(invalid) = name.chars().find(|&c| is_invalid_in_name(c)) {
        return Err(FieldError {
            path: "name".to_owned(),
            message: format!(
                "name contains the invalid character U+{:04X}: use printable characters only",
                u32::from(invalid)
            ),
        });
    }
    if name.chars().all(char::is_whitespace) {
        return Err(FieldError {
            path: "name".to_owned(),
            message: "name is blank: give at least one visible character".to_owned(),
        });
    }
    if scopes.is_empty() {
        return Err(FieldError {
            path: "scopes".to_owned(),
            message: format!(
                "scopes is empty: expected at least one of {} (read for a read-only key)",
                VALID_SCOPES.join(", ")
            ),
        });
    }
    if scopes.len() > MAX_SCOPES {
        return Err(FieldError {
            path: "scopes".to_owned(),
            message: "expected an array of at most 50 strings".to_owned(),
        });
    }
    // An empty scope falls through to the unknown-scope error, which lists the valid ones.
    if scopes.iter().any(|scope| scope.len() > MAX_SCOPE_BYTES) {
        return Err(FieldError {
            path: "scopes".to_owned(),
            message: "expected strings of 1 to 64 characters".to_owned(),
        });
    }
    if let Some(unknown) = scopes
        .iter()
        .find(|scope| !VALID_SCOPES.contains(&scope.as_str()))
    {
        return Err(FieldError {
            path: "scopes".to_owned(),
            message: format!(
                "unknown scope {unknown:?}: expected one of {}",
                VALID_SCOPES.join(", ")
            ),
        });
    }
    Ok(())
}

/// Returns whether a key name may not contain `c`: control characters, the line and
/// paragraph separators U+2028 and U+2029, and the bidirectional overrides and isolates,
/// which break listings or show a name other than the stored one.
pub fn is_invalid_in_name(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Returns `scopes` with each scope once, in the order of its first appearance.
pub fn distinct_scopes(scopes: Vec<String>) -> Vec<String> {
    let mut distinct: Vec<String> = Vec::with_capacity(scopes.len());
    for scope in scopes {
        if !distinct.contains(&scope) {
            distinct.push(scope);
        }
    }
    distinct
}

/// Checks that a key request has no fields but `name` and `scopes`, so that a field this
/// collector does not implement, such as an expiry, is not dropped without a word.
fn check_known_fields(object: &serde_json::Map<String, Value>) -> Result<(), FieldError> {
    let Some(unknown) = object
        .keys()
        .find(|key| !matches!(key.as_str(), "name" | "scopes"))
    else {
        return Ok(());
    };
    let message = match unknown.as_str() {
        "tenantId" => "unknown field: a key belongs to the tenant of the key that creates it; \
             `agentlens keys create --tenant ID` makes a key for another tenant"
            .to_owned(),
        "expiresAt" => "unknown field: keys do not expire; revoke a key with \
             DELETE /api/keys/{id} when it should stop working"
            .to_owned(),
        _ => "unknown field: a key request takes only name and scopes".to_owned(),
    };
    Err(FieldError {
        path: unknown.clone(),
        message,
    })
}

fn read_key_request(body: &Value) -> Result<(String, Vec<String>), FieldError> {
    let issue = |path: &str, message: &str| FieldError {
        path: path.to_owned(),
        message: message.to_owned(),
    };
    let object = body
        .as_object()
        .ok_or_else(|| issue("", "expected a JSON object"))?;
    check_known_fields(object)?;
    let name = match object.get("name") {
        None => "Unnamed Key".to_owned(),
        Some(Value::String(name)) => name.clone(),
        Some(_) => return Err(issue("name", "expected a string of 1 to 255 characters")),
    };
    let scopes = match object.get("scopes") {
        None => vec!["*".to_owned()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item.as_str() {
                Some(scope) => Ok(scope.to_owned()),
                None => Err(issue("scopes", "expected strings of 1 to 64 characters")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(issue("scopes", "expected an array of at most 50 strings")),
    };
    let scopes = distinct_scopes(scopes);
    check_key_fields(&name, &scopes)?;
    Ok((name, scopes))
}
