//! Starts and stops a real collector for a test.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The API key every test collector accepts.
pub const API_KEY: &str = "als_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A running `agentlens serve` process, killed on drop.
pub struct Collector {
    child: Child,
    /// Base URL, such as `http://127.0.0.1:41234`.
    pub url: String,
    _dir: tempfile::TempDir,
    http: reqwest::blocking::Client,
}

/// Returns the path of the `agentlens` binary, building it once if needed.
pub fn agentlens_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(path) = std::env::var("AGENTLENS_BIN") {
            return PathBuf::from(path);
        }
        // The test binary lives in target/<profile>/deps; the agentlens binary one level up.
        let exe = std::env::current_exe().expect("test binary path");
        let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "agentlens-collector", "--bin", "agentlens"])
            .args(profile_flag(profile_dir))
            .status()
            .expect("cargo build runs");
        assert!(status.success(), "building the agentlens binary failed");
        profile_dir.join("agentlens")
    })
    .clone()
}

fn profile_flag(profile_dir: &Path) -> Vec<&'static str> {
    if profile_dir.ends_with("release") {
        vec!["--release"]
    } else {
        Vec::new()
    }
}

/// Returns the folder of real test data, or `None` when `AGENTLENS_TEST_DATA` is unset.
pub fn test_data() -> Option<PathBuf> {
    let dir = std::env::var_os("AGENTLENS_TEST_DATA").map(PathBuf::from);
    if dir.is_none() {
        eprintln!("AGENTLENS_TEST_DATA is not set; skipping a test that reads real data");
    }
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

impl Collector {
    /// Starts a collector with auth on (key [`API_KEY`]) and waits until it is healthy.
    pub fn start() -> Collector {
        Collector::start_with(&[])
    }

    /// Starts a collector with extra `serve` arguments.
    pub fn start_with(extra_args: &[&str]) -> Collector {
        // reqwest is built without a default TLS provider; plain HTTP still needs one set.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let child = Command::new(agentlens_bin())
            .arg("serve")
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--db")
            .arg(dir.path().join("agentlens.db"))
            .args(extra_args)
            .env("AGENTLENS_API_KEY", API_KEY)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("agentlens serve starts");
        let collector = Collector {
            child,
            url,
            _dir: dir,
            http: reqwest::blocking::Client::new(),
        };
        collector.wait_healthy();
        collector
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let health = self.http.get(format!("{}/api/health", self.url)).send();
            if health.is_ok_and(|response| response.status().is_success()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("collector at {} did not become healthy in 30 s", self.url);
    }

    /// Sends an authenticated GET and returns the status and JSON body.
    pub fn get(&self, path_and_query: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path_and_query}", self.url))
            .bearer_auth(API_KEY)
            .send()
            .expect("GET succeeds");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// Sends an authenticated POST with a JSON body and returns the status and JSON body.
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(API_KEY)
            .json(body)
            .send()
            .expect("POST succeeds");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses a JSON number or string as an exact decimal.
pub fn decimal(value: &Value) -> rust_decimal::Decimal {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    text.parse()
        .unwrap_or_else(|_| panic!("{value} is not a decimal"))
}
