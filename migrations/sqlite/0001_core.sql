-- Clientele core schema (SQLite). Kept in step with ../postgres/0001_core.sql: same tables,
-- columns and constraint names; a test compares the two. Instants are BIGINT milliseconds since the
-- Unix epoch on both backends so that comparisons and indexes behave the same.

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    membership_mode TEXT NOT NULL DEFAULT 'multiple' CONSTRAINT organizations_membership_mode_check CHECK (membership_mode IN ('multiple', 'exclusive')),
    delete_policy TEXT NOT NULL DEFAULT 'only_empty' CONSTRAINT organizations_delete_policy_check CHECK (delete_policy IN ('only_empty', 'detach_members')),
    reserve_deleted_names BOOLEAN NOT NULL DEFAULT FALSE,
    require_active_relationship BOOLEAN NOT NULL DEFAULT FALSE,
    max_nesting_depth INTEGER NOT NULL DEFAULT 8,
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE business_units (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT business_units_name_key UNIQUE (organization_id, name_key)
);

CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CONSTRAINT staff_role_check CHECK (role IN ('admin', 'staff')),
    password_hash TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT staff_email_key UNIQUE (organization_id, email)
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    token_hash TEXT NOT NULL CONSTRAINT api_tokens_token_hash_key UNIQUE,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE clients (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    external_ref TEXT,
    email TEXT,
    phone TEXT,
    status TEXT NOT NULL DEFAULT 'active' CONSTRAINT clients_status_check CHECK (status IN ('active', 'inactive', 'closed')),
    relationship TEXT NOT NULL DEFAULT 'active' CONSTRAINT clients_relationship_check CHECK (relationship IN ('active', 'expired')),
    relationship_expires_at BIGINT,
    business_unit_id BIGINT REFERENCES business_units (id),
    notes TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT clients_external_ref_key UNIQUE (organization_id, external_ref)
);
CREATE INDEX clients_by_name ON clients (organization_id, name_key, id);
CREATE INDEX clients_expiring ON clients (relationship_expires_at) WHERE relationship_expires_at IS NOT NULL;

CREATE TABLE client_groups (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    -- TRUE while the name is taken: for live groups, and for deleted ones when the organisation
    -- never reuses names. The partial unique index below makes that a database rule.
    holds_name BOOLEAN NOT NULL DEFAULT TRUE,
    kind TEXT NOT NULL CONSTRAINT client_groups_kind_check CHECK (kind IN ('clients', 'groups')),
    description TEXT,
    crm_id TEXT,
    business_unit_id BIGINT NOT NULL REFERENCES business_units (id),
    protected BOOLEAN NOT NULL DEFAULT FALSE,
    member_count BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1,
    created_by BIGINT REFERENCES staff (id),
    created_at BIGINT NOT NULL,
    updated_by BIGINT REFERENCES staff (id),
    updated_at BIGINT NOT NULL,
    deleted_by BIGINT REFERENCES staff (id),
    deleted_at BIGINT
);
CREATE UNIQUE INDEX client_groups_name_key ON client_groups (organization_id, name_key) WHERE holds_name;
CREATE INDEX client_groups_by_name ON client_groups (organization_id, name_key, id) WHERE deleted_at IS NULL;

CREATE TABLE group_logos (
    group_id BIGINT NOT NULL REFERENCES client_groups (id),
    variant TEXT NOT NULL CONSTRAINT group_logos_variant_check CHECK (variant IN ('light', 'dark')),
    png BLOB NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT group_logos_pkey PRIMARY KEY (group_id, variant)
);

-- A client in a group of clients. exclusive_client_id repeats client_id when the organisation is in
-- exclusive mode and is NULL otherwise: its unique index lets the database refuse a second group
-- for the same client even under concurrent requests (NULLs never collide).
CREATE TABLE group_clients (
    group_id BIGINT NOT NULL REFERENCES client_groups (id),
    client_id BIGINT NOT NULL REFERENCES clients (id),
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    exclusive_client_id BIGINT CONSTRAINT group_clients_exclusive_check CHECK (exclusive_client_id IS NULL OR exclusive_client_id = client_id),
    added_by BIGINT REFERENCES staff (id),
    added_at BIGINT NOT NULL,
    cause TEXT NOT NULL,
    CONSTRAINT group_clients_pkey PRIMARY KEY (group_id, client_id)
);
CREATE UNIQUE INDEX group_clients_exclusive_key ON group_clients (exclusive_client_id);
CREATE INDEX group_clients_by_client ON group_clients (client_id);

-- A group nested in a group of client groups.
CREATE TABLE group_children (
    parent_id BIGINT NOT NULL REFERENCES client_groups (id),
    child_id BIGINT NOT NULL REFERENCES client_groups (id),
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    added_by BIGINT REFERENCES staff (id),
    added_at BIGINT NOT NULL,
    cause TEXT NOT NULL,
    CONSTRAINT group_children_pkey PRIMARY KEY (parent_id, child_id),
    CONSTRAINT group_children_not_self CHECK (parent_id <> child_id)
);
CREATE INDEX group_children_by_child ON group_children (child_id);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations (id),
    at BIGINT NOT NULL,
    actor_id BIGINT REFERENCES staff (id),
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    group_id BIGINT,
    client_id BIGINT,
    cause TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    request_id TEXT
);
CREATE INDEX audit_events_by_org ON audit_events (organization_id, id);
CREATE INDEX audit_events_by_group ON audit_events (group_id, id) WHERE group_id IS NOT NULL;
CREATE INDEX audit_events_by_client ON audit_events (client_id, id) WHERE client_id IS NOT NULL;

CREATE TABLE idempotency_keys (
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (staff_id, idempotency_key)
);
