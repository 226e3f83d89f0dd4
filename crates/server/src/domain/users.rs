//! Users: upsert by the application's own id (`external_id`), lookup, the wire form, and the
//! online flag kept in Postgres (`is_online`, `last_seen_at`).

use chat_protocol::requests::UserInput;
use chat_protocol::User;
use chrono::NaiveDateTime;
use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::validate;
use crate::error::{Error, Result};
use crate::time::{fmt, fmt_opt};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub app_id: Uuid,
    pub external_id: String,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub bio: Option<String>,
    pub user_type: Option<String>,
    pub is_deactivated: Option<bool>,
    pub metadata: Option<Json<serde_json::Map<String, serde_json::Value>>>,
    pub is_online: Option<bool>,
    pub last_seen_at: Option<NaiveDateTime>,
    pub created_at: Option<NaiveDateTime>,
    pub updated_at: Option<NaiveDateTime>,
    /// The user's team (at most one); a boundary in multi-tenant applications.
    pub team_id: Option<Uuid>,
}

pub const USER_COLUMNS: &str = "id, app_id, external_id, username, display_name, avatar_url, bio, \
     user_type, is_deactivated, metadata, is_online, last_seen_at, created_at, updated_at, team_id";

impl UserRow {
    pub fn deactivated(&self) -> bool {
        self.is_deactivated.unwrap_or(false)
    }

    pub fn to_wire(&self) -> User {
        User {
            id: self.external_id.clone(),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            avatar_url: self.avatar_url.clone(),
            bio: self.bio.clone(),
            user_type: self.user_type.clone().unwrap_or_else(|| "regular".into()),
            metadata: self.metadata.as_ref().map(|j| j.0.clone()).unwrap_or_default(),
            is_online: self.is_online.unwrap_or(false),
            is_deactivated: self.deactivated(),
            last_seen_at: fmt_opt(self.last_seen_at),
            created_at: self.created_at.map(fmt).unwrap_or_default(),
            updated_at: self.updated_at.map(fmt).unwrap_or_default(),
        }
    }
}

const USER_TYPES: [&str; 3] = ["regular", "anonymous", "guest"];

fn validate_input(u: &UserInput) -> Result<()> {
    validate::external_id("user id", &u.id)?;
    validate::max_chars("username", u.username.as_deref(), 255)?;
    validate::max_chars("email", u.email.as_deref(), 255)?;
    validate::max_chars("display_name", u.display_name.as_deref(), 255)?;
    validate::max_chars("avatar_url", u.avatar_url.as_deref(), 2048)?;
    validate::max_chars("bio", u.bio.as_deref(), 5000)?;
    if let Some(t) = &u.user_type {
        if !USER_TYPES.contains(&t.as_str()) {
            return Err(Error::invalid("user_type must be regular, anonymous or guest"));
        }
    }
    if let Some(m) = &u.metadata {
        validate::max_json_bytes("metadata", m, 5 * 1024)?;
    }
    Ok(())
}

/// Creates or updates users by id; fields left out keep their stored values. All-or-nothing.
pub async fn upsert(db: &PgPool, app_id: Uuid, users: &[UserInput]) -> Result<Vec<UserRow>> {
    if users.is_empty() || users.len() > 100 {
        return Err(Error::invalid("users must hold 1 to 100 users"));
    }
    for u in users {
        validate_input(u)?;
    }
    let mut tx = db.begin().await?;
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        let sql = format!(
            "INSERT INTO users (app_id, external_id, username, email, display_name, avatar_url, bio,
                                user_type, metadata)
             VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, 'regular'), COALESCE($9, '{{}}'::jsonb))
             ON CONFLICT (app_id, external_id) DO UPDATE SET
               username = COALESCE(EXCLUDED.username, users.username),
               email = COALESCE($4, users.email),
               display_name = COALESCE($5, users.display_name),
               avatar_url = COALESCE($6, users.avatar_url),
               bio = COALESCE($7, users.bio),
               user_type = COALESCE($8, users.user_type),
               metadata = COALESCE($9, users.metadata),
               updated_at = NOW()
             RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query_as::<_, UserRow>(&sql)
            .bind(app_id)
            .bind(&u.id)
            .bind(&u.username)
            .bind(&u.email)
            .bind(&u.display_name)
            .bind(&u.avatar_url)
            .bind(&u.bio)
            .bind(&u.user_type)
            .bind(u.metadata.clone().map(Json))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => {
                    Error::api(chat_protocol::ErrorCode::IdConflict, "that email is used by another user")
                }
                _ => Error::Db(e),
            })?;
        out.push(row);
    }
    tx.commit().await?;
    Ok(out)
}

