-- Credentials a firm controls (issue 17): passwords that must be changed (the first admin's
-- printed one), API tokens with an expiry that can be revoked, and one-time password resets an
-- admin issues.
ALTER TABLE staff ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN revoked_at BIGINT;
CREATE INDEX api_tokens_by_staff ON api_tokens (staff_id);

CREATE TABLE password_resets (
    id INTEGER PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    -- SHA-256 of the one-time code; the code itself is shown once to the admin who issued it.
    code_hash TEXT NOT NULL CONSTRAINT password_resets_code_hash_key UNIQUE,
    issued_by BIGINT REFERENCES staff (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_by_staff ON password_resets (staff_id);
