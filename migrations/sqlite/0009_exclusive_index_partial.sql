-- Exclusive membership's unique index holds only the rows that take a client's one slot: in the
-- default (multiple) mode exclusive_client_id is NULL on every membership, and the full index
-- stored one useless entry per membership, paid for by every addition (a bulk import's batch of
-- 10,000 rows wrote 10,000 of them). Same name, same rule.
DROP INDEX group_clients_exclusive_key;
CREATE UNIQUE INDEX group_clients_exclusive_key ON group_clients (exclusive_client_id) WHERE exclusive_client_id IS NOT NULL;
