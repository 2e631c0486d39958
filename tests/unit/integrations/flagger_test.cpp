#include "backstop/integrations/flagger.hpp"

#include <gtest/gtest.h>

#include "integrations/fixture.hpp"

namespace backstop::integrations {
namespace {

using testing::FixtureObject;

const FlaggerDefaults kDefaults{std::string("stateless-service"), 10};

TEST(FlaggerPayloadTest, EveryHookFixtureMapsToTheSameRelease) {
  for (const char* hook :
       {"confirm-rollout", "pre-rollout", "rollout", "confirm-promotion", "rollback", "post-rollout", "event"}) {
    const auto call = ParseFlaggerPayload(FixtureObject(std::string("flagger/") + hook + ".json"), kDefaults);
    ASSERT_TRUE(call.ok()) << hook << ": " << call.error().message;
    const auto& f = call->deployment.fields;
    EXPECT_EQ(f.at("id").as_string(), "flagger.test.podinfo.6d8c5f7b9c") << hook;
    EXPECT_EQ(f.at("service").as_string(), "podinfo");
    EXPECT_EQ(f.at("environment").as_string(), "test");
    EXPECT_EQ(f.at("version").as_string(), "6d8c5f7b9c");  // no metadata.version: the checksum
    EXPECT_EQ(f.at("release_class").as_string(), "web");
    EXPECT_EQ(f.at("traffic_percent").as_double(), 10);    // "10" is 10
    EXPECT_EQ(f.at("previous_version").as_string(), "5f7d9b8c6");
    // Deterministic across hooks, so later hooks replay the first registration.
    EXPECT_EQ(boost::json::serialize(f.at("metadata")),
              R"({"flagger":{"canary":"podinfo","namespace":"test","checksum":"6d8c5f7b9c"}})");
  }
}

TEST(FlaggerPayloadTest, TheTokenComesFromMetadataAndNeverReachesTheReleaseOrTheAudit) {
  const auto payload = FixtureObject("flagger/event.json");
  EXPECT_EQ(FlaggerToken(payload), "REPLACED-BY-THE-TEST");
  const auto call = ParseFlaggerPayload(payload, kDefaults);
  ASSERT_TRUE(call.ok());
  const std::string everything =
      boost::json::serialize(call->deployment.fields) + boost::json::serialize(call->event);
  EXPECT_EQ(everything.find("REPLACED-BY-THE-TEST"), std::string::npos) << everything;
  EXPECT_EQ(call->event.at("event_type").as_string(), "Normal");
  EXPECT_EQ(call->event.at("message").as_string(), "Advance podinfo.test canary weight 10");
  EXPECT_EQ(call->event.at("canary").as_string(), "test/podinfo");
  EXPECT_EQ(call->phase, "Progressing");
}

TEST(FlaggerPayloadTest, DefaultsFillWhatMetadataLeavesOut) {
  boost::json::object payload{{"name", "podinfo"}, {"namespace", "test"}, {"phase", "Progressing"},
                              {"checksum", "abc123"}};
  EXPECT_FALSE(FlaggerToken(payload).has_value());
  const auto call = ParseFlaggerPayload(payload, kDefaults);
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->deployment.fields.at("release_class").as_string(), "stateless-service");
  EXPECT_EQ(call->deployment.fields.at("traffic_percent").as_double(), 10);
  EXPECT_EQ(call->deployment.paths.at("release_class"), "integrations.flagger.default_release_class");
  EXPECT_FALSE(call->deployment.fields.contains("previous_version"));
}

TEST(FlaggerPayloadTest, MetadataVersionWinsOverTheChecksum) {
  auto payload = FixtureObject("flagger/rollout.json");
  payload["metadata"].as_object()["version"] = "v2.3.1";
  const auto call = ParseFlaggerPayload(payload, kDefaults);
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->deployment.fields.at("version").as_string(), "v2.3.1");
  EXPECT_EQ(call->deployment.paths.at("version"), "metadata.version");
}

Error ErrorFor(boost::json::object payload, const FlaggerDefaults& defaults = kDefaults) {
  const auto call = ParseFlaggerPayload(payload, defaults);
  EXPECT_FALSE(call.ok());
  return call.ok() ? Error{} : call.error();
}

TEST(FlaggerPayloadTest, RefusalsNameTheField) {
  auto missing = FixtureObject("flagger/rollout.json");
  missing.erase("checksum");
  EXPECT_EQ(ErrorFor(missing).message, "checksum: is required");
  auto wrong_type = FixtureObject("flagger/rollout.json");
  wrong_type["name"] = 42;
  EXPECT_EQ(ErrorFor(wrong_type).details, std::vector<std::string>{"name"});
  auto not_strings = FixtureObject("flagger/rollout.json");
  not_strings["metadata"].as_object()["traffic_percent"] = 10;
  EXPECT_EQ(ErrorFor(not_strings).message, "metadata.traffic_percent: must be a string");
  auto bad_number = FixtureObject("flagger/rollout.json");
  bad_number["metadata"].as_object()["traffic_percent"] = "ten";
  EXPECT_EQ(ErrorFor(bad_number).message, "metadata.traffic_percent: must be a number from 0 to 100");
  auto no_class = FixtureObject("flagger/rollout.json");
  no_class["metadata"].as_object().erase("release_class");
  EXPECT_EQ(ErrorFor(no_class, FlaggerDefaults{std::nullopt, 10}).details,
            std::vector<std::string>{"metadata.release_class"});
  auto long_id = FixtureObject("flagger/rollout.json");
  long_id["name"] = std::string(120, 'a');
  EXPECT_EQ(ErrorFor(long_id).details, std::vector<std::string>{"name"});
}

TEST(FlaggerPayloadTest, DecimalTextIsANumberAndNothingElse) {
  EXPECT_EQ(ParseDecimalText("10"), 10);
  EXPECT_EQ(ParseDecimalText("2.5"), 2.5);
  EXPECT_FALSE(ParseDecimalText("").has_value());
  EXPECT_FALSE(ParseDecimalText("10%").has_value());
  EXPECT_FALSE(ParseDecimalText(" 10").has_value());
  EXPECT_FALSE(ParseDecimalText("nan").has_value());
}

}  // namespace
}  // namespace backstop::integrations
