//! Query channels: the caller's channels (memberships that count, deleted channels never),
//! filtered, sorted and paginated with an opaque keyset cursor (never OFFSET). The filter is
//! validated strictly — unknown fields and operators are `invalid_input` — and every value is
//! a bound parameter.
//!
//! Filter fields: `type`, `cid`, `id` (value, `$eq` or `$in`), `members` (`$in`: any of the
//! users is a member; `$all`: all are), `team` (team name: value, `$eq`, `$in`), `frozen`, `hidden`,
//! `muted` (booleans; `hidden` defaults to false), `last_message_at` / `created_at` (`$gt`,
//! `$gte`, `$lt`, `$lte` with RFC 3339 values), `metadata` (object: equality on top-level keys).
//! In a multi-tenant application only channels of the caller's team are returned.
//! Sort: one of `last_message_at` (no messages: created_at), `created_at`, `updated_at`,
//! `unread` (the caller's unread count), direction 1 or -1; ties broken by the channel's id.

use chat_protocol::requests::{QueryChannels, QueryChannelsResponse};
use redis::aio::ConnectionManager;
use serde_json::{Map, Value};
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres};
use uuid::Uuid;

use super::channels::{self, ChannelRow, CHANNEL_SELECT};
use super::users::UserRow;
use crate::error::{Error, Result};

pub const MAX_LIMIT: u32 = 30;
const MAX_IN: usize = 100;

enum Arg {
    Text(String),
    Texts(Vec<String>),
    Bool(bool),
    Json(Value),
    Uuid(Uuid),
    OptUuid(Option<Uuid>),
}

