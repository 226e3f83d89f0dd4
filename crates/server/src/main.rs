//! `chat-server`: run a node (`serve`) or administer applications, users and tokens from the
//! command line. Without `DATABASE_URL` / `REDIS_URL` every subcommand uses the embedded
//! Postgres and Redis in `--data-dir`.

use std::path::PathBuf;
use std::time::Duration;

use chat_protocol::requests::UserInput;
use chat_server::embedded::{Embedded, EmbeddedOptions};
use chat_server::{auth, Config};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "chat-server", about = "The chat-sdk backend", version)]
struct Cli {
    #[command(flatten)]
    backing: Backing,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Backing {
    /// Postgres to use; without it a private cluster is started in --data-dir.
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// Redis to use; without it a private redis-server is started.
    #[arg(long, env = "REDIS_URL", global = true)]
    redis_url: Option<String>,
    /// Where the embedded Postgres and Redis keep their data.
    #[arg(long, env = "CHAT_DATA_DIR", default_value = ".chat-data", global = true)]
    data_dir: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Run a server node.
    Serve(ServeArgs),
    /// Applications.
    #[command(subcommand)]
    App(AppCmd),
    /// Users of an application.
    #[command(subcommand)]
    User(UserCmd),
    /// User tokens.
    #[command(subcommand)]
    Token(TokenCmd),
}

#[derive(Args)]
struct ServeArgs {
    #[arg(long, env = "CHAT_HOST", default_value = "127.0.0.1")]
    host: String,
    /// 0 picks a free port.
    #[arg(long, env = "CHAT_PORT", default_value_t = 8080)]
    port: u16,
    /// Create the demo application and enable the DEV-ONLY /dev/credentials endpoint.
    #[arg(long)]
    demo: bool,
    /// Serve a directory: MOUNT=DIR (e.g. /pkg=pkg, /=examples/demo). Repeatable.
    #[arg(long = "static", value_name = "MOUNT=DIR")]
    static_dirs: Vec<String>,
    /// Token that authorises POST /admin/apps; the operator API is off without it.
    #[arg(long, env = "CHAT_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Seconds between server health checks on each socket.
    #[arg(long, default_value_t = 10)]
    health_interval: u64,
    /// Seconds a client has to send each request head (and an idle keep-alive connection stays
    /// open); 0 turns the deadline off.
    #[arg(long, env = "CHAT_HEADER_READ_TIMEOUT", default_value_t = 10)]
    header_read_timeout: u64,
    /// Most connections open at once from one IP address (websockets included); 0: no cap.
    /// Behind a reverse proxy every client has the proxy's address: raise it or turn it off.
    #[arg(long, env = "CHAT_MAX_CONNECTIONS_PER_IP", default_value_t = 1024)]
    max_connections_per_ip: usize,
}

#[derive(Subcommand)]
enum AppCmd {
    /// Create an application; prints its api_key and api_secret as JSON.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create or update a user.
    Upsert {
        #[arg(long)]
        api_key: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        user_type: Option<String>,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Mint a user token.
    Mint {
        #[arg(long)]
        api_key: String,
        #[arg(long)]
        user_id: String,
        /// Lifetime in seconds (no expiry when absent).
        #[arg(long)]
        expires_in: Option<u64>,
    },
    /// Revoke a user token for the rest of its lifetime.
    Revoke {
        #[arg(long)]
        api_key: String,
        #[arg(long)]
        token: String,
    },
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "chat_server=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("chat-server: {e}");
        std::process::exit(1);
    }
}

/// Resolves the Postgres and Redis URLs, starting the embedded ones when needed. The returned
/// guard stops them when dropped.
fn backing(b: &Backing) -> Result<(String, String, Option<Embedded>), BoxError> {
    match (&b.database_url, &b.redis_url) {
        (Some(d), Some(r)) => Ok((d.clone(), r.clone(), None)),
        (d, r) => {
            eprintln!("chat-server: starting embedded Postgres and Redis in {}", b.data_dir.display());
            let emb = Embedded::start(EmbeddedOptions { data_dir: Some(b.data_dir.clone()), durable: true })?;
            let db = d.clone().unwrap_or_else(|| emb.database_url());
            let redis = r.clone().unwrap_or_else(|| emb.redis_url());
            Ok((db, redis, Some(emb)))
        }
    }
}

fn parse_static(specs: &[String]) -> Result<Vec<(String, PathBuf)>, BoxError> {
    specs
        .iter()
        .map(|s| {
            let (mount, dir) = s.split_once('=').ok_or_else(|| format!("--static {s:?}: expected MOUNT=DIR"))?;
            if !mount.starts_with('/') {
                return Err(format!("--static {s:?}: MOUNT must start with /").into());
            }
            let dir = PathBuf::from(dir);
            if !dir.is_dir() {
                return Err(format!("--static {s:?}: {} is not a directory", dir.display()).into());
            }
            Ok((mount.to_string(), dir))
        })
        .collect()
}

async fn run(cli: Cli) -> Result<(), BoxError> {
    let (db_url, redis_url, embedded) = backing(&cli.backing)?;
    let result = match cli.command {
        Command::Serve(args) => serve(args, &db_url, &redis_url).await,
        other => admin(other, &db_url, &redis_url).await,
    };
    drop(embedded);
    result
}

async fn serve(args: ServeArgs, db_url: &str, redis_url: &str) -> Result<(), BoxError> {
    let config = Config {
        admin_token: args.admin_token.filter(|t| !t.is_empty()),
        demo: args.demo,
        static_dirs: parse_static(&args.static_dirs)?,
        health_interval: Duration::from_secs(args.health_interval.max(1)),
        idle_timeout: Duration::from_secs(args.health_interval.max(1) * 3),
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        max_connections_per_ip: args.max_connections_per_ip,
        ..Config::default()
    };
    let state = chat_server::build_state(db_url, redis_url, config).await?;
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    let addr = listener.local_addr()?;
    let url = format!("http://{}:{}", args.host, addr.port());
    println!("chat-server listening on {url}");
    if args.demo {
        println!("demo: open {url}/?user=alice and {url}/?user=bob");
    }
    let st = state.clone();
    let shutdown = async move {
        shutdown_signal().await;
        eprintln!("chat-server: shutting down");
        st.begin_shutdown();
    };
    chat_server::serve(listener, state.clone(), shutdown).await?;
    // Let sockets send their GoingAway close frames, then stop listening before the embedded
    // Redis (if any) is stopped.
    tokio::time::sleep(Duration::from_millis(200)).await;
    state.hub().stop_subscriber();
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn admin(cmd: Command, db_url: &str, redis_url: &str) -> Result<(), BoxError> {
    let state = chat_server::build_state(db_url, redis_url, Config::default()).await?;
    let out = match cmd {
        Command::App(AppCmd::Create { name }) => {
            let app = chat_server::domain::apps::create(state.db(), &name).await?;
            serde_json::json!({ "id": app.id, "name": app.name, "api_key": app.api_key, "api_secret": app.api_secret })
        }
        Command::User(UserCmd::Upsert { api_key, id, display_name, user_type }) => {
            let app = auth::app_by_key(&state, &api_key).await?;
            let input = UserInput { id, display_name, user_type, ..Default::default() };
            let rows = chat_server::domain::users::upsert(state.db(), app.id, &[input]).await?;
            serde_json::to_value(rows[0].to_wire())?
        }
        Command::Token(TokenCmd::Mint { api_key, user_id, expires_in }) => {
            let app = auth::app_by_key(&state, &api_key).await?;
            if chat_server::domain::users::by_external_id(state.db(), app.id, &user_id).await?.is_none() {
                return Err(format!("user {user_id:?} does not exist; run `chat-server user upsert` first").into());
            }
            serde_json::to_value(auth::mint(&app, &user_id, expires_in)?)?
        }
        Command::Token(TokenCmd::Revoke { api_key, token }) => {
            let app = auth::app_by_key(&state, &api_key).await?;
            auth::revoke(&state, &app, &token).await?;
            serde_json::json!({ "revoked": true })
        }
        Command::Serve(_) => unreachable!("serve is handled by run()"),
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
