-- Foundation: API tokens, the controller mode and the tamper-evident audit log.

CREATE TABLE api_tokens (
  id            bigserial PRIMARY KEY,
  name          text        NOT NULL CHECK (name ~ '^[A-Za-z0-9._:-]{1,128}$'),
  role          text        NOT NULL CHECK (role IN ('deployer', 'telemetry', 'approver', 'admin', 'viewer')),
  token_sha256  text        NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz
);
-- A name identifies one live token; a revoked name may be issued again.
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- The controller mode: one row, survives restarts.
CREATE TABLE controller_mode (
  singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
  mode        text        NOT NULL CHECK (mode IN ('normal', 'dry_run', 'freeze')),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  updated_by  text        NOT NULL
);
INSERT INTO controller_mode (mode, updated_by) VALUES ('normal', 'migration');

-- The audit log. Rows are chained: hash = SHA-256(prev_hash || canonical
-- content), computed by the application (src/audit/hash_chain.cpp). The
-- payload is `json`, not `jsonb`, so its text is kept byte for byte and the
-- hash can be recomputed from what is stored.
CREATE TABLE audit_log (
  seq         bigint      PRIMARY KEY CHECK (seq > 0),
  at          timestamptz NOT NULL,
  actor       text        NOT NULL,
  kind        text        NOT NULL,
  release_id  text,
  payload     json        NOT NULL,
  prev_hash   text        NOT NULL UNIQUE CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash        text        NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_log_release ON audit_log (release_id, seq) WHERE release_id IS NOT NULL;

-- The chain head. Appenders lock this single row (SELECT ... FOR UPDATE), so
-- appends serialize on it until their transaction ends: seq has no gaps (a
-- sequence would leave gaps on rollback) and no two rows share a prev_hash.
CREATE TABLE audit_head (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq        bigint  NOT NULL,
  hash       text    NOT NULL
);
INSERT INTO audit_head (seq, hash) VALUES (0, repeat('0', 64));

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