pub async fn by_external_id(
    db: impl PgExecutor<'_>,
    app_id: Uuid,
    external_id: &str,
) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE app_id = $1 AND external_id = $2");
    Ok(sqlx::query_as::<_, UserRow>(&sql).bind(app_id).bind(external_id).fetch_optional(db).await?)
}

pub async fn by_id(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    Ok(sqlx::query_as::<_, UserRow>(&sql).bind(id).fetch_optional(db).await?)
}

/// Maps application user ids to internal UUIDs; fails naming the first unknown id.
pub async fn resolve_ids(
    db: impl PgExecutor<'_>,
    app_id: Uuid,
    external_ids: &[String],
) -> Result<Vec<(String, Uuid)>> {
    let rows: Vec<(String, Uuid)> = sqlx::query_as(
        "SELECT external_id, id FROM users WHERE app_id = $1 AND external_id = ANY($2)",
    )
    .bind(app_id)
    .bind(external_ids)
    .fetch_all(db)
    .await?;
    if let Some(missing) = external_ids.iter().find(|e| !rows.iter().any(|(x, _)| x == *e)) {
        return Err(Error::invalid(format!("unknown user {missing:?}")));
    }
    Ok(rows)
}

/// Records that the user is (or no longer is) connected somewhere.
pub async fn set_online(db: &PgPool, user_id: Uuid, online: bool) -> Result<()> {
    sqlx::query("UPDATE users SET is_online = $2, last_seen_at = NOW() WHERE id = $1")
        .bind(user_id)
        .bind(online)
        .execute(db)
        .await?;
    Ok(())
}

// ---- users group: query, profile, guests, deactivation, contacts ----------------------------

/// Internal ids of the user and of every user sharing a channel with them (not banned there):
/// the audience of their profile and presence changes.
pub async fn contacts(db: impl PgExecutor<'_>, user_id: Uuid) -> Result<Vec<Uuid>> {
    // Team isolation: in a multi-tenant application only channels both users reach count.
    let sql = format!(
        "SELECT $1::uuid UNION
         SELECT DISTINCT o.user_id FROM channel_members m
           JOIN channel_members o ON o.channel_id = m.channel_id
           JOIN channels c ON c.id = m.channel_id
           JOIN users mu ON mu.id = m.user_id
           JOIN users ou ON ou.id = o.user_id
          WHERE m.user_id = $1 AND o.is_banned IS NOT TRUE
            AND ((mu.team_id IS NOT DISTINCT FROM c.team_id AND ou.team_id IS NOT DISTINCT FROM c.team_id)
                 OR NOT {})",
        multi_tenant_sql("c.app_id")
    );
    let rows: Vec<(Uuid,)> = sqlx::query_as(&sql)
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(u,)| u).collect())
}

/// A boolean of `applications.settings`: on only when it is the JSON value `true` (absent, or
/// any other value, is off; `GET /v1/app` reports it the same way).
pub async fn app_setting(db: impl PgExecutor<'_>, app_id: Uuid, name: &str) -> Result<bool> {
    let v: Option<(Option<bool>,)> =
        sqlx::query_as("SELECT (settings -> $2) = 'true'::jsonb FROM applications WHERE id = $1")
            .bind(app_id)
            .bind(name)
            .fetch_optional(db)
            .await?;
    Ok(v.and_then(|(b,)| b).unwrap_or(false))
}

/// SQL: whether the application whose id is the SQL expression `app_id` is multi-tenant (read
/// as [`app_setting`] reads it), for checks made inside a statement that runs anyway.
pub fn multi_tenant_sql(app_id: &str) -> String {
    format!(
        "COALESCE((SELECT (a.settings -> 'multi_tenant') = 'true'::jsonb FROM applications a WHERE a.id = {app_id}), false)"
    )
}

