//! Stopping and restarting the test binary's Redis (for the outage and restart tests; each test
//! binary has its own Redis, so only files that do this alone may use it).

use std::process::{Child, Command, Stdio};

/// A Redis started by a test on the old port; killed when dropped.
pub struct RedisProcess {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn port() -> u16 {
    super::redis_url().rsplit(':').next().unwrap().trim_end_matches('/').parse().unwrap()
}

/// Stops the binary's Redis (`SHUTDOWN NOSAVE`: whatever it held is gone).
pub async fn stop() {
    let _: redis::RedisResult<()> =
        redis::cmd("SHUTDOWN").arg("NOSAVE").query_async(&mut super::redis_conn().await).await;
}

/// Starts an empty Redis on the port the stopped one used.
pub fn start_empty() -> RedisProcess {
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new("redis-server")
        .args(["--port", &port().to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server");
    RedisProcess { child, _dir: dir }
}

/// `GET key` on the binary's Redis; None when it is unreachable or has no such key.
pub async fn get<T: redis::FromRedisValue>(key: &str) -> Option<T> {
    match redis::Client::open(super::redis_url()).unwrap().get_multiplexed_async_connection().await {
        Ok(mut c) => redis::cmd("GET").arg(key).query_async(&mut c).await.ok().flatten(),
        Err(_) => None,
    }
}
