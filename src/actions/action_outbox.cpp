#include "backstop/actions/action_outbox.hpp"

#include "backstop/config/glob.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/workflow/action_outcome.hpp"

namespace backstop::actions {

namespace {

constexpr Millis kLeaseSlack{10000};  // DESIGN: lease = executor timeout + 10 s

class ActionJob final : public OutboxJob {
 public:
  ActionJob(store::ClaimedAction claimed, const config::ExecutorConfig* config, std::shared_ptr<Executor> executor,
            policy::PolicyRegistry& registry, metrics::Metrics& metrics, const config::Notifiers& notifiers)
      : claimed_(std::move(claimed)),
        config_(config),
        executor_(std::move(executor)),
        registry_(registry),
        metrics_(metrics),
        notifiers_(notifiers) {}

  const store::OutboxClaim& claim() const override { return claimed_.claim; }
  std::string Describe() const override {
    return "action " + claimed_.request.action_id + " attempt " + std::to_string(claimed_.request.attempt);
  }

  ExecutionResult Run() override {
    ExecutionResult result;
    if (executor_ == nullptr) {
      result.outcome = Outcome::kFailed;
      result.error = "no executor matches service " + claimed_.request.service;
    } else if (claimed_.request.attempt > config_->max_attempts) {
      // Taken over from expired leases more often than allowed (the holders
      // died mid-attempt): stop and ask a human rather than loop forever.
      result.outcome = Outcome::kFailed;
      result.error = "attempt " + std::to_string(claimed_.request.attempt) + " exceeds max_attempts (" +
                     std::to_string(config_->max_attempts) + ") after lost leases";
    } else {
      result = executor_->Execute(claimed_.request);
    }
    return result;
  }

  RecordedAttempt Record(pqxx::work& tx, const std::string& worker, const ExecutionResult& result, double seconds,
                         double jitter) override {
    workflow::AttemptReport report;
    report.result = result;
    report.seconds = seconds;
    report.executor = executor_ ? executor_->name() : "none";
    report.max_attempts = config_ != nullptr ? config_->max_attempts : 1;
    report.jitter = jitter;
    const workflow::RecordedOutcome out =
        workflow::RecordActionOutcome(tx, registry_, notifiers_, worker, claimed_, report);
    state_ = out.state;
    return RecordedAttempt{out.stale, out.state == domain::ActionState::kPending, std::string(domain::ToString(out.state))};
  }

  void Count(const RecordedAttempt& recorded, const ExecutionResult& result, double seconds) override {
    metrics_.CountActionAttempt(executor_ ? executor_->name() : "none", std::string(ToString(result.outcome)));
    metrics_.ObserveActionDuration(seconds);
    if (recorded.stale) {
      metrics_.CountStaleCompletion();
      return;
    }
    if (state_ == domain::ActionState::kSucceeded || state_ == domain::ActionState::kFailed) {
      metrics_.CountRollback(claimed_.request.decided_by, recorded.state);
    }
  }

 private:
  store::ClaimedAction claimed_;
  const config::ExecutorConfig* config_;  // null when no executor matches
  std::shared_ptr<Executor> executor_;
  policy::PolicyRegistry& registry_;
  metrics::Metrics& metrics_;
  const config::Notifiers& notifiers_;
  domain::ActionState state_ = domain::ActionState::kFailed;
};

class ActionOutbox final : public OutboxSource {
 public:
  ActionOutbox(policy::PolicyRegistry& registry, metrics::Metrics& metrics, const config::Config& config,
               std::vector<std::shared_ptr<Executor>> executors)
      : registry_(registry), metrics_(metrics), config_(config), executors_(std::move(executors)) {}

  store::OutboxKind kind() const override { return store::OutboxKind::kActions; }
  std::string_view noun() const override { return "executor"; }

  Millis Lease() const override {
    Millis longest{0};
    // A gate's timeout is how long its actions wait to be handed out, not an
    // attempt's length: it must not stretch the leases of the executors run here.
    for (const auto& e : config_.executors) {
      if (e.type != config::ExecutorType::kGate) longest = std::max(longest, e.timeout);
    }
    return longest + kLeaseSlack;
  }

  std::shared_ptr<OutboxJob> Claim(pqxx::work& tx, const std::string& worker, Millis lease) override {
    auto claimed = workflow::ClaimNextAction(tx, worker, lease);
    if (!claimed) return nullptr;
    // First match wins; executors come from the server's config only.
    for (std::size_t i = 0; i < config_.executors.size(); ++i) {
      if (config::GlobMatch(config_.executors[i].match, claimed->request.service)) {
        return std::make_shared<ActionJob>(std::move(*claimed), &config_.executors[i], executors_[i], registry_,
                                           metrics_, config_.notifiers);
      }
    }
    return std::make_shared<ActionJob>(std::move(*claimed), nullptr, nullptr, registry_, metrics_, config_.notifiers);
  }

 private:
  policy::PolicyRegistry& registry_;
  metrics::Metrics& metrics_;
  const config::Config& config_;
  std::vector<std::shared_ptr<Executor>> executors_;
};

}  // namespace

std::unique_ptr<OutboxSource> MakeActionOutbox(policy::PolicyRegistry& registry, metrics::Metrics& metrics,
                                               const config::Config& config,
                                               std::vector<std::shared_ptr<Executor>> executors) {
  return std::make_unique<ActionOutbox>(registry, metrics, config, std::move(executors));
}

}  // namespace backstop::actions
