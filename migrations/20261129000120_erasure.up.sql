-- Erasure (DELETE /api/v1/contacts/{id}): a request outlives its
-- requester, who is no longer named on it.
ALTER TABLE tickets ALTER COLUMN contact_id DROP NOT NULL;

-- What erasing a contact left for Temporal: the workflows of the contact
-- still to close, and the idempotency-key prefixes of their emails, so a
-- send that was already under way is removed once it lands. IDs only: the
-- person is gone from every other table by the time this row is written.
CREATE TABLE IF NOT EXISTS contact_erasures (
    contact_id    bigint PRIMARY KEY,
    workflow_ids  text[] NOT NULL DEFAULT '{}',
    key_prefixes  text[] NOT NULL DEFAULT '{}',
    erased_at     timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz
);
CREATE INDEX IF NOT EXISTS contact_erasures_open ON contact_erasures (erased_at) WHERE closed_at IS NULL;

-- A forgot-password request waits here for its workflow's activity, which
-- reads the address by the request's ID: the address never enters the
-- workflow's history. The activity deletes the row it used; the sweeper
-- deletes the rest (requests throttled by the workflow) after an hour.
CREATE TABLE IF NOT EXISTS password_reset_requests (
    id              uuid PRIMARY KEY,
    help_center_id  bigint NOT NULL REFERENCES help_centers (id) ON DELETE CASCADE,
    email           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS password_reset_requests_by_email ON password_reset_requests (lower(email));
CREATE INDEX IF NOT EXISTS password_reset_requests_by_age ON password_reset_requests (created_at);
