//! Match clauses of the price table and the normalization of model ids.
//!
//! A model id is looked up as a short list of candidate spellings, tried in order against
//! the models of a provider, where the first model whose clause matches wins:
//!
//! 1. the id trimmed and lowercased (`GPT-4o` → `gpt-4o`);
//! 2. the same with a compact date suffix written with dashes
//!    (`gpt-5.2-20251211` → `gpt-5.2-2025-12-11`), the fallback genai-prices 0.2.5 applies
//!    for ids from LiteLLM and OpenRouter;
//! 3. the id without everything up to its last `/`, for router prefixes
//!    (`anthropic/claude-4.6-opus-20260205` → `claude-4.6-opus-20260205`,
//!    `models/gemini-2.5-pro` → `gemini-2.5-pro`);
//! 4. the stripped id with its compact date rewritten.
//!
//! The unstripped id is tried first because routers such as OpenRouter list models under
//! their prefixed ids. No candidate shortens the model name itself, so dated ids reach their
//! base model only through the table's own clauses (`claude-haiku-4-5-20251001` matches
//! `starts_with: claude-haiku-4-5`; `gpt-4o-2024-08-06` is listed by `equals`), and
//! `gpt-4o-mini` can never fall back to `gpt-4o`.

use std::fmt;

use fancy_regex::Regex;
use serde::Deserialize;

use super::table::{Lookup, PriceTable, Provider};

/// A match clause as written in the table file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Clause {
    Equals(String),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    Regex(String),
    Or(Vec<Clause>),
    And(Vec<Clause>),
}

/// A compiled match clause. Text comparisons are case-insensitive because both sides are
/// lowercased; a regex is searched anywhere in the lowercased id, as Python's `re.search`.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    Equals(String),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    Regex(Box<Regex>),
    Or(Vec<Matcher>),
    And(Vec<Matcher>),
}

impl Matcher {
    /// Compiles a clause.
    ///
    /// # Errors
    ///
    /// Returns the pattern and the parser's message when a regex does not compile.
    pub(crate) fn compile(clause: Clause) -> Result<Self, String> {
        let compile_all = |clauses: Vec<Clause>| -> Result<Vec<Matcher>, String> {
            clauses.into_iter().map(Matcher::compile).collect()
        };
        Ok(match clause {
            Clause::Equals(text) => Matcher::Equals(text.to_lowercase()),
            Clause::StartsWith(text) => Matcher::StartsWith(text.to_lowercase()),
            Clause::EndsWith(text) => Matcher::EndsWith(text.to_lowercase()),
            Clause::Contains(text) => Matcher::Contains(text.to_lowercase()),
            Clause::Regex(pattern) => {
                let regex = Regex::new(&pattern)
                    .map_err(|error| format!("invalid regex {pattern:?}: {error}"))?;
                Matcher::Regex(Box::new(regex))
            }
            Clause::Or(clauses) => Matcher::Or(compile_all(clauses)?),
            Clause::And(clauses) => Matcher::And(compile_all(clauses)?),
        })
    }

    /// Returns true when the lowercased `id` matches.
    pub(crate) fn is_match(&self, id: &str) -> bool {
        match self {
            Matcher::Equals(text) => id == text,
            Matcher::StartsWith(text) => id.starts_with(text.as_str()),
            Matcher::EndsWith(text) => id.ends_with(text.as_str()),
            Matcher::Contains(text) => id.contains(text.as_str()),
            // A regex that hits the backtracking limit counts as no match.
            Matcher::Regex(regex) => regex.is_match(id).unwrap_or(false),
            Matcher::Or(matchers) => matchers.iter().any(|matcher| matcher.is_match(id)),
            Matcher::And(matchers) => matchers.iter().all(|matcher| matcher.is_match(id)),
        }
    }

