-- A contact can decline an invitation; the help center invites them
-- again only with an admin's recorded override.
ALTER TABLE invitations DROP CONSTRAINT IF EXISTS invitations_status_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_status_check
  CHECK (status IN ('pending', 'accepted', 'expired', 'revoked', 'undeliverable', 'declined'));

CREATE TABLE IF NOT EXISTS invitation_declines (
    help_center_id bigint NOT NULL REFERENCES help_centers (id) ON DELETE CASCADE,
    contact_id     bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    invitation_id  uuid NOT NULL,
    declined_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (help_center_id, contact_id)
);

ALTER TABLE bulk_jobs ADD COLUMN IF NOT EXISTS skipped_declined integer NOT NULL DEFAULT 0;
