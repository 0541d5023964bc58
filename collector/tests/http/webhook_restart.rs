//! Webhook retries across a collector restart. A second real server on the same database
//! file continues a failing delivery at its next attempt number, after its stored retry
//! time. It never sends more attempts in all than the retry delays allow.
//!
//! Each collector runs on its own Tokio runtime, and stopping one shuts its runtime down,
//! so its delivery tasks end mid-schedule the way they would when the process exits.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use agentlens_collector::alerts::webhook::WebhookOptions;
use agentlens_collector::alerts::AlertOptions;
use agentlens_collector::{open_state, run, ServeOptions};
use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

use crate::common::{cost_event, serve_options};
use crate::webhooks::{receiver, Received};

/// A collector serving on 127.0.0.1 on a runtime of its own.
struct Collector {
    runtime: Runtime,
    base_url: String,
}

impl Collector {
    /// Starts the real server over `db`, without authentication, with webhooks to loopback
    /// allowed and the given retry delays.
    fn start(db: &Path, retry_delays: Vec<Duration>) -> Collector {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let webhooks = WebhookOptions::default()
            .with_allow_private(true)
            .with_retry_delays(retry_delays);
        let options = ServeOptions {
            alerts: AlertOptions::default().with_webhooks(webhooks),
            ..serve_options(db.to_path_buf())
        };
        let address: SocketAddr = runtime.block_on(async {
            let state = open_state(&options).await.unwrap();
            let listener = tokio::net::TcpListener::bind(options.bind).await.unwrap();
            let address = listener.local_addr().unwrap();
            let interval = options.alert_interval;
            tokio::spawn(run(listener, state, interval, std::future::pending()));
            address
        });
        Collector {
            runtime,
            base_url: format!("http://{address}"),
        }
    }

    /// Stops the collector as a process exit would: its tasks, including webhook retries
    /// waiting for their next attempt, are dropped without finishing.
    fn kill(self) {
        self.runtime.shutdown_background();
    }
}

/// Runs the requests of the test and the webhook receiver.
struct Driver {
    runtime: Runtime,
    client: reqwest::Client,
}

impl Driver {
    fn new() -> Driver {
        // reqwest is built without a default crypto provider; an error means one is
        // installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Driver {
            runtime: Runtime::new().unwrap(),
            client: reqwest::Client::new(),
        }
    }

    fn post(&self, collector: &Collector, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", collector.base_url);
        self.runtime.block_on(async {
            let reply = self.client.post(url).json(&body).send().await.unwrap();
            assert!(reply.status().is_success(), "{path}: {}", reply.status());
            reply.json().await.unwrap()
        })
    }

    /// Returns the deliveries of the newest alert history entry.
    fn deliveries(&self, collector: &Collector) -> Vec<Value> {
        let url = format!("{}/api/alerts/history", collector.base_url);
        self.runtime.block_on(async {
            let history: Value = self
                .client
                .get(url)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            history["entries"][0]["deliveries"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
    }

    /// Polls the history until the only delivery matches `done`, and returns it. The
    /// 30 s allow for a machine busy with the rest of the suite.
    fn wait_for_delivery(&self, collector: &Collector, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..1200 {
            let deliveries = self.deliveries(collector);
            if deliveries.len() == 1 && done(&deliveries[0]) {
                return deliveries[0].clone();
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "delivery not in the expected state after 30 s: {:?}",
            self.deliveries(collector)
        );
    }

    fn next_request(&self, requests: &mut mpsc::UnboundedReceiver<Received>) -> Received {
        self.runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), requests.recv())
                .await
                .expect("no webhook within 10 s")
                .unwrap()
        })
    }
}

/// Creates a cost rule that posts to `url` and ingests a cost that fires it.
fn fire_rule(driver: &Driver, collector: &Collector, url: &str) {
    let rule = json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0.005,
        "windowMinutes": 60, "scope": {"agentId": "a1"}, "notifyChannels": [url]});
    driver.post(collector, "/api/alerts/rules", rule);
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let event = cost_event("s1", "a1", "gpt-4.1", json!(0.01), &now);
    driver.post(collector, "/api/events", json!({"events": [event]}));
}

