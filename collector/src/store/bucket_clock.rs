//! Bucket boundaries and labels on the clock of an IANA zone, shared by every report.
//!
//! A bucket is a maximal stretch of time in which the zone's wall clock shows the same
//! local hour (date and hour), the same local date, or the same ISO week. A bucket starts
//! where that value changes, and its label is the local time at its start:
//!
//! - An ordinary hour starts at minute 0 of the local clock.
//! - When the clock jumps forward over the start of an hour, that hour starts at the jump
//!   and is shorter. Australia/Lord_Howe jumps from 02:00+10:30 to 02:30+11:00, so its
//!   hour 02 runs from 02:30+11:00 to 03:00+11:00, 30 minutes.
//! - When the clock goes back, the local hour it repeats is one longer bucket. Lord Howe
//!   goes back from 02:00+11:00 to 01:30+10:30, so its hour 01 runs from 01:00+11:00 to
//!   02:00+10:30, 90 minutes, and 01:00 in New York on the first Sunday of November is
//!   one bucket of two hours.
//! - A clock that goes back at other than a whole hour, or by more than an hour, shows an
//!   hour again after another hour. Pacific/Chatham goes back from 03:45+13:45 to
//!   02:45+12:45, so hours 02 and 03 each have two buckets with the same label.
//! - Days and weeks follow the same rule: a day lasts 23 or 25 hours across a daylight
//!   saving change, and starts at the jump when the clock skips midnight.
//!
//! Offsets and transitions are whole seconds, so boundaries are too. Historical local mean
//! time offsets, such as −0:44:30 in Africa/Monrovia until 1972, put boundaries inside a
//! minute. Labels are RFC 3339, except that an offset with seconds is written `±hh:mm:ss`,
//! because RFC 3339 offsets are whole minutes and a rounded offset names another instant.

use chrono::{
    DateTime, Datelike, Duration, NaiveDateTime, NaiveTime, Offset, SecondsFormat, SubsecRound,
    TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

use super::analytics::Granularity;

/// One bucket: the interval `[start, end)` and its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
    pub(crate) label: String,
}

impl Bucket {
    fn contains(&self, instant: DateTime<Utc>) -> bool {
        self.start <= instant && instant < self.end
    }
}

/// Places instants in buckets, reusing the last bucket found, because callers mostly
/// place instants in time order.
#[derive(Debug)]
pub(crate) struct BucketCursor {
    granularity: Granularity,
    zone: Tz,
    current: Option<Bucket>,
}

impl BucketCursor {
    /// Creates a cursor over the buckets of `granularity` on the clock of `zone`.
    pub(crate) fn new(granularity: Granularity, zone: Tz) -> BucketCursor {
        BucketCursor {
            granularity,
            zone,
            current: None,
        }
    }

    /// Returns the bucket that contains `instant`.
    pub(crate) fn place(&mut self, instant: DateTime<Utc>) -> &Bucket {
        let bucket = match self.current.take() {
            Some(bucket) if bucket.contains(instant) => bucket,
            _ => {
                let (start, label) = bucket_of(instant, self.granularity, self.zone);
                let end = next_bucket_start(start, self.granularity, self.zone);
                Bucket { start, end, label }
            }
        };
        self.current.insert(bucket)
    }
}

/// Returns the start instant and label of the bucket that contains `instant`.
pub(crate) fn bucket_of(
    instant: DateTime<Utc>,
    granularity: Granularity,
    zone: Tz,
) -> (DateTime<Utc>, String) {
    let start = bucket_start(instant, granularity, zone);
    (start, label(start, granularity, zone))
}

