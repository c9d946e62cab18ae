-- Every password reset link issued, by its token's hash; the token itself
-- is only in the email. A link works until it expires unless it closes
-- first: used, replaced by a newer link, or the password changed.
CREATE TABLE password_resets (
    token_hash      bytea PRIMARY KEY,
    -- The reset workflow's first run; with the generation it derives the
    -- token.
    reset_id        uuid NOT NULL,
    generation      integer NOT NULL CHECK (generation > 0),
    workflow_id     text NOT NULL,
    account_id      bigint NOT NULL REFERENCES portal_accounts (id),
    -- The help center the person asked from: its name is in the email and
    -- its address in the link.
    help_center_id  bigint NOT NULL REFERENCES help_centers (id),
    -- The address the link went to; if the contact's address changes,
    -- the link no longer works.
    email           text NOT NULL,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz,
    closed_reason   text CHECK (closed_reason IN ('used', 'replaced', 'password_changed')),
    UNIQUE (reset_id, generation),
    CHECK ((closed_at IS NULL) = (closed_reason IS NULL))
);

--bun:split

-- One open link per account: a new one closes the others in the same
-- transaction.
CREATE UNIQUE INDEX password_resets_one_open ON password_resets (account_id) WHERE closed_at IS NULL;

--bun:split

-- A new password for an existing account (a reset link, or a change from
-- the home page) is staged here by the page, hashed, for the workflow to
-- apply.
ALTER TABLE credential_stages ADD COLUMN account_id bigint REFERENCES portal_accounts (id);

--bun:split

-- Every password change of an existing account, written in the same
-- transaction as the change: who changed it and how, for the record, and
-- the stage it applied, so a retried change knows it is done.
CREATE TABLE password_changes (
    stage_id    uuid PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES portal_accounts (id),
    via         text NOT NULL CHECK (via IN ('reset_link', 'home')),
    changed_at  timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE INDEX password_changes_by_account ON password_changes (account_id, changed_at);
