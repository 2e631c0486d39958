#include "backstop/config/config_loader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace backstop::config {
namespace {

using Strings = std::vector<std::string>;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

constexpr const char* kBaseDir = "/srv/backstop";

EnvLookup MapEnv(std::map<std::string, std::string> values = {}) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    const auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

Result<Config> Parse(const std::string& text, const EnvLookup& env = MapEnv()) {
  return ParseConfig(text, kBaseDir, env);
}

// Parses text that must be rejected and returns the error message.
std::string ErrorOf(const std::string& text, const EnvLookup& env = MapEnv()) {
  const Result<Config> result = Parse(text, env);
  if (result.ok()) {
    ADD_FAILURE() << "expected an error for:\n" << text;
    return {};
  }
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidInput);
  return result.error().message;
}

constexpr const char* kDesignExample = R"yaml(
listen: 127.0.0.1:8080
database_url: postgresql://backstop@127.0.0.1:5432/backstop
migrations_dir: migrations
thresholds_dir: thresholds
evaluation_tick: 1s
limits:
  max_body_bytes: 1048576
  max_samples_per_request: 10000
  max_series: 1000000
executors:                 # first match wins; service is a glob
  - match: "*"
    type: webhook          # webhook | command | log (log = record only, for local runs)
    url: http://127.0.0.1:9000/rollback
    secret_env: BACKSTOP_WEBHOOK_SECRET
    timeout: 5s
    max_attempts: 5
  # - match: "payments-*"
  #   type: command
  #   argv: ["kubectl", "rollout", "undo", "deployment/{service}", "-n", "{environment}"]
  #   timeout: 60s
)yaml";

TEST(ConfigLoaderTest, EmptyTextGivesDefaults) {
  const Result<Config> result = Parse("");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Config& config = *result;
  const Config defaults;
  EXPECT_EQ(config.listen_host, "127.0.0.1");
  EXPECT_EQ(config.listen_port, 8080);
  EXPECT_EQ(config.database_url, defaults.database_url);
  EXPECT_EQ(config.migrations_dir, "/srv/backstop/migrations");
  EXPECT_EQ(config.thresholds_dir, "/srv/backstop/thresholds");
  EXPECT_EQ(config.evaluation_tick, Millis(1000));
  EXPECT_EQ(config.log_level, "info");
  EXPECT_FALSE(config.instance_id.empty());
  EXPECT_EQ(config.limits.max_body_bytes, defaults.limits.max_body_bytes);
  EXPECT_EQ(config.http.threads, defaults.http.threads);
  EXPECT_EQ(config.database.pool_size, defaults.database.pool_size);
  ASSERT_EQ(config.executors.size(), 1u);
  EXPECT_EQ(config.executors[0].match, "*");
  EXPECT_EQ(ToString(config.executors[0].type), "log");
}

