-- Notifications: the outbox of messages to people (pagerduty, slack and
-- webhook notifiers). A row is written in the transaction of the event it
-- tells, one per notifier that takes the event, and delivered by the same
-- fenced workers as actions (the delivery columns mirror those of actions).
CREATE TABLE notifications (
  seq               bigserial   NOT NULL UNIQUE,
  id                text        PRIMARY KEY,
  -- notifier/event/subject: the same event is queued once per notifier,
  -- however often the transaction that tells it is retried.
  dedup_key         text        NOT NULL UNIQUE,
  -- notifier/release: rows of one key are delivered in seq order, so a
  -- PagerDuty resolve never overtakes its trigger.
  ordering_key      text        NOT NULL,
  notifier          text        NOT NULL,
  event             text        NOT NULL CHECK (event IN ('escalation.opened', 'escalation.approved',
                                  'escalation.rejected', 'escalation.expired', 'escalation.superseded',
                                  'action.succeeded', 'action.failed', 'rollback.failed', 'rollback.ineffective')),
  release_id        text        NOT NULL REFERENCES releases (id),
  escalation_id     text        REFERENCES escalations (id),
  action_id         text        REFERENCES actions (id),
  -- {"release", "escalation"?, "action"?} as they were when the event happened.
  payload           json        NOT NULL,
  state             text        NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed')),
  attempts          integer     NOT NULL DEFAULT 0,
  lease_owner       text,
  lease_expires_at  timestamptz,
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  last_error        text,
  last_status       integer,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz
);
CREATE INDEX notifications_claimable ON notifications (next_attempt_at) WHERE state IN ('pending', 'running');
CREATE INDEX notifications_unfinished ON notifications (ordering_key, seq) WHERE state IN ('pending', 'running');
CREATE INDEX notifications_by_escalation ON notifications (escalation_id, seq DESC) WHERE escalation_id IS NOT NULL;
CREATE INDEX notifications_by_state ON notifications (state, seq DESC);
