//! `GET /api/budgets/check`: whether an agent is over any of its cost budgets.
//!
//! A budget is an enabled `cost_exceeds` rule whose scope has no agent or names this
//! agent. A rule scoped to tags is a budget only when `tags`, the tags of the agent's
//! session, names one of its tags. So the check of an agent outside the tagged work does
//! not report that budget.
//!
//! Each rule's value is computed now, over its own window and scope, with the cost rule
//! that the evaluator applies. A budget shared by several agents is therefore over for
//! each of them once their spend together passes it.

use axum::extract::State;
use axum::{Extension, Json};
use chrono::Utc;
use serde::Serialize;

use crate::alerts::evaluator::{judge, window_metrics};
use crate::alerts::{Condition, ExactNumber, RuleScope};
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
    /// Spend in the rule's trailing window, in USD, with the events stamped up to 24 hours
    /// ahead of the collector's clock.
    pub current_value: ExactNumber,
    /// Window length.
    pub window_minutes: i64,
    /// True when the spend exceeds the budget.
    pub firing: bool,
}

/// Checks the budgets of `agentId` (required; 400 without it) for a session tagged with
/// `tags`.
#[utoipa::path(
    get,
    path = "/api/budgets/check",
    operation_id = "checkBudgets",
    tag = "budgets",
    params(
        ("agentId" = String, Query, min_length = 1, description = "Agent to check"),
        (
            "tags" = Option<String>,
            Query,
            min_length = 1,
            description = "Comma list of the tags of the agent's session. A rule scoped to tags covers the check only when one of them is listed",
        ),
    ),
    responses(
        (
            status = 200,
            description = "Every enabled `cost_exceeds` rule that covers the agent, with its current spend",
            body = BudgetCheck,
        ),
        (
            status = 400,
            description = "`agentId` is missing, or `tags` has an empty item",
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
    let tags = query.list("tags")?;

    let rules = state
        .store
        .list_alert_rules(Some(&caller.tenant_id))
        .await?;
    let now = Utc::now();
    let mut budgets = Vec::new();
    for rule in rules {
        let covers = rule.enabled
            && rule.condition == Condition::CostExceeds
            && covers_agent(&rule.scope, &agent_id, &tags);
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

/// Returns whether a rule of `scope` is a budget of `agent_id` running a session tagged
/// with `tags`: its agent, when set, is that agent, and its tags, when set, share one with
/// `tags`.
fn covers_agent(scope: &RuleScope, agent_id: &str, tags: &[String]) -> bool {
    let agent_matches = scope
        .agent_id
        .as_deref()
        .is_none_or(|agent| agent == agent_id);
    let tags_match = scope.tags.is_empty() || scope.tags.iter().any(|tag| tags.contains(tag));
    agent_matches && tags_match
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(agent_id: Option<&str>, tags: &[&str]) -> RuleScope {
        RuleScope {
            agent_id: agent_id.map(str::to_owned),
            tags: tags.iter().map(|tag| (*tag).to_owned()).collect(),
        }
    }

    fn tags(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn unscoped_rule_covers_every_agent() {
        assert!(covers_agent(&scope(None, &[]), "a1", &[]));
        assert!(covers_agent(&scope(None, &[]), "a1", &tags(&["prod"])));
    }

    #[test]
    fn agent_scope_covers_only_that_agent() {
        assert!(covers_agent(&scope(Some("a1"), &[]), "a1", &[]));
        assert!(!covers_agent(&scope(Some("a1"), &[]), "a2", &[]));
    }

    #[test]
    fn tag_scope_needs_a_shared_tag() {
        let rule = scope(None, &["prod", "eu"]);
        assert!(!covers_agent(&rule, "a1", &[]));
        assert!(!covers_agent(&rule, "a1", &tags(&["dev"])));
        assert!(covers_agent(&rule, "a1", &tags(&["dev", "eu"])));
    }

    #[test]
    fn agent_and_tag_scope_need_both() {
        let rule = scope(Some("a1"), &["prod"]);
        assert!(covers_agent(&rule, "a1", &tags(&["prod"])));
        assert!(!covers_agent(&rule, "a2", &tags(&["prod"])));
        assert!(!covers_agent(&rule, "a1", &[]));
    }
}
