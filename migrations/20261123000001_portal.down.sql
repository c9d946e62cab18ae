DROP TABLE IF EXISTS tickets, portal_sessions, api_keys, outbox_messages, email_log, credential_stages,
    invitation_tokens, invitations, portal_access, portal_accounts, contacts, help_centers;
