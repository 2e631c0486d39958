-- Integrations (INTEGRATIONS.md §2, §3): rollout gates and CI/CD deploy events.

-- A deployment without previous_version takes the version of the newest
-- healthy release of its service and environment; the release records that
-- the rollback target was inferred rather than given.
ALTER TABLE releases ADD COLUMN previous_version_inferred boolean NOT NULL DEFAULT false;

-- Inference reads the newest healthy release of a service and environment.
CREATE INDEX releases_healthy_by_service ON releases (service, environment, seq DESC) WHERE status = 'healthy';

-- Gate actions (executor 'gate') are never claimed by the outbox worker;
-- they wait to be handed out by a gate answer, or fail after the gate
-- executor's timeout. The sweep looks them up by release and by age.
CREATE INDEX actions_pending_gate ON actions (release_id, created_at) WHERE state = 'pending' AND executor = 'gate';
