-- Seed 004 ("Select at least one available client"): an organisation may require that a group of
-- clients is created with at least one member. Off by default.
ALTER TABLE organizations ADD COLUMN require_first_member BOOLEAN NOT NULL DEFAULT FALSE;
