ALTER TABLE outbox_messages DROP COLUMN IF EXISTS message_id, DROP COLUMN IF EXISTS variables;

--bun:split

ALTER TABLE invitations DROP COLUMN IF EXISTS undeliverable_reason;

--bun:split

DROP TABLE IF EXISTS suppressions;

--bun:split

DROP TABLE IF EXISTS webhook_tokens;

--bun:split

DROP INDEX IF EXISTS email_log_by_recipient;

--bun:split

DROP INDEX IF EXISTS email_log_by_message_id;

--bun:split

ALTER TABLE email_log
    DROP COLUMN IF EXISTS workflow_id,
    DROP COLUMN IF EXISTS message_id,
    DROP COLUMN IF EXISTS delivered_at,
    DROP COLUMN IF EXISTS deferred_at,
    DROP COLUMN IF EXISTS failed_at,
    DROP COLUMN IF EXISTS failure_reason,
    DROP COLUMN IF EXISTS complained_at;
