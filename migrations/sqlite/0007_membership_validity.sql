-- Memberships that end by themselves (issue 3): a client's membership in a group may carry
-- valid_until; access through it ends at that instant (the access index hides it exactly then)
-- and a sweep deletes the row with the audit cause validity_ended. Kept in step with
-- ../postgres/0007_membership_validity.sql.
ALTER TABLE group_clients ADD COLUMN valid_until BIGINT;
CREATE INDEX group_clients_lapsing ON group_clients (valid_until) WHERE valid_until IS NOT NULL;
