//! `GET /api/budgets/check`: whether an agent is over any of its cost budgets.
//!
//! A budget is an enabled `cost_exceeds` rule whose scope has no agent or names this
//! agent. Each rule's value is computed now, over its own window and scope (tags
//! included), with the cost rule that the evaluator applies.

use axum::extract::State;
use axum::{Extension, Json};
use chrono::Utc;
use serde::Serialize;

use crate::alerts::evaluator::{judge, window_metrics};
use crate::alerts::{Condition, ExactNumber};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::AppState;

/// Body of the budget check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BudgetCheck {
    /// Agent checked.
    pub agent_id: String,
    /// True when at least one rule is over its threshold.
    pub over_budget: bool,
    /// Every budget rule that covers the agent, oldest first.
    pub rules: Vec<BudgetRule>,
}

/// One budget rule and its current spend.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BudgetRule {
    /// Rule id.
    pub rule_id: String,
    /// Rule name.
    pub name: String,
    /// Budget in USD.
    pub threshold: ExactNumber,
    /// Spend in the rule's trailing window, in USD.
    pub current_value: ExactNumber,
    /// Window length.
    pub window_minutes: i64,
    /// True when the spend exceeds the budget.
    pub firing: bool,
}

/// Checks the budgets of `agentId` (required; 400 without it).
#[utoipa::path(
    get,
    path = "/api/budgets/check",
    tag = "budgets",
    params(
        ("agentId" = String, Query, min_length = 1, description = "Agent to check"),
    ),
    responses(
        (
            status = 200,
            description = "Every enabled `cost_exceeds` rule that covers the agent, with its current spend",
            body = BudgetCheck,
        ),
        (
            status = 400,
            description = "`agentId` is missing",
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
pub async fn check(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    query: QueryParams,
) -> Result<Json<BudgetCheck>, ApiError> {
    let Some(agent_id) = query.text("agentId")? else {
        return Err(ApiError::BadRequest(
            "agentId is required, for example /api/budgets/check?agentId=my-agent".to_owned(),
        ));
    };

    let rules = state
        .store
        .list_alert_rules(Some(&caller.tenant_id))
        .await?;
    let now = Utc::now();
    let mut budgets = Vec::new();
    for rule in rules {
        let covers = rule.enabled
            && rule.condition == Condition::CostExceeds
            && rule
                .scope
                .agent_id
                .as_ref()
                .is_none_or(|agent| *agent == agent_id);
        if !covers {
            continue;
        }
        let metrics = window_metrics(&state.store, &rule, now).await?;
        let judgement = judge(&rule, &metrics)?;
        budgets.push(BudgetRule {
            rule_id: rule.id,
            name: rule.name,
            threshold: rule.threshold,
            current_value: ExactNumber(judgement.value),
            window_minutes: rule.window_minutes,
            firing: judgement.firing,
        });
    }

    Ok(Json(BudgetCheck {
        over_budget: budgets.iter().any(|budget| budget.firing),
        agent_id,
        rules: budgets,
    }))
}
