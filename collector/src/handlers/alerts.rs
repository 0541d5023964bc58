//! `POST /api/alerts/rules`, `GET /api/alerts/rules` and `GET /api/alerts/history`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Serialize;

use super::PageBody;
use crate::alerts::{AlertHistoryEntry, AlertRule, NewRule};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, QueryParams};
use crate::AppState;

/// Body of the rule listing.
#[derive(Debug, Serialize)]
pub struct RuleList {
    /// All rules of the tenant, oldest first.
    pub rules: Vec<AlertRule>,
}

/// Creates a rule and returns it with 201, or 400 naming each invalid field.
pub async fn create_rule(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<AlertRule>), ApiError> {
    let rule = NewRule::from_json(&body).map_err(ApiError::Validation)?;
    let stored = state
        .store
        .insert_alert_rule(&caller.tenant_id, rule)
        .await?;
    tracing::info!(alert.rule_id = %stored.id, alert.condition = stored.condition.as_str(), "alert rule created");
    Ok((StatusCode::CREATED, Json(stored)))
}

/// Lists the tenant's rules.
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

/// Lists history entries, newest first, optionally for one `ruleId`; `limit` (default 50,
/// at most 500) and `offset` page them.
pub async fn history(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: QueryParams,
) -> Result<Json<PageBody<AlertHistoryEntry>>, ApiError> {
    let page = state
        .store
        .list_alert_history(&caller.tenant_id, query.text("ruleId"), query.paging())
        .await?;
    Ok(Json(PageBody::new("entries", page)))
}
