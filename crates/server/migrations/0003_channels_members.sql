-- 0003: channels and members — deletion, truncation, invitations and shadow bans.

-- Soft delete. A deleted channel keeps its row and its event log (so a client that was offline
-- still receives `channel.deleted` when it syncs) but can no longer be read or written. Its
-- (app_id, type, channel_key) stays taken: a cid a client has cached never silently names a
-- different, newer channel.
ALTER TABLE channels ADD COLUMN deleted_at TIMESTAMP;

-- Truncation boundary as a channel sequence number: messages with channel_seq below it are hidden
-- from lists and state. truncated_at (seed) records when; the sequence is what filters, because
-- timestamps of concurrent messages can tie while sequence numbers cannot.
ALTER TABLE channels ADD COLUMN truncated_seq BIGINT NOT NULL DEFAULT 0;

-- When a member was invited. An invitation is pending while invited_at is set and neither
-- invite_accepted_at nor invite_rejected_at (seed columns) is.
ALTER TABLE channel_members ADD COLUMN invited_at TIMESTAMP;

-- A message sent while its author was shadow-banned: only the author sees it (live and in
-- history); nobody else receives it.
ALTER TABLE messages ADD COLUMN shadowed BOOLEAN NOT NULL DEFAULT false;

-- A channel event meant for one user only (the shadowed sender's own `message.new`). Replay of
-- channel_events must skip rows whose only_user_id is set and is not the reader. The row still
-- takes its sequence number, so the per-channel sequence stays gapless.
ALTER TABLE channel_events ADD COLUMN only_user_id UUID;

-- Query channels starts from the caller's memberships and orders by last activity.
CREATE INDEX idx_channels_app_activity ON channels(app_id, (COALESCE(last_message_at, created_at)) DESC);
