#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "backstop/actions/delivery.hpp"
#include "backstop/common/sha256.hpp"

namespace backstop::actions {
namespace {

ActionRequest Sample() {
  ActionRequest a;
  a.action_id = "act-1";
  a.release_id = "rel-1";
  a.service = "checkout";
  a.environment = "production";
  a.from_version = "v2";
  a.to_version = "v1";
  a.decided_by = "approval";
  a.approvers = {"sre-1", "sre-2"};
  a.reasons = {"signal.breach", "policy.approval_required"};
  return a;
}

TEST(DeliveryTest, WebhookBodyCarriesEveryContractField) {
  const auto v = boost::json::parse(WebhookBody(Sample())).as_object();
  EXPECT_EQ(v.at("action_id").as_string(), "act-1");
  EXPECT_EQ(v.at("release_id").as_string(), "rel-1");
  EXPECT_EQ(v.at("service").as_string(), "checkout");
  EXPECT_EQ(v.at("environment").as_string(), "production");
  EXPECT_EQ(v.at("from_version").as_string(), "v2");
  EXPECT_EQ(v.at("to_version").as_string(), "v1");
  EXPECT_EQ(v.at("decided_by").as_string(), "approval");
  EXPECT_EQ(v.at("approvers").as_array().size(), 2u);
  EXPECT_EQ(v.at("reasons").as_array()[0].as_string(), "signal.breach");
  EXPECT_EQ(v.size(), 9u);
}

TEST(DeliveryTest, SignatureIsHmacOverTimestampDotBody) {
  const std::string header = SignatureHeader("s3cret", 1700000000, R"({"a":1})");
  EXPECT_EQ(header, "t=1700000000,v1=" + HmacSha256Hex("s3cret", R"(1700000000.{"a":1})"));
  EXPECT_NE(SignatureHeader("s3cret", 1700000001, R"({"a":1})"), header);
  EXPECT_NE(SignatureHeader("other", 1700000000, R"({"a":1})"), header);
}

TEST(DeliveryTest, KnownHmacVector) {
  // RFC 4231 test case 2.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(DeliveryTest, StatusClassification) {
  EXPECT_EQ(ClassifyHttpStatus(200), Outcome::kSucceeded);
  EXPECT_EQ(ClassifyHttpStatus(204), Outcome::kSucceeded);
  EXPECT_EQ(ClassifyHttpStatus(408), Outcome::kRetry);
  EXPECT_EQ(ClassifyHttpStatus(429), Outcome::kRetry);
  EXPECT_EQ(ClassifyHttpStatus(500), Outcome::kRetry);
  EXPECT_EQ(ClassifyHttpStatus(503), Outcome::kRetry);
  EXPECT_EQ(ClassifyHttpStatus(400), Outcome::kFailed);
  EXPECT_EQ(ClassifyHttpStatus(404), Outcome::kFailed);
  EXPECT_EQ(ClassifyHttpStatus(302), Outcome::kFailed);
}

TEST(DeliveryTest, BackoffDoublesFrom200MsToAtMost30sWithFullJitter) {
  EXPECT_EQ(BackoffDelay(1, 0.999999), Millis(199));
  EXPECT_EQ(BackoffDelay(2, 0.5), Millis(200));
  EXPECT_EQ(BackoffDelay(3, 0.5), Millis(400));
  EXPECT_EQ(BackoffDelay(20, 0.5), Millis(15000));
  EXPECT_EQ(BackoffDelay(8, 0.999999), Millis(25599));
  EXPECT_EQ(BackoffDelay(9, 0.999999), Millis(29999));  // capped at 30 s
  EXPECT_EQ(BackoffDelay(5, 0.0), Millis(0));
}

TEST(DeliveryTest, ArgvValuesStayOneArgumentEach) {
  auto a = Sample();
  a.service = "checkout; rm -rf /";
  a.environment = "prod env";
  const auto argv = ExpandArgv({"kubectl", "rollout", "undo", "deployment/{service}", "-n", "{environment}",
                                "--to={to_version}", "{action_id}", "{unknown}"},
                               a);
  ASSERT_EQ(argv.size(), 9u);
  EXPECT_EQ(argv[3], "deployment/checkout; rm -rf /");
  EXPECT_EQ(argv[5], "prod env");
  EXPECT_EQ(argv[6], "--to=v1");
  EXPECT_EQ(argv[7], "act-1");
  EXPECT_EQ(argv[8], "{unknown}");
}

TEST(DeliveryTest, SubstitutedValuesAreNotExpandedAgain) {
  auto a = Sample();
  a.service = "{environment}";
  EXPECT_EQ(ExpandArgv({"{service}"}, a)[0], "{environment}");
}

TEST(DeliveryTest, RetryDelayIsTheBackoffButNeverSoonerThanTheReceiverAsked) {
  EXPECT_EQ(RetryDelay(3, 0.5, std::nullopt), BackoffDelay(3, 0.5));
  EXPECT_EQ(RetryDelay(3, 0.5, Millis(30000)), Millis(30000));
  EXPECT_EQ(RetryDelay(12, 0.99, Millis(1000)), BackoffDelay(12, 0.99));
  EXPECT_EQ(RetryDelay(1, 0.0, Millis(10LL * 3600 * 1000)), Millis(3600 * 1000));  // capped at an hour
}

TEST(DeliveryTest, ParsesPlainHttpUrls) {
  auto u = ParseHttpUrl("http://127.0.0.1:9000/rollback?x=1");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 9000);
  EXPECT_EQ(u->target, "/rollback?x=1");
  auto d = ParseHttpUrl("http://hooks.internal");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->port, 80);
  EXPECT_EQ(d->target, "/");
  EXPECT_FALSE(d->https);
  EXPECT_FALSE(ParseHttpUrl("http://:80/").has_value());
  EXPECT_FALSE(ParseHttpUrl("http://x:99999/").has_value());
  EXPECT_FALSE(ParseHttpUrl("ftp://x/").has_value());
  EXPECT_FALSE(ParseHttpUrl("http://user:pw@x/").has_value());
  EXPECT_FALSE(ParseHttpUrl("http://x y/").has_value());
}

