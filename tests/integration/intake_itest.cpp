#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "backstop/common/sha256.hpp"
#include "integration_support.hpp"

// Deploy events from CI/CD (INTEGRATIONS.md §3) end to end: CDEvents in
// both CloudEvents modes, GitHub deployment_status deliveries with their
// signature, the Argo CD notifications template of docs/integrations/
// argo-cd.md, and previous_version inferred from the newest healthy release.

namespace backstop::testing {
namespace {

constexpr const char* kGithubSecretEnv = "BACKSTOP_TEST_GITHUB_SECRET";
constexpr const char* kGithubSecret = "It's a Secret to Everybody";
constexpr const char* kCdeventId = "271069a8-fc18-44f1-b38f-9d70a1695819";
constexpr const char* kCdeventSource = "/pipelines/checkout/deploy";

class IntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv(kGithubSecretEnv, kGithubSecret, 1);
    GateServer::Options options;
    options.github_secret_env = kGithubSecretEnv;
    gs = std::make_unique<GateServer>(options);
  }

  // Binary mode: the CloudEvent attributes are headers, the body is the CDEvent.
  http::ClientResponse CdeventBinary(const std::string& body, const std::string& token,
                                     const std::string& type = "dev.cdevents.service.deployed.0.2.0",
                                     const std::string& id = kCdeventId) {
    auto r = Send(gs->server(), "POST", "/v1/integrations/cdevents", body,
                  {{"Content-Type", "application/json"},
                   {"Authorization", "Bearer " + token},
                   {"ce-specversion", "1.0"},
                   {"ce-type", type},
                   {"ce-id", id},
                   {"ce-source", kCdeventSource}});
    gs->ExpectDocumented("POST", "/v1/integrations/cdevents", r);
    return r;
  }
  // Structured mode: the whole CloudEvent is the body.
  http::ClientResponse CdeventStructured(const std::string& body) {
    auto r = Send(gs->server(), "POST", "/v1/integrations/cdevents", body,
                  {{"Content-Type", "application/cloudevents+json; charset=utf-8"},
                   {"Authorization", "Bearer " + gs->deployer}});
    gs->ExpectDocumented("POST", "/v1/integrations/cdevents", r);
    return r;
  }

