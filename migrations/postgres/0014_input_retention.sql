-- Uploaded rows are kept only for a while after their request ended (issue 16): when the
-- retention passes, the rows' fields are emptied and this says when. The request, its counts and
-- every row's outcome and reason stay, so its report still says what happened to each line.
ALTER TABLE process_requests ADD COLUMN input_purged_at BIGINT;
