-- trevor schema, migration 0003: what a release or delivery record says about
-- the package is fixed once written (domain §1 P2, issue "Release and delivery").
--
-- A release record's package (storage key and SHA-256), request, releaser and
-- creation time never change; only its download link (download_url,
-- url_expires_at), the expiry warning (expiry_warned_at) and updated_at move,
-- when an administrator issues a fresh link or the sweep warns the owner.
-- Delivery records never change at all. Neither table is ever truncated.

-- @engine: sqlite

CREATE TRIGGER release_records_package_immutable BEFORE UPDATE ON release_records
WHEN NEW.id IS NOT OLD.id OR NEW.request_id IS NOT OLD.request_id
  OR NEW.crate_storage_key IS NOT OLD.crate_storage_key
  OR NEW.crate_checksum_sha256 IS NOT OLD.crate_checksum_sha256
  OR NEW.released_by IS NOT OLD.released_by OR NEW.created_at IS NOT OLD.created_at
BEGIN SELECT RAISE(ABORT, 'trevor: a release record''s package, request, releaser and creation time are immutable'); END;
CREATE TRIGGER delivery_records_no_update BEFORE UPDATE ON delivery_records
BEGIN SELECT RAISE(ABORT, 'trevor: delivery_records are immutable'); END;

-- @engine: postgresql

CREATE FUNCTION trevor_release_records_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id IS DISTINCT FROM OLD.id OR NEW.request_id IS DISTINCT FROM OLD.request_id
     OR NEW.crate_storage_key IS DISTINCT FROM OLD.crate_storage_key
     OR NEW.crate_checksum_sha256 IS DISTINCT FROM OLD.crate_checksum_sha256
     OR NEW.released_by IS DISTINCT FROM OLD.released_by
     OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
    RAISE EXCEPTION 'trevor: a release record''s package, request, releaser and creation time are immutable';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER release_records_package_immutable BEFORE UPDATE ON release_records
  FOR EACH ROW EXECUTE FUNCTION trevor_release_records_guard();
CREATE TRIGGER delivery_records_no_update BEFORE UPDATE ON delivery_records
  FOR EACH ROW EXECUTE FUNCTION trevor_refuse('delivery_records are immutable');
CREATE TRIGGER release_records_no_truncate BEFORE TRUNCATE ON release_records
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('release_records is never truncated');
CREATE TRIGGER delivery_records_no_truncate BEFORE TRUNCATE ON delivery_records
  FOR EACH STATEMENT EXECUTE FUNCTION trevor_refuse('delivery_records is never truncated');
