#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backstop/http/router.hpp"
#include "backstop/http/server.hpp"

namespace backstop::testing {

// A rollback webhook receiver on 127.0.0.1: Backstop's own HTTP server with
// one public route, answering from a script (status and delay per call,
// then a default), and recording every request it got.
class WebhookReceiver {
 public:
  struct Reply {
    int status = 200;
    std::chrono::milliseconds delay{0};
  };
  struct Received {
    std::string body;
    std::string idempotency_key;
    std::string signature;
    std::string content_type;
    std::chrono::system_clock::time_point at;
    int answered_status = 0;
  };

  WebhookReceiver();
  ~WebhookReceiver();

  std::uint16_t port() const { return server_->port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/rollback"; }
  // Answers `replies` in order, then `otherwise` (200 at once unless given).
  void Script(std::vector<Reply> replies, Reply otherwise);
  std::vector<Received> received() const;
  // Waits (bounded) until at least n requests arrived.
  bool AwaitCount(std::size_t n, std::chrono::milliseconds limit) const;

 private:
  class NoAuth : public http::Authenticator {
   public:
    std::optional<Outcome> Cached(const std::string&) override { return Outcome(std::optional<Principal>{}); }
    void Lookup(const std::string&, http::TokenCheck, std::function<void(Outcome)> done) override {
      done(std::optional<Principal>{});
    }
  };
  mutable std::mutex mutex_;
  std::deque<Reply> script_;
  Reply otherwise_;
  std::vector<Received> received_;
  std::shared_ptr<std::atomic<int>> answering_ = std::make_shared<std::atomic<int>>(0);
  NoAuth auth_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace backstop::testing
