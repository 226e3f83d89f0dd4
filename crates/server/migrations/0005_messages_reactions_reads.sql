-- 0005: what messages, reactions, reads and sync need beyond the seed.

-- Replies in a thread, kept in the same transaction as each reply so every message carries its
-- count without an aggregate query.
ALTER TABLE messages ADD COLUMN reply_count INTEGER NOT NULL DEFAULT 0;

-- Scheduled messages wait with channel_seq NULL; the scheduler picks due ones with
-- FOR UPDATE SKIP LOCKED (safe with several nodes) and gives them their sequence number when
-- they are delivered. This partial index keeps that poll cheap.
CREATE INDEX idx_messages_scheduled_due ON messages(scheduled_for)
  WHERE channel_seq IS NULL AND scheduled_for IS NOT NULL;

-- Read state by sequence: the highest channel_seq the member has read. Unread counts and
-- mark-unread are computed from it exactly (timestamps can tie; sequence numbers cannot).
ALTER TABLE channel_members ADD COLUMN last_read_seq BIGINT NOT NULL DEFAULT 0;

-- Idempotency of every mutation that is not a message send (edits, deletes, reactions, reads,
-- pins): the client sends a mutation id; the first application stores its result here in the
-- same transaction, and a retry returns the stored result instead of applying it again.
CREATE TABLE mutations (
  id UUID PRIMARY KEY,
  app_id UUID NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind VARCHAR(64) NOT NULL,
  result JSONB NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_mutations_created ON mutations(created_at);

-- Thread replies are listed by parent in sequence order.
CREATE INDEX idx_messages_parent_seq ON messages(parent_message_id, channel_seq)
  WHERE parent_message_id IS NOT NULL;

-- Pinned messages of a channel.
CREATE INDEX idx_messages_pinned ON messages(channel_id, pinned_at DESC) WHERE is_pinned = true;