/// Returns the start of the bucket after the one starting at `start`.
pub(crate) fn next_bucket_start(
    start: DateTime<Utc>,
    granularity: Granularity,
    zone: Tz,
) -> DateTime<Utc> {
    let nominal = match granularity {
        Granularity::Hour => Duration::hours(1),
        Granularity::Day => Duration::days(1),
        Granularity::Week => Duration::weeks(1),
    };

    // A bucket can outlast its nominal length (a 25-hour day, a repeated hour), so step
    // on by an hour until the bucket changes.
    let mut probe = start + nominal;
    let mut next = bucket_start(probe, granularity, zone);
    while next <= start {
        probe += Duration::hours(1);
        next = bucket_start(probe, granularity, zone);
    }

    // A bucket after a jump forward is shorter, so the step may have passed a whole
    // bucket. Walk back to the first boundary after `start`.
    loop {
        let previous = bucket_start(next - Duration::nanoseconds(1), granularity, zone);
        if previous <= start {
            return next;
        }
        next = previous;
    }
}

/// Returns the first instant of a local date, or `None` if the zone skips that whole day.
pub(crate) fn local_midnight(date: chrono::NaiveDate, zone: Tz) -> Option<DateTime<Utc>> {
    // Find an instant of the date first. A zone may skip midnight when its clocks jump
    // forward (Sao Paulo until 2019, Santiago, Havana, Beirut, Cairo), so try the following
    // minutes. Midnight exists on almost every day, so the loop nearly always stops at once.
    let instant = (0..24 * 60).find_map(|minute| {
        let time = date.and_hms_opt(minute / 60, minute % 60, 0)?;
        zone.from_local_datetime(&time)
            .earliest()
            .map(|start| start.with_timezone(&Utc))
    })?;
    // The date then starts at the jump, which can be inside a minute.
    Some(bucket_start(instant, Granularity::Day, zone))
}

/// Returns the start of the bucket that contains `instant`.
fn bucket_start(instant: DateTime<Utc>, granularity: Granularity, zone: Tz) -> DateTime<Utc> {
    match granularity {
        Granularity::Hour => unit_start(instant, zone, Unit::Hour),
        Granularity::Day => unit_start(instant, zone, Unit::Day),
        Granularity::Week => week_start(instant, zone),
    }
}

/// A local hour or date, the units that [`unit_start`] finds directly.
#[derive(Debug, Clone, Copy)]
enum Unit {
    Hour,
    Day,
}

impl Unit {
    /// Returns the wall time where the unit containing `wall` starts on a regular day.
    fn floor(self, wall: NaiveDateTime) -> NaiveDateTime {
        match self {
            Unit::Hour => {
                wall.date().and_time(NaiveTime::MIN) + Duration::hours(wall.hour().into())
            }
            Unit::Day => wall.date().and_time(NaiveTime::MIN),
        }
    }
}

/// Returns the first instant of the longest stretch up to `instant` whose wall clock
/// stays in the same local hour or date.
///
/// NOTE: It assumes, without checking, that the zone changes its offset at most once
/// between the regular start of a unit and any instant in it (about 26 hours). In tzdata
/// 2025b, `zdump -v` lists no zone with two transitions less than 30 hours apart between
/// 1800 and 2100.
fn unit_start(instant: DateTime<Utc>, zone: Tz, unit: Unit) -> DateTime<Utc> {
    let key = unit.floor(wall(instant, zone));
    let mut probe = instant;
    loop {
        // Where the unit would start if the offset at `probe` had always applied.
        let offset = offset_seconds(probe, zone);
        let regular = probe - (wall(probe, zone) - key);
        let start = if offset_seconds(regular, zone) == offset {
            regular
        } else {
            transition_to(offset, regular, probe, zone)
        };

        // A jump back can repeat wall times of the unit before `start`, and then the unit
        // goes on before it.
        let before = start - Duration::nanoseconds(1);
        if unit.floor(wall(before, zone)) != key {
            return start;
        }
        probe = before;
    }
}

/// Returns the first instant of the ISO week that contains `instant`, found by walking
/// back over local dates.
fn week_start(instant: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    let week = wall(instant, zone).iso_week();
    let mut start = unit_start(instant, zone, Unit::Day);
    loop {
        let before = start - Duration::nanoseconds(1);
        if wall(before, zone).iso_week() != week {
            return start;
        }
        start = unit_start(before, zone, Unit::Day);
    }
}

