#include "backstop/cli/rest_output.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace backstop::cli {
namespace {

TEST(RestOutputTest, TableColumnsAlignOnTheWidestCell) {
  EXPECT_EQ(FormatTable({"ID", "STATE"}, {{"a-long-id", "pending"}, {"b", "approved"}}),
            "ID         STATE\n"
            "a-long-id  pending\n"
            "b          approved\n");
}

TEST(RestOutputTest, AnEscalationShowsTheBoundAndExplainsEachReason) {
  const auto answer = boost::json::parse(R"({"escalation":{
    "id":"e1","state":"pending","release_id":"r1","service":"pay","environment":"prod","release_class":"web",
    "proposed_action":{"type":"rollback","from_version":"v2","to_version":"v1"},
    "reasons":["signal.breach","conflict.baseline_degraded"],"required_approvals":2,"approvals":[],
    "expires_at":"2026-12-01T05:00:00.000Z","summary":"pay v2",
    "evidence":{"verdict":"conflict","evaluated_at":"2026-12-01T03:00:00.000Z","conflicts":["conflict.baseline_degraded"],
      "signals":[{"name":"latency_p99","source":"default","state":"breach","canary":{"value":900,"samples":20},
                  "baseline":{"value":780,"samples":20},"p_value":0.2,"bad_when":"below","bound":800}]}}})");
  const std::string text = FormatEscalation(answer);
  EXPECT_NE(text.find("approvals: 0 of 2 required"), std::string::npos) << text;
  EXPECT_NE(text.find("conflict.baseline_degraded: the baseline is degraded too"), std::string::npos) << text;
  EXPECT_NE(text.find(">= 800"), std::string::npos) << text;  // below: the bound is a minimum
  EXPECT_NE(text.find("900 (20 samples)"), std::string::npos) << text;
  EXPECT_NE(text.find("780 (20 samples)"), std::string::npos) << text;
}

TEST(RestOutputTest, MissingFieldsPrintAsADash) {
  const auto answer = boost::json::parse(R"({"releases":[{"id":"r1"}]})");
  const std::string text = FormatReleaseList(answer);
  EXPECT_NE(text.find("r1  -/-"), std::string::npos) << text;
  EXPECT_EQ(FormatReleaseList(boost::json::parse(R"({"releases":[]})")), "no releases\n");
}

TEST(RestOutputTest, ABrokenChainNamesTheFirstBadEntry) {
  EXPECT_EQ(FormatVerify(boost::json::parse(R"({"ok":false,"checked":41,"first_bad_seq":42})")),
            "audit chain BROKEN at seq 42 (41 entries verified before it)\n");
}

}  // namespace
}  // namespace backstop::cli
