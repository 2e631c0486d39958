-- Threshold sets are immutable and permanent, enforced like audit_log's
-- append-only rule; with that, releases no longer need a foreign key to them.
--
-- The foreign key made every release INSERT lock its threshold set's row
-- (SELECT ... FOR KEY SHARE). Every concurrent deployment of a class locks
-- that same row, so each lock rewrote the row's xmax into a new multixact
-- and wrote WAL for it: a hot row shared by all deployments of a class
-- (bench/deployment_throughput_bench: about 5% of deployment throughput).
--
-- What the key promised still holds: the release INSERT takes its
-- thresholds_version from threshold_sets in the same statement
-- (src/store/release_repository.cpp), and from here on no row of
-- threshold_sets can be updated, deleted or truncated away by any role the
-- triggers apply to, so the set a release is pinned to always exists.
CREATE FUNCTION threshold_sets_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'threshold_sets is append-only: % refused (a new version is a new row)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER threshold_sets_no_update BEFORE UPDATE ON threshold_sets
  FOR EACH ROW EXECUTE FUNCTION threshold_sets_refuse_change();
CREATE TRIGGER threshold_sets_no_delete BEFORE DELETE ON threshold_sets
  FOR EACH ROW EXECUTE FUNCTION threshold_sets_refuse_change();
CREATE TRIGGER threshold_sets_no_truncate BEFORE TRUNCATE ON threshold_sets
  FOR EACH STATEMENT EXECUTE FUNCTION threshold_sets_refuse_change();

ALTER TABLE releases DROP CONSTRAINT releases_release_class_thresholds_version_fkey;
