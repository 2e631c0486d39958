#pragma once

#include <memory>
#include <vector>

#include "backstop/actions/executor.hpp"
#include "backstop/actions/outbox_worker.hpp"
#include "backstop/config/config.hpp"
#include "backstop/policy/policy_registry.hpp"

namespace backstop::metrics {
class Metrics;
}

namespace backstop::actions {

// The rollback actions' outbox for an OutboxWorker: claims through
// workflow::ClaimNextAction, runs the first executor whose `match` takes the
// service, records through workflow::RecordActionOutcome. `executors` is
// parallel to config.executors. The references outlive the worker.
std::unique_ptr<OutboxSource> MakeActionOutbox(policy::PolicyRegistry& registry, metrics::Metrics& metrics,
                                               const config::Config& config,
                                               std::vector<std::shared_ptr<Executor>> executors);

}  // namespace backstop::actions
