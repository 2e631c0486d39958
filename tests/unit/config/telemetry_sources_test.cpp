// `telemetry_sources` in the config (INTEGRATIONS §1): every key validated,
// every error naming its key.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "backstop/config/config_loader.hpp"

namespace backstop::config {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

EnvLookup MapEnv(std::map<std::string, std::string> values = {}) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    const auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

Result<Config> Parse(const std::string& text, const EnvLookup& env = MapEnv()) {
  return ParseConfig(text, "/srv/backstop", env);
}

// Every problem ParseConfig reports for `text` (it must be rejected).
std::vector<std::string> ErrorsOf(const std::string& text, const EnvLookup& env = MapEnv()) {
  const Result<Config> result = Parse(text, env);
  if (result.ok()) {
    ADD_FAILURE() << "expected an error for:\n" << text;
    return {};
  }
  return result.error().details;
}

// One source with `extra` lines appended to its map.
std::string OneSource(const std::string& extra = "") {
  return "telemetry_sources:\n"
         "  - name: prom-main\n"
         "    type: prometheus\n"
         "    url: http://prometheus:9090\n" +
         extra;
}

TEST(TelemetrySourcesConfigTest, ReadsTheIntegrationsExample) {
  const auto config = Parse(R"yaml(
telemetry_sources:
  - name: prom-main
    type: prometheus
    url: http://prometheus:9090
    interval: 10s
    timeout: 5s
    headers_env: {Authorization: PROM_AUTHORIZATION}
    labels: {service: service, environment: namespace, version: version}
)yaml",
                            MapEnv({{"PROM_AUTHORIZATION", "Bearer abc"}}));
  ASSERT_TRUE(config.ok()) << config.error().message;
  ASSERT_EQ(config->telemetry_sources.size(), 1u);
  const TelemetrySourceConfig& source = config->telemetry_sources[0];
  EXPECT_EQ(source.name, "prom-main");
  EXPECT_EQ(source.type, TelemetrySourceType::kPrometheus);
  EXPECT_EQ(source.url, "http://prometheus:9090");
  EXPECT_EQ(source.interval, Millis(10000));
  EXPECT_EQ(source.timeout, Millis(5000));
  EXPECT_EQ(source.headers_env, (Headers{{"Authorization", "PROM_AUTHORIZATION"}}));
  EXPECT_EQ(source.headers, (Headers{{"Authorization", "Bearer abc"}}));
  EXPECT_EQ(source.labels, (SourceLabels{"service", "namespace", "version"}));
}

TEST(TelemetrySourcesConfigTest, HasNoSourcesByDefault) {
  const auto config = Parse("listen: 127.0.0.1:8080\n");
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(config->telemetry_sources.empty());
}

TEST(TelemetrySourcesConfigTest, FillsDefaultsForOptionalKeys) {
  const auto config = Parse(OneSource());
  ASSERT_TRUE(config.ok()) << config.error().message;
  const TelemetrySourceConfig& source = config->telemetry_sources[0];
  EXPECT_EQ(source.interval, Millis(10000));
  EXPECT_EQ(source.timeout, Millis(5000));
  EXPECT_EQ(source.max_concurrency, 4);
  EXPECT_TRUE(source.headers_env.empty());
  EXPECT_EQ(source.labels, SourceLabels{});
}

TEST(TelemetrySourcesConfigTest, DropsTrailingSlashesAndKeepsAPathPrefix) {
  const auto config = Parse(
      "telemetry_sources:\n  - {name: thanos, type: prometheus, url: \"http://thanos:10902/prometheus/\"}\n");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->telemetry_sources[0].url, "http://thanos:10902/prometheus");
}

TEST(TelemetrySourcesConfigTest, NamesAnUnknownType) {
  EXPECT_EQ(ErrorsOf("telemetry_sources:\n  - {name: a, type: graphite, url: \"http://g:80\"}\n"),
            std::vector<std::string>{"telemetry_sources[0].type: must be one of prometheus"});
}

TEST(TelemetrySourcesConfigTest, RequiresNameTypeAndUrl) {
  EXPECT_EQ(ErrorsOf("telemetry_sources:\n  - interval: 10s\n"),
            (std::vector<std::string>{"telemetry_sources[0].name: is required",
                                      "telemetry_sources[0].type: is required",
                                      "telemetry_sources[0].url: is required"}));
}

TEST(TelemetrySourcesConfigTest, NamesAnUnknownKey) {
  EXPECT_EQ(ErrorsOf(OneSource("    step: 10s\n")),
            std::vector<std::string>{"unknown key \"telemetry_sources[0].step\""});
  EXPECT_EQ(ErrorsOf(OneSource("    labels: {pod: pod}\n")),
            std::vector<std::string>{"unknown key \"telemetry_sources[0].labels.pod\""});
}

TEST(TelemetrySourcesConfigTest, RefusesABadUrl) {
  for (const char* url : {"prometheus:9090", "ftp://prom", "http://", "http://prom:99999",
                          "http://prom:9090/?x=1", "http://prom:9090/#top"}) {
    EXPECT_EQ(ErrorsOf(OneSource().replace(OneSource().find("http://prometheus:9090"), 22, url)),
              std::vector<std::string>{
                  url == std::string("http://prom:99999")
                      ? "telemetry_sources[0].url: must be http(s)://host[:port][/path] with a port from 1 to 65535"
                      : "telemetry_sources[0].url: must be an http:// or https:// URL without a query or fragment"})
        << url;
  }
}