async fn team_of(db: &PgPool, user_id: Uuid) -> Result<(Option<Uuid>, Option<String>)> {
    Ok(sqlx::query_as(
        "SELECT u.team_id, t.name FROM users u LEFT JOIN teams t ON t.id = u.team_id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_one(db)
    .await?)
}

/// Sort orders of the users query and their keyset cursors.
#[derive(Clone, Copy, PartialEq)]
enum UserSort {
    Id,
    Created,
    CreatedDesc,
}

fn parse_cursor(sort: UserSort, next: &str) -> Result<(Option<NaiveDateTime>, String)> {
    let bad = || Error::invalid("next is not a cursor of this query (same filter and sort)");
    let (at, id) = match (sort, next.split_once(':')) {
        (UserSort::Id, Some(("i", id))) => (None, id),
        (UserSort::Created | UserSort::CreatedDesc, Some(("c", rest))) => {
            let (micros, id) = rest.split_once(':').ok_or_else(bad)?;
            let micros: i64 = micros.parse().map_err(|_| bad())?;
            let at = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?.naive_utc();
            (Some(at), id)
        }
        _ => return Err(bad()),
    };
    validate::external_id("next", id).map_err(|_| bad())?;
    Ok((at, id.to_string()))
}

fn cursor_of(sort: UserSort, u: &UserRow) -> String {
    match sort {
        UserSort::Id => format!("i:{}", u.external_id),
        _ => format!(
            "c:{}:{}",
            u.created_at.map(|t| t.and_utc().timestamp_micros()).unwrap_or(0),
            u.external_id
        ),
    }
}

/// `POST /v1/users/query`: the application's active users matching the filter, one keyset page.
/// In a multi-tenant application (`settings.multi_tenant`) the caller sees only their team.
pub async fn query(
    db: &PgPool,
    caller: &UserRow,
    q: &chat_protocol::requests::QueryUsers,
) -> Result<chat_protocol::requests::UsersPage> {
    let f = &q.filter;
    let limit = i64::from(q.limit.unwrap_or(30));
    if !(1..=100).contains(&limit) {
        return Err(Error::invalid("limit must be 1-100"));
    }
    let sort = match q.sort.as_deref().unwrap_or("id") {
        "id" => UserSort::Id,
        "created_at" => UserSort::Created,
        "-created_at" => UserSort::CreatedDesc,
        _ => return Err(Error::invalid("sort must be id, created_at or -created_at")),
    };
    if let Some(ids) = &f.id_in {
        if ids.is_empty() || ids.len() > 100 {
            return Err(Error::invalid("filter.id_in must hold 1 to 100 ids"));
        }
        for id in ids {
            validate::external_id("filter.id_in", id)?;
        }
    }
    if let Some(p) = &f.prefix {
        if p.trim().is_empty() || p.chars().count() > 255 {
            return Err(Error::invalid("filter.prefix must be 1-255 characters"));
        }
    }
    if let Some(t) = &f.user_type {
        if !USER_TYPES.contains(&t.as_str()) {
            return Err(Error::invalid("filter.user_type must be regular, anonymous or guest"));
        }
    }
    validate::max_chars("filter.team", f.team.as_deref(), 255)?;
    let cursor = q.next.as_deref().map(|n| parse_cursor(sort, n)).transpose()?;

    let mut b = sqlx::QueryBuilder::<sqlx::Postgres>::new(format!("SELECT {USER_COLUMNS} FROM users WHERE app_id = "));
    b.push_bind(caller.app_id).push(" AND is_deactivated IS NOT TRUE");
    if app_setting(db, caller.app_id, "multi_tenant").await? {
        let (team_id, team_name) = team_of(db, caller.id).await?;
        if let Some(t) = &f.team {
            if team_name.as_deref() != Some(t.as_str()) {
                return Err(Error::forbidden("in this application you can only see your own team"));
            }
        }
        b.push(" AND team_id IS NOT DISTINCT FROM ").push_bind(team_id);
    }
    if let Some(ids) = &f.id_in {
        b.push(" AND external_id = ANY(").push_bind(ids.clone()).push(")");
    }
    if let Some(p) = &f.prefix {
        let escaped: String = p.to_lowercase().chars().flat_map(|c| {
            let esc = matches!(c, '%' | '_' | '\\');
            esc.then_some('\\').into_iter().chain(std::iter::once(c))
        }).collect();
        let pattern = format!("{escaped}%");
        b.push(" AND (lower(username) LIKE ").push_bind(pattern.clone());
        b.push(" OR lower(display_name) LIKE ").push_bind(pattern).push(")");
    }
    if let Some(t) = &f.user_type {
        b.push(" AND COALESCE(user_type, 'regular') = ").push_bind(t.clone());
    }
    if let Some(online) = f.online {
        b.push(" AND COALESCE(is_online, false) = ").push_bind(online);
    }
    if let Some(t) = &f.team {
        b.push(" AND team_id IN (SELECT id FROM teams WHERE app_id = ").push_bind(caller.app_id);
        b.push(" AND name = ").push_bind(t.clone()).push(")");
    }
    if let Some((at, id)) = cursor {
        match (sort, at) {
            (UserSort::Id, _) => {
                b.push(" AND external_id > ").push_bind(id);
            }
            (UserSort::Created, Some(at)) => {
                b.push(" AND (created_at, external_id) > (").push_bind(at).push(", ").push_bind(id).push(")");
            }
            (_, at) => {
                b.push(" AND (created_at, external_id) < (").push_bind(at).push(", ").push_bind(id).push(")");
            }
        }
    }
    b.push(match sort {
        UserSort::Id => " ORDER BY external_id",
        UserSort::Created => " ORDER BY created_at, external_id",
        UserSort::CreatedDesc => " ORDER BY created_at DESC, external_id DESC",
    });
    b.push(" LIMIT ").push_bind(limit + 1);
    let mut rows: Vec<UserRow> = b.build_query_as().fetch_all(db).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|u| cursor_of(sort, u))
    } else {
        None
    };
    Ok(chat_protocol::requests::UsersPage { users: rows.iter().map(UserRow::to_wire).collect(), next })
}