TEST(ConfigLoaderTest, CommentOnlyTextGivesDefaults) {
  const Result<Config> result = Parse("# nothing configured yet\n\n# still nothing\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->listen_port, 8080);
  ASSERT_EQ(result->executors.size(), 1u);
  EXPECT_EQ(ToString(result->executors[0].type), "log");
}

TEST(ConfigLoaderTest, SectionWithEveryEntryCommentedOutKeepsDefaults) {
  const Result<Config> result = Parse("limits:\n  # max_body_bytes: 5\nexecutors:\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->limits.max_body_bytes, 1048576);
  ASSERT_EQ(result->executors.size(), 1u);
  EXPECT_EQ(ToString(result->executors[0].type), "log");
}

TEST(ConfigLoaderTest, ParsesDesignExample) {
  const Result<Config> result = Parse(kDesignExample);
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Config& config = *result;
  EXPECT_EQ(config.listen_host, "127.0.0.1");
  EXPECT_EQ(config.listen_port, 8080);
  EXPECT_EQ(config.database_url, "postgresql://backstop@127.0.0.1:5432/backstop");
  EXPECT_EQ(config.migrations_dir, "/srv/backstop/migrations");
  EXPECT_EQ(config.thresholds_dir, "/srv/backstop/thresholds");
  EXPECT_EQ(config.evaluation_tick, Millis(1000));
  EXPECT_EQ(config.limits.max_body_bytes, 1048576);
  EXPECT_EQ(config.limits.max_samples_per_request, 10000);
  EXPECT_EQ(config.limits.max_series, 1000000);
  ASSERT_EQ(config.executors.size(), 1u);
  const ExecutorConfig& executor = config.executors[0];
  EXPECT_EQ(executor.match, "*");
  EXPECT_EQ(ToString(executor.type), "webhook");
  EXPECT_EQ(executor.url, "http://127.0.0.1:9000/rollback");
  EXPECT_EQ(executor.secret_env, "BACKSTOP_WEBHOOK_SECRET");
  EXPECT_EQ(executor.timeout, Millis(5000));
  EXPECT_EQ(executor.max_attempts, 5);
}

TEST(ConfigLoaderTest, ParsesEverySection) {
  const Result<Config> result = Parse(R"yaml(
listen: "[::1]:9090"
instance_id: backstop-a
log_level: debug
evaluation_tick: 250ms
http:
  threads: 4
  read_timeout: 3s
  idle_timeout: 2m
  request_timeout: 1500ms
  shutdown_timeout: 20s
  max_header_bytes: 8192
database:
  pool_size: 8
  queue_limit: 64
  statement_timeout: 2s
  connect_timeout: 1s
executors:
  - match: "payments-*"
    type: command
    argv: ["kubectl", "rollout", "undo", "deployment/{service}", "-n", "{environment}"]
    timeout: 60s
  - type: log
)yaml");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Config& config = *result;
  EXPECT_EQ(config.listen_host, "::1");
  EXPECT_EQ(config.listen_port, 9090);
  EXPECT_EQ(config.instance_id, "backstop-a");
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.evaluation_tick, Millis(250));
  EXPECT_EQ(config.http.threads, 4);
  EXPECT_EQ(config.http.read_timeout, Millis(3000));
  EXPECT_EQ(config.http.idle_timeout, Millis(120000));
  EXPECT_EQ(config.http.request_timeout, Millis(1500));
  EXPECT_EQ(config.http.shutdown_timeout, Millis(20000));
  EXPECT_EQ(config.http.max_header_bytes, 8192);
  EXPECT_EQ(config.database.pool_size, 8);
  EXPECT_EQ(config.database.queue_limit, 64);
  EXPECT_EQ(config.database.statement_timeout, Millis(2000));
  EXPECT_EQ(config.database.connect_timeout, Millis(1000));
  ASSERT_EQ(config.executors.size(), 2u);
  EXPECT_EQ(config.executors[0].match, "payments-*");
  EXPECT_EQ(ToString(config.executors[0].type), "command");
  EXPECT_EQ(config.executors[0].argv, (Strings{"kubectl", "rollout", "undo",
                                               "deployment/{service}", "-n", "{environment}"}));
  EXPECT_EQ(config.executors[0].timeout, Millis(60000));
  EXPECT_EQ(config.executors[0].max_attempts, 5);
  EXPECT_EQ(config.executors[1].match, "*");
  EXPECT_EQ(ToString(config.executors[1].type), "log");
  EXPECT_EQ(config.executors[1].timeout, Millis(5000));
}

TEST(ConfigLoaderTest, InstanceIdDefaultsToHostName) {
  const Result<Config> implicit = Parse("");
  const Result<Config> explicit_empty = Parse("instance_id: \"\"");
  ASSERT_TRUE(implicit.ok());
  ASSERT_TRUE(explicit_empty.ok());
  EXPECT_FALSE(implicit->instance_id.empty());
  EXPECT_EQ(explicit_empty->instance_id, implicit->instance_id);
}

// What the loader's default is built from, read the same way.
std::string ThisHostName() {
  char buffer[256] = {};
  if (gethostname(buffer, sizeof(buffer) - 1) != 0 || buffer[0] == '\0') return "backstop";
  return buffer;
}

TEST(ConfigLoaderTest, InstanceIdDefaultsToHostNameAndListenPort) {
  const Result<Config> result = Parse("listen: 127.0.0.1:9191\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->instance_id, ThisHostName() + ":9191");
  const Result<Config> defaults = Parse("");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->instance_id, ThisHostName() + ":8080");
}

TEST(ConfigLoaderTest, InstanceIdDefaultUsesTheListenPortFromTheEnvironment) {
  const Result<Config> result =
      Parse("listen: 127.0.0.1:9191\n", MapEnv({{"BACKSTOP_LISTEN", "0.0.0.0:7070"}}));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->instance_id, ThisHostName() + ":7070");
}