/// Returns the instant in `(low, high]` where the offset changes to `offset`, which is
/// the offset at `high` and not at `low`.
fn transition_to(offset: i32, low: DateTime<Utc>, high: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    // Transitions are on whole seconds, so the search runs over whole seconds.
    let (mut before, mut after) = (low.trunc_subsecs(0), high.trunc_subsecs(0));
    while (after - before).num_seconds() > 1 {
        let middle = before + Duration::seconds((after - before).num_seconds() / 2);
        if offset_seconds(middle, zone) == offset {
            after = middle;
        } else {
            before = middle;
        }
    }
    after
}

fn wall(instant: DateTime<Utc>, zone: Tz) -> NaiveDateTime {
    instant.with_timezone(&zone).naive_local()
}

fn offset_seconds(instant: DateTime<Utc>, zone: Tz) -> i32 {
    zone.offset_from_utc_datetime(&instant.naive_utc())
        .fix()
        .local_minus_utc()
}

/// Returns the label of the bucket starting at `start`: its local time, or its ISO week.
fn label(start: DateTime<Utc>, granularity: Granularity, zone: Tz) -> String {
    let local = start.with_timezone(&zone);
    if granularity == Granularity::Week {
        let week = local.iso_week();
        return format!("{}-W{:02}", week.year(), week.week());
    }

    let offset = local.offset().fix().local_minus_utc();
    if offset % 60 == 0 {
        return local.to_rfc3339_opts(SecondsFormat::Secs, true);
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let seconds = offset.unsigned_abs();
    format!(
        "{}{sign}{:02}:{:02}:{:02}",
        local.naive_local().format("%Y-%m-%dT%H:%M:%S"),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{Africa, America, Asia, Australia, Pacific};

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// Returns the labels and lengths in minutes of the buckets that meet `[from, to)`.
    fn buckets(from: &str, to: &str, granularity: Granularity, zone: Tz) -> Vec<(String, i64)> {
        let mut cursor = BucketCursor::new(granularity, zone);
        let mut list = Vec::new();
        let mut instant = at(from);
        while instant < at(to) {
            let bucket = cursor.place(instant).clone();
            list.push((bucket.label, (bucket.end - bucket.start).num_minutes()));
            instant = bucket.end;
        }
        list
    }

    #[test]
    fn utc_hour_and_day_labels() {
        let instant = at("2026-02-07T10:45:00Z");
        assert_eq!(
            bucket_of(instant, Granularity::Hour, Tz::UTC).1,
            "2026-02-07T10:00:00Z"
        );
        assert_eq!(
            bucket_of(instant, Granularity::Day, Tz::UTC).1,
            "2026-02-07T00:00:00Z"
        );
    }

    #[test]
    fn iso_week_label_crosses_year() {
        let instant = at("2027-01-01T12:00:00Z");
        let (start, label) = bucket_of(instant, Granularity::Week, Tz::UTC);
        assert_eq!(label, "2026-W53");
        assert_eq!(start, at("2026-12-28T00:00:00Z"));
    }

    #[test]
    fn day_bucket_follows_time_zone() {
        let instant = at("2026-02-07T20:00:00Z");
        let (_, label) = bucket_of(instant, Granularity::Day, Asia::Kolkata);
        assert_eq!(label, "2026-02-08T00:00:00+05:30");
    }

    #[test]
    fn hour_bucket_with_half_hour_offset() {
        let instant = at("2026-02-07T10:15:00Z");
        let (start, label) = bucket_of(instant, Granularity::Hour, Asia::Kolkata);
        assert_eq!(label, "2026-02-07T15:00:00+05:30");
        assert_eq!(start, at("2026-02-07T09:30:00Z"));
    }

    #[test]
    fn lord_howe_jump_shortens_hour() {
        let list = buckets(
            "2026-10-03T13:30:00Z",
            "2026-10-03T17:00:00Z",
            Granularity::Hour,
            Australia::Lord_Howe,
        );
        let expected = [
            ("2026-10-04T00:00:00+10:30", 60),
            ("2026-10-04T01:00:00+10:30", 60),
            ("2026-10-04T02:30:00+11:00", 30),
            ("2026-10-04T03:00:00+11:00", 60),
        ];
        let expected: Vec<_> = expected.map(|(l, m)| (l.to_owned(), m)).into();
        assert_eq!(list, expected);
    }

    #[test]
    fn lord_howe_repeat_lengthens_hour() {
        let list = buckets(
            "2027-04-03T13:00:00Z",
            "2027-04-03T16:30:00Z",
            Granularity::Hour,
            Australia::Lord_Howe,
        );
        let expected = [
            ("2027-04-04T00:00:00+11:00", 60),
            ("2027-04-04T01:00:00+11:00", 90),
            ("2027-04-04T02:00:00+10:30", 60),
        ];
        let expected: Vec<_> = expected.map(|(l, m)| (l.to_owned(), m)).into();
        assert_eq!(list, expected);
        let (start, _) = bucket_of(
            at("2027-04-03T15:10:00Z"),
            Granularity::Hour,
            Australia::Lord_Howe,
        );
        assert_eq!(start, at("2027-04-03T14:00:00Z"));
    }

    #[test]
    fn chatham_repeats_hour_after_another() {
        let list = buckets(
            "2026-04-04T12:15:00Z",
            "2026-04-04T15:15:00Z",
            Granularity::Hour,
            Pacific::Chatham,
        );
        let expected = [
            ("2026-04-05T02:00:00+13:45", 60),
            ("2026-04-05T03:00:00+13:45", 45),
            ("2026-04-05T02:45:00+12:45", 15),
            ("2026-04-05T03:00:00+12:45", 60),
        ];
        let expected: Vec<_> = expected.map(|(l, m)| (l.to_owned(), m)).into();
        assert_eq!(list, expected);
    }

    #[test]
    fn new_york_repeated_hour_is_one_bucket() {
        let (start, label) = bucket_of(
            at("2026-11-01T06:30:00Z"),
            Granularity::Hour,
            America::New_York,
        );
        assert_eq!(label, "2026-11-01T01:00:00-04:00");
        assert_eq!(
            next_bucket_start(start, Granularity::Hour, America::New_York),
            at("2026-11-01T07:00:00Z")
        );
    }

    #[test]
    fn day_lengths_follow_daylight_saving() {
        let list = buckets(
            "2026-11-01T04:00:00Z",
            "2026-11-03T05:00:00Z",
            Granularity::Day,
            America::New_York,
        );
        assert_eq!(list[0], ("2026-11-01T00:00:00-04:00".to_owned(), 25 * 60));
        assert_eq!(list[1], ("2026-11-02T00:00:00-05:00".to_owned(), 24 * 60));
    }

    #[test]
    fn monrovia_hours_start_inside_minutes() {
        let (start, label) = bucket_of(
            at("1971-06-01T10:00:00Z"),
            Granularity::Hour,
            Africa::Monrovia,
        );
        assert_eq!(start, at("1971-06-01T09:44:30Z"));
        assert_eq!(label, "1971-06-01T09:00:00-00:44:30");
    }

    #[test]
    fn monrovia_day_starts_at_offset_change() {
        // At 1972-01-07T00:44:30Z the clock jumped from 23:59:59 on Jan 6 to 00:44:30 GMT.
        let change = at("1972-01-07T00:44:30Z");
        let (start, label) = bucket_of(change, Granularity::Day, Africa::Monrovia);
        assert_eq!(start, change);
        assert_eq!(label, "1972-01-07T00:44:30Z");
        let before = change - Duration::seconds(1);
        let (_, label) = bucket_of(before, Granularity::Day, Africa::Monrovia);
        assert_eq!(label, "1972-01-06T00:00:00-00:44:30");
        let date = chrono::NaiveDate::from_ymd_opt(1972, 1, 7).unwrap();
        assert_eq!(local_midnight(date, Africa::Monrovia), Some(change));
    }

    #[test]
    fn week_starts_on_local_monday() {
        let (start, label) = bucket_of(
            at("2026-10-07T12:00:00Z"),
            Granularity::Week,
            Australia::Lord_Howe,
        );
        assert_eq!(label, "2026-W41");
        assert_eq!(start, at("2026-10-04T13:00:00Z"));
    }
}
