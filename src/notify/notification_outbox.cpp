#include "backstop/notify/notification_outbox.hpp"

#include <boost/json.hpp>

#include "backstop/metrics/metrics.hpp"
#include "backstop/workflow/notifications.hpp"

namespace backstop::notify {

namespace {

constexpr Millis kLeaseSlack{10000};  // like actions: the longest timeout + 10 s

class NotificationJob final : public actions::OutboxJob {
 public:
  NotificationJob(store::ClaimedNotification claimed, const config::NotifierConfig* config,
                  std::shared_ptr<Sender> sender, metrics::Metrics& metrics)
      : claimed_(std::move(claimed)), config_(config), sender_(std::move(sender)), metrics_(metrics) {}

  const store::OutboxClaim& claim() const override { return claimed_.claim; }
  std::string Describe() const override {
    return std::string(domain::ToString(claimed_.event)) + " notification " + claimed_.claim.id + " to " +
           claimed_.notifier + " attempt " + std::to_string(claimed_.claim.attempt);
  }

  actions::ExecutionResult Run() override {
    actions::ExecutionResult result;
    if (sender_ == nullptr) {
      result.outcome = actions::Outcome::kFailed;
      result.error = "notifier " + claimed_.notifier + " is not configured";
      return result;
    }
    if (claimed_.claim.attempt > config_->max_attempts) {
      result.outcome = actions::Outcome::kFailed;
      result.error = "attempt " + std::to_string(claimed_.claim.attempt) + " exceeds max_attempts (" +
                     std::to_string(config_->max_attempts) + ") after lost leases";
      return result;
    }
    Notice notice;
    notice.id = claimed_.claim.id;
    notice.event = claimed_.event;
    notice.at = claimed_.created_at;
    boost::system::error_code ec;
    boost::json::value payload = boost::json::parse(claimed_.payload, ec);
    if (!ec && payload.is_object()) notice.payload = std::move(payload.as_object());
    return sender_->Send(notice);
  }

  actions::RecordedAttempt Record(pqxx::work& tx, const std::string& worker, const actions::ExecutionResult& result,
                                  double, double jitter) override {
    workflow::NotificationReport report;
    report.result = result;
    report.max_attempts = config_ != nullptr ? config_->max_attempts : 1;
    report.jitter = jitter;
    const workflow::RecordedNotification out = workflow::RecordNotificationOutcome(tx, worker, claimed_, report);
    return actions::RecordedAttempt{out.stale, out.state == domain::NotificationState::kPending,
                                    std::string(domain::ToString(out.state))};
  }

  void Count(const actions::RecordedAttempt&, const actions::ExecutionResult& result, double) override {
    metrics_.CountNotification(claimed_.notifier, std::string(domain::ToString(claimed_.event)),
                               std::string(actions::ToString(result.outcome)));
  }

 private:
  store::ClaimedNotification claimed_;
  const config::NotifierConfig* config_;  // null when the notifier is gone from the config
  std::shared_ptr<Sender> sender_;
  metrics::Metrics& metrics_;
};

class NotificationOutbox final : public actions::OutboxSource {
 public:
  NotificationOutbox(metrics::Metrics& metrics, const config::Config& config,
                     std::map<std::string, std::shared_ptr<Sender>> senders)
      : metrics_(metrics), config_(config), senders_(std::move(senders)) {}

  store::OutboxKind kind() const override { return store::OutboxKind::kNotifications; }
  std::string_view noun() const override { return "notifier"; }

  Millis Lease() const override {
    Millis longest{0};
    for (const auto& n : config_.notifiers) longest = std::max(longest, n.timeout);
    return longest + kLeaseSlack;
  }

  std::shared_ptr<actions::OutboxJob> Claim(pqxx::work& tx, const std::string& worker, Millis lease) override {
    auto claimed = workflow::ClaimNextNotification(tx, worker, lease);
    if (!claimed) return nullptr;
    for (const auto& n : config_.notifiers) {
      if (n.name != claimed->notifier) continue;
      const auto it = senders_.find(n.name);
      return std::make_shared<NotificationJob>(std::move(*claimed), &n,
                                               it == senders_.end() ? nullptr : it->second, metrics_);
    }
    return std::make_shared<NotificationJob>(std::move(*claimed), nullptr, nullptr, metrics_);
  }

 private:
  metrics::Metrics& metrics_;
  const config::Config& config_;
  std::map<std::string, std::shared_ptr<Sender>> senders_;
};

}  // namespace

std::unique_ptr<actions::OutboxSource> MakeNotificationOutbox(metrics::Metrics& metrics, const config::Config& config,
                                                              std::map<std::string, std::shared_ptr<Sender>> senders) {
  return std::make_unique<NotificationOutbox>(metrics, config, std::move(senders));
}

}  // namespace backstop::notify