    /// Returns the texts of the `equals` clauses at the top level or directly under an `or`,
    /// which are the exact spellings the clause accepts.
    pub(crate) fn exact_spellings(&self) -> Vec<&str> {
        match self {
            Matcher::Equals(text) => vec![text.as_str()],
            Matcher::Or(matchers) => matchers
                .iter()
                .filter_map(|matcher| match matcher {
                    Matcher::Equals(text) => Some(text.as_str()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Writes the clause as it reads in the table file: `starts_with "claude-haiku-4-5"`,
/// `(equals "a" or regex "^b")`.
impl fmt::Display for Matcher {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined = |formatter: &mut fmt::Formatter<'_>, matchers: &[Matcher], word: &str| {
            formatter.write_str("(")?;
            for (index, matcher) in matchers.iter().enumerate() {
                if index > 0 {
                    write!(formatter, " {word} ")?;
                }
                write!(formatter, "{matcher}")?;
            }
            formatter.write_str(")")
        };
        match self {
            Matcher::Equals(text) => write!(formatter, "equals {text:?}"),
            Matcher::StartsWith(text) => write!(formatter, "starts_with {text:?}"),
            Matcher::EndsWith(text) => write!(formatter, "ends_with {text:?}"),
            Matcher::Contains(text) => write!(formatter, "contains {text:?}"),
            Matcher::Regex(regex) => write!(formatter, "regex {:?}", regex.as_str()),
            Matcher::Or(matchers) => joined(formatter, matchers, "or"),
            Matcher::And(matchers) => joined(formatter, matchers, "and"),
        }
    }
}

/// Finds the provider and model entry for a spelling, as described on
/// [`PriceTable::quote`].
pub(crate) fn resolve(table: &PriceTable, provider: Option<&str>, model: &str) -> Lookup {
    let candidates = candidates(model);
    let Some(name) = provider else {
        return find_anywhere(&table.providers, &candidates);
    };
    let Some(provider) = find_provider(table, name) else {
        return Lookup::UnknownProvider;
    };
    find_in_provider(&table.providers, provider, &candidates)
}

/// Finds a provider by id, then by its provider-match clause.
pub(crate) fn find_provider(table: &PriceTable, name: &str) -> Option<usize> {
    let name = name.trim().to_lowercase();
    if let Some(&index) = table.provider_ids.get(&name) {
        return Some(index);
    }
    table.providers.iter().position(|provider| {
        let clause = provider.provider_match.as_ref();
        clause.is_some_and(|matcher| matcher.is_match(&name))
    })
}

/// Searches one provider, then its fallback providers, for each candidate in turn.
fn find_in_provider(providers: &[Provider], provider: usize, candidates: &[String]) -> Lookup {
    for candidate in candidates {
        let searched =
            std::iter::once(provider).chain(providers[provider].fallbacks.iter().copied());
        for index in searched {
            if let Some(model) = first_match(&providers[index], candidate) {
                return Lookup::Found {
                    provider: index,
                    model,
                };
            }
        }
    }
    Lookup::UnknownModel
}

/// Searches the providers whose model-match clause claims a candidate, then every provider
/// in table order, so `gpt-4o` lands on OpenAI before a reseller that lists it too.
fn find_anywhere(providers: &[Provider], candidates: &[String]) -> Lookup {
    let claims = |provider: &Provider, candidate: &str| {
        let clause = provider.model_match.as_ref();
        clause.is_some_and(|matcher| matcher.is_match(candidate))
    };
    for claimed_only in [true, false] {
        for candidate in candidates {
            for (index, provider) in providers.iter().enumerate() {
                if claimed_only && !claims(provider, candidate) {
                    continue;
                }
                if let Some(model) = first_match(provider, candidate) {
                    return Lookup::Found {
                        provider: index,
                        model,
                    };
                }
            }
        }
    }
    Lookup::UnknownModel
}

fn first_match(provider: &Provider, candidate: &str) -> Option<usize> {
    provider
        .models
        .iter()
        .position(|model| model.matcher.is_match(candidate))
}

/// Returns the spellings of `model` to try, in order and without repeats.
pub(crate) fn candidates(model: &str) -> Vec<String> {
    let lowered = model.trim().to_lowercase();
    let stripped = lowered.rsplit_once('/').map(|(_, name)| name.to_owned());

    let mut out = Vec::with_capacity(4);
    let mut push = |candidate: String| {
        if !candidate.is_empty() && !out.contains(&candidate) {
            out.push(candidate);
        }
    };
    push(lowered.clone());
    push(dash_compact_dates(&lowered));
    if let Some(stripped) = stripped {
        let dashed = dash_compact_dates(&stripped);
        push(stripped);
        push(dashed);
    }
    out
}

/// Rewrites each `-YYYYMMDD` that is a valid date from 2000 on and ends the id or is followed
/// by `-` or `:` as `-YYYY-MM-DD`.
fn dash_compact_dates(id: &str) -> String {
    let bytes = id.as_bytes();
    let mut out = String::with_capacity(id.len() + 4);
    let mut copied = 0;
    let mut index = 0;
    while index + 9 <= bytes.len() {
        let digits = &bytes[index + 1..index + 9];
        let boundary = bytes
            .get(index + 9)
            .is_none_or(|next| matches!(next, b'-' | b':'));
        let is_date = bytes[index] == b'-'
            && digits.iter().all(u8::is_ascii_digit)
            && digits.starts_with(b"20")
            && boundary
            && compact_date_is_valid(&id[index + 1..index + 9]);
        if is_date {
            let date = &id[index + 1..index + 9];
            out.push_str(&id[copied..index]);
            out.push_str(&format!("-{}-{}-{}", &date[..4], &date[4..6], &date[6..]));
            index += 9;
            copied = index;
        } else {
            index += 1;
        }
    }
    out.push_str(&id[copied..]);
    out
}

fn compact_date_is_valid(digits: &str) -> bool {
    chrono::NaiveDate::parse_from_str(digits, "%Y%m%d").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_dates_gain_dashes() {
        assert_eq!(dash_compact_dates("gpt-5.2-20251211"), "gpt-5.2-2025-12-11");
        assert_eq!(dash_compact_dates("a-20250101:free"), "a-2025-01-01:free");
        assert_eq!(dash_compact_dates("model-20251311"), "model-20251311");
        assert_eq!(dash_compact_dates("model-202512110"), "model-202512110");
        assert_eq!(dash_compact_dates("model-19991231"), "model-19991231");
    }

    #[test]
    fn candidates_strip_router_prefix_last() {
        assert_eq!(
            candidates(" Anthropic/Claude-4.6-Opus-20260205 "),
            [
                "anthropic/claude-4.6-opus-20260205",
                "anthropic/claude-4.6-opus-2026-02-05",
                "claude-4.6-opus-20260205",
                "claude-4.6-opus-2026-02-05",
            ]
        );
        assert_eq!(candidates("gpt-4o-mini"), ["gpt-4o-mini"]);
    }

    #[test]
    fn clause_displays_as_written() {
        let clause = Clause::Or(vec![
            Clause::Equals("A".into()),
            Clause::StartsWith("b-".into()),
        ]);
        let matcher = Matcher::compile(clause).unwrap();

        assert_eq!(matcher.to_string(), r#"(equals "a" or starts_with "b-")"#);
        assert_eq!(matcher.exact_spellings(), ["a"]);
    }

    #[test]
    fn regex_clause_supports_lookahead() {
        let clause = Clause::Regex("^(?!.*-[tT][tT][sS](?:$|-))".into());
        let matcher = Matcher::compile(clause).unwrap();

        assert!(matcher.is_match("gemini-2.5-pro"));
        assert!(!matcher.is_match("gemini-2.5-pro-tts"));
    }
}