TEST(ConfigLoaderTest, TwoProcessesOnOneHostGetDifferentDefaultInstanceIds) {
  const Result<Config> a = Parse("listen: 127.0.0.1:8080\n");
  const Result<Config> b = Parse("listen: 127.0.0.1:8081\n");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->instance_id, b->instance_id);
}

TEST(ConfigLoaderTest, ExplicitInstanceIdIsKeptAsWritten) {
  const Result<Config> result = Parse("listen: 127.0.0.1:9191\ninstance_id: node-a\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->instance_id, "node-a");
}

TEST(ConfigLoaderTest, RejectsUnknownTopLevelKey) {
  EXPECT_EQ(ErrorOf("listne: 127.0.0.1:8080"), "unknown key \"listne\"");
}

TEST(ConfigLoaderTest, RejectsUnknownNestedKey) {
  EXPECT_EQ(ErrorOf("limits:\n  max_bodies: 10\n"), "unknown key \"limits.max_bodies\"");
  EXPECT_EQ(ErrorOf("http:\n  thread: 2\n"), "unknown key \"http.thread\"");
  EXPECT_EQ(ErrorOf("database:\n  pool: 2\n"), "unknown key \"database.pool\"");
}

TEST(ConfigLoaderTest, RejectsUnknownExecutorKeyWithIndex) {
  EXPECT_EQ(ErrorOf("executors:\n  - type: log\n    retries: 3\n"),
            "unknown key \"executors[0].retries\"");
}

TEST(ConfigLoaderTest, RejectsBadDuration) {
  EXPECT_EQ(ErrorOf("evaluation_tick: 5 seconds"),
            "evaluation_tick: must be a positive duration such as 500ms, 30s, 5m or 2h");
  EXPECT_EQ(ErrorOf("evaluation_tick: 0s"),
            "evaluation_tick: must be a positive duration such as 500ms, 30s, 5m or 2h");
  EXPECT_EQ(ErrorOf("http:\n  read_timeout: -1s\n"),
            "http.read_timeout: must be a positive duration such as 500ms, 30s, 5m or 2h");
  EXPECT_EQ(ErrorOf("database:\n  statement_timeout: 25h\n"),
            "database.statement_timeout: must be at most 24h");
}

TEST(ConfigLoaderTest, RejectsNegativeLimit) {
  EXPECT_EQ(ErrorOf("limits:\n  max_body_bytes: -1\n"),
            "limits.max_body_bytes: must be a positive integer");
  EXPECT_EQ(ErrorOf("limits:\n  max_series: 0\n"), "limits.max_series: must be a positive integer");
  EXPECT_EQ(ErrorOf("limits:\n  max_samples_per_request: 1.5\n"),
            "limits.max_samples_per_request: must be a positive integer");
}

TEST(ConfigLoaderTest, RejectsLimitAboveUpperBound) {
  EXPECT_EQ(ErrorOf("limits:\n  max_body_bytes: 67108865\n"),
            "limits.max_body_bytes: must be at most 67108864");
  EXPECT_EQ(ErrorOf("limits:\n  max_body_bytes: 99999999999999999999999\n"),
            "limits.max_body_bytes: must be at most 67108864");
  EXPECT_EQ(ErrorOf("http:\n  threads: 65\n"), "http.threads: must be at most 64");
  EXPECT_EQ(ErrorOf("database:\n  pool_size: 0\n"),
            "database.pool_size: must be a positive integer");
  EXPECT_EQ(ErrorOf("executors:\n  - type: log\n    max_attempts: 101\n"),
            "executors[0].max_attempts: must be at most 100");
}

TEST(ConfigLoaderTest, AcceptsLimitAtUpperBound) {
  const Result<Config> result = Parse("limits:\n  max_body_bytes: 67108864\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->limits.max_body_bytes, 67108864);
}

TEST(ConfigLoaderTest, RejectsBadListen) {
  for (const char* listen : {"localhost", "':8080'", "'127.0.0.1:'", "127.0.0.1:65536",
                             "127.0.0.1:http", "'::1:8080'", "'[::1]8080'", "'[::1]'",
                             "\"\"", "'host name:80'"}) {
    SCOPED_TRACE(listen);
    EXPECT_EQ(ErrorOf(std::string("listen: ") + listen),
              "listen: must be \"host:port\" with a port from 0 to 65535");
  }
}

TEST(ConfigLoaderTest, AcceptsPortZeroAndHighestPort) {
  const Result<Config> zero = Parse("listen: 127.0.0.1:0");
  const Result<Config> highest = Parse("listen: 0.0.0.0:65535");
  ASSERT_TRUE(zero.ok()) << zero.error().message;
  ASSERT_TRUE(highest.ok()) << highest.error().message;
  EXPECT_EQ(zero->listen_port, 0);
  EXPECT_EQ(highest->listen_host, "0.0.0.0");
  EXPECT_EQ(highest->listen_port, 65535);
}

TEST(ConfigLoaderTest, RejectsUnknownLogLevel) {
  EXPECT_EQ(ErrorOf("log_level: verbose"),
            "log_level: must be one of trace, debug, info, warn, error");
}

TEST(ConfigLoaderTest, RejectsUnknownExecutorType) {
  EXPECT_EQ(ErrorOf("executors:\n  - type: email\n"),
            "executors[0].type: must be one of webhook, command, log, gate");
}

TEST(ConfigLoaderTest, RejectsExecutorWithoutType) {
  EXPECT_EQ(ErrorOf("executors:\n  - match: \"*\"\n"),
            "executors[0].type: is required (webhook, command, log or gate)");
}

TEST(ConfigLoaderTest, RejectsWebhookWithoutUrl) {
  EXPECT_EQ(ErrorOf("executors:\n  - type: webhook\n    secret_env: HOOK_SECRET\n"),
            "executors[0].url: is required for a webhook executor");
}

TEST(ConfigLoaderTest, RejectsWebhookWithoutSecretEnv) {
  EXPECT_EQ(ErrorOf("executors:\n  - type: webhook\n    url: http://hooks.example/rollback\n"),
            "executors[0].secret_env: is required for a webhook executor");
}

TEST(ConfigLoaderTest, RejectsWebhookUrlThatIsNotHttp) {
  EXPECT_EQ(ErrorOf("executors:\n  - type: webhook\n    url: ftp://hooks.example/x\n"
                    "    secret_env: HOOK_SECRET\n"),
            "executors[0].url: must be an http:// or https:// URL");
  EXPECT_EQ(ErrorOf("executors:\n  - type: webhook\n    url: http://\n"
                    "    secret_env: HOOK_SECRET\n"),
            "executors[0].url: must be an http:// or https:// URL");
}

TEST(ConfigLoaderTest, AcceptsHttpsWebhookUrlWithACaFileRelativeToTheConfig) {
  const Result<Config> result = Parse(
      "executors:\n  - type: webhook\n    url: https://hooks.example/rollback\n"
      "    secret_env: HOOK_SECRET\n    ca_file: certs/ca.pem\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->executors[0].url, "https://hooks.example/rollback");
  EXPECT_EQ(result->executors[0].ca_file, "/srv/backstop/certs/ca.pem");
}

TEST(ConfigLoaderTest, RejectsCaFileOnAnExecutorThatMakesNoHttpRequest) {
  EXPECT_EQ(ErrorOf("executors:\n  - type: log\n    ca_file: ca.pem\n"),
            "executors[0].ca_file: is not valid for a log executor");
}

TEST(ConfigLoaderTest, AcceptsPlainHttpWebhookUrl) {
  const Result<Config> result = Parse(
      "executors:\n  - type: webhook\n    url: http://hooks.example:8080/rollback\n"
      "    secret_env: HOOK_SECRET\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->executors[0].url, "http://hooks.example:8080/rollback");
}

TEST(ConfigLoaderTest, RejectsSecretEnvThatIsNotAVariableName) {
  EXPECT_EQ(ErrorOf("executors:\n  - type: webhook\n    url: http://h/x\n"
                    "    secret_env: 1-SECRET\n"),
            "executors[0].secret_env: must be an environment variable name (letters, digits, _)");
}

TEST(ConfigLoaderTest, RejectsCommandWithoutArgv) {
  EXPECT_EQ(ErrorOf("executors:\n  - type: command\n"),
            "executors[0].argv: is required for a command executor");
  EXPECT_EQ(ErrorOf("executors:\n  - type: command\n    argv: []\n"),
            "executors[0].argv: must be a non-empty sequence of strings");
  EXPECT_EQ(ErrorOf("executors:\n  - type: command\n    argv: [kubectl, [x]]\n"),
            "executors[0].argv[1]: must be a string");
}

TEST(ConfigLoaderTest, RejectsUrlOnCommandExecutor) {
  EXPECT_EQ(ErrorOf("executors:\n  - type: command\n    argv: [rollback.sh]\n"
                    "    url: http://127.0.0.1:9000/rollback\n"),
            "executors[0].url: is not valid for a command executor");
}

TEST(ConfigLoaderTest, RejectsArgvOnLogExecutor) {
  EXPECT_EQ(ErrorOf("executors:\n  - type: log\n    argv: [echo]\n"),
            "executors[0].argv: is not valid for a log executor");
}

TEST(ConfigLoaderTest, NamesExecutorIndexInMessage) {
  EXPECT_EQ(ErrorOf(R"yaml(
executors:
  - match: "payments-*"
    type: log
  - match: "*"
    type: webhook
    url: http://127.0.0.1:9000/rollback
)yaml"),
            "executors[1].secret_env: is required for a webhook executor");
}

TEST(ConfigLoaderTest, RejectsExecutorAfterCatchAll) {
  EXPECT_EQ(ErrorOf("executors:\n  - type: log\n  - match: \"payments-*\"\n    type: log\n"),
            "executors[1]: is unreachable: executors[0] matches every service");
}

TEST(ConfigLoaderTest, RejectsEmptyExecutorList) {
  EXPECT_PRED2(Contains, ErrorOf("executors: []"), "executors: must list at least one executor");
}

TEST(ConfigLoaderTest, RejectsDuplicateKey) {
  EXPECT_EQ(ErrorOf("limits:\n  max_series: 5\n  max_series: 6\n"),
            "limits.max_series: duplicate key");
}

TEST(ConfigLoaderTest, RejectsTopLevelThatIsNotAMap) {
  EXPECT_EQ(ErrorOf("- listen: 127.0.0.1:8080"), "configuration must be a YAML map of settings");
  EXPECT_EQ(ErrorOf("just text"), "configuration must be a YAML map of settings");
}

TEST(ConfigLoaderTest, RejectsSectionThatIsNotAMap) {
  EXPECT_EQ(ErrorOf("limits: 5"), "limits: must be a map");
}

TEST(ConfigLoaderTest, ReportsYamlSyntaxErrorWithLine) {
  const std::string message = ErrorOf("listen: 127.0.0.1:8080\nlimits: [1,\n");
  EXPECT_PRED2(Contains, message, "YAML parse error at line");
  EXPECT_PRED2(Contains, message, "end of sequence flow not found");
}

TEST(ConfigLoaderTest, ReportsAStrayLeadingCommaWithItsLineInsteadOfExhaustingMemory) {
  // yaml-cpp 0.7's LoadAll allocated on this text until std::bad_alloc aborted serve/migrate.
  const Result<Config> result = Parse(",\nlisten: x");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidInput);
  EXPECT_EQ(result.error().message, "YAML parse error at line 1, column 1: unexpected \",\"");
}

TEST(ConfigLoaderTest, LoadConfigFileNamesTheFileAndLineOfAStrayLeadingComma) {
  backstop::testing::TempDir dir;
  dir.Write("backstop.yaml", ",\nlisten: x");
  const std::string path = dir.path() + "/backstop.yaml";
  const Result<Config> result = LoadConfigFile(path, MapEnv());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidInput);
  EXPECT_EQ(result.error().message,
            path + ": YAML parse error at line 1, column 1: unexpected \",\"");
}

TEST(ConfigLoaderTest, LoadConfigFileNamesTheFileOfABadKey) {
  backstop::testing::TempDir dir;
  dir.Write("backstop.yaml", "limits:\n  max_bodies: 3\n");
  const std::string path = dir.path() + "/backstop.yaml";
  const Result<Config> result = LoadConfigFile(path, MapEnv());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, path + ": unknown key \"limits.max_bodies\"");
}

TEST(ConfigLoaderTest, RejectsMoreThanOneDocument) {
  EXPECT_EQ(ErrorOf("listen: 127.0.0.1:8080\n---\nlisten: 127.0.0.1:9090\n"),
            "configuration must be a single YAML document");
  EXPECT_EQ(ErrorOf("listen: 127.0.0.1:8080\n--- ,\n"),
            "configuration must be a single YAML document");
}

TEST(ConfigLoaderTest, AnExplicitlyEmptyDocumentGivesDefaults) {
  const Result<Config> result = Parse("---\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->listen_port, 8080);
}

TEST(ConfigLoaderTest, RejectsDuplicateKeysAtEveryLevel) {
  EXPECT_EQ(ErrorOf("listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n"), "listen: duplicate key");
  EXPECT_EQ(ErrorOf("executors:\n  - type: log\n    type: log\n"),
            "executors[0].type: duplicate key");
}

TEST(ConfigLoaderTest, ReportsErrorsInDocumentOrderWithinAMap) {
  const Result<Config> result = Parse("listen: nowhere\nbogus: 1\nlog_level: loud\n");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().details,
            (Strings{"listen: must be \"host:port\" with a port from 0 to 65535",
                     "unknown key \"bogus\"",
                     "log_level: must be one of trace, debug, info, warn, error"}));
}

TEST(ConfigLoaderTest, RequiresIntegersToBeUnquoted) {
  EXPECT_EQ(ErrorOf("limits:\n  max_series: \"5\"\n"),
            "limits.max_series: must be a positive integer");
}

TEST(ConfigLoaderTest, CollectsEveryErrorInDetailsWithFirstAsMessage) {
  const Result<Config> result = Parse(R"yaml(
bogus: 1
limits:
  max_body_bytes: -5
executors:
  - type: command
)yaml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "unknown key \"bogus\"");
  EXPECT_EQ(result.error().details,
            (Strings{"unknown key \"bogus\"", "limits.max_body_bytes: must be a positive integer",
                     "executors[0].argv: is required for a command executor"}));
}