  // A GitHub delivery, signed with `secret` over the exact body.
  http::ClientResponse Github(const std::string& body, const std::string& event = "deployment_status",
                              const std::string& secret = kGithubSecret) {
    auto r = Send(gs->server(), "POST", "/v1/integrations/github", body,
                  {{"Content-Type", "application/json"},
                   {"X-GitHub-Event", event},
                   {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
                   {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(secret, body)}});
    gs->ExpectDocumented("POST", "/v1/integrations/github", r);
    return r;
  }

  // The GitHub fixture for deployment `id` of `sha`.
  static std::string GithubDeployment(std::int64_t id, const std::string& sha, const std::string& state = "success") {
    auto payload = FixtureObject("github/deployment_status.success.json");
    auto& deployment = payload["deployment"].as_object();
    deployment["id"] = id;
    deployment["sha"] = sha;
    payload["deployment_status"].as_object()["state"] = state;
    return boost::json::serialize(payload);
  }

  static boost::json::object ReleaseOf(const http::ClientResponse& r) {
    return ParseJson(r.body).at("release").as_object();
  }
  static std::vector<std::string> Details(const http::ClientResponse& r) {
    return Strings(ParseJson(r.body).at("error").at("details"));
  }

  int ReleaseCount() {
    return static_cast<int>(ParseJson(gs->server().Request("GET", "/v1/releases", gs->admin).body)
                                .at("releases")
                                .as_array()
                                .size());
  }

  // Makes `id` healthy: its class is web-short (duration 1s) and its telemetry clean.
  void MakeHealthy(const std::string& id, const std::string& service, const std::string& version) {
    gs->Samples(service, "prod", version, 0.01, 10);
    ASSERT_EQ(gs->AwaitStatusOtherThan(id, "evaluating"), "healthy");
  }

  std::unique_ptr<GateServer> gs;
};

TEST_F(IntakeTest, ACdeventInBinaryModeRegistersOnceAndStructuredModeIsTheSameEvent) {
  const auto first = CdeventBinary(Fixture("cdevents/service-deployed.cdevent.json"), gs->deployer);
  ASSERT_EQ(first.status, 201) << first.body;
  const auto release = ReleaseOf(first);
  const std::string id = "cde-" + Sha256Hex(std::string(kCdeventSource) + "\n" + kCdeventId).substr(0, 32);
  EXPECT_EQ(release.at("id").as_string(), id);
  EXPECT_EQ(release.at("service").as_string(), "checkout");
  EXPECT_EQ(release.at("environment").as_string(), "prod");
  EXPECT_EQ(release.at("version").as_string(),
            "sha256:0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427");
  EXPECT_EQ(release.at("release_class").as_string(), "web");
  EXPECT_EQ(release.at("traffic_percent").to_number<double>(), 10);
  EXPECT_EQ(release.at("triggered_by").as_string(), "alice");
  EXPECT_EQ(release.at("deployed_by").as_string(), "ci-bot");

  const auto again = CdeventBinary(Fixture("cdevents/service-deployed.cdevent.json"), gs->deployer);
  EXPECT_EQ(again.status, 200) << again.body;
  const auto structured = CdeventStructured(Fixture("cdevents/service-deployed.structured.json"));
  EXPECT_EQ(structured.status, 200) << structured.body;
  EXPECT_EQ(ReleaseOf(structured).at("id").as_string(), id);
  EXPECT_EQ(ReleaseCount(), 1);
}

TEST_F(IntakeTest, OtherCdeventsAreAcceptedAndIgnored) {
  const auto pipeline = CdeventStructured(Fixture("cdevents/pipelinerun-finished.structured.json"));
  EXPECT_EQ(pipeline.status, 202) << pipeline.body;
  EXPECT_TRUE(ParseJson(pipeline.body).at("ignored").is_string());
  const auto next_major = CdeventBinary(Fixture("cdevents/service-deployed.cdevent.json"), gs->deployer,
                                        "dev.cdevents.service.deployed.1.0.0");
  EXPECT_EQ(next_major.status, 202) << next_major.body;
  EXPECT_EQ(ReleaseCount(), 0);
}

TEST_F(IntakeTest, ABadCdeventIsRefusedNamingTheField) {
  auto event = FixtureObject("cdevents/service-deployed.cdevent.json");
  event["subject"].as_object()["content"].as_object()["environment"].as_object().erase("id");
  const auto missing = CdeventBinary(boost::json::serialize(event), gs->deployer);
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(Details(missing), std::vector<std::string>{"subject.content.environment.id"});
  auto bad_traffic = FixtureObject("cdevents/service-deployed.cdevent.json");
  bad_traffic["customData"].as_object()["traffic_percent"] = "ten";
  const auto wrong = CdeventBinary(boost::json::serialize(bad_traffic), gs->deployer);
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(Details(wrong), std::vector<std::string>{"customData.traffic_percent"});
  EXPECT_EQ(CdeventBinary("{", gs->deployer).status, 400);
  EXPECT_EQ(CdeventBinary(Fixture("cdevents/service-deployed.cdevent.json"), "not-a-token").status, 401);
  EXPECT_EQ(CdeventBinary(Fixture("cdevents/service-deployed.cdevent.json"), gs->viewer).status, 403);
  const auto text = Send(gs->server(), "POST", "/v1/integrations/cdevents", "hello",
                         {{"Content-Type", "text/plain"}, {"Authorization", "Bearer " + gs->deployer}});
  EXPECT_EQ(text.status, 415);
  EXPECT_EQ(ReleaseCount(), 0);
}

TEST_F(IntakeTest, AGithubDeploymentStatusRegistersOnceAcrossRedeliveries) {
  const std::string body = GithubDeployment(145988746, "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
  const auto first = Github(body);
  ASSERT_EQ(first.status, 201) << first.body;
  const auto release = ReleaseOf(first);
  EXPECT_EQ(release.at("id").as_string(), "gh.acme.checkout.145988746");
  EXPECT_EQ(release.at("service").as_string(), "checkout");
  EXPECT_EQ(release.at("environment").as_string(), "prod");
  EXPECT_EQ(release.at("version").as_string(), "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
  EXPECT_EQ(release.at("deployed_by").as_string(), "github");
  EXPECT_EQ(release.at("triggered_by").as_string(), "octocat");
  EXPECT_EQ(release.at("traffic_percent").to_number<double>(), 10);

  EXPECT_EQ(Github(body).status, 200);  // redelivered from the hook's settings page
  EXPECT_EQ(Github(GithubDeployment(145988746, "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "in_progress")).status,
            200);
  EXPECT_EQ(ReleaseCount(), 1);
}

TEST_F(IntakeTest, AGithubDeliveryWithAWrongSignatureIsRefused) {
  const std::string body = GithubDeployment(145988746, "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
  const auto wrong = Github(body, "deployment_status", "not the secret");
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  const auto unsigned_delivery = Send(gs->server(), "POST", "/v1/integrations/github", body,
                                      {{"Content-Type", "application/json"}, {"X-GitHub-Event", "deployment_status"}});
  EXPECT_EQ(unsigned_delivery.status, 401);
  // A correct signature over another body does not carry over.
  const auto tampered = Send(gs->server(), "POST", "/v1/integrations/github", body + " ",
                             {{"Content-Type", "application/json"},
                              {"X-GitHub-Event", "deployment_status"},
                              {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kGithubSecret, body)}});
  EXPECT_EQ(tampered.status, 401);
  EXPECT_EQ(ReleaseCount(), 0);
}

TEST_F(IntakeTest, OtherGithubEventsAreAcceptedAndIgnoredAndBadOnesNamed) {
  EXPECT_EQ(Github(R"({"zen":"Design for failure.","hook_id":42})", "ping").status, 202);
  EXPECT_EQ(Github(GithubDeployment(1, "abc", "failure")).status, 202);
  auto payload = FixtureObject("github/deployment_status.success.json");
  payload["deployment"].as_object().erase("environment");
  const auto missing = Github(boost::json::serialize(payload));
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(Details(missing), std::vector<std::string>{"deployment.environment"});
  // Form-encoded deliveries (GitHub's other content type) are read too.
  const std::string json = GithubDeployment(7, "0123456789abcdef0123456789abcdef01234567");
  std::string form = "payload=";
  for (const unsigned char c : json) {
    static const char* hex = "0123456789ABCDEF";
    if (std::isalnum(c)) {
      form += static_cast<char>(c);
    } else {
      form += '%';
      form += hex[c >> 4];
      form += hex[c & 15];
    }
  }
  const auto encoded = Send(gs->server(), "POST", "/v1/integrations/github", form,
                            {{"Content-Type", "application/x-www-form-urlencoded"},
                             {"X-GitHub-Event", "deployment_status"},
                             {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex(kGithubSecret, form)}});
  EXPECT_EQ(encoded.status, 201) << encoded.body;
  EXPECT_EQ(ReleaseCount(), 1);
}

TEST_F(IntakeTest, PreviousVersionIsInferredFromTheNewestHealthyReleaseAndIsTheRollbackTarget) {
  const auto v1 = PostDeployment(gs->server(), gs->deployer,
                                 R"({"id":"rel-v1","service":"checkout","environment":"prod","version":"v1",)"
                                 R"("release_class":"web-short","traffic_percent":10})");
  ASSERT_EQ(v1.status, 201) << v1.body;
  EXPECT_TRUE(ReleaseOf(v1).at("previous_version").is_null());
  EXPECT_FALSE(ReleaseOf(v1).at("previous_version_inferred").as_bool());
  MakeHealthy("rel-v1", "checkout", "v1");

  const auto v2 = PostDeployment(gs->server(), gs->deployer,
                                 R"({"id":"rel-v2","service":"checkout","environment":"prod","version":"v2",)"
                                 R"("release_class":"web","traffic_percent":10})");
  ASSERT_EQ(v2.status, 201) << v2.body;
  EXPECT_EQ(ReleaseOf(v2).at("previous_version").as_string(), "v1");
  EXPECT_TRUE(ReleaseOf(v2).at("previous_version_inferred").as_bool());
  // A replay keeps what was stored.
  EXPECT_EQ(PostDeployment(gs->server(), gs->deployer,
                           R"({"id":"rel-v2","service":"checkout","environment":"prod","version":"v2",)"
                           R"("release_class":"web","traffic_percent":10})")
                .status,
            200);

  gs->Samples("checkout", "prod", "v2", 0.20, 10);
  ASSERT_EQ(gs->AwaitStatusOtherThan("rel-v2", "evaluating"), "rolling_back");
  const auto actions = gs->Actions("rel-v2");
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].at("to_version").as_string(), "v1");
  EXPECT_EQ(actions[0].at("decided_by").as_string(), "auto");
}

TEST_F(IntakeTest, GithubDeploymentsInferTheirRollbackTargetToo) {
  auto first = FixtureObject("github/deployment_status.success.json");
  first["deployment"].as_object()["payload"] = boost::json::object{{"release_class", "web-short"},
                                                                   {"traffic_percent", 10}};
  first["deployment"].as_object()["sha"] = "1111111111111111111111111111111111111111";
  ASSERT_EQ(Github(boost::json::serialize(first)).status, 201);
  MakeHealthy("gh.acme.checkout.145988746", "checkout", "1111111111111111111111111111111111111111");

  const auto second = Github(GithubDeployment(145988747, "2222222222222222222222222222222222222222"));
  ASSERT_EQ(second.status, 201) << second.body;
  EXPECT_EQ(ReleaseOf(second).at("previous_version").as_string(), "1111111111111111111111111111111111111111");
  EXPECT_TRUE(ReleaseOf(second).at("previous_version_inferred").as_bool());
  gs->Samples("checkout", "prod", "2222222222222222222222222222222222222222", 0.20, 10);
  ASSERT_EQ(gs->AwaitStatusOtherThan("gh.acme.checkout.145988747", "evaluating"), "rolling_back");
  EXPECT_EQ(gs->Actions("gh.acme.checkout.145988747")[0].at("to_version").as_string(),
            "1111111111111111111111111111111111111111");
}

// Renders the documented Argo CD notification with sample values the way
// Argo CD's Go templates would, and posts it with the documented headers.
TEST_F(IntakeTest, TheDocumentedArgoCdNotificationRegistersTheRelease) {
  YAML::Node configmap;
  for (const auto& block : YamlBlocksOf("docs/integrations/argo-cd.md")) {
    if (block.find("argocd-notifications-cm") != std::string::npos) configmap = YAML::Load(block);
  }
  ASSERT_TRUE(configmap.IsMap()) << "docs/integrations/argo-cd.md has no argocd-notifications-cm";
  const YAML::Node service = YAML::Load(configmap["data"]["service.webhook.backstop"].as<std::string>());
  const YAML::Node tmpl = YAML::Load(configmap["data"]["template.backstop-deployment"].as<std::string>());
  const YAML::Node webhook = tmpl["webhook"]["backstop"];
  ASSERT_EQ(webhook["method"].as<std::string>(), "POST");
  std::string body = webhook["body"].as<std::string>();

  const std::vector<std::pair<std::string, std::string>> samples{
      {".app.metadata.name", "checkout"},
      {".app.status.operationState.syncResult.revision", "9f1c2e3d4b5a69788796a5b4c3d2e1f0a9b8c7d6"},
      {".app.spec.destination.namespace", "prod"},
      {".app.spec.source.repoURL", "https://github.com/acme/checkout-deploy.git"},
      {".app.status.operationState.operation.initiatedBy.username", ""},  // an automated sync
  };
  std::size_t open;
  while ((open = body.find("{{")) != std::string::npos) {
    const auto close = body.find("}}", open);
    ASSERT_NE(close, std::string::npos);
    const std::string expression = body.substr(open + 2, close - open - 2);
    const auto it = std::find_if(samples.begin(), samples.end(), [&](const auto& s) { return s.first == expression; });
    ASSERT_NE(it, samples.end()) << "no sample value for {{" << expression << "}}";
    body.replace(open, close + 2 - open, it->second);
  }
  auto doc = ParseJson(body).as_object();
  doc["release_class"] = "web";  // the test's class in place of the documented one

  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& h : service["headers"]) {
    std::string value = h["value"].as<std::string>();
    if (const auto at = value.find("$backstop-token"); at != std::string::npos) {
      value.replace(at, std::string("$backstop-token").size(), gs->deployer);
    }
    headers.emplace_back(h["name"].as<std::string>(), value);
  }
  const std::string url = service["url"].as<std::string>();
  const std::string path = url.substr(url.find('/', std::string("http://").size()));
  ASSERT_EQ(path, "/v1/deployments");

  const auto first = Send(gs->server(), "POST", path, boost::json::serialize(doc), headers);
  ASSERT_EQ(first.status, 201) << first.body;
  const auto release = ReleaseOf(first);
  EXPECT_EQ(release.at("id").as_string(), "argocd.checkout.9f1c2e3d4b5a69788796a5b4c3d2e1f0a9b8c7d6");
  EXPECT_EQ(release.at("service").as_string(), "checkout");
  EXPECT_EQ(release.at("environment").as_string(), "prod");
  EXPECT_EQ(release.at("deployed_by").as_string(), "ci-bot");
  EXPECT_EQ(release.at("metadata").at("repo").as_string(), "https://github.com/acme/checkout-deploy.git");
  // The notification controller retrying the same delivery registers nothing new.
  EXPECT_EQ(Send(gs->server(), "POST", path, boost::json::serialize(doc), headers).status, 200);
}

TEST(IntakeStartupTest, GithubDeliveriesAreRefusedWithoutASecretAndAMissingSecretStopsStartUp) {
  GateServer without;  // integrations.github.secret_env not configured
  const std::string body = Fixture("github/deployment_status.success.json");
  const auto refused = Send(without.server(), "POST", "/v1/integrations/github", body,
                            {{"Content-Type", "application/json"},
                             {"X-GitHub-Event", "deployment_status"},
                             {"X-Hub-Signature-256", "sha256=" + HmacSha256Hex("", body)}});
  EXPECT_EQ(refused.status, 401) << refused.body;

  ::unsetenv("BACKSTOP_TEST_GITHUB_SECRET_UNSET");
  auto c = TestConfig("");
  c.integrations.github.secret_env = "BACKSTOP_TEST_GITHUB_SECRET_UNSET";
  try {
    TestServer server(c);
    ADD_FAILURE() << "started without the GitHub secret";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("integrations.github.secret_env"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace backstop::testing
