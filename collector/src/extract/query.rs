//! Query parameters: the [`QueryParams`] extractor and its typed getters.

use std::collections::HashMap;

use agentlens_core::validate::FieldError;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::error::ApiError;
use crate::store::{local_midnight, Paging};

/// Optional `from` and `to` bounds of a query, in that order.
pub type TimeRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Query parameters: unknown ones are ignored, and the typed getters reject invalid values.
///
/// A parameter given more than once is rejected, because each parameter has one value.
/// Filters that take several values read them from one comma-separated list. Every getter
/// rejects an empty value, such as `limit=` or `countOnly=`, instead of reading it as absent,
/// because that would hide a value that a script failed to fill in.
#[derive(Debug, Default)]
pub struct QueryParams(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                ApiError::BadRequest(format!("invalid query string: {rejection}"))
            })?;
        let mut map = HashMap::with_capacity(pairs.len());
        for (name, value) in pairs {
            if map.contains_key(&name) {
                return Err(repeated_parameter(&name));
            }
            map.insert(name, value);
        }
        Ok(QueryParams(map))
    }
}

/// Returns the 400 for a query parameter given more than once.
fn repeated_parameter(name: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "query parameter {name:?} is repeated: send it once. A filter that takes several \
         values takes them as one comma-separated list, such as eventType=llm_call,tool_call"
    ))
}

/// Largest page.
const MAX_LIMIT: i64 = 500;

/// Page size when `limit` is absent.
const DEFAULT_LIMIT: i64 = 50;

impl QueryParams {
    /// Returns a parameter's value, or `None` when the parameter is absent.
    ///
    /// # Errors
    ///
    /// Returns [`ApiError::BadRequest`] naming the parameter when its value is empty. No
    /// parameter has an empty value that means something, and reading it as absent would
    /// hide the mistake, such as a filter that then matches everything.
    pub fn text(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.0.get(name) {
            Some(value) if value.is_empty() => Err(ApiError::BadRequest(format!(
                "Invalid {name} \"\": the value is empty; give a value or leave the \
                 parameter out"
            ))),
            value => Ok(value.cloned()),
        }
    }

    /// Returns the items of a comma-separated parameter, each trimmed; an absent parameter
    /// gives no items.
    ///
    /// # Errors
    ///
    /// Returns [`ApiError::BadRequest`] naming the parameter when its value or one of its
    /// items is empty, because a filter without a value would match everything and hide
    /// the mistake.
    pub fn list(&self, name: &str) -> Result<Vec<String>, ApiError> {
        let Some(value) = self.text(name)? else {
            return Ok(Vec::new());
        };
        let items: Vec<String> = value
            .split(',')
            .map(|item| item.trim().to_owned())
            .collect();
        if items.iter().any(String::is_empty) {
            return Err(ApiError::BadRequest(format!(
                "Invalid {name} {value:?}: an item is empty; give one or more values \
                 separated by commas, or leave the parameter out"
            )));
        }
        Ok(items)
    }

    /// Returns the items of a comma-separated parameter, each of which must be one of
    /// `allowed`.
    ///
    /// # Errors
    ///
    /// Returns [`ApiError::BadRequest`] naming the first item that is not allowed and
    /// listing the allowed values.
    pub fn list_of(&self, name: &str, allowed: &[&str]) -> Result<Vec<String>, ApiError> {
        let items = self.list(name)?;
        if let Some(invalid) = items.iter().find(|item| !allowed.contains(&item.as_str())) {
            return Err(ApiError::BadRequest(format!(
                "Invalid {name} {invalid:?}: use one or more of {}, separated by commas",
                allowed.join(", ")
            )));
        }
        Ok(items)
    }

