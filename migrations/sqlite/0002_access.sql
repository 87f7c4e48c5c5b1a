-- Access through groups (issue 3): staff assigned to groups with a role, and the ordered log of
-- every change that affects who sees which client. Kept in step with ../postgres/0002_access.sql.

CREATE TABLE assignments (
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    group_id BIGINT NOT NULL REFERENCES client_groups (id),
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    role TEXT NOT NULL CONSTRAINT assignments_role_check CHECK (role IN ('manager', 'editor', 'reader')),
    valid_until BIGINT,
    assigned_by BIGINT REFERENCES staff (id),
    assigned_at BIGINT NOT NULL,
    CONSTRAINT assignments_pkey PRIMARY KEY (staff_id, group_id)
);
CREATE INDEX assignments_by_group ON assignments (group_id);
CREATE INDEX assignments_expiring ON assignments (valid_until) WHERE valid_until IS NOT NULL;

-- One row, bumped by every transaction that changes access. The row lock it takes is held until
-- commit, so sequence numbers are handed out in commit order: a reader that has applied every
-- change up to N can never miss a change numbered N or less that commits later.
CREATE TABLE change_counter (
    id INTEGER NOT NULL CONSTRAINT change_counter_pkey PRIMARY KEY CONSTRAINT change_counter_single_row CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO change_counter (id, seq) VALUES (1, 0);

-- What changed, in commit order. Every server process applies these to its in-memory access index.
CREATE TABLE access_changes (
    id INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    organization_id BIGINT NOT NULL,
    a BIGINT NOT NULL,
    b BIGINT NOT NULL,
    c BIGINT,
    text TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX access_changes_by_seq ON access_changes (seq, id);
