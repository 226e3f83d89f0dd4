//! Load benchmark of chat-server (run by `bench/run server`): a real node (two for the
//! cross-node figure) on a private, DURABLE Postgres and Redis, driven over HTTP and websockets
//! on loopback. Prints one JSON line:
//! - `persist_fanout_msgs_per_s`: 8 concurrent senders, each into its own channel of 11 members
//!   of which 10 are connected, each sender keeping up to 8 sends in flight (as an outbox
//!   draining does); messages per second from the first send until every connected member has
//!   received every message.
//! - `closed_loop_msgs_per_s`: the same with one send in flight per sender (each waits for its
//!   answer): bounded by 8 / the durable commit latency.
//! - `send_to_receive_p50_ms` / `_p99_ms`: one sender at 100 msgs/s; from the start of the HTTP
//!   send to the `message.new` frame arriving at a member's socket.
//! - `cross_node_p50_ms`: the same at 50 msgs/s with the sender on node A and the receiver on B.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chat_protocol::requests::{CreateChannel, UserInput};
use chat_server::embedded::{Embedded, EmbeddedOptions};
use chat_server::{auth, domain, AppState, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

struct Node {
    url: String,
    state: AppState,
}

async fn node(db: &str, redis: &str) -> Node {
    // The limiter still runs on every request; its limits are raised so the bench measures the
    // pipeline, not the limit.
    let rate_limits = chat_server::config::RateLimits { send_message: 10_000_000, write: 10_000_000, read: 10_000_000, typing: 1000, presence: 1000 };
    let config = Config {
        health_interval: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(120),
        rate_limits,
        ..Config::default()
    };
    let state = chat_server::build_state(db, redis, config).await.expect("node");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let st = state.clone();
    tokio::spawn(async move { chat_server::serve(listener, st, std::future::pending()).await.unwrap() });
    Node { url, state }
}

// The load generator runs on the same two cores as everything it measures, so its clients are
// minimal: HTTP/1.1 keep-alive requests written and read by hand (one connection per send in
// flight), and websocket listeners that only look at the start of each frame. Neither parses
// JSON on the throughput path.

/// A websocket for `token` on `node`: the HTTP upgrade by hand, then frames read straight from
/// the socket. Counts every `message.new` (and, with `arrivals`, timestamps it by message id).
async fn listen(node: &Node, api_key: &str, token: &str, count: Arc<std::sync::atomic::AtomicUsize>, arrivals: Option<Arrivals>) {
    let addr = node.url.trim_start_matches("http://").to_string();
    let mut tcp = TcpStream::connect(&addr).await.expect("ws connect");
    tcp.set_nodelay(true).unwrap();
    let request = format!(
        "GET /v1/ws?api_key={api_key}&token={token} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        assert!(tcp.read_buf(&mut buf).await.unwrap() > 0, "upgrade refused");
    };
    assert!(buf.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&buf));
    buf.drain(..head_end);
    let mut first = true;
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let mut ready_tx = Some(ready_tx);
    tokio::spawn(async move {
        loop {
            let mut at = 0;
            while let Some((opcode, payload, len)) = ws_frame(&buf[at..]) {
                let payload = &buf[at + payload.0..at + payload.1];
                if first {
                    assert!(payload.windows(13).any(|w| w == b"connection.ok"));
                    first = false;
                    if let Some(tx) = ready_tx.take() {
                        let _ = tx.send(());
                    }
                } else if opcode == 1 && payload.starts_with(br#"{"type":"message.new""#) {
                    let now = Instant::now();
                    count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if let Some(a) = &arrivals {
                        let v: serde_json::Value = serde_json::from_slice(payload).unwrap();
                        a.lock().unwrap().insert(v["message"]["id"].as_str().unwrap().to_string(), now);
                    }
                } else if opcode == 8 {
                    return;
                }
                at += len;
            }
            buf.drain(..at);
            match tcp.read_buf(&mut buf).await {
                Ok(n) if n > 0 => {}
                _ => return,
            }
        }
    });
    ready_rx.await.expect("connection.ok");
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The first complete (unmasked, server-to-client) frame in `b`: its opcode, the payload's
/// range and the frame's length.
fn ws_frame(b: &[u8]) -> Option<(u8, (usize, usize), usize)> {
    if b.len() < 2 {
        return None;
    }
    let opcode = b[0] & 0x0f;
    let (len, head) = match b[1] & 0x7f {
        126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
        127 if b.len() >= 10 => (u64::from_be_bytes(b[2..10].try_into().ok()?) as usize, 10),
        126 | 127 => return None,
        n => (n as usize, 2),
    };
    (b.len() >= head + len).then_some((opcode, (head, head + len), head + len))
}

/// Who sends: the node's address and the sender's credentials.
struct Sender {
    addr: String,
    api_key: String,
    token: String,
}

/// One keep-alive HTTP/1.1 connection of a sender.
struct Conn {
    tcp: TcpStream,
    buf: Vec<u8>,
}

impl Sender {
    async fn connect(&self) -> Conn {
        let tcp = TcpStream::connect(&self.addr).await.expect("connect");
        tcp.set_nodelay(true).unwrap();
        Conn { tcp, buf: Vec::with_capacity(4096) }
    }
}

impl Conn {
    /// Sends a message and waits for a 200 answer.
    async fn send(&mut self, who: &Sender, channel: &str, id: &str, text: &str) {
        let body = format!(r#"{{"id":"{id}","text":"{text}"}}"#);
        let request = format!(
            "POST /v1/channels/messaging/{channel}/messages HTTP/1.1\r\nHost: {}\r\nx-api-key: {}\r\n\
             authorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            who.addr,
            who.api_key,
            who.token,
            body.len()
        );
        self.tcp.write_all(request.as_bytes()).await.expect("write");
        self.buf.clear();
        let (head_end, body_len) = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..i]).expect("response head");
                let len = head
                    .lines()
                    .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
                    .map(|(_, v)| v.trim().parse::<usize>().expect("content-length"))
                    .expect("responses carry content-length");
                break (i + 4, len);
            }
            assert!(self.tcp.read_buf(&mut self.buf).await.expect("read") > 0, "connection closed");
        };
        while self.buf.len() < head_end + body_len {
            assert!(self.tcp.read_buf(&mut self.buf).await.expect("read") > 0, "connection closed");
        }
        assert!(self.buf.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&self.buf));
    }
}

