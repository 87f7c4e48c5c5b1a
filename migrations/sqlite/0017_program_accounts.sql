-- no-transaction
-- Seed 004: a client's business account has program accounts (number, program, status) that
-- travel with it. They are never members of a group on their own: the client's membership carries
-- them, so nothing here refers to groups. Kept in step with ../postgres/0017_program_accounts.sql.
--
-- They are uploaded and exported as CSV, so process requests gain the operation
-- import_program_accounts. SQLite cannot change a CHECK constraint in place: the table is rebuilt
-- as 0008_more_operations.sql did (foreign keys off outside the transaction, copy, swap, commit).
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE program_accounts (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    client_id BIGINT NOT NULL REFERENCES clients (id),
    number TEXT NOT NULL,
    -- The number without spaces or punctuation, in capitals: one account, however it is typed.
    number_key TEXT NOT NULL,
    program TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CONSTRAINT program_accounts_status_check CHECK (status IN ('active', 'inactive', 'closed')),
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT program_accounts_number_key UNIQUE (organization_id, number_key)
);
CREATE INDEX program_accounts_by_client ON program_accounts (client_id, number_key);

CREATE TABLE process_requests_rebuilt (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    operation TEXT NOT NULL CONSTRAINT process_requests_operation_check CHECK (operation IN ('import_clients', 'import_groups', 'import_memberships', 'import_time_entries', 'import_program_accounts', 'bulk_add', 'bulk_remove', 'delete_group')),
    mode TEXT NOT NULL CONSTRAINT process_requests_mode_check CHECK (mode IN ('validate', 'apply')),
    replace_members BOOLEAN NOT NULL DEFAULT FALSE,
    group_id BIGINT REFERENCES client_groups (id),
    initiator_id BIGINT REFERENCES staff (id),
    retry_of BIGINT REFERENCES process_requests (id),
    status TEXT NOT NULL CONSTRAINT process_requests_status_check CHECK (status IN ('receiving', 'pending', 'running', 'completed', 'failed', 'cancelled')),
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    total_rows BIGINT NOT NULL DEFAULT 0,
    done_rows BIGINT NOT NULL DEFAULT 0,
    failed_rows BIGINT NOT NULL DEFAULT 0,
    position BIGINT NOT NULL DEFAULT 0,
    replaced BOOLEAN NOT NULL DEFAULT FALSE,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    input_purged_at BIGINT
);
INSERT INTO process_requests_rebuilt SELECT * FROM process_requests;
DROP TABLE process_requests;
ALTER TABLE process_requests_rebuilt RENAME TO process_requests;
CREATE INDEX process_requests_by_org ON process_requests (organization_id, id);
CREATE INDEX process_requests_claimable ON process_requests (status, id) WHERE status IN ('pending', 'running');

COMMIT;
PRAGMA foreign_keys = ON;
