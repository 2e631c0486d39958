-- Audit sequencing: business transactions append entries unsealed; one
-- sealer at a time chains them.
--
-- Before this migration every audited transaction locked audit_head from its
-- append until its commit (fsync included), so all audited work in the
-- system committed one transaction at a time. Now a business transaction only
-- INSERTs its entry with seq, prev_hash and hash NULL (it commits with its
-- event, touching no shared row). A sealer (src/audit/audit_sealer.cpp),
-- serialized by the audit_head row lock, takes the committed unsealed entries
-- in id order, assigns seq, computes the chain and sets seq, prev_hash, hash
-- and sealed_at in one short transaction of its own. Sealed rows never
-- change again.

-- The row's identity from its insertion on; seq is assigned at sealing.
-- Existing rows (all sealed) get ids in table order; their seq stays, and
-- their sealed_at is their `at` (they were chained as they were written).
ALTER TABLE audit_log ADD COLUMN id bigserial;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD PRIMARY KEY (id);
ALTER TABLE audit_log ALTER COLUMN seq DROP NOT NULL;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_seq_key UNIQUE (seq);
ALTER TABLE audit_log ALTER COLUMN prev_hash DROP NOT NULL;
ALTER TABLE audit_log ALTER COLUMN hash DROP NOT NULL;
-- The event's time, from the appending transaction's clock (not its start:
-- a long transaction's entries still read in a plausible order).
ALTER TABLE audit_log ALTER COLUMN at SET DEFAULT clock_timestamp();
-- When the sealer chained the entry (its clock): sealing delay = sealed_at - at,
-- as bench/deployment_throughput_bench measures it (not hashed: it is
-- bookkeeping about the chain, not part of the event).
ALTER TABLE audit_log ADD COLUMN sealed_at timestamptz;
-- The old trigger refuses every UPDATE; it goes first so the rows already
-- chained can be marked sealed (inside this migration's transaction, so no
-- one sees the table without a guard). Its replacement comes at the end.
DROP TRIGGER audit_log_no_update ON audit_log;
UPDATE audit_log SET sealed_at = at;
-- Sealed means all four set; unsealed means none.
ALTER TABLE audit_log ADD CONSTRAINT audit_log_sealed_together CHECK (
  (seq IS NULL AND prev_hash IS NULL AND hash IS NULL AND sealed_at IS NULL) OR
  (seq IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL AND sealed_at IS NOT NULL));

-- What the sealer scans: small, since entries stay unsealed for milliseconds.
CREATE INDEX audit_log_unsealed ON audit_log (id) WHERE seq IS NULL;

-- audit_head now belongs to the sealer alone: it is the seq and hash of the
-- newest sealed entry, locked only by the sealing transaction (that lock is
-- what makes one sealer at a time).

-- Entries are inserted unsealed: a row arriving with a seal of its own would
-- take a seq the sealer is about to assign (and an older binary still
-- appending under the head lock must fail loudly, not fork the chain).
CREATE FUNCTION audit_log_insert_unsealed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.seq IS NOT NULL OR NEW.prev_hash IS NOT NULL OR NEW.hash IS NOT NULL OR NEW.sealed_at IS NOT NULL THEN
    RAISE EXCEPTION 'audit_log entries are inserted unsealed; the sealer assigns seq and hashes'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER audit_log_insert_unsealed BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_insert_unsealed();

-- The one UPDATE allowed: sealing an unsealed row (seq, prev_hash, hash and
-- sealed_at from NULL to values) with every other column unchanged. Anything else --
-- re-sealing, editing a sealed row, editing an unsealed row's content -- is
-- refused, for every role the triggers apply to (a superuser can disable
-- them; verification then still catches the change). Whether the values
-- chain correctly is the sealer's job and verification's check: a forged
-- seal by the serving role breaks the chain at that seq, and the unique
-- constraints on seq and prev_hash refuse a duplicate or a fork outright.
CREATE FUNCTION audit_log_allow_only_sealing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.seq IS NULL AND OLD.prev_hash IS NULL AND OLD.hash IS NULL AND OLD.sealed_at IS NULL
     AND NEW.seq IS NOT NULL AND NEW.prev_hash IS NOT NULL AND NEW.hash IS NOT NULL
     AND NEW.sealed_at IS NOT NULL
     AND NEW.id = OLD.id
     AND NEW.at = OLD.at
     AND NEW.actor = OLD.actor
     AND NEW.kind = OLD.kind
     AND NEW.release_id IS NOT DISTINCT FROM OLD.release_id
     AND NEW.payload::text = OLD.payload::text THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only: UPDATE refused (only sealing an unsealed entry is allowed)'
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_only_sealing BEFORE UPDATE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_allow_only_sealing();
-- DELETE and TRUNCATE stay refused by audit_log_no_delete / audit_log_no_truncate.
