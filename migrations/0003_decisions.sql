-- Decisions, escalations, approvals and rollback actions.

-- An episode is one stretch of evaluation of a release that can end in at
-- most one decision. It starts at registration and again when an escalation
-- expires unanswered (the next evaluation may open a fresh one).
ALTER TABLE releases ADD COLUMN episode integer NOT NULL DEFAULT 1;

CREATE TABLE decisions (
  id                  text        PRIMARY KEY,
  release_id          text        NOT NULL REFERENCES releases (id),
  episode             integer     NOT NULL,
  decision            text        NOT NULL CHECK (decision IN ('auto_rollback', 'escalate', 'would_rollback',
                                    'would_escalate', 'healthy')),
  reasons             json        NOT NULL,
  evidence            json        NOT NULL,
  thresholds_version  bigint      NOT NULL,
  mode                text        NOT NULL,
  at                  timestamptz NOT NULL DEFAULT now()
);
-- At most one real decision per release episode, by construction.
CREATE UNIQUE INDEX decisions_one_per_episode ON decisions (release_id, episode)
  WHERE decision IN ('auto_rollback', 'escalate', 'healthy');
-- dry_run records each would-be decision once per episode.
CREATE UNIQUE INDEX decisions_dry_run_once ON decisions (release_id, episode, decision)
  WHERE decision IN ('would_rollback', 'would_escalate');
CREATE INDEX decisions_by_release ON decisions (release_id, at DESC);

CREATE TABLE escalations (
  seq                 bigserial   NOT NULL UNIQUE,
  id                  text        PRIMARY KEY,
  release_id          text        NOT NULL REFERENCES releases (id),
  decision_id         text        REFERENCES decisions (id),
  service             text        NOT NULL,
  environment         text        NOT NULL,
  release_class       text        NOT NULL,
  proposed_type       text        NOT NULL CHECK (proposed_type IN ('rollback', 'contain')),
  from_version        text        NOT NULL,
  to_version          text,
  reasons             json        NOT NULL,
  evidence            json        NOT NULL,
  summary             text        NOT NULL,
  required_approvals  integer     NOT NULL CHECK (required_approvals BETWEEN 1 AND 2),
  state               text        NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired', 'superseded')),
  created_at          timestamptz NOT NULL DEFAULT now(),
  expires_at          timestamptz NOT NULL,
  decided_at          timestamptz,
  decided_by          text,
  comment             text
);
-- One open question per release at a time.
CREATE UNIQUE INDEX escalations_one_pending ON escalations (release_id) WHERE state = 'pending';
CREATE INDEX escalations_by_state ON escalations (state, seq DESC);
CREATE INDEX escalations_by_release ON escalations (release_id, seq DESC);

CREATE TABLE approvals (
  escalation_id  text        NOT NULL REFERENCES escalations (id),
  approver       text        NOT NULL,
  at             timestamptz NOT NULL DEFAULT now(),
  comment        text,
  PRIMARY KEY (escalation_id, approver)
);

CREATE TABLE actions (
  seq               bigserial   NOT NULL UNIQUE,
  id                text        PRIMARY KEY,   -- also the Idempotency-Key sent to receivers
  release_id        text        NOT NULL REFERENCES releases (id),
  decision_id       text        REFERENCES decisions (id),
  escalation_id     text        REFERENCES escalations (id),
  service           text        NOT NULL,
  environment       text        NOT NULL,
  release_class     text        NOT NULL,
  action_type       text        NOT NULL CHECK (action_type IN ('rollback', 'contain')),
  from_version      text        NOT NULL,
  to_version        text,
  decided_by        text        NOT NULL CHECK (decided_by IN ('auto', 'approval')),
  approvers         json        NOT NULL DEFAULT '[]',
  reasons           json        NOT NULL,
  state             text        NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed')),
  executor          text,
  attempts          integer     NOT NULL DEFAULT 0,
  lease_owner       text,
  lease_expires_at  timestamptz,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  last_error        text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz
);
-- The budget counts auto-rollbacks of a class in an environment over time.
CREATE INDEX actions_budget ON actions (release_class, environment, created_at) WHERE decided_by = 'auto';
CREATE INDEX actions_claimable ON actions (next_attempt_at) WHERE state IN ('pending', 'running');
CREATE INDEX actions_by_release ON actions (release_id, seq DESC);

CREATE TABLE action_attempts (
  action_id    text        NOT NULL REFERENCES actions (id),
  attempt      integer     NOT NULL,
  worker       text        NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  outcome      text        CHECK (outcome IN ('succeeded', 'retry', 'failed', 'stale')),
  http_status  integer,
  exit_code    integer,
  output       text,
  PRIMARY KEY (action_id, attempt)
);
