-- no-transaction
-- Two more kinds of process request: imports of time entries, and deleting a group whose members
-- must be detached first (seed 004: "updates to groups of this size may take more time").
-- Kept in step with ../postgres/0008_more_operations.sql.
--
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt the way SQLite's
-- documentation prescribes for a table that others reference: foreign keys off outside the
-- transaction, copy, swap, check, commit. (This is why the file runs without sqlx's own
-- transaction: PRAGMA foreign_keys is a no-op inside one.)
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE process_requests_rebuilt (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    operation TEXT NOT NULL CONSTRAINT process_requests_operation_check CHECK (operation IN ('import_clients', 'import_groups', 'import_memberships', 'import_time_entries', 'bulk_add', 'bulk_remove', 'delete_group')),
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
    error TEXT
);
INSERT INTO process_requests_rebuilt SELECT * FROM process_requests;
DROP TABLE process_requests;
ALTER TABLE process_requests_rebuilt RENAME TO process_requests;
CREATE INDEX process_requests_by_org ON process_requests (organization_id, id);
CREATE INDEX process_requests_claimable ON process_requests (status, id) WHERE status IN ('pending', 'running');

COMMIT;
PRAGMA foreign_keys = ON;