TEST(ConfigLoaderTest, EnvironmentOverridesDatabaseUrlAndListen) {
  const Result<Config> result =
      Parse(kDesignExample, MapEnv({{"BACKSTOP_DATABASE_URL", "postgresql://other@db:5433/x"},
                                    {"BACKSTOP_LISTEN", "0.0.0.0:9000"}}));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->database_url, "postgresql://other@db:5433/x");
  EXPECT_EQ(result->listen_host, "0.0.0.0");
  EXPECT_EQ(result->listen_port, 9000);
}

TEST(ConfigLoaderTest, MigrationDatabaseUrlDefaultsToDatabaseUrlAndCanBeOverridden) {
  const Result<Config> plain = Parse(kDesignExample);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->MigrationDatabaseUrl(), plain->database_url);
  // The default follows database_url wherever that comes from.
  const Result<Config> env_only = Parse("", MapEnv({{"BACKSTOP_DATABASE_URL", "postgresql://app@db/x"}}));
  ASSERT_TRUE(env_only.ok());
  EXPECT_EQ(env_only->MigrationDatabaseUrl(), "postgresql://app@db/x");

  const Result<Config> keyed = Parse("migration_database_url: postgresql://owner@db/x\n");
  ASSERT_TRUE(keyed.ok()) << keyed.error().message;
  EXPECT_EQ(keyed->MigrationDatabaseUrl(), "postgresql://owner@db/x");
  EXPECT_EQ(keyed->database_url, Config().database_url);
  const Result<Config> overridden =
      Parse("migration_database_url: postgresql://owner@db/x\n",
            MapEnv({{"BACKSTOP_MIGRATION_DATABASE_URL", "postgresql://other-owner@db/x"}}));
  ASSERT_TRUE(overridden.ok());
  EXPECT_EQ(overridden->MigrationDatabaseUrl(), "postgresql://other-owner@db/x");
  EXPECT_EQ(ErrorOf("migration_database_url: \"\"\n"), "migration_database_url: must not be empty");
}