TEST(DeliveryTest, ParsesHttpsUrlsWithTheirDefaultPort) {
  auto u = ParseHttpUrl("https://events.pagerduty.com/v2/enqueue");
  ASSERT_TRUE(u.has_value());
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->host, "events.pagerduty.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/v2/enqueue");
  auto v6 = ParseHttpUrl("https://[::1]:8443?a=b#frag");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8443);
  EXPECT_EQ(v6->target, "/?a=b");
  EXPECT_FALSE(ParseHttpUrl("https://[::1/").has_value());
  EXPECT_FALSE(ParseHttpUrl("https://::1/").has_value());
}

TEST(DeliveryTest, LoopbackHostsAreLocalhostAnd127And6Loopback) {
  for (const char* host : {"localhost", "127.0.0.1", "127.1.2.3", "::1", "api.localhost"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"10.0.0.1", "127.example.com", "hooks.slack.com", "localhost.example", "::2"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

}  // namespace
}  // namespace backstop::actions

namespace backstop::actions {
namespace {

TEST(SanitizeOutputTest, KeepsValidUtf8AndReplacesBadBytes) {
  EXPECT_EQ(SanitizeOutput("ok caf\xc3\xa9", 100), "ok caf\xc3\xa9");
  EXPECT_EQ(SanitizeOutput("a\xff" "b", 100), "a\xef\xbf\xbd" "b");
  EXPECT_EQ(SanitizeOutput(std::string("a\0b", 3), 100), "ab");
  EXPECT_EQ(SanitizeOutput("\xed\xa0\x80", 100), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
}

TEST(SanitizeOutputTest, CutsOnACharacterBoundary) {
  const std::string s = "ab\xc3\xa9" "cd";
  EXPECT_EQ(SanitizeOutput(s, 3), "ab...[truncated]");
  EXPECT_EQ(SanitizeOutput(s, 4), "ab\xc3\xa9...[truncated]");
}

}  // namespace
}  // namespace backstop::actions
