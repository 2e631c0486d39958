#include "backstop/integrations/cdevents.hpp"

#include <gtest/gtest.h>

#include "backstop/common/sha256.hpp"
#include "integrations/fixture.hpp"

namespace backstop::integrations {
namespace {

using testing::Fixture;
using testing::FixtureObject;

const CdeventsDefaults kDefaults{std::string("stateless-service")};
constexpr const char* kType = "dev.cdevents.service.deployed.0.2.0";
constexpr const char* kId = "271069a8-fc18-44f1-b38f-9d70a1695819";
constexpr const char* kSource = "/pipelines/checkout/deploy";

CloudEventRequest Binary(std::string body, std::string type = kType) {
  CloudEventRequest r;
  r.content_type = "application/json";
  r.ce_specversion = "1.0";
  r.ce_type = std::move(type);
  r.ce_id = kId;
  r.ce_source = kSource;
  r.body = std::move(body);
  return r;
}

CloudEventRequest Structured(std::string body) {
  CloudEventRequest r;
  r.content_type = "application/cloudevents+json; charset=utf-8";
  r.body = std::move(body);
  return r;
}

TEST(CdeventsTest, BinaryModeServiceDeployedIsADeployment) {
  const auto mapped = MapCloudEvent(Binary(Fixture("cdevents/service-deployed.cdevent.json")), kDefaults);
  ASSERT_TRUE(mapped.ok()) << mapped.error().message;
  ASSERT_TRUE(mapped->deployment.has_value()) << mapped->ignored.value_or("");
  const auto& f = mapped->deployment->fields;
  EXPECT_EQ(f.at("id").as_string(), CdeventReleaseId(kSource, kId));
  EXPECT_EQ(f.at("service").as_string(), "checkout");  // "service/" dropped
  EXPECT_EQ(f.at("environment").as_string(), "prod");
  EXPECT_EQ(f.at("version").as_string(),
            "sha256:0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427");
  EXPECT_EQ(f.at("release_class").as_string(), "web");  // customData
  EXPECT_EQ(f.at("traffic_percent").as_int64(), 10);
  EXPECT_EQ(f.at("triggered_by").as_string(), "alice");
}

TEST(CdeventsTest, StructuredModeIsTheSameRelease) {
  const auto binary = MapCloudEvent(Binary(Fixture("cdevents/service-deployed.cdevent.json")), kDefaults);
  const auto structured = MapCloudEvent(Structured(Fixture("cdevents/service-deployed.structured.json")), kDefaults);
  ASSERT_TRUE(binary.ok() && structured.ok());
  ASSERT_TRUE(structured->deployment.has_value());
  EXPECT_EQ(boost::json::serialize(binary->deployment->fields), boost::json::serialize(structured->deployment->fields));
}

TEST(CdeventsTest, TheReleaseIdHashesSourceAndId) {
  const std::string id = CdeventReleaseId(kSource, kId);
  EXPECT_EQ(id, "cde-" + Sha256Hex(std::string(kSource) + "\n" + kId).substr(0, 32));
  EXPECT_EQ(id.size(), 36u);
  EXPECT_NE(id, CdeventReleaseId(kSource, "another-id"));
}

TEST(CdeventsTest, UpgradedOfMajorVersionZeroIsADeploymentAndOtherTypesAreIgnored) {
  auto upgraded = FixtureObject("cdevents/service-deployed.cdevent.json");
  upgraded["context"].as_object()["type"] = "dev.cdevents.service.upgraded.0.1.1";
  const auto up = MapCloudEvent(Binary(boost::json::serialize(upgraded), "dev.cdevents.service.upgraded.0.1.1"),
                                kDefaults);
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_TRUE(up->deployment.has_value());

  const auto v1 = MapCloudEvent(Binary("{}", "dev.cdevents.service.deployed.1.0.0"), kDefaults);
  ASSERT_TRUE(v1.ok());
  EXPECT_FALSE(v1->deployment.has_value());
  EXPECT_NE(v1->ignored->find("major version 0"), std::string::npos);

  const auto pipeline = MapCloudEvent(Structured(Fixture("cdevents/pipelinerun-finished.structured.json")), kDefaults);
  ASSERT_TRUE(pipeline.ok()) << pipeline.error().message;
  EXPECT_FALSE(pipeline->deployment.has_value());
  EXPECT_NE(pipeline->ignored->find("not a service deployment"), std::string::npos);
}

TEST(CdeventsTest, TheOldSpecversionContextKeyIsAccepted) {
  auto event = FixtureObject("cdevents/service-deployed.cdevent.json");
  auto& context = event["context"].as_object();
  context["specversion"] = context["version"];
  context.erase("version");
  const auto mapped = MapCloudEvent(Binary(boost::json::serialize(event)), kDefaults);
  ASSERT_TRUE(mapped.ok()) << mapped.error().message;
  EXPECT_TRUE(mapped->deployment.has_value());
}

TEST(CdeventsTest, WithoutCustomDataTheDefaultsApply) {
  auto event = FixtureObject("cdevents/service-deployed.cdevent.json");
  event.erase("customData");
  const auto mapped = MapCloudEvent(Binary(boost::json::serialize(event)), kDefaults);
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(mapped->deployment->fields.at("release_class").as_string(), "stateless-service");
  EXPECT_EQ(mapped->deployment->fields.at("traffic_percent").as_double(), 100);
  const auto no_default = MapCloudEvent(Binary(boost::json::serialize(event)), CdeventsDefaults{});
  ASSERT_FALSE(no_default.ok());
  EXPECT_EQ(no_default.error().details, std::vector<std::string>{"customData.release_class"});
}

std::vector<std::string> DetailsWithout(const char* pointer_path) {
  auto event = FixtureObject("cdevents/service-deployed.cdevent.json");
  boost::json::object* at = &event;
  std::string path(pointer_path);
  std::size_t dot;
  while ((dot = path.find('.')) != std::string::npos) {
    at = &(*at)[path.substr(0, dot)].as_object();
    path.erase(0, dot + 1);
  }
  at->erase(path);
  const auto mapped = MapCloudEvent(Binary(boost::json::serialize(event)), kDefaults);
  EXPECT_FALSE(mapped.ok()) << pointer_path;
  return mapped.ok() ? std::vector<std::string>{} : mapped.error().details;
}

TEST(CdeventsTest, AMissingFieldIsNamed) {
  EXPECT_EQ(DetailsWithout("subject.content.environment.id"),
            std::vector<std::string>{"subject.content.environment.id"});
  EXPECT_EQ(DetailsWithout("subject.content.artifactId"), std::vector<std::string>{"subject.content.artifactId"});
  EXPECT_EQ(DetailsWithout("subject.id"), std::vector<std::string>{"subject.id"});
  EXPECT_EQ(DetailsWithout("context"), std::vector<std::string>{"context"});
}

TEST(CdeventsTest, MissingAttributesAreNamedAndOtherBodiesRefused) {
  auto no_id = Binary(Fixture("cdevents/service-deployed.cdevent.json"));
  no_id.ce_id.reset();
  const auto a = MapCloudEvent(no_id, kDefaults);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().details, std::vector<std::string>{"ce-id"});