TEST(ConfigLoaderTest, RejectsBadListenFromEnvironmentNamingVariable) {
  EXPECT_EQ(ErrorOf("", MapEnv({{"BACKSTOP_LISTEN", "9000"}})),
            "BACKSTOP_LISTEN: must be \"host:port\" with a port from 0 to 65535");
  EXPECT_EQ(ErrorOf("", MapEnv({{"BACKSTOP_DATABASE_URL", ""}})),
            "BACKSTOP_DATABASE_URL: must not be empty");
}

TEST(ConfigLoaderTest, IgnoresUnrelatedEnvironmentVariables) {
  const Result<Config> result = Parse("", MapEnv({{"DATABASE_URL", "postgresql://x@y/z"}}));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->database_url, Config().database_url);
}

TEST(ConfigLoaderTest, ResolvesRelativeDirectoriesAgainstBaseDir) {
  const Result<Config> result =
      ParseConfig("migrations_dir: ./db/../migrations/\nthresholds_dir: ../shared/thresholds\n",
                  "/etc/backstop", MapEnv());
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->migrations_dir, "/etc/backstop/migrations");
  EXPECT_EQ(result->thresholds_dir, "/etc/shared/thresholds");
}

TEST(ConfigLoaderTest, KeepsAbsoluteDirectoriesNormalized) {
  const Result<Config> result = Parse("migrations_dir: /usr/share/backstop//migrations\n");
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->migrations_dir, "/usr/share/backstop/migrations");
}

