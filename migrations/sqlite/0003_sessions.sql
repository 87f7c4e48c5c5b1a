-- Web UI sign-in (SQLite). Kept in step with ../postgres/0003_sessions.sql: same tables, columns and
-- constraint names. A session row holds only the SHA-256 of the random token in the cookie, so a
-- copy of the database does not let anyone in.

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    token_hash TEXT NOT NULL CONSTRAINT sessions_token_hash_key UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_staff ON sessions (staff_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Failed sign-ins per (e-mail, client address), counted in a fixed window: the rate limit lives in
-- the database so that it holds across restarts and across several servers on one PostgreSQL.
CREATE TABLE login_attempts (
    attempt_key TEXT NOT NULL CONSTRAINT login_attempts_pkey PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start BIGINT NOT NULL
);
