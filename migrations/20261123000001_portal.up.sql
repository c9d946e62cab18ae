CREATE TABLE help_centers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug            text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name            text NOT NULL CHECK (name <> ''),
    user_base       text NOT NULL CHECK (user_base IN ('common', 'unique')),
    invite_policy   jsonb NOT NULL,
    -- NULL means the default template that ships with the product.
    email_template  jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE TABLE contacts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Contacts created from phone or chat channels may have no email.
    email       text CHECK (email IS NULL OR email <> ''),
    name        text NOT NULL DEFAULT '',
    verified    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE UNIQUE INDEX contacts_email_key ON contacts (lower(email)) WHERE email IS NOT NULL;

--bun:split

-- A portal account is one set of credentials: scope 'common' is shared by
-- every help center with a common user base; 'help_center:<id>' belongs to
-- one help center with a unique user base.
CREATE TABLE portal_accounts (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id     bigint NOT NULL REFERENCES contacts (id),
    scope          text NOT NULL,
    password_hash  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (contact_id, scope)
);

--bun:split

CREATE TABLE portal_access (
    account_id      bigint NOT NULL REFERENCES portal_accounts (id),
    help_center_id  bigint NOT NULL REFERENCES help_centers (id),
    status          text NOT NULL CHECK (status IN ('invited', 'pending_approval', 'active', 'rejected', 'deactivated')),
    invited_at      timestamptz,
    accepted_at     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, help_center_id)
);

--bun:split

CREATE INDEX portal_access_by_help_center ON portal_access (help_center_id, status, account_id);

--bun:split

CREATE TABLE invitations (
    id                uuid PRIMARY KEY,
    help_center_id    bigint NOT NULL REFERENCES help_centers (id),
    contact_id        bigint NOT NULL REFERENCES contacts (id),
    status            text NOT NULL CHECK (status IN ('pending', 'accepted', 'expired', 'revoked', 'undeliverable')),
    token_hash        bytea UNIQUE,
    token_generation  integer NOT NULL DEFAULT 0,
    expires_at        timestamptz,
    send_count        integer NOT NULL DEFAULT 0,
    last_sent_at      timestamptz,
    workflow_id       text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    accepted_at       timestamptz,
    closed_at         timestamptz
);

--bun:split

CREATE UNIQUE INDEX invitations_one_pending ON invitations (help_center_id, contact_id) WHERE status = 'pending';

--bun:split

CREATE INDEX invitations_by_help_center ON invitations (help_center_id, created_at DESC, id DESC);

--bun:split

-- Every token ever issued, by hash, so a dead link can say why it is dead.
CREATE TABLE invitation_tokens (
    token_hash     bytea PRIMARY KEY,
    invitation_id  uuid NOT NULL REFERENCES invitations (id),
    generation     integer NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (invitation_id, generation)
);

--bun:split

-- A password chosen on the accept page waits here (hashed) while the
-- invitation workflow decides; it never travels through workflow history.
CREATE TABLE credential_stages (
    id             uuid PRIMARY KEY,
    invitation_id  uuid NOT NULL REFERENCES invitations (id),
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE TABLE email_log (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key  text NOT NULL UNIQUE,
    kind             text NOT NULL,
    recipient        text NOT NULL,
    subject          text NOT NULL DEFAULT '',
    status           text NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'unconfirmed')),
    provider_id      text,
    error            text,
    invitation_id    uuid,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE INDEX email_log_by_invitation ON email_log (invitation_id, created_at);

--bun:split

CREATE TABLE outbox_messages (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient   text NOT NULL,
    subject     text NOT NULL,
    text_body   text NOT NULL,
    html_body   text NOT NULL,
    kind        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE INDEX outbox_messages_by_recipient ON outbox_messages (lower(recipient), id DESC);

--bun:split

CREATE TABLE api_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    key_hash    bytea NOT NULL UNIQUE,
    role        text NOT NULL CHECK (role IN ('admin', 'agent')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

--bun:split

CREATE TABLE portal_sessions (
    token_hash      bytea PRIMARY KEY,
    account_id      bigint NOT NULL REFERENCES portal_accounts (id),
    help_center_id  bigint NOT NULL REFERENCES help_centers (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);

--bun:split

CREATE INDEX portal_sessions_by_account ON portal_sessions (account_id);

--bun:split

CREATE TABLE tickets (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    help_center_id  bigint NOT NULL REFERENCES help_centers (id),
    contact_id      bigint NOT NULL REFERENCES contacts (id),
    subject         text NOT NULL,
    status          text NOT NULL DEFAULT 'open',
    created_at      timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE INDEX tickets_by_contact ON tickets (contact_id, help_center_id, created_at DESC);