  auto envelope = FixtureObject("cdevents/service-deployed.structured.json");
  envelope.erase("source");
  const auto b = MapCloudEvent(Structured(boost::json::serialize(envelope)), kDefaults);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().details, std::vector<std::string>{"source"});

  auto text = Binary("{}");
  text.content_type = "text/plain";
  const auto c = MapCloudEvent(text, kDefaults);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().kind, ErrorKind::kUnsupportedMediaType);

  const auto d = MapCloudEvent(Binary("{not json"), kDefaults);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, "invalid_json");
}

TEST(CdeventsTest, PurlVersionIsBetweenTheAtAndTheQualifiers) {
  EXPECT_EQ(PurlVersion("pkg:oci/myapp@sha256%3Aabc?repository_url=r%2Fx#sub"), "sha256:abc");
  EXPECT_EQ(PurlVersion("pkg:npm/%40angular/core@16.2.0"), "16.2.0");
  EXPECT_EQ(PurlVersion("pkg:golang/github.com/acme/checkout@v1.4.2#cmd/server"), "v1.4.2");
  EXPECT_FALSE(PurlVersion("pkg:oci/myapp").has_value());
  EXPECT_FALSE(PurlVersion("pkg:oci/myapp@").has_value());
  EXPECT_FALSE(PurlVersion("oci/myapp@1.0").has_value());
  EXPECT_FALSE(PurlVersion("pkg:oci/myapp@1%2").has_value());
}

}  // namespace
}  // namespace backstop::integrations
