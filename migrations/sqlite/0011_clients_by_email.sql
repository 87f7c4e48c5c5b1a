-- A client search finds a client by its exact e-mail too (names are searched in the access index
-- in memory; external references have their unique index already).
CREATE INDEX clients_by_email ON clients (organization_id, email) WHERE email IS NOT NULL;
