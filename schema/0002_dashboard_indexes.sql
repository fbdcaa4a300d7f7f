-- trevor schema, migration 0002: an index of the admin dashboard (domain §6).
--
-- The request overview's default order, most recently changed first with the
-- id as tie-break: a page is read from this index instead of sorting every
-- request that is not a DRAFT.

-- @engine: all

CREATE INDEX ix_airlock_requests_updated ON airlock_requests (updated_at, id);
