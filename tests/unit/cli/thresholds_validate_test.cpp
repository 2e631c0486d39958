#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "backstop/cli/thresholds_validate.hpp"
#include "temp_dir.hpp"

namespace backstop::cli {
namespace {

constexpr const char* kValid = R"(release_class: web
version: 1
reversibility: reversible_with_state
automation: auto
evaluation:
  window: 5m
  min_samples: 20
signals:
  - name: http_5xx_ratio
    max: 0.05
)";

using backstop::testing::TempDir;

std::string WithClass(const std::string& name) {
  std::string text = kValid;
  text.replace(text.find("web"), 3, name);
  return text;
}

struct CommandRun {
  int code = -1;
  std::string out;
  std::string err;
};

CommandRun Validate(const std::string& dir) {
  std::ostringstream out;
  std::ostringstream err;
  CommandRun run;
  run.code = ValidateThresholdsCommand(dir, out, err);
  run.out = out.str();
  run.err = err.str();
  return run;
}

TEST(ThresholdsValidateTest, SucceedsSilentlyOnStderrWhenEveryFileIsValid) {
  TempDir dir;
  dir.Write("a.yaml", WithClass("a"));
  dir.Write("b.yml", WithClass("b"));
  dir.Write("c.yaml", WithClass("c"));
  const CommandRun run = Validate(dir.path());
  EXPECT_EQ(run.code, 0);
  EXPECT_EQ(run.out, "3 files valid\n");
  EXPECT_EQ(run.err, "");
}

TEST(ThresholdsValidateTest, SaysFileInTheSingular) {
  TempDir dir;
  dir.Write("a.yaml", kValid);
  const CommandRun run = Validate(dir.path());
  EXPECT_EQ(run.code, 0);
  EXPECT_EQ(run.out, "1 file valid\n");
}

TEST(ThresholdsValidateTest, PrintsEveryErrorAsFileFieldReason) {
  TempDir dir;
  dir.Write("a.yaml", WithClass("a"));
  std::string bad = WithClass("b");
  bad.replace(bad.find("automation: auto"), 16, "automation: sometimes");
  bad += "owner: sre\n";
  dir.Write("b.yaml", bad);
  dir.Write("c.yaml", WithClass("c"));
  const CommandRun run = Validate(dir.path());
  EXPECT_EQ(run.code, 1);
  EXPECT_EQ(run.err,
            "b.yaml: owner: unknown key\n"
            "b.yaml: automation: must be one of auto, approval, dual_approval\n");
  EXPECT_EQ(run.out, "2 of 3 files valid\n");
}

TEST(ThresholdsValidateTest, ReportsAClassAndVersionDefinedTwice) {
  TempDir dir;
  dir.Write("a.yaml", kValid);
  dir.Write("b.yaml", kValid);
  const CommandRun run = Validate(dir.path());
  EXPECT_EQ(run.code, 1);
  EXPECT_EQ(run.err, "b.yaml: version: release_class web version 1 is also defined in a.yaml\n");
  EXPECT_EQ(run.out, "1 of 2 files valid\n");
}

TEST(ThresholdsValidateTest, FailsWhenTheDirectoryHasNoThresholdFiles) {
  TempDir dir;
  dir.Write("notes.txt", "nothing here");
  const CommandRun run = Validate(dir.path());
  EXPECT_EQ(run.code, 1);
  EXPECT_EQ(run.err, dir.path() + ": (directory): has no .yaml or .yml files\n");
  EXPECT_EQ(run.out, "0 files valid\n");
}

TEST(ThresholdsValidateTest, FailsWhenTheDirectoryCannotBeRead) {
  TempDir dir;
  const std::string missing = dir.path() + "/missing";
  const CommandRun run = Validate(missing);
  EXPECT_EQ(run.code, 1);
  EXPECT_EQ(run.err.rfind(missing + ": (directory): cannot read directory: ", 0), 0u) << run.err;
  EXPECT_EQ(run.out, "no threshold files validated\n");
}

TEST(ThresholdsValidateTest, ValidatesTheShippedThresholds) {
  const CommandRun run = Validate(std::string(BACKSTOP_SOURCE_DIR) + "/thresholds");
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  EXPECT_EQ(run.out, "7 files valid\n");
}

TEST(ThresholdsValidateTest, WithConfiguredSourcesReportsAQueryNamingAnUnknownSource) {
  TempDir dir;
  dir.Write("a.yaml", WithClass("a") + "    queries:\n      prom-main: job:http_5xx_ratio:rate1m\n");
  dir.Write("b.yaml", WithClass("b") + "    queries:\n      prom-typo: job:http_5xx_ratio:rate1m\n");
  std::ostringstream out;
  std::ostringstream err;
  const int code =
      ValidateThresholdsCommand(dir.path(), out, err, std::vector<std::string>{"prom-main", "prom-replica"});
  EXPECT_EQ(code, 1);
  EXPECT_EQ(err.str(),
            "b.yaml: signals[0].queries.prom-typo: unknown telemetry source \"prom-typo\" (configured: prom-main, "
            "prom-replica)\n");
  EXPECT_EQ(out.str(), "1 of 2 files valid\n");
}

TEST(ThresholdsValidateTest, WithoutAConfigAcceptsQueriesForAnySource) {
  TempDir dir;
  dir.Write("b.yaml", WithClass("b") + "    queries:\n      prom-typo: up\n");
  const CommandRun run = Validate(dir.path());
  EXPECT_EQ(run.code, 0) << run.err;
}

}  // namespace
}  // namespace backstop::cli
