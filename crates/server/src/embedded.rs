//! The embedded default: a private Postgres cluster and a private Redis in a data directory the
//! server owns, on free loopback ports, started when no `DATABASE_URL` / `REDIS_URL` is given
//! and stopped when the owner exits.
//!
//! Postgres refuses to run as root, so as root the cluster is owned by and run as the
//! `postgres` system user. A watchdog process stops both services (and removes an ephemeral
//! directory) when the owning process dies without stopping them, so a killed server or test
//! binary leaves nothing running.

use std::fs;
use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("no PostgreSQL server binaries found (looked in {0}); install the `postgresql` package")]
    NoPostgres(String),
    #[error("no redis-server on PATH; install the `redis-server` package")]
    NoRedis,
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("redis-server did not accept connections on port {0} within 10 s")]
    RedisStart(u16),
    #[error("the data directory is in use by another chat-server (pid {0})")]
    InUse(u32),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> EmbeddedError {
    let what = what.into();
    move |source| EmbeddedError::Io { what, source }
}

/// Options for [`Embedded::start`].
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Where the cluster and Redis live. `None`: a fresh temporary directory, removed at stop.
    pub data_dir: Option<PathBuf>,
    /// `false` turns off fsync and synchronous commit: for tests only, never for real data.
    pub durable: bool,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions { data_dir: None, durable: true }
    }
}

/// A running private Postgres + Redis. Dropping it stops both.
pub struct Embedded {
    dir: PathBuf,
    ephemeral: bool,
    pg_bin: PathBuf,
    pg_port: u16,
    redis_port: u16,
    redis: Option<Child>,
    watchdog: Option<Child>,
    stopped: bool,
}