/// Locks the user rows of `ids` in id order, so transactions that each update a user and then
/// take the sequence numbers of that user's contacts cannot deadlock one another.
async fn lock_users(tx: &mut super::events::Tx<'_>, ids: &[Uuid]) -> Result<()> {
    sqlx::query("SELECT id FROM users WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .bind(ids)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Emits `user.updated` with `user` to them and their contacts, inside `tx`.
async fn emit_updated(tx: &mut super::events::Tx<'_>, recipients: &[Uuid], user: &UserRow) -> Result<Vec<crate::fanout::Outgoing>> {
    let wire = user.to_wire();
    let mut out = Vec::with_capacity(recipients.len());
    for uid in recipients {
        let w = wire.clone();
        out.push(
            super::events::emit_user(tx, *uid, |seq| chat_protocol::ServerFrame::UserUpdated { user_seq: seq, user: w })
                .await?,
        );
    }
    Ok(out)
}

fn check_url(field: &str, v: Option<&str>) -> Result<()> {
    validate::max_chars(field, v, 2048)?;
    match v {
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
            Err(Error::invalid(format!("{field} must be an http(s) URL")))
        }
        _ => Ok(()),
    }
}

/// `PATCH /v1/me`: updates the caller's own profile and emits `user.updated` to them and the
/// users sharing a channel with them. Anonymous users have no profile to edit.
pub async fn update_profile(
    db: &PgPool,
    user: &UserRow,
    input: &chat_protocol::requests::UpdateMe,
) -> Result<(UserRow, Vec<crate::fanout::Outgoing>)> {
    if user.user_type.as_deref() == Some("anonymous") {
        return Err(Error::forbidden("anonymous users cannot edit a profile"));
    }
    let flat = |v: &Option<Option<String>>| v.as_ref().and_then(|x| x.as_deref().map(str::to_string));
    validate::max_chars("display_name", flat(&input.display_name).as_deref(), 255)?;
    check_url("avatar_url", flat(&input.avatar_url).as_deref())?;
    validate::max_chars("bio", flat(&input.bio).as_deref(), 5000)?;
    if let Some(Some(m)) = &input.metadata {
        validate::max_json_bytes("metadata", m, 5 * 1024)?;
    }
    if input.display_name.is_none() && input.avatar_url.is_none() && input.bio.is_none() && input.metadata.is_none() {
        return Ok((user.clone(), Vec::new()));
    }
    let mut tx = db.begin().await?;
    let recipients = contacts(&mut *tx, user.id).await?;
    lock_users(&mut tx, &recipients).await?;
    let sql = format!(
        "UPDATE users SET
           display_name = CASE WHEN $2 THEN $3 ELSE display_name END,
           avatar_url = CASE WHEN $4 THEN $5 ELSE avatar_url END,
           bio = CASE WHEN $6 THEN $7 ELSE bio END,
           metadata = CASE WHEN $8 THEN COALESCE($9, '{{}}'::jsonb) ELSE metadata END,
           updated_at = NOW()
         WHERE id = $1 RETURNING {USER_COLUMNS}"
    );
    let row = sqlx::query_as::<_, UserRow>(&sql)
        .bind(user.id)
        .bind(input.display_name.is_some())
        .bind(flat(&input.display_name))
        .bind(input.avatar_url.is_some())
        .bind(flat(&input.avatar_url))
        .bind(input.bio.is_some())
        .bind(flat(&input.bio))
        .bind(input.metadata.is_some())
        .bind(input.metadata.clone().flatten().map(Json))
        .fetch_one(&mut *tx)
        .await?;
    let events = emit_updated(&mut tx, &recipients, &row).await?;
    tx.commit().await?;
    Ok((row, events))
}

/// `POST /v1/guest`: creates a guest user. An id that already exists is refused
/// (`id_conflict`): handing out a token for an existing user would let anyone impersonate it.
pub async fn create_guest(
    db: &PgPool,
    app_id: Uuid,
    input: &chat_protocol::requests::GuestUser,
) -> Result<UserRow> {
    let id = match &input.id {
        Some(id) => id.clone(),
        None => format!("guest-{}", &Uuid::new_v4().simple().to_string()[..16]),
    };
    validate::external_id("user.id", &id)?;
    validate::max_chars("user.display_name", input.display_name.as_deref(), 255)?;
    let sql = format!(
        "INSERT INTO users (app_id, external_id, display_name, user_type) VALUES ($1, $2, $3, 'guest')
         ON CONFLICT (app_id, external_id) DO NOTHING RETURNING {USER_COLUMNS}"
    );
    sqlx::query_as::<_, UserRow>(&sql)
        .bind(app_id)
        .bind(&id)
        .bind(&input.display_name)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::api(chat_protocol::ErrorCode::IdConflict, format!("user id {id:?} is already taken")))
}

