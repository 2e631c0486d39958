// The notification and TLS keys of the config: notifiers, ui_url, tls.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "backstop/config/config_loader.hpp"

namespace backstop::config {
namespace {

using domain::NotificationEvent;

Result<Config> Parse(const std::string& text) {
  return ParseConfig(text, "/srv/backstop", [](const std::string&) -> std::optional<std::string> { return {}; });
}

std::string ErrorOf(const std::string& text) {
  const Result<Config> result = Parse(text);
  if (result.ok()) {
    ADD_FAILURE() << "expected an error for:\n" << text;
    return {};
  }
  return result.error().message;
}

constexpr const char* kIntegrationsExample = R"yaml(
notifiers:
  - name: oncall
    type: pagerduty                    # pagerduty | slack | webhook
    routing_key_env: PD_ROUTING_KEY
    match: "*"                         # service glob
    events: [escalation.opened, escalation.expired, rollback.failed, rollback.ineffective]
  - name: releases-channel
    type: slack
    url_env: SLACK_WEBHOOK_URL         # the URL is the secret
    events: [escalation.opened, escalation.approved, escalation.rejected,
             escalation.expired, escalation.superseded, action.succeeded, action.failed]
  - name: audit-sink
    type: webhook                      # signed like the rollback webhook
    url: https://hooks.example/backstop
    secret_env: BACKSTOP_NOTIFY_SECRET
    events: ["*"]
ui_url: https://backstop.example       # links in messages
)yaml";

TEST(NotifiersConfigTest, AcceptsTheIntegrationsExample) {
  const Result<Config> result = Parse(kIntegrationsExample);
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Config& c = *result;
  ASSERT_EQ(c.notifiers.size(), 3u);
  EXPECT_EQ(c.notifiers[0].name, "oncall");
  EXPECT_EQ(c.notifiers[0].type, NotifierType::kPagerDuty);
  EXPECT_EQ(c.notifiers[0].routing_key_env, "PD_ROUTING_KEY");
  EXPECT_EQ(c.notifiers[0].url, "https://events.pagerduty.com/v2/enqueue");
  EXPECT_EQ(c.notifiers[0].events.size(), 4u);
  EXPECT_EQ(c.notifiers[1].type, NotifierType::kSlack);
  EXPECT_EQ(c.notifiers[1].url_env, "SLACK_WEBHOOK_URL");
  EXPECT_EQ(c.notifiers[1].events.size(), 7u);
  EXPECT_EQ(c.notifiers[2].type, NotifierType::kWebhook);
  EXPECT_EQ(c.notifiers[2].events.size(), domain::AllNotificationEvents().size());
  EXPECT_EQ(c.notifiers[2].timeout, Millis(5000));
  EXPECT_EQ(c.notifiers[2].max_attempts, 10);
  EXPECT_EQ(c.ui_url, "https://backstop.example");
}

TEST(NotifiersConfigTest, DefaultsEventsPerTypeAndMatchEverything) {
  const Result<Config> result = Parse(
      "notifiers:\n  - {name: pd, type: pagerduty, routing_key_env: PD}\n"
      "  - {name: chat, type: slack, url_env: SLACK_URL}\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->notifiers[0].match, "*");
  EXPECT_EQ(result->notifiers[0].events,
            (std::vector<NotificationEvent>{NotificationEvent::kEscalationOpened, NotificationEvent::kRollbackFailed,
                                            NotificationEvent::kRollbackIneffective}));
  EXPECT_EQ(result->notifiers[1].events.size(), domain::AllNotificationEvents().size());
}

TEST(NotifiersConfigTest, StarForPagerDutyMeansEveryEscalationEvent) {
  const Result<Config> result = Parse("notifiers:\n  - {name: pd, type: pagerduty, routing_key_env: PD, events: ['*']}\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  for (const auto e : result->notifiers[0].events) {
    EXPECT_NE(e, NotificationEvent::kActionSucceeded);
    EXPECT_NE(e, NotificationEvent::kActionFailed);
  }
  EXPECT_EQ(result->notifiers[0].events.size(), domain::AllNotificationEvents().size() - 2);
}

TEST(NotifiersConfigTest, ErrorsNameTheKey) {
  EXPECT_EQ(ErrorOf("notifiers:\n  - {name: x, type: email}\n"),
            "notifiers[0].type: must be one of pagerduty, slack, webhook");
  EXPECT_EQ(ErrorOf("notifiers:\n  - {name: x, type: pagerduty}\n"),
            "notifiers[0].routing_key_env: is required for a pagerduty notifier");
  EXPECT_EQ(ErrorOf("notifiers:\n  - {name: x, type: slack}\n"),
            "notifiers[0].url_env: is required for a slack notifier");
  EXPECT_EQ(ErrorOf("notifiers:\n  - {name: x, type: webhook, secret_env: S}\n"),
            "notifiers[0].url: is required for a webhook notifier");
  EXPECT_EQ(ErrorOf("notifiers:\n  - {type: webhook, url: 'http://h/x', secret_env: S}\n"),
            "notifiers[0].name: is required");
  EXPECT_EQ(ErrorOf("notifiers:\n  - {name: x, type: slack, url_env: U, colour: red}\n"),
            "unknown key \"notifiers[0].colour\"");
  EXPECT_EQ(ErrorOf("notifiers:\n  - {name: x, type: slack, url_env: U, events: [escalation.open]}\n"),
            "notifiers[0].events[0]: must be \"*\" or one of " + domain::NotificationEventNames());
  EXPECT_EQ(ErrorOf("notifiers:\n  - {name: x, type: slack, url_env: 'lower-case?'}\n"),
            "notifiers[0].url_env: must be an environment variable name (letters, digits, _)");
  EXPECT_EQ(ErrorOf("notifiers:\n  - {name: x, type: webhook, url: 'ftp://h/', secret_env: S}\n"),
            "notifiers[0].url: must be an http:// or https:// URL");
}

TEST(NotifiersConfigTest, SlackTakesItsUrlOnlyFromTheEnvironment) {
  EXPECT_EQ(ErrorOf("notifiers:\n  - {name: x, type: slack, url_env: U, url: 'https://hooks.slack.com/x'}\n"),
            "notifiers[0].url: is not valid for a slack notifier (a Slack webhook URL is a secret: name its "
            "environment variable in url_env)");
}

TEST(NotifiersConfigTest, PagerDutyRefusesActionEvents) {
  EXPECT_EQ(ErrorOf("notifiers:\n  - {name: x, type: pagerduty, routing_key_env: PD, events: [action.failed]}\n"),
            "notifiers[0].events[0]: a pagerduty notifier pages about escalations; action.failed has none (send it "
            "to a slack or webhook notifier)");
}

TEST(NotifiersConfigTest, PagerDutyUrlCanBeOverriddenForAProxyOrATest) {
  const Result<Config> result =
      Parse("notifiers:\n  - {name: pd, type: pagerduty, routing_key_env: PD, url: 'http://127.0.0.1:9/enqueue'}\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->notifiers[0].url, "http://127.0.0.1:9/enqueue");
}

TEST(NotifiersConfigTest, RefusesDuplicateNamesAndDuplicateEvents) {
  EXPECT_EQ(ErrorOf("notifiers:\n  - {name: a, type: slack, url_env: U}\n  - {name: a, type: slack, url_env: V}\n"),
            "notifiers[1].name: duplicate notifier \"a\" (also notifiers[0])");
  EXPECT_EQ(ErrorOf("notifiers:\n  - {name: a, type: slack, url_env: U, events: [action.failed, action.failed]}\n"),
            "notifiers[0].events[1]: duplicate event action.failed");
}

TEST(NotifiersConfigTest, CaFileIsResolvedAgainstTheConfigFolder) {
  const Result<Config> result = Parse(
      "notifiers:\n  - {name: a, type: webhook, url: 'https://h/x', secret_env: S, ca_file: ca.pem, timeout: 2s, "
      "max_attempts: 3}\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->notifiers[0].ca_file, "/srv/backstop/ca.pem");
  EXPECT_EQ(result->notifiers[0].timeout, Millis(2000));
  EXPECT_EQ(result->notifiers[0].max_attempts, 3);
}

TEST(NotifiersConfigTest, UiUrlLosesItsTrailingSlashAndMustBeHttp) {
  const Result<Config> result = Parse("ui_url: https://backstop.example/\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->ui_url, "https://backstop.example");
  EXPECT_EQ(ErrorOf("ui_url: backstop.example\n"),
            "ui_url: must be an http:// or https:// URL without a query or fragment");
}

TEST(TlsConfigTest, NeedsBothFilesResolvedAgainstTheConfigFolder) {
  const Result<Config> result = Parse("tls:\n  cert_file: tls/server.pem\n  key_file: /etc/backstop/server.key\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_TRUE(result->tls.has_value());
  EXPECT_EQ(result->tls->cert_file, "/srv/backstop/tls/server.pem");
  EXPECT_EQ(result->tls->key_file, "/etc/backstop/server.key");
  EXPECT_EQ(ErrorOf("tls:\n  cert_file: a.pem\n"), "tls.key_file: is required");
  EXPECT_EQ(ErrorOf("tls:\n  cert_file: a.pem\n  key_file: b.pem\n  ciphers: all\n"), "unknown key \"tls.ciphers\"");
}

TEST(TlsConfigTest, AbsentMeansPlainHttp) {
  const Result<Config> result = Parse("listen: 127.0.0.1:0\n");
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->tls.has_value());
  EXPECT_TRUE(result->notifiers.empty());
  EXPECT_TRUE(result->ui_url.empty());
}

}  // namespace
}  // namespace backstop::config
