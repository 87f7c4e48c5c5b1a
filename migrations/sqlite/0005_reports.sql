-- Reports (SQLite): time entries, saved reports, and the membership history that lets a report
-- count work for the groups a client was in on the date of the work. Kept in step with
-- ../postgres/0005_reports.sql: same tables, columns and constraint names.

-- One stretch of work by a staff member for a client. work_day counts days since 1970-01-01, so
-- both backends compare and index dates the same way. Deletion is soft (deleted_at) and every
-- write takes a new `seq` from time_entry_counter, so each server process keeps its in-memory
-- ledger current by reading `seq > last seen`, deletions included.
CREATE TABLE time_entries (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    client_id BIGINT NOT NULL REFERENCES clients (id),
    work_day INTEGER NOT NULL,
    minutes INTEGER NOT NULL CONSTRAINT time_entries_minutes_check CHECK (minutes > 0 AND minutes <= 1440),
    billable BOOLEAN NOT NULL,
    service TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    seq BIGINT NOT NULL,
    created_by BIGINT REFERENCES staff (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX time_entries_by_seq ON time_entries (seq);
CREATE INDEX time_entries_by_client ON time_entries (client_id, work_day);
CREATE INDEX time_entries_by_org_day ON time_entries (organization_id, work_day, id);

-- Hands out time entry sequence numbers; its row stays locked until the writing transaction ends,
-- so numbers become visible in commit order (the same scheme as change_counter, kept apart so that
-- time entries never leave gaps in the access change log).
CREATE TABLE time_entry_counter (
    id INTEGER NOT NULL CONSTRAINT time_entry_counter_pkey PRIMARY KEY CONSTRAINT time_entry_counter_single_row CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO time_entry_counter (id, seq) VALUES (1, 0);

-- A report's filters and grouping under a name, for its owner alone or for the whole office.
CREATE TABLE saved_reports (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    owner_id BIGINT NOT NULL REFERENCES staff (id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    visibility TEXT NOT NULL CONSTRAINT saved_reports_visibility_check CHECK (visibility IN ('private', 'organization')),
    -- The report query as JSON (the API's query parameters).
    query TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT saved_reports_name_key UNIQUE (organization_id, owner_id, name_key)
);

-- Periods during which a client was directly in a group: opened when the membership is added,
-- closed (ended_at) when it is removed. Written by the same store functions that write
-- group_clients, in the same transaction.
CREATE TABLE membership_periods (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    group_id BIGINT NOT NULL REFERENCES client_groups (id),
    client_id BIGINT NOT NULL REFERENCES clients (id),
    started_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX membership_periods_open ON membership_periods (group_id, client_id) WHERE ended_at IS NULL;
CREATE INDEX membership_periods_ended ON membership_periods (organization_id, ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX membership_periods_started ON membership_periods (organization_id, started_at);

INSERT INTO membership_periods (organization_id, group_id, client_id, started_at)
SELECT organization_id, group_id, client_id, added_at FROM group_clients;