TEST(ConfigLoaderTest, RelativeBaseDirIsMadeAbsolute) {
  const Result<Config> result = ParseConfig("", "conf", MapEnv());
  ASSERT_TRUE(result.ok()) << result.error().message;
  const std::filesystem::path expected =
      (std::filesystem::current_path() / "conf" / "migrations").lexically_normal();
  EXPECT_EQ(result->migrations_dir, expected.string());
}

TEST(ConfigLoaderTest, LoadConfigFileUsesFileFolderAsBaseDir) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "backstop_config_loader_test";
  std::filesystem::create_directories(dir);
  const std::filesystem::path file = dir / "backstop.yaml";
  std::ofstream(file) << "thresholds_dir: rules\n";
  const Result<Config> result = LoadConfigFile(file.string(), MapEnv());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->thresholds_dir, (dir / "rules").string());
  EXPECT_EQ(result->migrations_dir, (dir / "migrations").string());
}

TEST(ConfigLoaderTest, LoadConfigFileNamesUnreadablePath) {
  const Result<Config> result = LoadConfigFile("/nonexistent/backstop.yaml", MapEnv());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidInput);
  EXPECT_PRED2(Contains, result.error().message, "\"/nonexistent/backstop.yaml\"");
}

TEST(ConfigLoaderTest, GateExecutorWaitsTenMinutesUnlessToldOtherwise) {
  const Result<Config> defaulted = Parse("executors:\n  - match: \"*\"\n    type: gate\n");
  ASSERT_TRUE(defaulted.ok()) << defaulted.error().message;
  ASSERT_EQ(defaulted->executors.size(), 1u);
  EXPECT_EQ(defaulted->executors[0].type, ExecutorType::kGate);
  EXPECT_EQ(defaulted->executors[0].timeout, std::chrono::minutes(10));
  const Result<Config> set = Parse("executors:\n  - type: gate\n    timeout: 90s\n");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->executors[0].timeout, Millis(90000));
}

