#include "backstop/integrations/github.hpp"

#include <gtest/gtest.h>

#include "backstop/common/sha256.hpp"
#include "integrations/fixture.hpp"

namespace backstop::integrations {
namespace {

using testing::Fixture;
using testing::FixtureObject;

const GithubDefaults kDefaults{std::string("stateless-service"), 100};

TEST(GithubTest, TheSignatureIsTheHmacOfTheRawBody) {
  // GitHub's documented example: secret "It's a Secret to Everybody",
  // payload "Hello, World!".
  const std::optional<std::string> header =
      "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  EXPECT_TRUE(VerifyGithubSignature("It's a Secret to Everybody", "Hello, World!", header));
  EXPECT_TRUE(VerifyGithubSignature("It's a Secret to Everybody", "Hello, World!",
                                    "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17"));
  EXPECT_FALSE(VerifyGithubSignature("It's a Secret to Everybody", "Hello, World?", header));
  EXPECT_FALSE(VerifyGithubSignature("another secret", "Hello, World!", header));
  EXPECT_FALSE(VerifyGithubSignature("It's a Secret to Everybody", "Hello, World!", std::nullopt));
  EXPECT_FALSE(VerifyGithubSignature("It's a Secret to Everybody", "Hello, World!",
                                     "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  EXPECT_FALSE(VerifyGithubSignature("", "Hello, World!", "sha256=" + HmacSha256Hex("", "Hello, World!")));
}

TEST(GithubTest, ASuccessfulDeploymentStatusIsADeployment) {
  const auto mapped = MapGithubEvent("deployment_status", Fixture("github/deployment_status.success.json"), kDefaults);
  ASSERT_TRUE(mapped.ok()) << mapped.error().message;
  ASSERT_TRUE(mapped->deployment.has_value()) << mapped->ignored.value_or("");
  const auto& f = mapped->deployment->fields;
  EXPECT_EQ(f.at("id").as_string(), "gh.acme.checkout.145988746");
  EXPECT_EQ(f.at("service").as_string(), "checkout");  // the repository name
  EXPECT_EQ(f.at("environment").as_string(), "prod");
  EXPECT_EQ(f.at("version").as_string(), "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");  // deployment.sha
  EXPECT_EQ(f.at("triggered_by").as_string(), "octocat");  // deployment.creator, not the status's bot
  EXPECT_EQ(f.at("release_class").as_string(), "web");
  EXPECT_EQ(f.at("traffic_percent").as_int64(), 10);
}

TEST(GithubTest, InProgressIsTheSameReleaseAndOtherStatesAreIgnored) {
  auto payload = FixtureObject("github/deployment_status.success.json");
  const auto success = MapGithubEvent("deployment_status", boost::json::serialize(payload), kDefaults);
  payload["deployment_status"].as_object()["state"] = "in_progress";
  const auto in_progress = MapGithubEvent("deployment_status", boost::json::serialize(payload), kDefaults);
  ASSERT_TRUE(success.ok() && in_progress.ok());
  ASSERT_TRUE(in_progress->deployment.has_value());
  EXPECT_EQ(boost::json::serialize(success->deployment->fields),
            boost::json::serialize(in_progress->deployment->fields));
  for (const char* state : {"pending", "queued", "failure", "error", "inactive"}) {
    payload["deployment_status"].as_object()["state"] = state;
    const auto other = MapGithubEvent("deployment_status", boost::json::serialize(payload), kDefaults);
    ASSERT_TRUE(other.ok()) << state;
    EXPECT_FALSE(other->deployment.has_value()) << state;
  }
  const auto ping = MapGithubEvent("ping", R"({"zen":"Keep it logically awesome.","hook_id":1})", kDefaults);
  ASSERT_TRUE(ping.ok());
  EXPECT_FALSE(ping->deployment.has_value());
}

TEST(GithubTest, PayloadFieldsWinAndABotLoginBecomesAnIdentifier) {
  auto payload = FixtureObject("github/deployment_status.success.json");
  auto& deployment = payload["deployment"].as_object();
  deployment["payload"] = R"({"service":"checkout-api","version":"v2.0.1","previous_version":"v2.0.0"})";
  deployment["creator"].as_object()["login"] = "github-actions[bot]";
  const auto mapped = MapGithubEvent("deployment_status", boost::json::serialize(payload), kDefaults);
  ASSERT_TRUE(mapped.ok()) << mapped.error().message;
  const auto& f = mapped->deployment->fields;
  EXPECT_EQ(f.at("service").as_string(), "checkout-api");
  EXPECT_EQ(f.at("version").as_string(), "v2.0.1");
  EXPECT_EQ(f.at("previous_version").as_string(), "v2.0.0");
  EXPECT_EQ(f.at("release_class").as_string(), "stateless-service");  // the default
  EXPECT_EQ(f.at("traffic_percent").as_double(), 100);
  EXPECT_EQ(f.at("triggered_by").as_string(), "github-actions_bot_");
}

TEST(GithubTest, AMissingFieldIsNamed) {
  auto payload = FixtureObject("github/deployment_status.success.json");
  payload["deployment"].as_object().erase("environment");
  const auto a = MapGithubEvent("deployment_status", boost::json::serialize(payload), kDefaults);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().details, std::vector<std::string>{"deployment.environment"});
  payload = FixtureObject("github/deployment_status.success.json");
  payload["deployment"].as_object()["id"] = "145988746";
  const auto b = MapGithubEvent("deployment_status", boost::json::serialize(payload), kDefaults);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().details, std::vector<std::string>{"deployment.id"});
  const auto c = MapGithubEvent("", Fixture("github/deployment_status.success.json"), kDefaults);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().details, std::vector<std::string>{"X-GitHub-Event"});
}

TEST(GithubTest, FormEncodedDeliveriesCarryThePayloadField) {
  const auto json = GithubPayloadJson("application/x-www-form-urlencoded", "payload=%7B%22a%22%3A+1%7D");
  ASSERT_TRUE(json.ok()) << json.error().message;
  EXPECT_EQ(*json, R"({"a": 1})");
  EXPECT_EQ(*GithubPayloadJson("application/json; charset=utf-8", "{}"), "{}");
  EXPECT_EQ(GithubPayloadJson("text/plain", "{}").error().kind, ErrorKind::kUnsupportedMediaType);
  EXPECT_FALSE(GithubPayloadJson("application/x-www-form-urlencoded", "other=1").ok());
}

}  // namespace
}  // namespace backstop::integrations