#[test]
fn restart_continues_webhook_retries() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    let driver = Driver::new();
    let (url, mut requests) = driver.runtime.block_on(receiver(usize::MAX));
    // Five attempts in all; the long third delay leaves time to restart between the
    // second and the third attempt.
    let delays = vec![
        Duration::from_millis(50),
        Duration::from_secs(3),
        Duration::from_millis(50),
        Duration::from_millis(50),
    ];

    let first = Collector::start(&db, delays.clone());
    fire_rule(&driver, &first, &url);
    let mut received = vec![
        driver.next_request(&mut requests),
        driver.next_request(&mut requests),
    ];
    let before_restart = driver.wait_for_delivery(&first, |delivery| {
        delivery["attempts"] == 2 && delivery["lastStatus"] == 500
    });
    assert_eq!(before_restart["status"], "pending");
    first.kill();

    let second = Collector::start(&db, delays);
    let finished = driver.wait_for_delivery(&second, |delivery| delivery["status"] != "pending");
    received.extend(std::iter::from_fn(|| requests.try_recv().ok()));
    second.kill();

    assert_eq!(finished["status"], "failed", "{finished}");
    assert_eq!(finished["attempts"], 5, "{finished}");
    assert_eq!(finished["lastStatus"], 500, "{finished}");
    assert_eq!(
        received.len(),
        5,
        "the second collector sends attempts 3 to 5 only"
    );
    let wait = received[2].at - received[1].at;
    assert!(
        wait >= Duration::from_millis(2900),
        "the third attempt came {wait:?} after the second, before its stored retry time"
    );
    assert!(received
        .iter()
        .all(|request| request.body == received[0].body));
}

#[test]
fn restart_with_no_attempts_left_fails_the_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    let driver = Driver::new();
    let (url, mut requests) = driver.runtime.block_on(receiver(usize::MAX));
    let short = Duration::from_millis(50);

    let first = Collector::start(&db, vec![short, short, Duration::from_secs(3600)]);
    fire_rule(&driver, &first, &url);
    for _ in 0..3 {
        driver.next_request(&mut requests);
    }
    driver.wait_for_delivery(&first, |delivery| delivery["attempts"] == 3);
    first.kill();

    // Three attempts in all now, and three are used up.
    let second = Collector::start(&db, vec![short, short]);
    let finished = driver.wait_for_delivery(&second, |delivery| delivery["status"] != "pending");
    std::thread::sleep(Duration::from_millis(200));
    let extra = requests.try_recv();
    second.kill();

    assert_eq!(finished["status"], "failed", "{finished}");
    assert_eq!(finished["attempts"], 3, "{finished}");
    assert_eq!(finished["lastStatus"], 500, "{finished}");
    let error = finished["lastError"].as_str().unwrap();
    assert!(error.contains("retry limit reached"), "{error}");
    assert!(extra.is_err(), "no request is sent past the limit");
}

#[test]
fn older_file_keeps_attempt_count() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    let driver = Driver::new();
    let (url, mut requests) = driver.runtime.block_on(receiver(usize::MAX));
    let short = Duration::from_millis(50);
    let delays = vec![Duration::from_secs(3600), short, short, short];

    let first = Collector::start(&db, delays.clone());
    fire_rule(&driver, &first, &url);
    let mut received = vec![driver.next_request(&mut requests)];
    // The outcome of the first attempt is stored last, so once it shows, the first
    // collector writes nothing more that could land after the file is changed below.
    driver.wait_for_delivery(&first, |delivery| {
        delivery["attempts"] == 1 && delivery["lastStatus"] == 500
    });
    first.kill();

    // Turns the file back into one written before the retry time was stored: the
    // pending row keeps its attempt count but has no next attempt time.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "ALTER TABLE alert_deliveries DROP COLUMN next_attempt_at;
         DELETE FROM schema_migrations WHERE name = 'delivery_schedule';",
    )
    .unwrap();
    drop(conn);

    let second = Collector::start(&db, delays);
    let finished = driver.wait_for_delivery(&second, |delivery| delivery["status"] != "pending");
    received.extend(std::iter::from_fn(|| requests.try_recv().ok()));
    second.kill();

    assert_eq!(finished["status"], "failed", "{finished}");
    assert_eq!(finished["attempts"], 5, "{finished}");
    assert_eq!(
        received.len(),
        5,
        "without a stored retry time the next attempt is due at once, and it is attempt 2"
    );
}
