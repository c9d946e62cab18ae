-- API keys get a lifecycle: a shown prefix, help-center scopes, who made
-- them, when they were last used and when they expire. The bootstrap key
-- (PORTAL_ADMIN_API_KEY) is marked so that a new value revokes the old.
ALTER TABLE api_keys
    ADD COLUMN prefix        text NOT NULL DEFAULT '',
    ADD COLUMN help_center_ids bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN created_by    bigint REFERENCES api_keys (id),
    ADD COLUMN last_used_at  timestamptz,
    ADD COLUMN expires_at    timestamptz,
    ADD COLUMN bootstrap     boolean NOT NULL DEFAULT false;

--bun:split

-- Keys stored before this migration came from PORTAL_ADMIN_API_KEY (the
-- only way in) or from POST /api/v1/api-keys; the former are named so.
UPDATE api_keys SET bootstrap = true WHERE name = 'bootstrap admin (PORTAL_ADMIN_API_KEY)';

--bun:split

-- What a person (or a process on their behalf) changed. Rows carry IDs,
-- never an email address or a name, so erasing a person leaves the trail
-- whole. No foreign keys: the trail outlives what it names.
CREATE TABLE audit_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    -- api_key:{id}, customer:{account id} or system.
    actor           text NOT NULL,
    action          text NOT NULL,
    -- kind:{id}, e.g. user:12, invitation:{uuid}, api_key:3.
    target          text NOT NULL,
    help_center_id  bigint,
    request_id      text,
    details         jsonb NOT NULL DEFAULT '{}'
);

--bun:split

-- Searches by target, by actor and by help center page newest first.
CREATE INDEX audit_events_by_target ON audit_events (target, id DESC);

--bun:split

CREATE INDEX audit_events_by_actor ON audit_events (actor, id DESC);

--bun:split

CREATE INDEX audit_events_by_help_center ON audit_events (help_center_id, id DESC);

--bun:split

-- The trail is append-only: nothing in the service updates or deletes an
-- event, and the database refuses it too.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;

--bun:split

CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
