#include <chrono>

#include <spdlog/spdlog.h>

#include "backstop/actions/delivery.hpp"
#include "backstop/http/client.hpp"
#include "backstop/notify/sender.hpp"

namespace backstop::notify {

namespace {

// Where a sender posts, with what it trusts for https.
struct Target {
  actions::HttpUrl url;
  std::shared_ptr<const http::TlsClientContext> tls;  // https only
};

using Classify = actions::ExecutionResult (*)(int, const std::string&, const std::string&);

// One POST of a JSON body; the receiver's answer is classified by its rules.
actions::ExecutionResult Post(const Target& target, Millis timeout, const std::string& body,
                              std::vector<std::pair<std::string, std::string>> headers, Classify classify) {
  http::ClientRequest req;
  req.method = "POST";
  req.target = target.url.target;
  req.body = body;
  req.headers = std::move(headers);
  req.headers.emplace_back("Content-Type", "application/json");
  // One connection per attempt, like the rollback webhook: a fresh
  // connection never inherits a half-read response from a timed-out one.
  http::HttpClient client(http::ClientEndpoint{target.url.https, target.url.host, target.url.port, target.tls});
  auto r = client.Send(req, timeout);
  if (!r) {
    actions::ExecutionResult out;
    out.outcome = actions::Outcome::kRetry;  // timeouts, connection and TLS errors are retried
    out.error = r.error().message;
    return out;
  }
  return classify(r->status, r->body, r->Header("Retry-After"));
}

class PagerDutySender final : public Sender {
 public:
  PagerDutySender(Target target, std::string routing_key, std::string ui_url, Millis timeout)
      : target_(std::move(target)), routing_key_(std::move(routing_key)), ui_url_(std::move(ui_url)), timeout_(timeout) {}
  actions::ExecutionResult Send(const Notice& n) override {
    return Post(target_, timeout_, PagerDutyBody(n, routing_key_, ui_url_), {}, ClassifyPagerDuty);
  }

 private:
  Target target_;
  std::string routing_key_;
  std::string ui_url_;
  Millis timeout_;
};

class SlackSender final : public Sender {
 public:
  SlackSender(Target target, std::string ui_url, Millis timeout)
      : target_(std::move(target)), ui_url_(std::move(ui_url)), timeout_(timeout) {}
  actions::ExecutionResult Send(const Notice& n) override {
    return Post(target_, timeout_, SlackBody(n, ui_url_), {}, ClassifySlack);
  }

 private:
  Target target_;  // its path is the secret
  std::string ui_url_;
  Millis timeout_;
};

// Signed exactly like the rollback webhook: a fresh t on every attempt and
// the notification id as Idempotency-Key (also the body's `id`).
class WebhookSender final : public Sender {
 public:
  WebhookSender(Target target, std::string secret, Millis timeout)
      : target_(std::move(target)), secret_(std::move(secret)), timeout_(timeout) {}
  actions::ExecutionResult Send(const Notice& n) override {
    const std::string body = WebhookBody(n);
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    return Post(target_, timeout_, body,
                {{"Idempotency-Key", n.id}, {"X-Backstop-Signature", actions::SignatureHeader(secret_, now, body)}},
                ClassifyWebhook);
  }

 private:
  Target target_;
  std::string secret_;
  Millis timeout_;
};

}  // namespace

Result<std::shared_ptr<Sender>> MakeSender(const config::NotifierConfig& c, int index, const std::string& ui_url,
                                           const config::EnvLookup& env) {
  const std::string where = "notifiers[" + std::to_string(index) + "]";
  const auto secret = [&](const std::string& key, const std::string& variable) -> Result<std::string> {
    const auto value = env(variable);
    if (!value || value->empty()) {
      return Error::InvalidInput(where + "." + key + ": environment variable " + variable + " is not set");
    }
    return *value;
  };
  // The URL of a Slack notifier comes from the environment and is a secret:
  // errors and warnings name the variable, never the value.
  const auto target = [&](const std::string& url, const std::string& key) -> Result<Target> {
    auto parsed = actions::ParseHttpUrl(url);
    if (!parsed) return Error::InvalidInput(where + "." + key + ": must be an http:// or https:// URL");
    Target t{*parsed, nullptr};
    if (parsed->https) {
      auto created = http::TlsClientContext::Create(c.ca_file);
      if (!created) return Error::InvalidInput(where + ".ca_file: " + created.error().message);
      t.tls = *created;
    } else if (!actions::IsLoopbackHost(parsed->host)) {
      spdlog::warn("{} ({}): {} is plain http:// to {}: messages travel unencrypted", where, c.name, key, parsed->host);
    }
    return t;
  };
  switch (c.type) {
    case config::NotifierType::kPagerDuty: {
      auto key = secret("routing_key_env", c.routing_key_env);
      if (!key) return key.error();
      auto t = target(c.url, "url");
      if (!t) return t.error();
      return std::shared_ptr<Sender>(std::make_shared<PagerDutySender>(*t, *key, ui_url, c.timeout));
    }
    case config::NotifierType::kSlack: {
      auto url = secret("url_env", c.url_env);
      if (!url) return url.error();
      if (!actions::ParseHttpUrl(*url)) {
        return Error::InvalidInput(where + ".url_env: " + c.url_env + " must hold an http:// or https:// URL");
      }
      auto t = target(*url, "url_env");
      if (!t) return t.error();
      return std::shared_ptr<Sender>(std::make_shared<SlackSender>(*t, ui_url, c.timeout));
    }
    case config::NotifierType::kWebhook: {
      auto key = secret("secret_env", c.secret_env);
      if (!key) return key.error();
      auto t = target(c.url, "url");
      if (!t) return t.error();
      return std::shared_ptr<Sender>(std::make_shared<WebhookSender>(*t, *key, c.timeout));
    }
  }
  return Error::InvalidInput(where + ".type: unknown notifier type");
}

}  // namespace backstop::notify
