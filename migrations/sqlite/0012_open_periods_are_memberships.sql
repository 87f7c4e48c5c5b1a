-- The membership history keeps only closed periods. An open period is the membership itself
-- (group_clients: the client has been in the group since added_at), so adding a member writes one
-- row instead of two: the open period duplicated group_clients and its (group_id, client_id) index
-- took a random page write per member added, the largest share of a bulk import's cost after the
-- membership itself. A removal now writes the closed period, from the membership it removes.
DELETE FROM membership_periods WHERE ended_at IS NULL;
DROP INDEX membership_periods_open;
-- A closed period that started after an instant also ended after it: the index on ended_at finds
-- every closed period that differs from today within a report's range.
DROP INDEX membership_periods_started;
-- Memberships (open periods) that began after an instant; appended in time order.
CREATE INDEX group_clients_by_added ON group_clients (organization_id, added_at);
