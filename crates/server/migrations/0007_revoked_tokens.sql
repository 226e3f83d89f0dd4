-- 0007: token revocations kept in Postgres as well.

-- `revoked:token:{jti}` in Redis is what every request checks. This table holds the same
-- revocations durably, so that while Redis cannot be reached a revoked token is still refused
-- (the server then checks here instead of refusing all traffic).
CREATE TABLE revoked_tokens (
  jti VARCHAR(64) PRIMARY KEY,
  app_id UUID NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
  expires_at TIMESTAMP,
  revoked_at TIMESTAMP NOT NULL DEFAULT NOW()
);