struct Sql {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Sql {
    /// Adds a bound argument and returns its placeholder.
    fn arg(&mut self, a: Arg) -> String {
        self.args.push(a);
        format!("${}", self.args.len())
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    #[sqlx(flatten)]
    channel: ChannelRow,
    sort_key: String,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::invalid(msg)
}

/// The operand of a field: a bare value means `$eq`.
fn ops<'a>(field: &str, v: &'a Value, allowed: &[&str]) -> Result<Vec<(&'a str, &'a Value)>> {
    match v {
        Value::Object(m) if m.keys().any(|k| k.starts_with('$')) || m.is_empty() => {
            if m.is_empty() {
                return Err(bad(format!("filter.{field} is an empty object")));
            }
            let mut out = Vec::new();
            for (op, val) in m {
                if !allowed.contains(&op.as_str()) {
                    return Err(bad(format!(
                        "filter.{field}: unknown operator {op:?} (allowed: {})",
                        allowed.join(", ")
                    )));
                }
                out.push((op.as_str(), val));
            }
            Ok(out)
        }
        _ if allowed.contains(&"$eq") => Ok(vec![("$eq", v)]),
        _ => Err(bad(format!("filter.{field} needs an operator ({})", allowed.join(", ")))),
    }
}

fn string(field: &str, v: &Value) -> Result<String> {
    match v {
        Value::String(s) if s.len() <= 255 => Ok(s.clone()),
        _ => Err(bad(format!("filter.{field} values must be strings of at most 255 bytes"))),
    }
}

fn strings(field: &str, v: &Value) -> Result<Vec<String>> {
    let Value::Array(a) = v else { return Err(bad(format!("filter.{field}: $in/$all need an array"))) };
    if a.is_empty() || a.len() > MAX_IN {
        return Err(bad(format!("filter.{field}: the list must hold 1-{MAX_IN} values")));
    }
    a.iter().map(|x| string(field, x)).collect()
}

fn timestamp(field: &str, v: &Value) -> Result<String> {
    let s = v.as_str().ok_or_else(|| bad(format!("filter.{field} needs RFC 3339 timestamps")))?;
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .map_err(|_| bad(format!("filter.{field}: {s:?} is not an RFC 3339 timestamp")))?;
    Ok(crate::time::fmt(t.naive_utc()))
}

/// `col = x` / `col = ANY(xs)` for string fields.
fn eq_or_in(sql: &mut Sql, field: &str, col: &str, v: &Value) -> Result<()> {
    for (op, val) in ops(field, v, &["$eq", "$in"])? {
        let clause = if op == "$eq" {
            let p = sql.arg(Arg::Text(string(field, val)?));
            format!("{col} = {p}")
        } else {
            let p = sql.arg(Arg::Texts(strings(field, val)?));
            format!("{col} = ANY({p})")
        };
        sql.clauses.push(clause);
    }
    Ok(())
}

fn boolean(field: &str, v: &Value) -> Result<bool> {
    v.as_bool().ok_or_else(|| bad(format!("filter.{field} must be true or false")))
}

fn build_filter(sql: &mut Sql, filter: &Map<String, Value>) -> Result<()> {
    let mut hidden = false;
    for (field, v) in filter {
        match field.as_str() {
            "type" => eq_or_in(sql, field, "c.type", v)?,
            "id" => eq_or_in(sql, field, "COALESCE(c.channel_key, c.id::text)", v)?,
            "cid" => eq_or_in(sql, field, "(c.type || ':' || COALESCE(c.channel_key, c.id::text))", v)?,
            "team" => eq_or_in(sql, field, "(SELECT t.name FROM teams t WHERE t.id = c.team_id)", v)?,
            "members" => {
                for (op, val) in ops(field, v, &["$in", "$all"])? {
                    let ids = strings(field, val)?;
                    let n = ids.len() as i64;
                    let p = sql.arg(Arg::Texts(ids));
                    let count = format!(
                        "(SELECT COUNT(DISTINCT u.id) FROM channel_members m2 JOIN users u ON u.id = m2.user_id
                           WHERE m2.channel_id = c.id AND m2.invite_rejected_at IS NULL
                             AND u.app_id = c.app_id AND u.external_id = ANY({p}))"
                    );
                    sql.clauses.push(if op == "$in" { format!("{count} > 0") } else { format!("{count} = {n}") });
                }
            }
            "frozen" => {
                let p = sql.arg(Arg::Bool(boolean(field, v)?));
                sql.clauses.push(format!("COALESCE(c.is_frozen, false) = {p}"));
            }
            "hidden" => hidden = boolean(field, v)?,
            "muted" => {
                let p = sql.arg(Arg::Bool(boolean(field, v)?));
                sql.clauses.push(format!("COALESCE(me.is_muted, false) = {p}"));
            }
            "last_message_at" | "created_at" => {
                let col = format!("c.{field}");
                for (op, val) in ops(field, v, &["$gt", "$gte", "$lt", "$lte"])? {
                    let p = sql.arg(Arg::Text(timestamp(field, val)?));
                    let cmp = match op {
                        "$gt" => ">",
                        "$gte" => ">=",
                        "$lt" => "<",
                        _ => "<=",
                    };
                    sql.clauses.push(format!("{col} {cmp} {p}::timestamp"));
                }
            }
            "metadata" => {
                let Value::Object(m) = v else { return Err(bad("filter.metadata must be an object of key: value")) };
                if m.is_empty() || m.len() > 10 {
                    return Err(bad("filter.metadata must name 1-10 keys"));
                }
                for (k, val) in m {
                    if k.is_empty() || k.len() > 255 {
                        return Err(bad("filter.metadata keys must be 1-255 bytes"));
                    }
                    let pk = sql.arg(Arg::Text(k.clone()));
                    let pv = sql.arg(Arg::Json(val.clone()));
                    sql.clauses.push(format!("c.metadata -> {pk} = {pv}"));
                }
            }
            other => {
                return Err(bad(format!(
                    "unknown filter field {other:?} (allowed: type, id, cid, members, team, frozen, hidden, muted, \
                     last_message_at, created_at, metadata)"
                )))
            }
        }
    }
    sql.clauses.push(format!("COALESCE(me.is_hidden, false) = {}", if hidden { "true" } else { "false" }));
    Ok(())
}

/// The sort expression of a field and the SQL type its cursor value is cast to.
fn sort_expr(field: &str) -> Result<(&'static str, &'static str)> {
    Ok(match field {
        "last_message_at" => ("COALESCE(c.last_message_at, c.created_at)", "timestamp"),
        "created_at" => ("c.created_at", "timestamp"),
        "updated_at" => ("c.updated_at", "timestamp"),
        "unread" => ("COALESCE(me.unread_count, 0)", "bigint"),
        other => {
            return Err(bad(format!(
                "cannot sort by {other:?} (allowed: last_message_at, created_at, updated_at, unread)"
            )))
        }
    })
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    f: String,
    d: i32,
    v: String,
    id: Uuid,
}

fn encode(c: &Cursor) -> Result<String> {
    Ok(serde_json::to_vec(c)?.iter().map(|b| format!("{b:02x}")).collect())
}

