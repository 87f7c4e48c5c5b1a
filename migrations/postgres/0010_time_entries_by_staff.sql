-- "My time" and a staff member's entries walk this index newest day first, page by page; without
-- it each page scanned every entry of the organisation. (Entries of a client use
-- time_entries_by_client.)
CREATE INDEX time_entries_by_staff ON time_entries (staff_id, work_day, id);
