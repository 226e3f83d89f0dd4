//! The migrations create the seed data model exactly: all 17 tables with the seed's columns,
//! defaults and indexes (GIN full-text index included), plus the sync additions.

mod common;

use common::Node;

const SEED_TABLES: [&str; 17] = [
    "applications", "block_lists", "campaigns", "channel_members", "channels", "message_drafts",
    "message_reactions", "message_reads", "messages", "moderation_queue", "subscription_plans",
    "teams", "usage_metrics", "user_devices", "users", "webhook_logs", "webhooks",
];

const SEED_INDEXES: [&str; 35] = [
    "idx_users_app_id", "idx_users_email", "idx_users_online", "idx_users_team", "idx_users_type",
    "idx_users_active", "idx_channels_app_id", "idx_channels_type", "idx_channels_last_message",
    "idx_channels_team", "idx_channels_distinct", "idx_channels_frozen", "idx_channel_members_channel",
    "idx_channel_members_user", "idx_messages_channel_created", "idx_messages_user", "idx_messages_parent",
    "idx_messages_text_search", "idx_reactions_message", "idx_reads_message", "idx_reads_user",
    "idx_teams_app_id", "idx_devices_user", "idx_devices_push_token", "idx_webhooks_app", "idx_webhooks_type",
    "idx_webhook_logs_webhook", "idx_campaigns_app", "idx_campaigns_status", "idx_campaigns_scheduled",
    "idx_block_lists_app", "idx_moderation_queue_app", "idx_moderation_queue_message", "idx_drafts_user",
    "idx_usage_app_time",
];

#[tokio::test]
async fn all_seed_tables_columns_and_indexes_exist() {
    let node = Node::start().await;
    let db = node.state.db();
    let tables: Vec<(String,)> =
        sqlx::query_as("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")
            .fetch_all(db)
            .await
            .unwrap();
    let tables: Vec<String> = tables.into_iter().map(|t| t.0).collect();
    for t in SEED_TABLES {
        assert!(tables.contains(&t.to_string()), "missing table {t}");
    }
    let indexes: Vec<(String, String)> =
        sqlx::query_as("SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public'")
            .fetch_all(db)
            .await
            .unwrap();
    for i in SEED_INDEXES {
        assert!(indexes.iter().any(|(n, _)| n == i), "missing index {i}");
    }
    let gin = indexes.iter().find(|(n, _)| n == "idx_messages_text_search").unwrap();
    assert!(gin.1.contains("USING gin") && gin.1.contains("to_tsvector('english'"), "{}", gin.1);
    let partial = indexes.iter().find(|(n, _)| n == "idx_users_online").unwrap();
    assert!(partial.1.contains("WHERE (is_online = true)"), "{}", partial.1);

    // Spot-check columns, types and defaults against the seed.
    let cols: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, column_default::text
           FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let col = |t: &str, c: &str| cols.iter().find(|x| x.0 == t && x.1 == c).unwrap_or_else(|| panic!("{t}.{c}"));
    assert_eq!(col("messages", "attachments").2, "jsonb");
    assert_eq!(col("messages", "attachments").3.as_deref(), Some("'[]'::jsonb"));
    assert_eq!(col("messages", "status").3.as_deref(), Some("'sent'::character varying"));
    assert_eq!(col("channels", "slow_mode").3.as_deref(), Some("0"));
    assert_eq!(col("subscription_plans", "monthly_price").2, "numeric");
    assert_eq!(col("webhooks", "events").2, "ARRAY");
    assert_eq!(col("usage_metrics", "value").2, "bigint");
    assert_eq!(col("users", "created_at").2, "timestamp without time zone");
    // Every column the seed declares exists (the first migration is the seed, verbatim).
    let seed_sql = include_str!("../migrations/0001_seed_schema.sql");
    let mut expected = 0;
    for block in seed_sql.split("CREATE TABLE ").skip(1) {
        let table = block.split_whitespace().next().unwrap();
        let body = &block[block.find('(').unwrap() + 1..block.find("\n);").unwrap()];
        for line in body.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("UNIQUE")) {
            let column = line.split_whitespace().next().unwrap();
            col(table, column);
            expected += 1;
        }
    }
    assert_eq!(expected, 180, "the seed declares 180 columns");

    // Uniques from the seed hold.
    let uniques: Vec<(String,)> = sqlx::query_as(
        "SELECT conname::text FROM pg_constraint WHERE contype = 'u' AND connamespace = 'public'::regnamespace",
    )
    .fetch_all(db)
    .await
    .unwrap();
    let uniques: Vec<String> = uniques.into_iter().map(|u| u.0).collect();
    for u in ["users_app_id_external_id_key", "users_app_id_email_key", "channel_members_channel_id_user_id_key",
              "message_reactions_message_id_user_id_emoji_key", "applications_api_key_key"] {
        assert!(uniques.contains(&u.to_string()), "missing unique {u}");
    }
}
