-- 0002: what the design adds to the seed model for sync and idempotency (DESIGN.md, ideas 3-4).

-- Client-facing channel ids. Clients name a channel by (type, id) as in `messaging:general`;
-- the UUID stays the primary key. The unique index makes get-or-create race-free
-- (INSERT ... ON CONFLICT DO NOTHING). Channels created without a key keep NULL here.
ALTER TABLE channels ADD COLUMN channel_key VARCHAR(255);
CREATE UNIQUE INDEX idx_channels_app_type_key ON channels(app_id, type, channel_key);

-- Per-channel sequence: every change to a channel takes last_seq + 1 in the same transaction as
-- the change (UPDATE ... RETURNING holds the row lock, so concurrent writers are serialised and
-- the sequence is gapless; a rolled-back change gives its number back). A global BIGSERIAL is
-- not enough because its values commit out of order.
ALTER TABLE channels ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;

-- The sequence number a message was stored with; unique per channel.
ALTER TABLE messages ADD COLUMN channel_seq BIGINT;
CREATE UNIQUE INDEX idx_messages_channel_seq ON messages(channel_id, channel_seq);

-- Per-user sequence for user-level events (added to a channel, notifications).
ALTER TABLE users ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;

-- The event log sync replays from: one row per channel change, keyed by its sequence number.
-- `payload` is the websocket frame exactly as it was delivered live.
CREATE TABLE channel_events (
  channel_id UUID NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  event_type VARCHAR(100) NOT NULL,
  payload JSONB NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT NOW(),
  PRIMARY KEY (channel_id, seq)
);

-- The same for user-level events, keyed by the user's sequence number.
CREATE TABLE user_events (
  user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  event_type VARCHAR(100) NOT NULL,
  payload JSONB NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT NOW(),
  PRIMARY KEY (user_id, seq)
);
