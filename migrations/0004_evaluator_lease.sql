-- One process at a time evaluates (telemetry lives in its memory). The
-- holder renews this lease every tick; every decision commit checks it
-- (owner and epoch), so a process that lost the lease decides nothing.
CREATE TABLE evaluator_lease (
  singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
  owner       text,
  epoch       bigint      NOT NULL DEFAULT 0,
  expires_at  timestamptz NOT NULL DEFAULT '-infinity'
);
INSERT INTO evaluator_lease DEFAULT VALUES;
