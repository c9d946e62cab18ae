-- Delivery tracking: what the mail provider later says about each email
-- (delivered, failed for good or for now, complained), the workflow to
-- tell, the message's stable ID; replay protection for the provider's
-- webhooks; installation-wide suppression of addresses that bounced or
-- complained; and why an invitation closed undeliverable.
ALTER TABLE email_log
    ADD COLUMN workflow_id     text,
    ADD COLUMN message_id      text,
    ADD COLUMN delivered_at    timestamptz,
    ADD COLUMN deferred_at     timestamptz,
    ADD COLUMN failed_at       timestamptz,
    ADD COLUMN failure_reason  text,
    ADD COLUMN complained_at   timestamptz;

--bun:split

CREATE INDEX email_log_by_message_id ON email_log (message_id) WHERE message_id IS NOT NULL;

--bun:split

CREATE INDEX email_log_by_recipient ON email_log (lower(recipient), id DESC);

--bun:split

CREATE TABLE webhook_tokens (
    token_hash  bytea PRIMARY KEY,
    expires_at  timestamptz NOT NULL
);

--bun:split

CREATE INDEX webhook_tokens_expiry ON webhook_tokens (expires_at);

--bun:split

CREATE TABLE suppressions (
    email_key   text PRIMARY KEY,
    email       text NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('rejected', 'bounced', 'complained')),
    source      text NOT NULL CHECK (source IN ('send', 'webhook', 'import')),
    detail      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    lifted_at   timestamptz,
    lifted_by   text
);

--bun:split

ALTER TABLE invitations ADD COLUMN undeliverable_reason text
    CHECK (undeliverable_reason IN ('rejected', 'bounced', 'complained'));

--bun:split

ALTER TABLE outbox_messages
    ADD COLUMN message_id  text,
    ADD COLUMN variables   jsonb NOT NULL DEFAULT '{}'::jsonb;
