-- Attempt counters of the portal's anonymous forms, shared by every
-- replica. Each (scope, key) is a bucket in the GCRA sense: tat is when it
-- will be empty again; an attempt is allowed while tat is at most one
-- period ahead, and pushes tat on by one interval. Keys are keyed hashes
-- (never an address in clear); a row whose tat has passed holds nothing
-- and is purged.
CREATE TABLE rate_limits (
    scope  text NOT NULL,
    key    bytea NOT NULL,
    tat    timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);

--bun:split

CREATE INDEX rate_limits_by_tat ON rate_limits (tat);

--bun:split

-- Failed logins per address and account scope (key: a keyed hash of both),
-- whether or not the address has an account, so a lockout never tells
-- which addresses do. The count restarts after a quiet window; from the
-- threshold on, each failure locks the address for longer.
CREATE TABLE login_failures (
    key             text PRIMARY KEY,
    failures        integer NOT NULL,
    last_failed_at  timestamptz NOT NULL,
    locked_until    timestamptz
);

--bun:split

-- Sessions also end after a while unused: last_seen_at moves on as the
-- customer uses the portal (at most every few minutes, to keep writes
-- cheap).
ALTER TABLE portal_sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();

--bun:split

CREATE INDEX portal_sessions_by_expiry ON portal_sessions (expires_at);