    /// Parses a boolean parameter, `true` or `false`; an absent parameter is `None`.
    ///
    /// # Errors
    ///
    /// Returns [`ApiError::BadRequest`] naming the parameter for any other value, the empty
    /// value included.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.text(name)?.as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::BadRequest(format!(
                "Invalid {name} {other:?}: expected true or false"
            ))),
        }
    }

    /// Returns `limit` (default 50) and `offset` (default 0).
    ///
    /// Unlike upstream AgentLens, which replaces a bad or empty `limit` with 50 and a
    /// negative `offset` with 0, an invalid value is rejected, so a caller never gets a page
    /// other than the one requested.
    ///
    /// # Errors
    ///
    /// Returns [`ApiError::BadRequest`] naming the parameter when its value is empty, and
    /// [`ApiError::Validation`] naming `limit` when it is not an integer from 1 to 500 in
    /// plain decimal digits, and naming `offset` when it is not one from 0 to `i64::MAX`.
    pub fn paging(&self) -> Result<Paging, ApiError> {
        let limit = self
            .integer("limit", 1, MAX_LIMIT)?
            .unwrap_or(DEFAULT_LIMIT);
        let offset = self.integer("offset", 0, i64::MAX)?.unwrap_or(0);
        Ok(Paging { limit, offset })
    }

    /// Parses an integer parameter within `min..=max`; an absent parameter is `None`.
    ///
    /// Only ASCII digits are accepted, because `str::parse` would also take a leading `+`.
    /// `min` is never negative, so no value needs a `-`.
    fn integer(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        let Some(text) = self.text(name)? else {
            return Ok(None);
        };

        let digits_only = text.bytes().all(|byte| byte.is_ascii_digit());
        match text.parse::<i64>() {
            Ok(value) if digits_only && (min..=max).contains(&value) => Ok(Some(value)),
            _ => {
                let range = if max == i64::MAX {
                    format!("an integer from {min} to {max} (i64::MAX)")
                } else {
                    format!("an integer from {min} to {max}")
                };
                Err(ApiError::Validation(vec![FieldError {
                    path: name.to_owned(),
                    message: format!(
                        "invalid {name} {text:?}: expected {range}, written in digits only"
                    ),
                }]))
            }
        }
    }

    /// Parses the `from` and `to` bounds with [`QueryParams::instant`], `to` as the end of
    /// its day when it is a date.
    ///
    /// # Errors
    ///
    /// Returns [`ApiError::BadRequest`] for a bound that does not parse, and
    /// [`ApiError::Validation`] naming `from` when `from` is later than `to`.
    pub fn time_range(&self, zone: Tz) -> Result<TimeRange, ApiError> {
        let from = self.instant("from", false, zone)?;
        let to = self.instant("to", true, zone)?;
        if let (Some(from), Some(to)) = (from, to) {
            check_order(from, to)?;
        }
        Ok((from, to))
    }

    /// Returns the `tz` parameter as an IANA zone, UTC when absent.
    ///
    /// # Errors
    ///
    /// Returns [`ApiError::BadRequest`] for a zone name chrono-tz does not know.
    pub fn time_zone(&self) -> Result<Tz, ApiError> {
        match self.text("tz")? {
            None => Ok(Tz::UTC),
            Some(name) => name.parse().map_err(|_| {
                // `Etc/GMT+5` arrives as `Etc/GMT 5` when its + is not encoded.
                let hint = match name.replace(' ', "+").parse::<Tz>() {
                    Ok(zone) if name.contains(' ') => format!(
                        "; a + in a query string reads as a space, so write {} as {}",
                        zone.name(),
                        zone.name().replace('+', "%2B")
                    ),
                    _ => String::new(),
                };
                ApiError::BadRequest(format!(
                    "Invalid tz {name:?}: use an IANA zone such as Europe/Paris{hint}"
                ))
            }),
        }
    }

    /// Parses a time bound: RFC 3339 (any offset) or a date `YYYY-MM-DD` in `zone`.
    ///
    /// A date means the start of that day, or its last microsecond when `end_of_day` is set,
    /// so `to=2026-02-08` includes all of 8 February. A day starts at its first local time
    /// that exists, which is later than midnight where the clocks skip midnight.
    ///
    /// # Errors
    ///
    /// Returns [`ApiError::BadRequest`] naming the parameter when the text is neither form.
    pub fn instant(
        &self,
        name: &str,
        end_of_day: bool,
        zone: Tz,
    ) -> Result<Option<DateTime<Utc>>, ApiError> {
        let Some(text) = self.text(name)? else {
            return Ok(None);
        };
        // An unencoded `+` arrives as a space, as form encoding reads it, and chrono skips
        // spaces before a date, so `+2026-02-07` would read as the date.
        if text.contains(char::is_whitespace) {
            let hint = if DateTime::parse_from_rfc3339(text.trim_end().replace(' ', "+").as_str())
                .is_ok()
            {
                format!(
                    "; write the offset's + as %2B, as in {}",
                    text.trim_end().replace(' ', "%2B")
                )
            } else {
                String::new()
            };
            return Err(ApiError::BadRequest(format!(
                "Invalid {name} {text:?}: it contains a space, and a + in a query string reads \
                 as a space{hint}"
            )));
        }
        if let Ok(instant) = DateTime::parse_from_rfc3339(&text) {
            if chrono::Timelike::nanosecond(&instant) >= 1_000_000_000 {
                return Err(ApiError::BadRequest(format!(
                    "Invalid {name} {text:?}: leap seconds are not supported; use :59.999999 \
                     instead of :60"
                )));
            }
            return Ok(Some(instant.with_timezone(&Utc)));
        }
        if let Some(reason) = agentlens_core::event::explain_missing_date(&text) {
            return Err(ApiError::BadRequest(format!(
                "Invalid {name} {text:?}: {reason}"
            )));
        }
        let invalid = || {
            ApiError::BadRequest(format!(
                "Invalid {name} {text:?}: use an RFC 3339 time such as 2026-02-07T10:00:00Z \
                 or a date such as 2026-02-07"
            ))
        };
        let date = NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|_| invalid())?;
        let (day, shift) = if end_of_day {
            let next_day = date.succ_opt().ok_or_else(invalid)?;
            (next_day, chrono::Duration::microseconds(-1))
        } else {
            (date, chrono::Duration::zero())
        };
        let start = local_midnight(day, zone).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Invalid {name} {text:?}: the time zone {zone} skips that whole day; \
                 use an RFC 3339 time"
            ))
        })?;
        Ok(Some(start + shift))
    }
}

