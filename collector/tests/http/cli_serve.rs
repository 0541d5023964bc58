//! `agentlens serve` run through the binary: start-up failures (a busy port and a
//! database already served by another process), starts with stdout closed and the start
//! after them, and webhooks that bypass the proxy set in the environment.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

use agentlens_collector::store::{Store, DEFAULT_TENANT};

fn serve_command(bind: &str, db: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_agentlens"));
    command
        .args(["serve", "--bind", bind, "--db"])
        .arg(db)
        .env_remove("AGENTLENS_API_KEY")
        .env_remove("AGENTLENS_DB")
        .env_remove("AGENTLENS_BIND")
        .env_remove("AGENTLENS_PRICES")
        .env("RUST_LOG", "info");
    command
}

fn run_to_end(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().unwrap()
}

/// Kills the child when dropped, so a failed assert leaves no server running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_on_busy_port_creates_nothing() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = busy.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");

    let output = run_to_end(&mut serve_command(&address, &db));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&address), "{stderr}");
    assert!(stderr.contains("--bind"), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("created API key"), "{stdout}");
    assert!(!db.exists(), "the database was created");
}

#[test]
fn second_serve_on_same_database_fails() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    let lock_file = dir.path().join("agentlens.db.lock");
    let first = serve_command("127.0.0.1:0", &db)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = Running(first);

    let record = wait_for_record(&lock_file, &mut first);
    assert!(record.contains("listening on 127.0.0.1:"), "{record}");

    let output = run_to_end(&mut serve_command("127.0.0.1:0", &db));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("in use by another agentlens serve"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&lock_file.display().to_string()),
        "{stderr}"
    );
    assert!(stderr.contains(record.trim()), "{stderr}");
    assert!(
        first.0.try_wait().unwrap().is_none(),
        "the first server stopped"
    );
}

/// Regression: the new API key went out through `println!`, which panicked when stdout
/// was a pipe whose reader had exited, and the server died with it.
#[test]
fn closed_stdout_pipe_keeps_server_running() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    let mut child = serve_command("127.0.0.1:0", &db)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let stderr = child.stderr.take().unwrap();

    check_serves_without_stdout(Running(child), dir.path(), stderr);
}

/// With stdout closed (`>&-`) the Rust runtime opens `/dev/null` in its place, so the key
/// would vanish without a word; the server warns instead.
#[test]
fn closed_stdout_warns_about_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    let (server, stderr) = serve_with_stdout_closed(&db);

    check_serves_without_stdout(server, dir.path(), stderr);
}

/// Regression: a new key that could not be printed stayed active although its text was
/// lost, so the next start created no key and printed none.
#[test]
fn unprinted_key_does_not_stay_active() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    let (server, stderr) = serve_with_stdout_closed(&db);
    check_serves_without_stdout(server, dir.path(), stderr);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = Store::open(&db).unwrap();
    let keys = runtime
        .block_on(store.list_api_keys(DEFAULT_TENANT))
        .unwrap();
    let active = runtime.block_on(store.count_active_api_keys()).unwrap();
    drop(store);
    assert_eq!(active, 0, "an unprinted key is still active: {keys:?}");
    assert_eq!(keys.len(), 1, "{keys:?}");

    let mut next = serve_command("127.0.0.1:0", &db)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = next.stdout.take().unwrap();
    let mut next = Running(next);
    // The key is printed after the lock record is written, so once the key is read the
    // lock file no longer holds the first server's address.
    let line = first_line_within(stdout, Duration::from_secs(10));
    let key = line
        .as_deref()
        .and_then(|line| line.strip_prefix("created API key "))
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("the next start printed no new key: {line:?}"));
    let record = wait_for_record(&dir.path().join("agentlens.db.lock"), &mut next);
    let address = record.split("listening on ").nth(1).unwrap().trim();
    let reply = get_with_key(address, "/api/keys", key);
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