/// Runs the 8 senders for `secs` with `inflight` sends in flight each; returns messages per
/// second (until every listener has every message) and the number of messages.
async fn throughput(
    senders: &[Arc<Sender>],
    received: &Arc<std::sync::atomic::AtomicUsize>,
    secs: u64,
    inflight: usize,
) -> (f64, usize) {
    eprintln!("[load] throughput: 8 senders, {inflight} in flight each, for {secs} s");
    let before = received.load(std::sync::atomic::Ordering::Relaxed);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for (s, sender) in senders.iter().enumerate() {
        for _ in 0..inflight {
            let sender = sender.clone();
            tasks.push(tokio::spawn(async move {
                let mut n = 0usize;
                let mut conn = sender.connect().await;
                let channel = format!("load{s}");
                while Instant::now() < deadline {
                    conn.send(&sender, &channel, &uuid::Uuid::new_v4().to_string(), "load").await;
                    n += 1;
                }
                n
            }));
        }
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let expected = before + total * 10;
    while received.load(std::sync::atomic::Ordering::Relaxed) < expected {
        assert!(start.elapsed() < Duration::from_secs(secs + 60), "deliveries stalled");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    eprintln!("[load] {total} messages persisted and delivered to 10 sockets each in {elapsed:.2} s");
    (total as f64 / elapsed, total)
}

/// Profiling aid: the statements of the pipelined phase per message sent, by total time.
async fn print_statements(db: &sqlx::PgPool, messages: usize) {
    let rows: Vec<(i64, f64, String)> = sqlx::query_as(
        "SELECT calls, total_exec_time, query FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 25",
    )
    .fetch_all(db)
    .await
    .unwrap();
    eprintln!("[load] statements per message sent, by total execution time:");
    for (calls, ms, query) in rows {
        let q: String = query.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(150).collect();
        eprintln!("  {:6.3} calls/msg {:7.1} us/msg  {q}", calls as f64 / messages as f64, ms * 1000.0 / messages as f64);
    }
}

/// CPU time (seconds) used so far by this process (server nodes and load generator), by the
/// embedded Postgres (postmaster and its children) and by the embedded Redis. Read from /proc,
/// so the figures hold on a machine shared with other work (unlike messages per second).
#[derive(Clone, Copy, Default)]
struct Cpu {
    this: f64,
    postgres: f64,
    redis: f64,
}

fn proc_stat(pid: &str) -> Option<(String, u32, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (head, rest) = stat.rsplit_once(") ")?;
    let comm = head.split_once(" (")?.1.to_string();
    let f: Vec<&str> = rest.split(' ').collect();
    let ppid = f.get(1)?.parse().ok()?;
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some((comm, ppid, ticks / 100.0))
}

impl Cpu {
    fn now(pg_data: &std::path::Path) -> Cpu {
        let me = std::process::id();
        let postmaster: Option<u32> = std::fs::read_to_string(pg_data.join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()));
        let mut cpu = Cpu { this: proc_stat("self").map(|s| s.2).unwrap_or(0.0), ..Cpu::default() };
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let Ok(pid) = name.parse::<u32>() else { continue };
            let Some((comm, ppid, secs)) = proc_stat(&name) else { continue };
            if Some(pid) == postmaster || (postmaster == Some(ppid) && ppid != 0) {
                cpu.postgres += secs;
            } else if ppid == me && comm == "redis-server" {
                cpu.redis += secs;
            }
        }
        cpu
    }

    fn since(self, before: Cpu) -> Cpu {
        Cpu { this: self.this - before.this, postgres: self.postgres - before.postgres, redis: self.redis - before.redis }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn latency_run(sender: &Sender, channel: &str, rate: u32, n: usize, arrivals: &Arrivals) -> Vec<f64> {
    let mut sent = Vec::with_capacity(n);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let mut conn = sender.connect().await;
    for i in 0..n {
        tick.tick().await;
        let id = uuid::Uuid::new_v4().to_string();
        let t0 = Instant::now();
        conn.send(sender, channel, &id, &format!("latency {i}")).await;
        sent.push((id, t0));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = arrivals.lock().unwrap();
    let mut ms: Vec<f64> =
        sent.iter().filter_map(|(id, t0)| got.get(id).map(|t| t.duration_since(*t0).as_secs_f64() * 1000.0)).collect();
    assert_eq!(ms.len(), n, "every message arrived");
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    ms
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let secs: u64 = std::env::var("LOAD_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let emb = Embedded::start(EmbeddedOptions { data_dir: None, durable: true }).expect("embedded");
    let a = node(&emb.database_url(), &emb.redis_url()).await;
    let b = node(&emb.database_url(), &emb.redis_url()).await;
    let db = a.state.db().clone();
    let app = domain::apps::create(&db, "bench").await.unwrap();
    let mut ids: Vec<String> = (0..10).map(|i| format!("listener{i}")).collect();
    ids.extend((0..8).map(|i| format!("sender{i}")));
    let inputs: Vec<UserInput> = ids.iter().map(|id| UserInput { id: id.clone(), ..Default::default() }).collect();
    let users = domain::users::upsert(&db, app.id, &inputs).await.unwrap();
    let token = |id: &str| auth::mint(&app, id, None).unwrap().token;
    let listeners: Vec<String> = (0..10).map(|i| format!("listener{i}")).collect();
    for s in 0..8 {
        let sender_row = users.iter().find(|u| u.external_id == format!("sender{s}")).unwrap();
        let input = CreateChannel { members: listeners.clone(), ..Default::default() };
        domain::channels::get_or_create(&db, &mut a.state.redis(), sender_row, "messaging", &format!("load{s}"), &input)
            .await
            .unwrap();
    }
    let received = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for l in &listeners {
        listen(&a, &app.api_key, &token(l), received.clone(), None).await;
    }
    let senders: Vec<Arc<Sender>> = (0..8)
        .map(|s| {
            Arc::new(Sender {
                addr: a.url.trim_start_matches("http://").to_string(),
                api_key: app.api_key.clone(),
                token: token(&format!("sender{s}")),
            })
        })
        .collect();

    // Phase 1: sustained throughput with durable commits and fan-out to 10 sockets each.
    let closed = throughput(&senders, &received, secs / 2, 1).await;
    let stats = std::env::var("CHAT_PG_OPTIONS").is_ok_and(|o| o.contains("pg_stat_statements"));
    if stats {
        sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").execute(&db).await.unwrap();
        sqlx::query("SELECT pg_stat_statements_reset()").execute(&db).await.unwrap();
    }
    let pg_data = emb.data_dir().join("pg");
    let cpu_before = Cpu::now(&pg_data);
    let pipelined = throughput(&senders, &received, secs, 8).await;
    let cpu = Cpu::now(&pg_data).since(cpu_before);
    let per_msg = |secs: f64| (secs * 1e6 / pipelined.1 as f64).round();
    eprintln!(
        "[load] CPU per message: {} us in this process (server + load generator), {} us Postgres, {} us Redis",
        per_msg(cpu.this), per_msg(cpu.postgres), per_msg(cpu.redis)
    );
    if stats {
        print_statements(&db, pipelined.1).await;
    }

    // Phase 2: latency at 100 msgs/s on one node.
    let arrivals: Arrivals = Arc::default();
    listen(&a, &app.api_key, &token("listener0"), Arc::default(), Some(arrivals.clone())).await;
    eprintln!("[load] latency at 100 msgs/s");
    let ms = latency_run(&senders[0], "load0", 100, 500, &arrivals).await;
    let (p50, p99) = (percentile(&ms, 0.5), percentile(&ms, 0.99));

    // Phase 3: across nodes (send through A, receive on B) at 50 msgs/s.
    let cross: Arrivals = Arc::default();
    listen(&b, &app.api_key, &token("listener1"), Arc::default(), Some(cross.clone())).await;
    eprintln!("[load] cross-node latency at 50 msgs/s");
    let xms = latency_run(&senders[1], "load1", 50, 200, &cross).await;

    let line = serde_json::json!({
        "bench": "server",
        "persist_fanout_msgs_per_s": (pipelined.0 * 10.0).round() / 10.0,
        "persist_fanout_messages": pipelined.1,
        "closed_loop_msgs_per_s": (closed.0 * 10.0).round() / 10.0,
        "send_to_receive_p50_ms": (p50 * 100.0).round() / 100.0,
        "send_to_receive_p99_ms": (p99 * 100.0).round() / 100.0,
        "cross_node_p50_ms": (percentile(&xms, 0.5) * 100.0).round() / 100.0,
        "cpu_us_per_msg": per_msg(cpu.this + cpu.postgres + cpu.redis),
        "cpu_us_per_msg_process": per_msg(cpu.this),
        "cpu_us_per_msg_postgres": per_msg(cpu.postgres),
        "cpu_us_per_msg_redis": per_msg(cpu.redis),
        "durable_commits": true,
        "seconds": secs,
    });
    println!("{line}");
    drop(emb);
}
