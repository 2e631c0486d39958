#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backstop/http/router.hpp"
#include "backstop/http/server.hpp"

namespace backstop::testing {

// A webhook receiver on 127.0.0.1 — the rollback webhook, or a fake
// PagerDuty, Slack or notification receiver: Backstop's own HTTP server
// (HTTPS with a certificate) with one public POST route, answering from a
// script (status, delay, body and headers per call, then a default), and
// recording every request it got.
class WebhookReceiver {
 public:
  struct Reply {
    Reply(int status = 200, std::chrono::milliseconds delay = std::chrono::milliseconds(0),
          std::string body = R"({"ok":true})", std::string content_type = "application/json",
          std::vector<std::pair<std::string, std::string>> headers = {})
        : status(status), delay(delay), body(std::move(body)), content_type(std::move(content_type)),
          headers(std::move(headers)) {}
    int status;
    std::chrono::milliseconds delay;
    std::string body;
    std::string content_type;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  struct Received {
    std::string body;
    std::string idempotency_key;
    std::string signature;
    std::string content_type;
    std::chrono::system_clock::time_point at;
    int answered_status = 0;
  };
  struct Options {
    std::string path = "/rollback";
    std::string tls_cert_file;  // both set: HTTPS only
    std::string tls_key_file;
  };

  WebhookReceiver();
  explicit WebhookReceiver(Options options);
  ~WebhookReceiver();

  std::uint16_t port() const { return server_->port(); }
  // http(s)://<host>:<port><path>; `host` must reach 127.0.0.1.
  std::string url(const std::string& host = "127.0.0.1") const {
    return std::string(options_.tls_cert_file.empty() ? "http" : "https") + "://" + host + ":" +
           std::to_string(port()) + options_.path;
  }
  // Answers `replies` in order, then `otherwise` (200 at once unless given).
  void Script(std::vector<Reply> replies, Reply otherwise);
  std::vector<Received> received() const;
  // Waits (bounded) until at least n requests arrived.
  bool AwaitCount(std::size_t n, std::chrono::milliseconds limit) const;

 private:
  class NoAuth : public http::Authenticator {
   public:
    std::optional<Outcome> Cached(const std::string&, http::TokenCheck) override { return Outcome(std::optional<Principal>{}); }
    void Lookup(const std::string&, http::TokenCheck, std::function<void(Outcome)> done) override {
      done(std::optional<Principal>{});
    }
  };
  Options options_;
  mutable std::mutex mutex_;
  std::deque<Reply> script_;
  Reply otherwise_;
  std::vector<Received> received_;
  // Delayed answers in flight, shared with their threads. Closing cuts every
  // delay short, so each answer goes out while the server still exists.
  struct Answering {
    std::mutex mutex;
    std::condition_variable cv;
    bool closing = false;
    int count = 0;
  };
  std::shared_ptr<Answering> answering_ = std::make_shared<Answering>();
  NoAuth auth_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace backstop::testing