/// Starts `agentlens serve` on `db` through `sh` with stdout closed (`>&-`), and returns
/// the server and its stderr.
fn serve_with_stdout_closed(db: &Path) -> (Running, ChildStderr) {
    let serve = serve_command("127.0.0.1:0", db);
    let mut command = Command::new("sh");
    command
        .args(["-c", r#"exec "$0" "$@" >&-"#])
        .arg(serve.get_program())
        .args(serve.get_args());
    for (key, value) in serve.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    let mut child = command
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    (Running(child), stderr)
}

/// Returns the first line of `stdout`, or `None` when none arrives within `timeout`.
fn first_line_within(stdout: ChildStdout, timeout: Duration) -> Option<String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    // The reading thread ends at end of file, which comes when the server is stopped.
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    receiver
        .recv_timeout(timeout)
        .ok()
        .filter(|line| !line.is_empty())
}

/// Checks that the server in `dir` returns 200 on `/api/health`, then stops it and checks
/// that its stderr warns about the key without containing it.
fn check_serves_without_stdout(mut server: Running, dir: &Path, mut stderr: impl Read) {
    let record = wait_for_record(&dir.join("agentlens.db.lock"), &mut server);
    let address = record.split("listening on ").nth(1).unwrap().trim();

    let reply = get(address, "/api/health");
    let running = server.0.try_wait().unwrap().is_none();
    drop(server);
    let mut text = String::new();
    stderr.read_to_string(&mut text).unwrap();

    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}\n{text}");
    assert!(running, "the server stopped: {text}");
    assert!(text.contains("cannot print the new api key"), "{text}");
    assert!(!text.contains("als_"), "the key went to the log: {text}");
}

/// Sends a GET request over a plain TCP connection and returns the whole response.
fn get(address: &str, path: &str) -> String {
    let head = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n");
    send(address, &head)
}

/// Sends a GET request with `key` as its bearer token and returns the whole response.
fn get_with_key(address: &str, path: &str, key: &str) -> String {
    let head = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {key}\r\n");
    send(address, &head)
}

/// Sends a request head with `Connection: close` appended and returns the whole response.
fn send(address: &str, head: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!("{head}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply
}

/// Waits up to 10 s for the first server to write its record into the lock file.
fn wait_for_record(lock_file: &Path, server: &mut Running) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!("the first server exited with {status}");
        }
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(lock_file) {
            let _ = file.read_to_string(&mut text);
        }
        if text.ends_with('\n') {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no lock record in {} after 10 s", lock_file.display());
}

/// A webhook goes to the address that the collector checked, not to the proxy named by
/// `HTTP_PROXY`, which would resolve the host itself and skip the check. The proxy is a
/// listener that never responds, so a request sent through it would never reach the
/// receiver.
#[test]
fn webhook_ignores_proxy_variables() {
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (hook_url, mut requests) = runtime.block_on(crate::webhooks::receiver(0));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    let mut command = serve_command("127.0.0.1:0", &db);
    command.args(["--no-auth", "--allow-private-webhooks"]);
    for name in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"] {
        command.env(name, &proxy_url);
    }
    command.env_remove("NO_PROXY").env_remove("no_proxy");
    let server = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Running(server);
    let record = wait_for_record(&dir.path().join("agentlens.db.lock"), &mut server);
    let address = record
        .split("listening on ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();

    let rule = serde_json::json!({"name": "spend", "condition": "cost_exceeds",
        "threshold": 0.005, "windowMinutes": 60, "notifyChannels": [hook_url]});
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let event = crate::common::cost_event("s1", "a1", "gpt-4.1", serde_json::json!(0.01), &now);
    let received = runtime.block_on(async {
        // reqwest is built without a default crypto provider; an error means one is
        // installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        for (path, body) in [
            ("/api/alerts/rules", rule),
            ("/api/events", serde_json::json!({"events": [event]})),
        ] {
            let reply = client
                .post(format!("http://{address}{path}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(reply.status().is_success(), "{path}: {}", reply.status());
        }
        tokio::time::timeout(Duration::from_secs(10), requests.recv()).await
    });

    assert!(
        matches!(received, Ok(Some(_))),
        "the receiver got no webhook within 10 s"
    );
    let proxied = proxy.accept();
    assert!(
        proxied.is_err(),
        "the webhook went to the proxy: {proxied:?}"
    );
}
