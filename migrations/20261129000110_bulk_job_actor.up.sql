-- A bulk job remembers who started it and the request that did, so its
-- workflow, started by the request or later by the sweeper, records the
-- invitations it creates in that person's name. IDs only.
ALTER TABLE bulk_jobs
    ADD COLUMN IF NOT EXISTS created_by text,
    ADD COLUMN IF NOT EXISTS request_id text;
