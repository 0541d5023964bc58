//! Schemas of query parameters that accept a closed set of values, so the document lists
//! exactly the values the handlers parse.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
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

/// Length of the range that ends now, used when `from` is absent.
#[derive(Debug)]
pub struct Range;

impl PartialSchema for Range {
    fn schema() -> RefOr<Schema> {
        string_enum(
            crate::handlers::analytics::RANGES.map(|(name, _)| name),
            "Length of the range that ends now",
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
