#pragma once

#include <map>
#include <memory>
#include <string>

#include "backstop/actions/outbox_worker.hpp"
#include "backstop/config/config.hpp"
#include "backstop/notify/sender.hpp"

namespace backstop::metrics {
class Metrics;
}

namespace backstop::notify {

// The notifications' outbox for an OutboxWorker: claims through
// workflow::ClaimNextNotification, sends with the sender of the row's
// notifier (by name), records through workflow::RecordNotificationOutcome
// and counts backstop_notifications_total{notifier,event,result}. A row
// whose notifier is no longer configured fails at once. The references
// outlive the worker.
std::unique_ptr<actions::OutboxSource> MakeNotificationOutbox(metrics::Metrics& metrics, const config::Config& config,
                                                              std::map<std::string, std::shared_ptr<Sender>> senders);

}  // namespace backstop::notify
