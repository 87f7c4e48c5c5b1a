-- Idempotency-Key, claimed inside the write it protects (issue 15). The key used to be stored in a
-- transaction of its own after the write had committed: concurrent retries all ran, and a crash
-- between the two ran the write again on the next retry. Now the first write transaction of a
-- request inserts the claim (staff, key, the request's hash, a random claim token): a concurrent
-- twin's insert waits for it and then finds it taken, and a claim exists exactly when the write
-- committed. The answer is filled in after the response is rendered. Stored answers are a
-- replay cache of 24 hours, so the old table's rows are not carried over.
DROP TABLE idempotency_keys;

CREATE TABLE idempotent_requests (
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    idempotency_key TEXT NOT NULL,
    -- SHA-256 of method, path with query, and body.
    request_hash TEXT NOT NULL,
    claim_token TEXT NOT NULL,
    claimed_at BIGINT NOT NULL,
    -- NULL until the answer is stored (the request is still running, or its answer was lost).
    status_code INTEGER,
    content_type TEXT,
    response_body BLOB,
    CONSTRAINT idempotent_requests_pkey PRIMARY KEY (staff_id, idempotency_key)
);

CREATE INDEX idempotent_requests_claimed ON idempotent_requests (claimed_at);
