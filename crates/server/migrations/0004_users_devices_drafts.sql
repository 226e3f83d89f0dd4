-- 0004: users, devices and drafts (docs/protocol.md, "Users, presence, devices, drafts, typing").

-- Per-thread drafts. The seed keeps one draft per (channel, user); a user may also have one
-- draft per thread of the channel, named by the thread's parent message. NULL is the channel's
-- own draft. The seed's UNIQUE(channel_id, user_id) is replaced by a unique constraint over
-- (channel_id, user_id, parent_message_id) with NULLS NOT DISTINCT (Postgres 15), so
-- "INSERT ... ON CONFLICT" upserts the channel draft (NULL parent) as well as thread drafts.
-- A deleted parent message takes its thread's drafts with it.
ALTER TABLE message_drafts
  ADD COLUMN parent_message_id UUID REFERENCES messages(id) ON DELETE CASCADE;
ALTER TABLE message_drafts DROP CONSTRAINT message_drafts_channel_id_user_id_key;
ALTER TABLE message_drafts ADD CONSTRAINT message_drafts_channel_user_parent_key
  UNIQUE NULLS NOT DISTINCT (channel_id, user_id, parent_message_id);

-- Version of each draft write, for the Redis cache (`draft:{channel}:{user}[:{parent}]`). It is
-- taken from a sequence while the write holds the draft's row lock, so versions of one draft
-- increase in commit order; the cache refuses a write older than what it holds (a slow writer
-- or a read-through fill can never put back a stale draft or resurrect a deleted one).
CREATE SEQUENCE message_drafts_version_seq;
ALTER TABLE message_drafts ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- Listing a user's drafts, newest first (keyset by updated_at, id).
CREATE INDEX idx_drafts_user_updated ON message_drafts(user_id, updated_at DESC, id DESC);

-- Keyset pagination of users by creation time within an application.
CREATE INDEX idx_users_app_created ON users(app_id, created_at, external_id);
