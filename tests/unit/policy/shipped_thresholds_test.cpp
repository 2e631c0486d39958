#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "backstop/policy/threshold_parser.hpp"

namespace backstop::policy {
namespace {

const std::string kThresholdsDir = std::string(BACKSTOP_SOURCE_DIR) + "/thresholds";

TEST(ShippedThresholdsTest, EveryFileValidatesWithoutErrors) {
  const DirectoryResult result = ParseThresholdDirectory(kThresholdsDir);
  ASSERT_TRUE(result.directory_readable);
  ASSERT_FALSE(result.files.empty());
  for (const auto& file : result.files) {
    for (const auto& error : file.result.errors) ADD_FAILURE() << error.ToString();
    EXPECT_TRUE(file.result.set.has_value()) << file.file;
  }
}

TEST(ShippedThresholdsTest, ShipsTheSevenClassesWithTheirAutomationAndReversibility) {
  const std::map<std::string, std::pair<Automation, Reversibility>> expected = {
      {"stateless-service", {Automation::kAuto, Reversibility::kReversibleWithState}},
      {"config-change", {Automation::kAuto, Reversibility::kTriviallyReversible}},
      {"schema-migration", {Automation::kApproval, Reversibility::kReversibleWithBackup}},
      {"secrets-change", {Automation::kDualApproval, Reversibility::kPartiallyReversible}},
      {"permissions-change", {Automation::kDualApproval, Reversibility::kPartiallyReversible}},
      {"agent-tool-change", {Automation::kApproval, Reversibility::kPartiallyReversible}},
      {"data-migration", {Automation::kApproval, Reversibility::kIrreversible}},
  };
  std::map<std::string, std::pair<Automation, Reversibility>> shipped;
  for (const auto& file : ParseThresholdDirectory(kThresholdsDir).files) {
    if (!file.result.set) continue;
    const ThresholdSet& set = *file.result.set;
    shipped[set.release_class] = {set.automation, set.reversibility};
    // One file per class, named after it.
    EXPECT_EQ(file.file, set.release_class + ".yaml");
    EXPECT_EQ(set.version, 1) << file.file;
  }
  EXPECT_EQ(shipped.size(), expected.size());
  for (const auto& [release_class, want] : expected) {
    const auto it = shipped.find(release_class);
    ASSERT_NE(it, shipped.end()) << release_class << " is not shipped";
    EXPECT_EQ(ToString(it->second.first), ToString(want.first)) << release_class;
    EXPECT_EQ(ToString(it->second.second), ToString(want.second)) << release_class;
  }
}

TEST(ShippedThresholdsTest, NoTwoFilesShareClassAndVersion) {
  std::set<std::pair<std::string, std::int64_t>> seen;
  for (const auto& file : ParseThresholdDirectory(kThresholdsDir).files) {
    ASSERT_TRUE(file.result.set.has_value()) << file.file;
    const auto key = std::make_pair(file.result.set->release_class, file.result.set->version);
    EXPECT_TRUE(seen.insert(key).second) << file.file;
  }
}

TEST(ShippedThresholdsTest, EveryFileExplainsItsChoicesInAHeaderComment) {
  for (const auto& file : ParseThresholdDirectory(kThresholdsDir).files) {
    std::ifstream in(kThresholdsDir + "/" + file.file);
    std::string first_line;
    std::getline(in, first_line);
    EXPECT_EQ(first_line.rfind("# ", 0), 0u) << file.file;
  }
}

TEST(ShippedThresholdsTest, EveryClassHasACriticalSignalAndRoundTripsThroughCanonicalJson) {
  for (const auto& file : ParseThresholdDirectory(kThresholdsDir).files) {
    ASSERT_TRUE(file.result.set.has_value()) << file.file;
    const ThresholdSet& set = *file.result.set;
    bool has_critical = false;
    for (const auto& signal : set.signals) has_critical = has_critical || signal.critical;
    EXPECT_TRUE(has_critical) << file.file;
    const ParseResult again = ParseThresholdYaml(CanonicalJson(set), file.file);
    ASSERT_TRUE(again.set.has_value()) << file.file;
    EXPECT_EQ(CanonicalJson(*again.set), CanonicalJson(set)) << file.file;
  }
}

}  // namespace
}  // namespace backstop::policy

namespace backstop::policy {
namespace {

std::string ReadShipped(const std::string& name) {
  std::ifstream in(std::string(BACKSTOP_SOURCE_DIR) + "/thresholds/" + name);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// stateless-service.yaml shows pull queries in comments only (its content,
// and so its stored hash, must not change); the example must be right when
// uncommented.
TEST(ShippedThresholdsTest, StatelessServiceCarriesValidExampleQueriesInCommentsOnly) {
  const std::string text = ReadShipped("stateless-service.yaml");
  const ParseResult shipped = ParseThresholdYaml(text, "stateless-service.yaml");
  ASSERT_TRUE(shipped.set);
  for (const auto& signal : shipped.set->signals) EXPECT_TRUE(signal.queries.empty()) << signal.name;
  // The hash stored by every database that loaded version 1.
  EXPECT_EQ(ContentSha256(*shipped.set), "e12f6f061f6f029a4be8422b71fa7563066d2d3515c3cf300c52782dc57576d6");

  // Uncomment "    # queries:" and the lines under it (one level of "# " removed).
  std::istringstream lines(text);
  std::string line;
  std::string uncommented;
  bool inside = false;
  while (std::getline(lines, line)) {
    if (line == "    # queries:") inside = true;
    if (inside && line.rfind("    # ", 0) == 0) {
      line = "    " + line.substr(6);
    } else {
      inside = false;
    }
    uncommented += line + "\n";
  }
  const ParseResult with_queries = ParseThresholdYaml(uncommented, "stateless-service.yaml");
  ASSERT_TRUE(with_queries.set) << (with_queries.errors.empty() ? "" : with_queries.errors[0].ToString());
  EXPECT_EQ(with_queries.set->signals[0].queries.at("prom-main"), "service_version:http_5xx_ratio:rate1m");
  EXPECT_EQ(with_queries.set->signals[1].queries.at("prom-main"),
            "1000 * histogram_quantile(0.99,\n  sum by (service, namespace, version, le) "
            "(rate(http_request_duration_seconds_bucket[1m])))");
  EXPECT_TRUE(CheckQuerySources(*with_queries.set, "stateless-service.yaml", {"prom-main"}).empty());
  EXPECT_NE(ContentSha256(*with_queries.set), ContentSha256(*shipped.set));
}

}  // namespace
}  // namespace backstop::policy
