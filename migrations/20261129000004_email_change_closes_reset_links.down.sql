UPDATE password_resets SET closed_reason = 'replaced' WHERE closed_reason = 'email_changed';

--bun:split

ALTER TABLE password_resets DROP CONSTRAINT password_resets_closed_reason_check;

--bun:split

ALTER TABLE password_resets ADD CONSTRAINT password_resets_closed_reason_check
    CHECK (closed_reason IN ('used', 'replaced', 'password_changed'));
