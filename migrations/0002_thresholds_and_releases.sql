-- Versioned threshold sets and releases.

-- (release_class, version) identifies a threshold set forever. `body` is the
-- canonical JSON of the parsed set and `sha256` its hash; a file with the same
-- pair but another hash is refused (version_conflict) and this row stays.
CREATE TABLE threshold_sets (
  release_class  text        NOT NULL CHECK (release_class ~ '^[A-Za-z0-9._:-]{1,128}$'),
  version        bigint      NOT NULL CHECK (version >= 1),
  sha256         text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  body           json        NOT NULL,
  source_file    text        NOT NULL,
  loaded_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (release_class, version)
);

CREATE TABLE releases (
  seq                    bigserial   NOT NULL UNIQUE,  -- listing order and cursor
  id                     text        PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._:-]{1,128}$'),
  service                text        NOT NULL,
  environment            text        NOT NULL,
  version                text        NOT NULL,
  previous_version       text,
  release_class          text        NOT NULL,
  thresholds_version     bigint      NOT NULL,
  traffic_percent        double precision NOT NULL CHECK (traffic_percent >= 0 AND traffic_percent <= 100),
  shared_infrastructure  boolean     NOT NULL DEFAULT false,
  status                 text        NOT NULL CHECK (status IN ('evaluating', 'healthy', 'rolling_back',
                           'rolled_back', 'rollback_failed', 'escalated', 'rollback_rejected', 'superseded')),
  deployed_by            text        NOT NULL,
  triggered_by           text,
  metadata               json,
  request_body           text        NOT NULL,  -- the deployment event as posted, for idempotent replays
  started_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  CHECK (previous_version IS NULL OR previous_version <> version),
  FOREIGN KEY (release_class, thresholds_version) REFERENCES threshold_sets (release_class, version)
);
CREATE INDEX releases_by_service ON releases (service, environment, seq DESC);
CREATE INDEX releases_by_status ON releases (status, seq DESC);