impl Embedded {
    pub fn start(opts: EmbeddedOptions) -> Result<Embedded, EmbeddedError> {
        let pg_bin = find_pg_bin()?;
        let redis_bin = which("redis-server").ok_or(EmbeddedError::NoRedis)?;
        let (dir, ephemeral) = match opts.data_dir {
            Some(d) => (d, false),
            None => {
                let d = tempfile::Builder::new()
                    .prefix("chat-server-")
                    .tempdir()
                    .map_err(io_err("creating a temporary data directory"))?
                    .keep();
                (d, true)
            }
        };
        fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let dir = dir.canonicalize().map_err(io_err("resolving the data directory"))?;
        let as_root = is_root();
        let pg_data = dir.join("pg");
        let sock_dir = dir.join("run");
        fs::create_dir_all(&sock_dir).map_err(io_err("creating the socket directory"))?;
        if as_root {
            // The postgres user must be able to reach and own its directories.
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir), "chown")?;
            allow_traverse(&dir);
        }
        if !pg_data.join("PG_VERSION").exists() {
            let mut args = vec![
                q(&pg_bin.join("initdb")),
                "-D".into(),
                q(&pg_data),
                "-A trust -U postgres -E UTF8 --locale=C".into(),
            ];
            if !opts.durable {
                args.push("--no-sync".into());
            }
            run(&mut shell_as_pg(&args.join(" "), as_root), "initdb")?;
        }

        // One server per data dir. A server that died without stopping (SIGKILL, OOM) may have
        // left its Postgres running until its watchdog notices: stop it now instead of failing.
        let owner_file = dir.join("owner.pid");
        if let Some(pid) = fs::read_to_string(&owner_file).ok().and_then(|t| t.trim().parse::<u32>().ok()) {
            if pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists() {
                return Err(EmbeddedError::InUse(pid));
            }
        }
        if pg_data.join("postmaster.pid").exists() {
            let stop = format!("{} -D {} -m fast -w stop", q(&pg_bin.join("pg_ctl")), q(&pg_data));
            let _ = shell_as_pg(&stop, as_root).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
        fs::write(&owner_file, std::process::id().to_string()).map_err(io_err("writing owner.pid"))?;

        let pg_port = free_port()?;
        let mut pg_opts = format!(
            "-p {pg_port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=400",
            sock_dir.display()
        );
        if !opts.durable {
            pg_opts.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        // Extra server settings for profiling, e.g.
        // `CHAT_PG_OPTIONS="-c shared_preload_libraries=pg_stat_statements"` (bench/README.md).
        if let Ok(extra) = std::env::var("CHAT_PG_OPTIONS") {
            pg_opts.push(' ');
            pg_opts.push_str(&extra);
        }
        let start = format!(
            "{} -D {} -l {} -o '{}' -w -t 60 start",
            q(&pg_bin.join("pg_ctl")),
            q(&pg_data),
            q(&dir.join("postgres.log")),
            pg_opts
        );
        run(&mut shell_as_pg(&start, as_root), "starting postgres (see postgres.log in the data dir)")?;

        let redis_port = free_port()?;
        let redis_dir = dir.join("redis");
        fs::create_dir_all(&redis_dir).map_err(io_err("creating the redis directory"))?;
        let redis = Command::new(redis_bin)
            .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"])
            .arg("--dir")
            .arg(&redis_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io_err("spawning redis-server"))?;
        let mut me = Embedded {
            dir,
            ephemeral,
            pg_bin,
            pg_port,
            redis_port,
            redis: Some(redis),
            watchdog: None,
            stopped: false,
        };
        me.wait_for_redis()?;
        me.watchdog = me.spawn_watchdog().ok();
        Ok(me)
    }

    pub fn database_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.pg_port)
    }

    pub fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.redis_port)
    }

    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    fn wait_for_redis(&self) -> Result<(), EmbeddedError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.redis_port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(EmbeddedError::RedisStart(self.redis_port))
    }

    fn stop_pg_command(&self) -> String {
        format!("{} -D {} -m fast -w stop", q(&self.pg_bin.join("pg_ctl")), q(&self.dir.join("pg")))
    }

    /// The pid of the Postgres postmaster running on the data dir (first line of postmaster.pid).
    fn postmaster_pid(&self) -> Option<u32> {
        let text = fs::read_to_string(self.dir.join("pg").join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// A shell that waits for this process to die, then stops what it left running: the Redis
    /// and the postmaster it started, by pid — never "whatever Postgres runs on the data dir",
    /// which may already be the one of a server started again on the same directory.
    fn spawn_watchdog(&self) -> io::Result<Child> {
        let redis_pid = self.redis.as_ref().map(|c| c.id()).unwrap_or(0);
        // SIGINT is Postgres' fast shutdown; then wait for it to be gone (bounded).
        let stop_pg = match self.postmaster_pid() {
            Some(pg) => format!(
                "kill -INT {pg} 2>/dev/null; n=0; \
                 while kill -0 {pg} 2>/dev/null && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done;"
            ),
            None => String::new(),
        };
        let cleanup = if self.ephemeral { format!("rm -rf {}", q(&self.dir)) } else { String::new() };
        let script = format!(
            "while kill -0 {owner} 2>/dev/null; do sleep 1; done; \
             kill {redis_pid} 2>/dev/null; {stop_pg} {cleanup}",
            owner = std::process::id(),
        );
        Command::new("setsid")
            .args(["sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
    }

    /// Stops Postgres and Redis (and removes an ephemeral directory). Idempotent.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        if let Some(mut r) = self.redis.take() {
            let _ = r.kill();
            let _ = r.wait();
        }
        let _ = shell_as_pg(&self.stop_pg_command(), is_root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if self.ephemeral {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.stop();
    }
}

fn is_root() -> bool {
    // SAFETY-free check: the effective uid through `id -u` would spawn; /proc is enough on Linux.
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Gives "others" execute permission on every ancestor of `dir`, so the postgres user can reach
/// it (temporary directories under /tmp are fine; a data dir under /root is not by default).
fn allow_traverse(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut cur = Some(dir);
    while let Some(p) = cur {
        if let Ok(meta) = fs::metadata(p) {
            let mode = meta.permissions().mode();
            if mode & 0o001 == 0 {
                let _ = fs::set_permissions(p, fs::Permissions::from_mode(mode | 0o001));
            }
        }
        cur = p.parent();
    }
}

fn find_pg_bin() -> Result<PathBuf, EmbeddedError> {
    if let Ok(p) = std::env::var("PG_BIN") {
        return Ok(PathBuf::from(p));
    }
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b).ok_or_else(|| EmbeddedError::NoPostgres(root.display().to_string()))
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

fn free_port() -> Result<u16, EmbeddedError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(io_err("finding a free port"))?;
    Ok(l.local_addr().map_err(io_err("finding a free port"))?.port())
}

/// Single-quotes a path for `sh -c`.
fn q(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

fn shell_as_pg(script: &str, as_root: bool) -> Command {
    if as_root {
        let mut c = Command::new("su");
        c.args(["postgres", "-s", "/bin/sh", "-c", script]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<(), EmbeddedError> {
    let out = cmd.stdin(Stdio::null()).output().map_err(io_err(what.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(EmbeddedError::Command {
            what: what.to_string(),
            detail: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .trim()
            .to_string(),
        })
    }
}
