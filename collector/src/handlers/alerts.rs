//! Alert rules (`/api/alerts/rules` and `/api/alerts/rules/{id}`) and
//! `GET /api/alerts/history`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;
use serde_json::{json, Value};

use agentlens_core::validate::FieldError;

use super::PageBody;
use crate::alerts::webhook::{is_webhook_url, ssrf};
use crate::alerts::{AlertHistoryEntry, AlertRule, NewRule, RulePatch};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, PathId, QueryParams};
use crate::AppState;

/// Body of the rule listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleList {
    /// All rules of the tenant, oldest first.
    pub rules: Vec<AlertRule>,
}

/// Rejects `notifyChannels` entries that are not http(s) URLs, are invalid URLs, or whose
/// host does not resolve. It also rejects URLs that resolve to a link-local address and,
/// unless private webhooks are allowed, to a non-public one ([`ssrf::check_for_rule`]).
/// Each error names `notifyChannels.N`.
///
/// Channel ids such as `slack:#general` are rejected rather than stored, because the
/// collector has no integration that could deliver to them.
async fn check_channels(state: &AppState, channels: &[String]) -> Result<(), ApiError> {
    let allow_private = state.alerts.webhook_options().allow_private;
    let mut errors = Vec::new();
    for (index, channel) in channels.iter().enumerate() {
        if !is_webhook_url(channel) {
            errors.push(FieldError {
                path: format!("notifyChannels.{index}"),
                message: "unsupported channel: only http(s) webhook URLs are supported, \
                          such as https://hooks.example.com/agentlens"
                    .to_owned(),
            });
            continue;
        }
        if let Err(rejection) = ssrf::check_for_rule(channel, allow_private).await {
            errors.push(FieldError {
                path: format!("notifyChannels.{index}"),
                message: rejection.to_string(),
            });
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Creates a rule and returns it with 201, or 400 naming each invalid field, including
/// webhook URLs that are invalid or point at a private address.
#[utoipa::path(
    post,
    path = "/api/alerts/rules",
    operation_id = "createAlertRule",
    tag = "alerts",
    request_body = crate::openapi::schemas::NewRuleRequest,
    responses(
        (status = 201, description = "The stored rule", body = AlertRule),
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
            description = "The key's role lacks write access",
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
pub async fn create_rule(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<AlertRule>), ApiError> {
    let rule = NewRule::from_json(&body).map_err(ApiError::Validation)?;
    check_channels(&state, &rule.notify_channels).await?;
    let stored = state
        .store
        .insert_alert_rule(&caller.tenant_id, rule)
        .await?;
    tracing::info!(alert.rule_id = %stored.id, alert.condition = stored.condition.as_str(), "alert rule created");
    Ok((StatusCode::CREATED, Json(stored)))
}

/// Lists the tenant's rules.
#[utoipa::path(
    get,
    path = "/api/alerts/rules",
    operation_id = "listAlertRules",
    tag = "alerts",
    responses(
        (status = 200, description = "All rules of the tenant, oldest first", body = RuleList),
        (
            status = 401,
            description = "Missing, invalid or revoked API key",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 429,
            description = "Rate limit exceeded. `Retry-After` gives the seconds to wait",
            body = crate::openapi::schemas::ErrorBody,
        ),
    ),
)]
pub async fn list_rules(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<RuleList>, ApiError> {
    let rules = state
        .store
        .list_alert_rules(Some(&caller.tenant_id))
        .await?;
    Ok(Json(RuleList { rules }))
}

/// Message of every 404 of the rule routes.
const RULE_NOT_FOUND: &str = "Alert rule not found";

/// Returns one rule, or 404 `Alert rule not found`.
#[utoipa::path(
    get,
    path = "/api/alerts/rules/{id}",
    operation_id = "getAlertRule",
    tag = "alerts",
    params(
        ("id" = String, Path, description = "Rule id"),
    ),
    responses(
        (status = 200, description = "The rule", body = AlertRule),
        (
            status = 401,
            description = "Missing, invalid or revoked API key",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 429,
            description = "Rate limit exceeded. `Retry-After` gives the seconds to wait",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 404,
            description = "Alert rule not found",
            body = crate::openapi::schemas::ErrorBody,
        ),
    ),
)]
pub async fn get_rule(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathId(id): PathId,
) -> Result<Json<AlertRule>, ApiError> {
    let rule = state.store.alert_rule(&caller.tenant_id, &id).await?;
    rule.map(Json).ok_or(ApiError::NotFound(RULE_NOT_FOUND))
}

/// Changes the fields present in the body, with the bounds of creation, and returns the
/// rule with `updatedAt` bumped; 400 names each invalid field, 404 for an unknown id.
/// Disabling a firing rule closes its alert and sends the resolve notification.
#[utoipa::path(
    put,
    path = "/api/alerts/rules/{id}",
    operation_id = "updateAlertRule",
    tag = "alerts",
    params(
        ("id" = String, Path, description = "Rule id"),
    ),
    request_body = crate::openapi::schemas::RulePatchRequest,
    responses(
        (status = 200, description = "The changed rule", body = AlertRule),
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
            description = "The key's role lacks write access",
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
        (
            status = 404,
            description = "Alert rule not found",
            body = crate::openapi::schemas::ErrorBody,
        ),
    ),
)]
pub async fn update_rule(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathId(id): PathId,
    JsonBody(body): JsonBody,
) -> Result<Json<AlertRule>, ApiError> {
    let patch = RulePatch::from_json(&body).map_err(ApiError::Validation)?;
    if let Some(channels) = &patch.notify_channels {
        check_channels(&state, channels).await?;
    }
    let updated = state
        .store
        .update_alert_rule(&caller.tenant_id, &id, patch)
        .await?;
    let updated = updated
        .ok_or(ApiError::NotFound(RULE_NOT_FOUND))?
        .map_err(ApiError::Validation)?;
    tracing::info!(alert.rule_id = %updated.rule.id, "alert rule updated");
    state.alerts.dispatch(updated.deliveries);
    Ok(Json(updated.rule))
}

