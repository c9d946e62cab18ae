-- A change of a contact's address closes the account's open password
-- reset links: they went to the old address.
ALTER TABLE password_resets DROP CONSTRAINT password_resets_closed_reason_check;

--bun:split

ALTER TABLE password_resets ADD CONSTRAINT password_resets_closed_reason_check
    CHECK (closed_reason IN ('used', 'replaced', 'password_changed', 'email_changed'));
