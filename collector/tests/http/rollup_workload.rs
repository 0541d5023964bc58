//! A generated cost workload and an independent recomputation of its cost report.
//!
//! [`Workload::generate`] draws `cost_tracked` and `llm_response` events and keeps each
//! event's figures as plain numbers. [`Workload::ingest`] sends them through
//! `prepare_batch` and `Store::ingest` in batches of 1000, as `POST /api/events` does.
//! [`Workload::expected_report`] rebuilds the body of `GET /api/analytics/costs` from
//! those numbers alone. It applies the cost rule, including the cost an unpriced
//! `llm_response` takes from a `cost_tracked` it supersedes. It places each event in its
//! hour, day or ISO week on the zone's clock with chrono-tz, and sums costs as integer
//! pico-dollars. No figure comes from store code, so a fault in the rollups, in the store's
//! own recomputation or in the cost columns written by ingest shows up as a difference.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};

use agentlens_collector::ingest::prepare_batch;
use agentlens_collector::store::analytics::{
    AgentCost, CostBucket, CostQuery, CostReport, CostTotals, Granularity, ModelCost, SessionCost,
};
use agentlens_collector::store::Store;
use agentlens_core::event::format_timestamp;
use agentlens_core::pricing::PriceTable;
use agentlens_core::Usd;
use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use futures_util::stream::{self, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

mod llm;

/// Provider and model of each event. Events of the last one are unpriced when they carry
/// no `costUsd`, because the embedded price table has no price for it.
const MODELS: [(&str, &str); 6] = [
    ("openai", "gpt-4o"),
    ("azure", "gpt-4o"),
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-sonnet-4-5"),
    ("google", "gemini-2.5-pro"),
    ("in-house", "unlisted-model-7"),
];

const AGENT_COUNT: usize = 12;
const SESSION_COUNT: usize = 2_000;

/// Sessions listed in `bySession`.
const TOP_SESSIONS: usize = 100;

/// Events per `Store::ingest` call, the most that `POST /api/events` accepts.
const BATCH: usize = 1_000;
/// Batches sent to the store before the first of them returns.
const IN_FLIGHT: usize = 4;

/// One generated event, with the figures the collector should count for it.
#[derive(Debug, Clone)]
struct WorkloadEvent {
    at: DateTime<Utc>,
    agent: usize,
    session: usize,
    model: usize,
    /// An `llm_response` rather than a `cost_tracked`.
    response: bool,
    call_id: Option<u32>,
    /// Reported cost; `None` makes the event unpriced.
    cost_pico: Option<i64>,
    /// Cost that the collector counts for the event. It is the reported cost, except that an
    /// unpriced `llm_response` takes the cost of the first `cost_tracked` with a cost that
    /// it supersedes.
    counted_cost_pico: Option<i64>,
    input_tokens: i64,
    output_tokens: i64,
    cache_read_tokens: i64,
    cache_write_5m_tokens: i64,
    cache_write_1h_tokens: i64,
}

/// A generated set of cost events.
#[derive(Debug)]
pub struct Workload {
    /// Events in ingest order, which is random in time.
    events: Vec<WorkloadEvent>,
    /// Indexes into `events`, oldest first.
    by_time: Vec<usize>,
    /// Session and call id of each call with at least one `llm_response`.
    answered_calls: HashSet<(usize, u32)>,
}

impl Workload {
    /// Generates `count` events spread over `days` days from `start`, three of them at
    /// each of `edges` (one microsecond before, at and after it).
    pub fn generate(
        count: usize,
        start: DateTime<Utc>,
        days: i64,
        edges: &[DateTime<Utc>],
    ) -> Workload {
        let mut rng = StdRng::seed_from_u64(7);
        let edge_times = edges
            .iter()
            .flat_map(|&edge| [-1, 0, 1].map(|step| edge + Duration::microseconds(step)));
        let mut times: Vec<DateTime<Utc>> = edge_times.take(count).collect();
        while times.len() < count {
            times.push(start + Duration::microseconds(rng.random_range(0..days * 86_400_000_000)));
        }

        let mut events: Vec<WorkloadEvent> = times
            .into_iter()
            .enumerate()
            .map(|(index, at)| random_event(&mut rng, index, at))
            .collect();
        fill_unpriced_responses(&mut events);
        let mut by_time: Vec<usize> = (0..events.len()).collect();
        by_time.sort_by_key(|&index| events[index].at);
        let answered_calls = events
            .iter()
            .filter(|event| event.response)
            .filter_map(|event| Some((event.session, event.call_id?)))
            .collect();
        Workload {
            events,
            by_time,
            answered_calls,
        }
    }

    /// Stores every event through `prepare_batch` and `Store::ingest`, 1000 per batch,
    /// with up to [`IN_FLIGHT`] batches waiting for the writer at once, as concurrent
    /// clients send them. Batches that wait together share a transaction.
    ///
    /// The batches reach the writer in the generated order, which the expected figures
    /// assume: which `llm_response` of a call comes first, and which `cost_tracked` cost
    /// an unpriced one takes, depend on it. `buffered` polls each new ingest future first
    /// in the order of the batches, and that first poll queues the batch for the writer.
    pub async fn ingest(&self, store: &Store) {
        let batches = self.events.chunks(BATCH).map(|chunk| {
            let body = json!({ "events": chunk.iter().map(event_json).collect::<Vec<_>>() });
            let prepared = match prepare_batch(&body, Utc::now(), PriceTable::embedded()) {
                Ok(prepared) => prepared,
                Err(error) => panic!("generated batch is invalid: {error:?}"),
            };
            let store = store.clone();
            async move { store.ingest("default", prepared).await.unwrap() }
        });
        stream::iter(batches)
            .buffered(IN_FLIGHT)
            .for_each(|_| async {})
            .await;
    }

    /// Returns the cost report that `query` should produce, computed from the generated
    /// events.
    pub fn expected_report(&self, query: &CostQuery) -> CostReport {
        let from: DateTime<Utc> = query.from.parse().unwrap();
        let to: DateTime<Utc> = query.to.parse().unwrap();
        // `Some(None)` selects an agent id that no event has.
        let agent = (query.agent_id.as_deref())
            .map(|id| (0..AGENT_COUNT).find(|&agent| agent_name(agent) == id));
        let first = self.by_time.partition_point(|&i| self.events[i].at < from);
        let end = self.by_time.partition_point(|&i| self.events[i].at <= to);

        let mut sums = ReportSums::default();
        let mut buckets = BucketCache::new(query.granularity, query.time_zone);
        for &index in &self.by_time[first..end] {
            let event = &self.events[index];
            if agent.is_some_and(|agent| agent != Some(event.agent)) || !self.counts(event) {
                continue;
            }
            let (start, label) = buckets.bucket_of(event.at);
            sums.add(event, start, label);
        }
        sums.into_report()
    }

    /// Returns the number of `cost_tracked` events that an `llm_response` supersedes.
    pub fn superseded_count(&self) -> usize {
        self.events
            .iter()
            .filter(|event| !self.counts(event))
            .count()
    }

    /// Returns the number of unpriced `llm_response` events that take the cost of a
    /// `cost_tracked` they supersede.
    pub fn filled_count(&self) -> usize {
        self.events
            .iter()
            .filter(|event| event.cost_pico.is_none() && event.counted_cost_pico.is_some())
            .count()
    }

    /// Applies the cost rule: a `cost_tracked` whose call id has an `llm_response` in its
    /// session does not count, in whichever order the two arrived.
    fn counts(&self, event: &WorkloadEvent) -> bool {
        event.response
            || event
                .call_id
                .is_none_or(|call| !self.answered_calls.contains(&(event.session, call)))
    }
}

/// Gives each unpriced `llm_response` that supersedes `cost_tracked` events the cost of the
/// first of them with a cost, in ingest order. Only the first `llm_response` of a call id in
/// a session supersedes, and every `cost_tracked` of that session and call id is superseded
/// by it, whichever arrived first.
fn fill_unpriced_responses(events: &mut [WorkloadEvent]) {
    let mut first_response: HashMap<(usize, u32), usize> = HashMap::new();
    let mut first_cost: HashMap<(usize, u32), i64> = HashMap::new();
    for (index, event) in events.iter().enumerate() {
        let Some(call) = event.call_id else {
            continue;
        };
        let key = (event.session, call);
        if event.response {
            first_response.entry(key).or_insert(index);
        } else if let Some(cost) = event.cost_pico {
            first_cost.entry(key).or_insert(cost);
        }
    }
    for (key, index) in first_response {
        let response = &mut events[index];
        if response.cost_pico.is_none() {
            response.counted_cost_pico = first_cost.get(&key).copied();
        }
    }
}

/// Draws the figures of the event at position `index` of the ingest order.
fn random_event(rng: &mut StdRng, index: usize, at: DateTime<Utc>) -> WorkloadEvent {
    let model = rng.random_range(0..MODELS.len());
    let response = rng.random_bool(0.2);
    // About eight events per call id, drawn from the ids used so far, so an
    // `llm_response` can come before or after the `cost_tracked` events it supersedes.
    // An `llm_response` requires a call id; some `cost_tracked` events have none.
    let call_id =
        (response || rng.random_bool(0.9)).then(|| rng.random_range(0..index as u32 / 8 + 1));
    // The events of one call id fall into two sessions, so some `llm_response` events
    // supersede a `cost_tracked` of their session and others share only the call id.
    let session = match call_id {
        Some(call) => (call as usize * 7 + rng.random_range(0..2)) % SESSION_COUNT,
        None => rng.random_range(0..SESSION_COUNT),
    };
    let unpriced = model == MODELS.len() - 1 && rng.random_bool(0.5);
    let cost_pico = (!unpriced).then(|| rng.random_range(0..5_000_000_000_000));
    let input_tokens = rng.random_range(0..5_000);
    let mut cache_share = |probability: f64, divisor: i64| {
        if !response && rng.random_bool(probability) {
            rng.random_range(0..=input_tokens / divisor)
        } else {
            0
        }
    };
    let cache_read_tokens = cache_share(0.3, 2);
    let cache_write_5m_tokens = cache_share(0.2, 4);
    let cache_write_1h_tokens = cache_share(0.1, 4);
    WorkloadEvent {
        at,
        agent: rng.random_range(0..AGENT_COUNT),
        session,
        model,
        response,
        call_id,
        cost_pico,
        counted_cost_pico: cost_pico,
        input_tokens,
        output_tokens: rng.random_range(0..800),
        cache_read_tokens,
        cache_write_5m_tokens,
        cache_write_1h_tokens,
    }
}

/// Returns the API JSON of an event.
fn event_json(event: &WorkloadEvent) -> Value {
    let (provider, model) = MODELS[event.model];
    let mut payload = json!({ "provider": provider, "model": model });
    if event.response {
        payload["usage"] = json!({
            "inputTokens": event.input_tokens,
            "outputTokens": event.output_tokens,
            "totalTokens": event.input_tokens + event.output_tokens,
        });
        payload["completion"] = json!("done");
        payload["finishReason"] = json!("stop");
        payload["latencyMs"] = llm::latency(event).0;
    } else {
        payload["inputTokens"] = json!(event.input_tokens);
        payload["outputTokens"] = json!(event.output_tokens);
        let cache = [
            ("cacheReadTokens", event.cache_read_tokens),
            ("cacheWrite5mTokens", event.cache_write_5m_tokens),
            ("cacheWrite1hTokens", event.cache_write_1h_tokens),
        ];
        for (field, tokens) in cache.into_iter().filter(|&(_, tokens)| tokens > 0) {
            payload[field] = json!(tokens);
        }
    }
    if let Some(call) = event.call_id {
        payload["callId"] = json!(format!("call-{call}"));
    }
    if let Some(pico) = event.cost_pico {
        let pico_per_dollar = 1_000_000_000_000;
        let dollars = pico / pico_per_dollar;
        payload["costUsd"] = json!(format!("{dollars}.{:012}", pico % pico_per_dollar));
    }
    json!({
        "sessionId": format!("session-{:04}", event.session),
        "agentId": agent_name(event.agent),
        "eventType": if event.response { "llm_response" } else { "cost_tracked" },
        "timestamp": format_timestamp(&event.at),
        "payload": payload,
    })
}

fn agent_name(agent: usize) -> String {
    format!("agent-{agent:02}")
}

/// Exact sums of one group of counted events.
#[derive(Debug, Clone, Copy, Default)]
struct Figures {
    cost_pico: i128,
    input_tokens: i64,
    output_tokens: i64,
    cache_read_tokens: i64,
    cache_write_tokens: i64,
    events: i64,
    unpriced: i64,
}

impl Figures {
    fn add(&mut self, event: &WorkloadEvent) {
        self.cost_pico += i128::from(event.counted_cost_pico.unwrap_or(0));
        self.input_tokens += event.input_tokens;
        self.output_tokens += event.output_tokens;
        self.cache_read_tokens += event.cache_read_tokens;
        self.cache_write_tokens += event.cache_write_5m_tokens + event.cache_write_1h_tokens;
        self.events += 1;
        self.unpriced += i64::from(event.counted_cost_pico.is_none());
    }

    fn subtract(&mut self, part: &Figures) {
        self.cost_pico -= part.cost_pico;
        self.input_tokens -= part.input_tokens;
        self.output_tokens -= part.output_tokens;
        self.cache_read_tokens -= part.cache_read_tokens;
        self.cache_write_tokens -= part.cache_write_tokens;
        self.events -= part.events;
        self.unpriced -= part.unpriced;
    }

    fn totals(&self) -> CostTotals {
        CostTotals {
            total_cost_usd: usd(self.cost_pico),
            total_input_tokens: self.input_tokens,
            total_output_tokens: self.output_tokens,
            total_tokens: self.input_tokens + self.output_tokens,
            cache_read_tokens: self.cache_read_tokens,
            cache_write_tokens: self.cache_write_tokens,
            event_count: self.events,
            unpriced_count: self.unpriced,
        }
    }
}

fn usd(pico: i128) -> Usd {
    Usd::from_pico_i128(pico).unwrap()
}

/// Sums of one time bucket.
#[derive(Debug)]
struct BucketFigures {
    label: String,
    cost_pico: i128,
    events: i64,
    unpriced: i64,
    /// Cost per agent index; `None` for agents without rows in the bucket.
    by_agent: [Option<i128>; AGENT_COUNT],
}

/// Running sums of every breakdown of a report, indexed like the workload's events.
#[derive(Debug)]
struct ReportSums {
    totals: Figures,
    by_agent: Vec<Figures>,
    by_model: Vec<Figures>,
    by_session: Vec<Figures>,
    buckets: BTreeMap<DateTime<Utc>, BucketFigures>,
}

impl Default for ReportSums {
    fn default() -> ReportSums {
        ReportSums {
            totals: Figures::default(),
            by_agent: vec![Figures::default(); AGENT_COUNT],
            by_model: vec![Figures::default(); MODELS.len()],
            by_session: vec![Figures::default(); SESSION_COUNT],
            buckets: BTreeMap::new(),
        }
    }
}

impl ReportSums {
    fn add(&mut self, event: &WorkloadEvent, bucket_start: DateTime<Utc>, label: &str) {
        self.totals.add(event);
        self.by_agent[event.agent].add(event);
        self.by_model[event.model].add(event);
        self.by_session[event.session].add(event);

        let bucket = self
            .buckets
            .entry(bucket_start)
            .or_insert_with(|| BucketFigures {
                label: label.to_owned(),
                cost_pico: 0,
                events: 0,
                unpriced: 0,
                by_agent: [None; AGENT_COUNT],
            });
        let cost = i128::from(event.counted_cost_pico.unwrap_or(0));
        bucket.cost_pico += cost;
        bucket.events += 1;
        bucket.unpriced += i64::from(event.counted_cost_pico.is_none());
        *bucket.by_agent[event.agent].get_or_insert(0) += cost;
    }

    /// Sorts each breakdown by cost, highest first, ties by key, as the API documents.
    fn into_report(self) -> CostReport {
        let mut by_agent: Vec<AgentCost> = (self.by_agent.into_iter().enumerate())
            .filter(|(_, figures)| figures.events > 0)
            .map(|(agent, figures)| AgentCost {
                agent_id: agent_name(agent),
                totals: figures.totals(),
            })
            .collect();
        by_agent.sort_by(|a, b| {
            (Reverse(a.totals.total_cost_usd), &a.agent_id)
                .cmp(&(Reverse(b.totals.total_cost_usd), &b.agent_id))
        });

        let mut by_model: Vec<ModelCost> = (self.by_model.into_iter().enumerate())
            .filter(|(_, figures)| figures.events > 0)
            .map(|(model, figures)| ModelCost {
                provider: MODELS[model].0.to_owned(),
                model: MODELS[model].1.to_owned(),
                totals: figures.totals(),
            })
            .collect();
        by_model.sort_by(|a, b| {
            (Reverse(a.totals.total_cost_usd), &a.provider, &a.model).cmp(&(
                Reverse(b.totals.total_cost_usd),
                &b.provider,
                &b.model,
            ))
        });

        let mut sessions: Vec<(String, Figures)> = (self.by_session.into_iter().enumerate())
            .filter(|(_, figures)| figures.events > 0)
            .map(|(session, figures)| (format!("session-{session:04}"), figures))
            .collect();
        sessions.sort_by(|(a_id, a), (b_id, b)| {
            (Reverse(a.cost_pico), a_id).cmp(&(Reverse(b.cost_pico), b_id))
        });
        let mut omitted = self.totals;
        for (_, figures) in sessions.iter().take(TOP_SESSIONS) {
            omitted.subtract(figures);
        }
        let by_session: Vec<SessionCost> = (sessions.into_iter().take(TOP_SESSIONS))
            .map(|(session_id, figures)| SessionCost {
                session_id,
                totals: figures.totals(),
            })
            .collect();
        let by_session_omitted = omitted.totals();

        let over_time = (self.buckets.into_values())
            .map(|bucket| CostBucket {
                bucket: bucket.label,
                total_cost_usd: usd(bucket.cost_pico),
                event_count: bucket.events,
                unpriced_count: bucket.unpriced,
                by_agent: (bucket.by_agent.into_iter().enumerate())
                    .filter_map(|(agent, cost)| Some((agent_name(agent), usd(cost?))))
                    .collect(),
            })
            .collect();

        CostReport {
            by_agent,
            by_model,
            by_session,
            by_session_omitted,
            // The workload's events name no tool.
            by_tool: Vec::new(),
            over_time,
            totals: self.totals.totals(),
        }
    }
}

/// Places instants in buckets, remembering the bucket of the last UTC minute seen.
///
/// Reusing a minute's bucket assumes that every bucket boundary falls on a whole UTC
/// minute, which holds for the zones tested here: all their offsets are whole minutes.
struct BucketCache {
    granularity: Granularity,
    zone: Tz,
    minute: Option<i64>,
    bucket: (DateTime<Utc>, String),
}

impl BucketCache {
    fn new(granularity: Granularity, zone: Tz) -> BucketCache {
        BucketCache {
            granularity,
            zone,
            minute: None,
            bucket: (DateTime::UNIX_EPOCH, String::new()),
        }
    }

    /// Returns the start and label of the bucket holding `at`.
    fn bucket_of(&mut self, at: DateTime<Utc>) -> (DateTime<Utc>, &str) {
        let minute = at.timestamp().div_euclid(60);
        if self.minute != Some(minute) {
            self.minute = Some(minute);
            self.bucket = local_bucket(at, self.granularity, self.zone);
        }
        (self.bucket.0, &self.bucket.1)
    }
}

/// Returns the start and label of the local hour, day or ISO week holding `at`.
///
/// An hour starts at minute 0 of the local clock, so a zone 45 minutes off UTC starts its
/// hours at :15 UTC. A day starts at the first instant of its local date, and a week at
/// the first instant of its Monday. Hour and day labels are the local start time in RFC
/// 3339, weeks are `IYYY-Www`.
fn local_bucket(at: DateTime<Utc>, granularity: Granularity, zone: Tz) -> (DateTime<Utc>, String) {
    let local = at.with_timezone(&zone);
    let start = match granularity {
        Granularity::Hour => {
            let into_hour = i64::from(local.minute()) * 60 + i64::from(local.second());
            at - Duration::seconds(into_hour) - Duration::nanoseconds(local.nanosecond().into())
        }
        Granularity::Day => first_instant(local.date_naive(), zone),
        Granularity::Week => {
            let monday = local.date_naive().week(chrono::Weekday::Mon).first_day();
            first_instant(monday, zone)
        }
    };
    let label = match granularity {
        Granularity::Week => {
            let week = local.iso_week();
            format!("{}-W{:02}", week.year(), week.week())
        }
        _ => start
            .with_timezone(&zone)
            .to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    (start, label)
}

/// Returns the first instant of a local date.
fn first_instant(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap();
    match zone.from_local_datetime(&midnight).earliest() {
        Some(start) => start.with_timezone(&Utc),
        None => panic!("{zone} skips midnight of {date}; pick another zone for this test"),
    }
}