TEST(ConfigLoaderTest, GateExecutorRefusesKeysItHasNoUseFor) {
  EXPECT_EQ(ErrorOf("executors:\n  - type: gate\n    max_attempts: 3\n"),
            "executors[0].max_attempts: is not valid for a gate executor");
  EXPECT_EQ(ErrorOf("executors:\n  - type: gate\n    url: http://hooks.example/x\n"),
            "executors[0].url: is not valid for a gate executor");
}

TEST(ConfigLoaderTest, ReadsEveryIntegrationKey) {
  const Result<Config> result = Parse(R"yaml(
integrations:
  flagger:
    default_release_class: stateless-service
    default_traffic_percent: 5
  cdevents:
    default_release_class: config-change
  github:
    secret_env: GITHUB_WEBHOOK_SECRET
    default_release_class: stateless-service
    default_traffic_percent: 50
)yaml");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const IntegrationsConfig& i = result->integrations;
  EXPECT_EQ(i.flagger.default_release_class, "stateless-service");
  EXPECT_EQ(i.flagger.default_traffic_percent, 5);
  EXPECT_EQ(i.cdevents.default_release_class, "config-change");
  EXPECT_EQ(i.github.secret_env, "GITHUB_WEBHOOK_SECRET");
  EXPECT_EQ(i.github.default_release_class, "stateless-service");
  EXPECT_EQ(i.github.default_traffic_percent, 50);
}