/// Deletes a rule and closes its open alert. Its history entries stay, and its failed
/// webhook deliveries are not retried. Returns `{id, deleted: true}`, or 404.
#[utoipa::path(
    delete,
    path = "/api/alerts/rules/{id}",
    operation_id = "deleteAlertRule",
    tag = "alerts",
    params(
        ("id" = String, Path, description = "Rule id"),
    ),
    responses(
        (
            status = 200,
            description = "The rule is deleted, and its open alert closed; its history stays",
            body = crate::openapi::schemas::RuleDeleted,
        ),
        (
            status = 401,
            description = "Missing, invalid or revoked API key",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 403,
            description = "The key's role lacks write access",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 429,
            description = "Rate limit exceeded. `Retry-After` gives the seconds to wait",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 404,
            description = "Alert rule not found",
            body = crate::openapi::schemas::ErrorBody,
        ),
    ),
)]
pub async fn delete_rule(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let deliveries = state
        .store
        .delete_alert_rule(&caller.tenant_id, &id)
        .await?
        .ok_or(ApiError::NotFound(RULE_NOT_FOUND))?;
    tracing::info!(alert.rule_id = %id, "alert rule deleted");
    state.alerts.dispatch(deliveries);
    Ok(Json(json!({"id": id, "deleted": true})))
}

/// Lists history entries, newest first, optionally for one `ruleId`; `limit` (default 50,
/// at most 500) and `offset` page them, and invalid values get 400.
#[utoipa::path(
    get,
    path = "/api/alerts/history",
    operation_id = "listAlertHistory",
    tag = "alerts",
    params(
        ("ruleId" = Option<String>, Query, min_length = 1, description = "Only this rule's entries"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size, 1 to 500. Default 50"),
        ("offset" = Option<i64>, Query, minimum = 0, description = "Items to skip. Default 0"),
    ),
    responses(
        (
            status = 200,
            description = "A page of history entries, newest first",
            body = crate::openapi::schemas::AlertHistoryPage,
        ),
        (
            status = 400,
            description = "Invalid paging value",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 401,
            description = "Missing, invalid or revoked API key",
            body = crate::openapi::schemas::ErrorBody,
        ),
        (
            status = 429,
            description = "Rate limit exceeded. `Retry-After` gives the seconds to wait",
            body = crate::openapi::schemas::ErrorBody,
        ),
    ),
)]
pub async fn history(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: QueryParams,
) -> Result<Json<PageBody<AlertHistoryEntry>>, ApiError> {
    let paging = query.paging()?;
    let page = state
        .store
        .list_alert_history(&caller.tenant_id, query.text("ruleId")?, paging)
        .await?;
    Ok(Json(PageBody::new("entries", page)))
}