/// Deactivates or reactivates a user (server side). Returns the user and, when the flag
/// changed, the `user.updated` events; repeating the call changes nothing and emits nothing.
pub async fn set_deactivated(
    db: &PgPool,
    app_id: Uuid,
    external_id: &str,
    deactivated: bool,
) -> Result<(UserRow, Vec<crate::fanout::Outgoing>)> {
    validate::external_id("user id", external_id)?;
    let current = by_external_id(db, app_id, external_id)
        .await?
        .ok_or_else(|| Error::not_found(format!("user {external_id:?} does not exist")))?;
    if current.deactivated() == deactivated {
        return Ok((current, Vec::new()));
    }
    let mut tx = db.begin().await?;
    let recipients = contacts(&mut *tx, current.id).await?;
    lock_users(&mut tx, &recipients).await?;
    let sql = format!(
        "UPDATE users SET is_deactivated = $2,
                deactivated_at = CASE WHEN $2 THEN NOW() ELSE NULL END, updated_at = NOW()
          WHERE id = $1 AND is_deactivated IS DISTINCT FROM $2 RETURNING {USER_COLUMNS}"
    );
    let Some(row) = sqlx::query_as::<_, UserRow>(&sql).bind(current.id).bind(deactivated).fetch_optional(&mut *tx).await?
    else {
        // A concurrent call made the same change first.
        tx.rollback().await?;
        return Ok((current, Vec::new()));
    };
    let events = emit_updated(&mut tx, &recipients, &row).await?;
    tx.commit().await?;
    Ok((row, events))
}