TEST(TelemetrySourcesConfigTest, AcceptsHttpsWithACaFileRelativeToTheConfig) {
  std::string text = OneSource("    ca_file: certs/prom-ca.pem\n");
  text.replace(text.find("http://"), 7, "https://");
  const Result<Config> config = Parse(text);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->telemetry_sources[0].url, "https://prometheus:9090");
  EXPECT_EQ(config->telemetry_sources[0].ca_file, "/srv/backstop/certs/prom-ca.pem");
}

TEST(TelemetrySourcesConfigTest, RefusesADuplicateName) {
  const std::string text = OneSource() + "  - {name: prom-main, type: prometheus, url: \"http://other:9090\"}\n";
  EXPECT_EQ(ErrorsOf(text), std::vector<std::string>{
                                "telemetry_sources[1].name: duplicate source \"prom-main\" (also telemetry_sources[0])"});
}

TEST(TelemetrySourcesConfigTest, RefusesTheNameOfPushedSamplesWithoutASource) {
  const auto errors = ErrorsOf("telemetry_sources:\n  - {name: default, type: prometheus, url: \"http://p:9090\"}\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("telemetry_sources[0].name: \"default\" is the source of pushed samples", 0), 0u)
      << errors[0];
}

TEST(TelemetrySourcesConfigTest, RefusesANameThatIsNoIdentifier) {
  EXPECT_EQ(ErrorsOf("telemetry_sources:\n  - {name: \"prom main\", type: prometheus, url: \"http://p:9090\"}\n"),
            std::vector<std::string>{"telemetry_sources[0].name: must be 1-128 characters of [A-Za-z0-9._:-]"});
}

TEST(TelemetrySourcesConfigTest, NamesAnUnsetHeaderVariable) {
  EXPECT_EQ(ErrorsOf(OneSource("    headers_env: {Authorization: PROM_AUTHORIZATION}\n")),
            std::vector<std::string>{
                "telemetry_sources[0].headers_env.Authorization: environment variable PROM_AUTHORIZATION is not set"});
  // Empty counts as unset: an empty Authorization header is never meant.
  EXPECT_EQ(ErrorsOf(OneSource("    headers_env: {Authorization: PROM_AUTHORIZATION}\n"),
                     MapEnv({{"PROM_AUTHORIZATION", ""}})),
            std::vector<std::string>{
                "telemetry_sources[0].headers_env.Authorization: environment variable PROM_AUTHORIZATION is not set"});
}

TEST(TelemetrySourcesConfigTest, WithoutAnEnvironmentReadsTheFileAloneAndResolvesNoHeader) {
  const auto config = ParseConfig(OneSource("    headers_env: {Authorization: PROM_AUTHORIZATION}\n"), "/srv", nullptr);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->telemetry_sources[0].headers_env, (Headers{{"Authorization", "PROM_AUTHORIZATION"}}));
  EXPECT_TRUE(config->telemetry_sources[0].headers.empty());
}

TEST(TelemetrySourcesConfigTest, RefusesBadHeaderNamesAndVariables) {
  const auto env = MapEnv({{"X", "1"}});
  EXPECT_EQ(ErrorsOf(OneSource("    headers_env: {\"Bad Header\": X}\n"), env),
            std::vector<std::string>{"telemetry_sources[0].headers_env.Bad Header: is not a valid HTTP header name"});
  EXPECT_EQ(ErrorsOf(OneSource("    headers_env: {Host: X}\n"), env),
            std::vector<std::string>{
                "telemetry_sources[0].headers_env.Host: is set by Backstop itself and cannot be configured"});
  EXPECT_EQ(ErrorsOf(OneSource("    headers_env: {X-Scope-OrgID: \"1tenant\"}\n"), env),
            std::vector<std::string>{
                "telemetry_sources[0].headers_env.X-Scope-OrgID: must be an environment variable name (letters, digits, _)"});
  EXPECT_EQ(ErrorsOf(OneSource("    headers_env: {A: X, A: X}\n"), env),
            std::vector<std::string>{"telemetry_sources[0].headers_env.A: duplicate key"});
}

TEST(TelemetrySourcesConfigTest, RefusesALabelThatIsNoPrometheusLabelName) {
  EXPECT_EQ(ErrorsOf(OneSource("    labels: {version: app.kubernetes.io/version}\n")),
            std::vector<std::string>{
                "telemetry_sources[0].labels.version: must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"});
}

TEST(TelemetrySourcesConfigTest, BoundsIntervalTimeoutAndConcurrency) {
  EXPECT_EQ(ErrorsOf(OneSource("    interval: 500ms\n")),
            std::vector<std::string>{"telemetry_sources[0].interval: must be at least 1s"});
  EXPECT_EQ(ErrorsOf(OneSource("    timeout: 0s\n")),
            std::vector<std::string>{
                "telemetry_sources[0].timeout: must be a positive duration such as 500ms, 30s, 5m or 2h"});
  EXPECT_EQ(ErrorsOf(OneSource("    max_concurrency: 0\n")),
            std::vector<std::string>{"telemetry_sources[0].max_concurrency: must be a positive integer"});
  EXPECT_EQ(ErrorsOf(OneSource("    max_concurrency: 33\n")),
            std::vector<std::string>{"telemetry_sources[0].max_concurrency: must be at most 32"});
}

TEST(TelemetrySourcesConfigTest, RefusesSomethingOtherThanASequence) {
  EXPECT_EQ(ErrorsOf("telemetry_sources: prom\n"),
            std::vector<std::string>{"telemetry_sources: must be a sequence of telemetry source maps"});
}

}  // namespace
}  // namespace backstop::config