fn decode(s: &str) -> Result<Cursor> {
    let invalid = || bad("next is not a cursor returned by this endpoint");
    if s.len() > 2048 || !s.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let bytes: Option<Vec<u8>> =
        (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
    serde_json::from_slice(&bytes.ok_or_else(invalid)?).map_err(|_| invalid())
}

fn bind<'q>(mut q: QueryAs<'q, Postgres, Row, PgArguments>, args: Vec<Arg>) -> QueryAs<'q, Postgres, Row, PgArguments> {
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(s),
            Arg::Texts(v) => q.bind(v),
            Arg::Bool(b) => q.bind(b),
            Arg::Json(v) => q.bind(Json(v)),
            Arg::Uuid(u) => q.bind(u),
            Arg::OptUuid(u) => q.bind(u),
        };
    }
    q
}

pub async fn query(
    db: &PgPool,
    redis: &mut ConnectionManager,
    caller: &UserRow,
    input: &QueryChannels,
) -> Result<QueryChannelsResponse> {
    let limit = input.limit.unwrap_or(10);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad(format!("limit must be 1-{MAX_LIMIT}")));
    }
    if input.sort.len() > 1 {
        return Err(bad("sort may name at most one field"));
    }
    let (field, dir) = input.sort.first().map(|s| (s.field.as_str(), s.direction)).unwrap_or(("last_message_at", -1));
    if dir != 1 && dir != -1 {
        return Err(bad("sort direction must be 1 or -1"));
    }
    let (expr, cast) = sort_expr(field)?;
    let mut sql = Sql { clauses: Vec::new(), args: Vec::new() };
    let me_id = sql.arg(Arg::Uuid(caller.id));
    let app = sql.arg(Arg::Uuid(caller.app_id));
    build_filter(&mut sql, &input.filter)?;
    // Team isolation (multi-tenant applications): only channels of the caller's team. The
    // setting is read inside the statement (once: it does not depend on the row).
    let team = sql.arg(Arg::OptUuid(caller.team_id));
    sql.clauses.push(format!(
        "(c.team_id IS NOT DISTINCT FROM {team}::uuid OR NOT {})",
        super::users::multi_tenant_sql(&format!("{app}::uuid"))
    ));
    if let Some(next) = &input.next {
        let c = decode(next)?;
        if c.f != field || c.d != dir {
            return Err(bad("next was issued for another sort; start again without it"));
        }
        let v = sql.arg(Arg::Text(c.v));
        let id = sql.arg(Arg::Uuid(c.id));
        let cmp = if dir < 0 { "<" } else { ">" };
        sql.clauses.push(format!("({expr}, c.id) {cmp} ({v}::{cast}, {id})"));
    }
    let order = if dir < 0 { "DESC" } else { "ASC" };
    let lim = sql.arg(Arg::Text((limit + 1).to_string()));
    let select = CHANNEL_SELECT.replacen(
        "FROM channels c LEFT JOIN users cu ON cu.id = c.created_by",
        &format!(
            ", ({expr})::text AS sort_key
  FROM channels c JOIN channel_members me ON me.channel_id = c.id AND me.user_id = {me_id}
  LEFT JOIN users cu ON cu.id = c.created_by"
        ),
        1,
    );
    let text = format!(
        "{select} WHERE c.app_id = {app} AND c.deleted_at IS NULL AND me.invite_rejected_at IS NULL AND {}
          ORDER BY {expr} {order}, c.id {order} LIMIT {lim}::bigint",
        sql.clauses.join(" AND ")
    );
    let q = sqlx::query_as::<_, Row>(&text);
    let mut rows = bind(q, sql.args).fetch_all(db).await?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        let last = rows.last().ok_or_else(|| bad("empty page"))?;
        Some(encode(&Cursor { f: field.to_string(), d: dir, v: last.sort_key.clone(), id: last.channel.id })?)
    } else {
        None
    };
    let mut channels_out = Vec::with_capacity(rows.len());
    for r in &rows {
        let me = channels::membership(db, r.channel.id, caller.id)
            .await?
            .ok_or_else(|| Error::forbidden("you are not a member of this channel"))?;
        channels_out.push(channels::state_of(db, redis, caller, &r.channel, &me).await?);
    }
    Ok(QueryChannelsResponse { channels: channels_out, next })
}
