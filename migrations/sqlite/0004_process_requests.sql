-- Process requests (SQLite): durable background jobs for imports and bulk membership changes. Kept
-- in step with ../postgres/0004_process_requests.sql: same tables, columns and constraint names.
--
-- A request's input is stored row by row in process_request_rows when it is accepted (the upload is
-- parsed once, streaming), so a restarted worker resumes from `position`: the last row number whose
-- outcome committed. Rows are applied in batches, and each batch's writes, its rows' outcomes and
-- the new position commit in one transaction, so a crash loses nothing and applies nothing twice.

CREATE TABLE process_requests (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    operation TEXT NOT NULL CONSTRAINT process_requests_operation_check CHECK (operation IN ('import_clients', 'import_groups', 'import_memberships', 'bulk_add', 'bulk_remove')),
    -- validate: a dry run whose writes are rolled back; apply: the real thing.
    mode TEXT NOT NULL CONSTRAINT process_requests_mode_check CHECK (mode IN ('validate', 'apply')),
    -- Memberships: make each named group's members exactly the file's.
    replace_members BOOLEAN NOT NULL DEFAULT FALSE,
    group_id BIGINT REFERENCES client_groups (id),
    initiator_id BIGINT REFERENCES staff (id),
    -- The request whose failed rows this one retries.
    retry_of BIGINT REFERENCES process_requests (id),
    -- receiving: the input is still being stored (never claimed); then pending, running, and one of
    -- completed, failed, cancelled.
    status TEXT NOT NULL CONSTRAINT process_requests_status_check CHECK (status IN ('receiving', 'pending', 'running', 'completed', 'failed', 'cancelled')),
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    total_rows BIGINT NOT NULL DEFAULT 0,
    done_rows BIGINT NOT NULL DEFAULT 0,
    failed_rows BIGINT NOT NULL DEFAULT 0,
    -- The last row number whose outcome is committed.
    position BIGINT NOT NULL DEFAULT 0,
    -- replace: the removal phase ran.
    replaced BOOLEAN NOT NULL DEFAULT FALSE,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX process_requests_by_org ON process_requests (organization_id, id);
CREATE INDEX process_requests_claimable ON process_requests (status, id) WHERE status IN ('pending', 'running');

-- One row of a request's input, and once processed its outcome. row_number counts data rows from
-- 1; line is the line in the uploaded file where the row starts (0 for rows the request made up,
-- such as the removals of a replace).
CREATE TABLE process_request_rows (
    request_id BIGINT NOT NULL REFERENCES process_requests (id),
    row_number BIGINT NOT NULL,
    line BIGINT NOT NULL,
    -- The row's fields as a JSON array of strings.
    fields TEXT NOT NULL,
    outcome TEXT,
    reason TEXT,
    -- What the row resolved to (the client, the group, the nested group), for reports and for the
    -- removal phase of a replace.
    group_id BIGINT,
    client_id BIGINT,
    child_id BIGINT,
    CONSTRAINT process_request_rows_pkey PRIMARY KEY (request_id, row_number)
);