/// Rejects a time range whose start is later than its end.
///
/// # Errors
///
/// Returns [`ApiError::Validation`] naming `from`.
pub fn check_order(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), ApiError> {
    if from <= to {
        return Ok(());
    }
    Err(ApiError::Validation(vec![FieldError {
        path: "from".to_owned(),
        message: format!(
            "from ({}) is later than to ({}); expected from at or before to",
            from.to_rfc3339(),
            to.to_rfc3339()
        ),
    }]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> QueryParams {
        QueryParams(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn paging_defaults_and_bounds() {
        let paging = params(&[]).paging().unwrap();
        assert_eq!((paging.limit, paging.offset), (50, 0));
        let paging = params(&[("limit", "500"), ("offset", &i64::MAX.to_string())])
            .paging()
            .unwrap();
        assert_eq!((paging.limit, paging.offset), (500, i64::MAX));
        assert_eq!(params(&[("limit", "007")]).paging().unwrap().limit, 7);
    }

    #[test]
    fn invalid_paging_is_rejected() {
        for (name, value) in [
            ("limit", "abc"),
            ("limit", "0"),
            ("limit", "-1"),
            ("limit", "501"),
            ("limit", "1.5"),
            ("limit", "+5"),
            ("limit", " 5"),
            ("limit", "5 "),
            ("limit", "５"),
            ("offset", "+0"),
            ("offset", "-5"),
            ("offset", "99999999999999999999"),
        ] {
            let error = params(&[(name, value)]).paging().unwrap_err();
            let ApiError::Validation(details) = error else {
                panic!("{name}={value}: expected a validation error");
            };
            assert_eq!(details[0].path, name, "{name}={value}");
        }
    }

    #[test]
    fn offset_time_is_normalised_to_utc() {
        let instant =
            params(&[("from", "2026-02-07T15:30:00+05:30")]).instant("from", false, Tz::UTC);
        assert_eq!(
            instant.unwrap().unwrap().to_rfc3339(),
            "2026-02-07T10:00:00+00:00"
        );
    }

    #[test]
    fn unencoded_offset_plus_gets_hint() {
        let error = params(&[("from", "2026-12-05T15:40:00 05:30")])
            .instant("from", false, Tz::UTC)
            .unwrap_err();
        let ApiError::BadRequest(message) = error else {
            panic!("expected a bad request");
        };
        assert!(message.contains("%2B"), "{message}");
        assert!(message.contains("2026-12-05T15:40:00%2B05:30"), "{message}");
    }

    #[test]
    fn spaces_and_leap_seconds_rejected() {
        for (value, expected) in [
            (" 2026-12-05", "contains a space"),
            ("2026-12-05T15:40:00 05:30 ", "2026-12-05T15:40:00%2B05:30"),
            ("2026-12-05T10:04:60Z", "leap seconds"),
        ] {
            let error = params(&[("from", value)])
                .instant("from", false, Tz::UTC)
                .unwrap_err();
            let ApiError::BadRequest(message) = error else {
                panic!("{value:?}: expected a bad request");
            };
            assert!(message.contains(expected), "{value:?}: {message}");
        }
    }

    #[test]
    fn unencoded_zone_plus_gets_hint() {
        let error = params(&[("tz", "Etc/GMT 5")]).time_zone().unwrap_err();
        let ApiError::BadRequest(message) = error else {
            panic!("expected a bad request");
        };
        assert!(message.contains("Etc/GMT%2B5"), "{message}");
    }

    #[test]
    fn date_bound_covers_whole_day() {
        let query = params(&[("to", "2026-02-08")]);
        let end = query.instant("to", true, Tz::UTC).unwrap().unwrap();
        assert_eq!(
            agentlens_core::event::format_timestamp(&end),
            "2026-02-08T23:59:59.999999Z"
        );
    }

    #[test]
    fn date_bound_starts_after_skipped_midnight() {
        // Sao Paulo moved its clocks from 00:00 to 01:00 on 2018-11-04, and Santiago did on
        // 2026-09-06.
        let sao_paulo: Tz = "America/Sao_Paulo".parse().unwrap();
        let from = params(&[("from", "2018-11-04")]);
        let start = from.instant("from", false, sao_paulo).unwrap().unwrap();
        assert_eq!(start.to_rfc3339(), "2018-11-04T03:00:00+00:00");

        let to = params(&[("to", "2018-11-03")]);
        let end = to.instant("to", true, sao_paulo).unwrap().unwrap();
        assert_eq!(
            agentlens_core::event::format_timestamp(&end),
            "2018-11-04T02:59:59.999999Z"
        );

        let santiago: Tz = "America/Santiago".parse().unwrap();
        let from = params(&[("from", "2026-09-06")]);
        assert!(from.instant("from", false, santiago).unwrap().is_some());
    }

    #[test]
    fn skipped_day_names_zone() {
        // Samoa skipped 30 December 2011 when it moved across the date line.
        let apia: Tz = "Pacific/Apia".parse().unwrap();
        let error = params(&[("from", "2011-12-30")])
            .instant("from", false, apia)
            .unwrap_err();
        assert!(error
            .to_string()
            .contains("Pacific/Apia skips that whole day"));
    }

    #[test]
    fn list_of_rejects_value_outside_allowed() {
        let allowed = ["llm_call", "tool_call"];

        let items = params(&[("eventType", "llm_call, tool_call")])
            .list_of("eventType", &allowed)
            .unwrap();
        assert_eq!(items, ["llm_call", "tool_call"]);

        let message = params(&[("eventType", "llm_call,bogus")])
            .list_of("eventType", &allowed)
            .unwrap_err()
            .to_string();
        assert!(message.contains("\"bogus\""), "{message}");
        assert!(message.contains("llm_call, tool_call"), "{message}");
    }

    #[test]
    fn boolean_accepts_only_true_or_false() {
        let flag = |value| params(&[("countOnly", value)]).boolean("countOnly");

        assert_eq!(flag("true").unwrap(), Some(true));
        assert_eq!(flag("false").unwrap(), Some(false));
        assert_eq!(params(&[]).boolean("countOnly").unwrap(), None);
        for value in ["maybe", "1", "TRUE", "yes"] {
            let message = flag(value).unwrap_err().to_string();
            assert!(
                message.contains("expected true or false"),
                "{value}: {message}"
            );
            assert!(
                message.contains(&format!("{value:?}")),
                "{value}: {message}"
            );
        }
    }

    #[test]
    fn nonexistent_date_is_named_as_such() {
        for (text, expected) in [
            ("2026-02-30", "2026-02 has 28 days"),
            ("2028-02-30", "2028-02 has 29 days"),
            ("2026-04-31T10:00:00Z", "2026-04 has 30 days"),
            ("2026-13-01", "month 13 does not exist"),
            ("2026-00-10", "month 00 does not exist"),
        ] {
            let message = params(&[("from", text)])
                .instant("from", false, Tz::UTC)
                .unwrap_err()
                .to_string();

            assert!(message.contains(expected), "{text}: {message}");
            assert!(!message.contains("time zone"), "{text}: {message}");
        }
    }

    #[test]
    fn empty_value_is_rejected_by_every_getter() {
        let empty = |name| params(&[(name, "")]);
        let errors = [
            (
                "sessionId",
                empty("sessionId").text("sessionId").unwrap_err(),
            ),
            ("tags", empty("tags").list("tags").unwrap_err()),
            (
                "countOnly",
                empty("countOnly").boolean("countOnly").unwrap_err(),
            ),
            ("limit", empty("limit").paging().unwrap_err()),
            ("offset", empty("offset").paging().unwrap_err()),
            ("tz", empty("tz").time_zone().unwrap_err()),
            ("from", empty("from").time_range(Tz::UTC).unwrap_err()),
            ("to", empty("to").instant("to", true, Tz::UTC).unwrap_err()),
        ];

        for (name, error) in errors {
            let message = error.to_string();
            assert!(
                message.contains(&format!("Invalid {name} \"\"")),
                "{name}: {message}"
            );
            assert!(message.contains("the value is empty"), "{name}: {message}");
        }
    }

    #[test]
    fn text_returns_present_or_absent_value() {
        assert_eq!(params(&[]).text("sessionId").unwrap(), None);
        let present = params(&[("sessionId", "s1")]).text("sessionId").unwrap();
        assert_eq!(present.as_deref(), Some("s1"));
    }

    #[test]
    fn garbage_time_names_parameter() {
        let error = params(&[("from", "yesterday")])
            .instant("from", false, Tz::UTC)
            .unwrap_err();
        assert!(error.to_string().contains("Invalid from"));
    }
}
