//! Schemas of query parameters that accept a closed set of values or a fixed format, so the
//! document lists exactly the values the handlers parse.

use agentlens_core::event::{EventType, Severity};
use utoipa::openapi::schema::{
    KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Values of `granularity`, in the spelling that the analytics handlers match.
pub const GRANULARITIES: [&str; 3] = ["hour", "day", "week"];

/// Values of `order` on `GET /api/events`.
pub const ORDERS: [&str; 2] = ["asc", "desc"];

/// Returns a string schema that accepts only `values`.
fn string_enum<'a>(values: impl IntoIterator<Item = &'a str>, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .into()
}

/// Bucket size of a time series: `hour`, `day` or `week` (ISO weeks, starting Monday).
#[derive(Debug)]
pub struct Granularity;

impl PartialSchema for Granularity {
    fn schema() -> RefOr<Schema> {
        string_enum(
            GRANULARITIES,
            "Bucket size: hour, day or week (ISO weeks, starting Monday)",
        )
    }
}

impl ToSchema for Granularity {}

/// Length of the range that ends at `to` (now by default), used when `from` is absent.
#[derive(Debug)]
pub struct Range;

impl PartialSchema for Range {
    fn schema() -> RefOr<Schema> {
        string_enum(
            crate::handlers::analytics::RANGES.map(|(name, _)| name),
            "Length of the range that ends at `to` (now by default)",
        )
    }
}

impl ToSchema for Range {}

/// Name of a zone in the IANA time zone database, in the spelling chrono-tz parses.
#[derive(Debug)]
pub struct TimeZone;

impl PartialSchema for TimeZone {
    fn schema() -> RefOr<Schema> {
        string_enum(
            chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name()),
            "IANA time zone name, such as Europe/Paris or Asia/Kolkata",
        )
    }
}

impl ToSchema for TimeZone {}

/// A `from` or `to` bound: an RFC 3339 time with any offset, or a date `YYYY-MM-DD`.
///
/// A date starts at midnight for `from` and includes its whole day for `to`, in the zone of
/// `tz` where the route takes one and in UTC otherwise. The schema cannot state that `from`
/// must not be later than `to`, or than now where `to` defaults to now. Such a request is a
/// 400 naming `from`.
#[derive(Debug)]
pub struct TimeBound;

impl PartialSchema for TimeBound {
    fn schema() -> RefOr<Schema> {
        let formatted = |format: KnownFormat, description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(format)))
                .description(Some(description))
        };
        OneOfBuilder::new()
            .item(formatted(
                KnownFormat::DateTime,
                "RFC 3339 time with any offset, such as 2026-02-07T10:00:00+05:30",
            ))
            .item(formatted(KnownFormat::Date, "Date such as 2026-02-07"))
            .description(Some(
                "RFC 3339 time or date. from must not be later than to, or than now where to \
                 defaults to now",
            ))
            .into()
    }
}

impl ToSchema for TimeBound {}

/// Values of `status` on `GET /api/sessions`.
pub const SESSION_STATUSES: [&str; 4] = ["active", "completed", "error", "idle"];

/// A comma list of session statuses, such as `active,idle`.
#[derive(Debug)]
pub struct SessionStatusList;

impl PartialSchema for SessionStatusList {
    fn schema() -> RefOr<Schema> {
        let status = SESSION_STATUSES.join("|");
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("^ *({status}) *(, *({status}) *)*$")))
            .description(Some(
                "Comma list of active, completed, error and idle (active with no event for \
                 30 minutes)",
            ))
            .into()
    }
}

impl ToSchema for SessionStatusList {}

/// Returns a string schema that accepts a comma list of `values`, spaces allowed around
/// each item.
fn comma_list<'a>(values: impl IntoIterator<Item = &'a str>, description: &str) -> RefOr<Schema> {
    let alternatives = values.into_iter().collect::<Vec<_>>().join("|");
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!(
            "^ *({alternatives}) *(, *({alternatives}) *)*$"
        )))
        .description(Some(description))
        .into()
}

/// A comma list of event types, such as `llm_call,tool_call`, the server-only ones included.
#[derive(Debug)]
pub struct EventTypeList;

impl PartialSchema for EventTypeList {
    fn schema() -> RefOr<Schema> {
        comma_list(
            EventType::ALL.iter().map(EventType::as_str),
            "Comma list of event types, such as llm_call,tool_call",
        )
    }
}

impl ToSchema for EventTypeList {}

/// A comma list of severities, such as `error,critical`.
#[derive(Debug)]
pub struct SeverityList;

impl PartialSchema for SeverityList {
    fn schema() -> RefOr<Schema> {
        comma_list(
            Severity::ALL.iter().map(Severity::as_str),
            "Comma list of debug, info, warn, error and critical",
        )
    }
}

impl ToSchema for SeverityList {}

/// Sort order of a page of events: `asc` for oldest first, `desc` for newest first.
#[derive(Debug)]
pub struct Order;

impl PartialSchema for Order {
    fn schema() -> RefOr<Schema> {
        string_enum(ORDERS, "asc for oldest first, desc for newest first")
    }
}

impl ToSchema for Order {}

#[cfg(test)]
mod tests {
    use chrono_tz::Tz;

    #[test]
    fn every_listed_time_zone_parses() {
        for zone in chrono_tz::TZ_VARIANTS {
            assert_eq!(zone.name().parse::<Tz>(), Ok(zone));
        }
    }
}
