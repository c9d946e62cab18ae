CREATE TABLE departments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL CHECK (name <> ''),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE UNIQUE INDEX departments_name_key ON departments (lower(name));

--bun:split

ALTER TABLE help_centers
    ADD COLUMN self_signup boolean NOT NULL DEFAULT false,
    ADD COLUMN signup_requires_approval boolean NOT NULL DEFAULT false,
    -- {"enabled": bool, "all": bool, "department_ids": [...]}
    ADD COLUMN auto_invite jsonb NOT NULL DEFAULT '{"enabled": false, "all": false, "department_ids": []}';

--bun:split

ALTER TABLE tickets
    ADD COLUMN department_id bigint REFERENCES departments (id),
    ADD COLUMN body text NOT NULL DEFAULT '',
    ADD COLUMN channel text NOT NULL DEFAULT 'web';

--bun:split

-- A ticket whose new contact is to be invited. It is written with the
-- ticket, so a crash before the invitation starts loses nothing: a sweeper
-- starts whatever is still pending.
CREATE TABLE auto_invites (
    ticket_id       bigint PRIMARY KEY REFERENCES tickets (id),
    help_center_id  bigint NOT NULL REFERENCES help_centers (id),
    contact_id      bigint NOT NULL REFERENCES contacts (id),
    status          text NOT NULL CHECK (status IN ('pending', 'started', 'skipped')),
    reason          text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz
);

--bun:split

CREATE INDEX auto_invites_pending ON auto_invites (created_at) WHERE status = 'pending';

--bun:split

CREATE TABLE signups (
    id                uuid PRIMARY KEY,
    help_center_id    bigint NOT NULL REFERENCES help_centers (id),
    contact_id        bigint NOT NULL REFERENCES contacts (id),
    status            text NOT NULL CHECK (status IN ('verifying', 'pending_approval', 'active', 'rejected', 'expired')),
    token_hash        bytea UNIQUE,
    expires_at        timestamptz,
    workflow_id       text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    verified_at       timestamptz,
    decided_at        timestamptz
);

--bun:split

ALTER TABLE credential_stages
    ALTER COLUMN invitation_id DROP NOT NULL,
    ADD COLUMN signup_id uuid REFERENCES signups (id);

--bun:split

ALTER TABLE portal_access
    -- The sign-up waiting for an admin's decision, while pending_approval.
    ADD COLUMN signup_id uuid REFERENCES signups (id),
    -- Counts status changes, to key the emails that announce them.
    ADD COLUMN changes integer NOT NULL DEFAULT 0;
