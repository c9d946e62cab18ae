CREATE TABLE bulk_jobs (
    id               uuid PRIMARY KEY,
    help_center_id   bigint NOT NULL REFERENCES help_centers (id),
    idempotency_key  text,
    selection        text NOT NULL CHECK (selection IN ('ids', 'filter', 'all')),
    filter           jsonb,
    dry_run          boolean NOT NULL DEFAULT false,
    status           text NOT NULL CHECK (status IN ('running', 'completed', 'cancelled', 'failed')),
    total            integer NOT NULL DEFAULT 0,
    invited          integer NOT NULL DEFAULT 0,
    already_invited  integer NOT NULL DEFAULT 0,
    failed           integer NOT NULL DEFAULT 0,
    skipped_no_email        integer NOT NULL DEFAULT 0,
    skipped_unverified      integer NOT NULL DEFAULT 0,
    skipped_already_active  integer NOT NULL DEFAULT 0,
    skipped_deactivated     integer NOT NULL DEFAULT 0,
    skipped_not_found       integer NOT NULL DEFAULT 0,
    workflow_id      text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);

--bun:split

CREATE UNIQUE INDEX bulk_jobs_idempotency ON bulk_jobs (help_center_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

--bun:split

-- The contacts an explicit selection names, paged by the bulk workflow.
CREATE TABLE bulk_job_contacts (
    job_id      uuid NOT NULL REFERENCES bulk_jobs (id) ON DELETE CASCADE,
    contact_id  bigint NOT NULL,
    PRIMARY KEY (job_id, contact_id)
);

--bun:split

-- One row per contact examined: what happened to it.
CREATE TABLE bulk_job_results (
    job_id      uuid NOT NULL REFERENCES bulk_jobs (id) ON DELETE CASCADE,
    contact_id  bigint NOT NULL,
    outcome     text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, contact_id)
);

--bun:split

-- Marks the import that last wrote a contact, so a file naming one email
-- twice is caught without holding the file in memory.
ALTER TABLE contacts ADD COLUMN import_id uuid;

--bun:split

-- The outbox accepts each email once, like a provider that honours
-- idempotency keys, so a send interrupted by a crash can be confirmed.
ALTER TABLE outbox_messages ADD COLUMN idempotency_key text UNIQUE;
