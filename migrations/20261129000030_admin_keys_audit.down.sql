DROP TABLE audit_events;

--bun:split

DROP FUNCTION audit_events_append_only();

--bun:split

ALTER TABLE api_keys
    DROP COLUMN prefix,
    DROP COLUMN help_center_ids,
    DROP COLUMN created_by,
    DROP COLUMN last_used_at,
    DROP COLUMN expires_at,
    DROP COLUMN bootstrap;