TEST(ConfigLoaderTest, IntegrationDefaultsWithoutTheSection) {
  const Result<Config> result = Parse("");
  ASSERT_TRUE(result.ok()) << result.error().message;
  const IntegrationsConfig& i = result->integrations;
  EXPECT_FALSE(i.flagger.default_release_class.has_value());
  EXPECT_EQ(i.flagger.default_traffic_percent, 10);
  EXPECT_FALSE(i.cdevents.default_release_class.has_value());
  EXPECT_TRUE(i.github.secret_env.empty());
  EXPECT_EQ(i.github.default_traffic_percent, 100);
}

TEST(ConfigLoaderTest, IntegrationErrorsNameTheKey) {
  EXPECT_EQ(ErrorOf("integrations:\n  gitlab: {}\n"), "unknown key \"integrations.gitlab\"");
  EXPECT_EQ(ErrorOf("integrations:\n  flagger:\n    default_weight: 10\n"),
            "unknown key \"integrations.flagger.default_weight\"");
  EXPECT_EQ(ErrorOf("integrations:\n  flagger:\n    default_traffic_percent: 101\n"),
            "integrations.flagger.default_traffic_percent: must be a number from 0 to 100");
  EXPECT_EQ(ErrorOf("integrations:\n  github:\n    secret_env: \"not a name\"\n"),
            "integrations.github.secret_env: must be an environment variable name (letters, digits, _)");
  EXPECT_PRED2(Contains, ErrorOf("integrations:\n  cdevents:\n    default_release_class: \"a b\"\n"),
               "integrations.cdevents.default_release_class: ");
}

}  // namespace
}  // namespace backstop::config
