-- Two more kinds of process request: imports of time entries, and deleting a group whose members
-- must be detached first. Kept in step with ../sqlite/0008_more_operations.sql.
ALTER TABLE process_requests DROP CONSTRAINT process_requests_operation_check;
ALTER TABLE process_requests ADD CONSTRAINT process_requests_operation_check CHECK (operation IN ('import_clients', 'import_groups', 'import_memberships', 'import_time_entries', 'bulk_add', 'bulk_remove', 'delete_group'));
