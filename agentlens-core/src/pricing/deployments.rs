//! Deployment names: Azure OpenAI requests name a deployment, a string the user chose when
//! deploying a model, rather than the model itself.
//!
//! An override file maps deployment names to model ids per provider:
//!
//! ```toml
//! [deployments.azure]
//! my-gpt4o-prod = "gpt-4o-2024-08-06"
//! eu-mini = "gpt-4o-mini"
//! ```
//!
//! In JSON the same map is `{"deployments": {"azure": {"my-gpt4o-prod": "gpt-4o-2024-08-06"}}}`.
//! The provider is found as [`PriceTable::quote`] finds it, so a map under `azure` also
//! serves `azure_ai` and `azure_text`. A quote whose model equals a deployment name of its
//! provider (case-insensitive, surrounding spaces ignored) is priced as the mapped model,
//! looked up in that provider and then its fallback providers, and
//! [`Quote::deployment`](super::Quote::deployment) names the deployment. A leading provider
//! segment that names the same provider, as in LiteLLM's `azure/eu-mini`, is removed before
//! the lookup. The map is checked when the file is applied: an unknown provider, an empty
//! name, two names that differ only in case or surrounding spaces, or a model that the
//! provider does not price is rejected.

use std::collections::{BTreeMap, HashMap};

use super::matching;
use super::overrides::PriceOverridesError;
use super::table::{unknown_model, Lookup, PriceTable};

/// Providers whose requests name a deployment, so an unknown model id there is most likely
/// a deployment missing from the map.
const DEPLOYMENT_PROVIDERS: &[&str] = &["azure"];

/// The `deployments` table of an override file: model id by deployment name, by provider.
pub(crate) type DeploymentsFile = BTreeMap<String, BTreeMap<String, String>>;

/// Model ids by lowercased deployment name, per provider index of the table.
#[derive(Debug, Clone, Default)]
pub(crate) struct Deployments {
    by_provider: HashMap<usize, HashMap<String, String>>,
}

impl Deployments {
    /// Adds the deployments of an override file, after checking each against `table`.
    ///
    /// # Errors
    ///
    /// Returns [`PriceOverridesError::InvalidDeployment`] for an unknown provider, an empty
    /// deployment name or model id, two names of one provider that differ only in case or
    /// surrounding spaces, or a model that the provider does not price.
    pub(crate) fn add(
        &mut self,
        table: &PriceTable,
        file: DeploymentsFile,
        origin: &str,
    ) -> Result<(), PriceOverridesError> {
        for (provider, names) in file {
            // Lookups ignore case, so two spellings of one name would map it twice.
            let mut spellings: HashMap<String, &str> = HashMap::new();
            for (name, model) in &names {
                let invalid = |message: String| PriceOverridesError::InvalidDeployment {
                    origin: origin.to_owned(),
                    provider: provider.clone(),
                    deployment: name.clone(),
                    message,
                };
                let Some(index) = matching::find_provider(table, &provider) else {
                    return Err(invalid(format!(
                        "unknown provider \"{provider}\"; use a provider id of the price table \
                         such as \"azure\""
                    )));
                };
                if name.trim().is_empty() || model.trim().is_empty() {
                    return Err(invalid(
                        "deployment names and model ids must not be empty".to_owned(),
                    ));
                }
                if !matches!(
                    matching::resolve(table, Some(&provider), model),
                    Lookup::Found { .. }
                ) {
                    return Err(invalid(format!(
                        "model \"{model}\" is not in the price table for provider \
                         \"{provider}\"; check the model id or add it under [[models]]"
                    )));
                }
                let key = name.trim().to_lowercase();
                if let Some(other) = spellings.insert(key.clone(), name.as_str()) {
                    return Err(invalid(format!(
                        "deployment names \"{other}\" and \"{name}\" differ only in case or \
                         spaces, and lookups ignore both; keep one of them"
                    )));
                }
                let mapped = self.by_provider.entry(index).or_default();
                mapped.insert(key, model.trim().to_owned());
            }
        }
        Ok(())
    }

    /// Returns true when no deployment name is mapped.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_provider.values().all(HashMap::is_empty)
    }

    fn target(&self, provider: usize, name: &str) -> Option<&str> {
        let names = self.by_provider.get(&provider)?;
        names.get(&name.trim().to_lowercase()).map(String::as_str)
    }
}

impl PriceTable {
    /// Returns the model id that `model` stands for when it is a deployment name of
    /// `provider`, or `None` when it is not. A leading `provider/` segment that names the
    /// same provider, such as `azure/` in `azure/eu-mini`, is ignored.
    pub(crate) fn deployment_target(&self, provider: Option<&str>, model: &str) -> Option<&str> {
        if self.deployments.is_empty() {
            return None;
        }
        let index = matching::find_provider(self, provider?)?;
        if let Some(target) = self.deployments.target(index, model) {
            return Some(target);
        }
        let (prefix, name) = model.trim().split_once('/')?;
        if matching::find_provider(self, prefix) != Some(index) {
            return None;
        }
        self.deployments.target(index, name)
    }

    /// Returns the reason that `model` is unpriced because no model matches it. For a
    /// provider whose requests name deployments, the reason also explains how to map one.
    pub(crate) fn unknown_model_reason(&self, provider: Option<&str>, model: &str) -> String {
        let resolved = provider.and_then(|name| matching::find_provider(self, name));
        let names_deployments = resolved.is_some_and(|index| {
            let id = self.providers[index].id.as_str();
            DEPLOYMENT_PROVIDERS.contains(&id) || self.deployments.by_provider.contains_key(&index)
        });
        let (Some(name), Some(index), true) = (provider, resolved, names_deployments) else {
            return unknown_model(provider, model);
        };
        let id = &self.providers[index].id;
        format!(
            "unknown model or deployment \"{model}\" for provider \"{name}\"; if it is a \
             deployment name, map it to its model under [deployments.{id}] in the price \
             overrides file (--prices or AGENTLENS_PRICES), such as \"{model}\" = \
             \"gpt-4o-2024-08-06\""
        )
    }
}
