-- The same format rules, checked without bounded repetition in a regular
-- expression.
--
-- PostgreSQL's regex engine expands `{1,128}` and `{64}` into that many
-- states and builds its automaton again on every match: a CHECK such as
-- id ~ '^[A-Za-z0-9._:-]{1,128}$' cost about 4 microseconds per row, and
-- every deployment paid three (its release id, then the sealed entry's
-- prev_hash and hash). A length test plus "no character outside the set"
-- accepts exactly the same strings (length counts characters, as the
-- repetition did) in a tenth of the time.
--
-- NOT VALID: rows already stored passed the old CHECK, which accepts
-- exactly the same strings (tests/integration/migrations_itest.cpp holds the
-- two to that), so the migration does not rescan audit_log and releases
-- under an exclusive lock; every row written from here on is checked.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_name_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_name_check
  CHECK (length(name) BETWEEN 1 AND 128 AND name !~ '[^A-Za-z0-9._:-]') NOT VALID;
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_token_sha256_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_token_sha256_check
  CHECK (length(token_sha256) = 64 AND token_sha256 !~ '[^0-9a-f]') NOT VALID;

ALTER TABLE audit_log DROP CONSTRAINT audit_log_prev_hash_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_prev_hash_check
  CHECK (length(prev_hash) = 64 AND prev_hash !~ '[^0-9a-f]') NOT VALID;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_hash_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_hash_check
  CHECK (length(hash) = 64 AND hash !~ '[^0-9a-f]') NOT VALID;

ALTER TABLE threshold_sets DROP CONSTRAINT threshold_sets_release_class_check;
ALTER TABLE threshold_sets ADD CONSTRAINT threshold_sets_release_class_check
  CHECK (length(release_class) BETWEEN 1 AND 128 AND release_class !~ '[^A-Za-z0-9._:-]') NOT VALID;
ALTER TABLE threshold_sets DROP CONSTRAINT threshold_sets_sha256_check;
ALTER TABLE threshold_sets ADD CONSTRAINT threshold_sets_sha256_check
  CHECK (length(sha256) = 64 AND sha256 !~ '[^0-9a-f]') NOT VALID;

ALTER TABLE releases DROP CONSTRAINT releases_id_check;
ALTER TABLE releases ADD CONSTRAINT releases_id_check
  CHECK (length(id) BETWEEN 1 AND 128 AND id !~ '[^A-Za-z0-9._:-]') NOT VALID;
