DROP INDEX IF EXISTS portal_sessions_by_expiry;

--bun:split

ALTER TABLE portal_sessions DROP COLUMN IF EXISTS last_seen_at;

--bun:split

DROP TABLE IF EXISTS login_failures;

--bun:split

DROP TABLE IF EXISTS rate_limits;
