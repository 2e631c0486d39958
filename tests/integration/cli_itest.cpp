#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "backstop/common/sha256.hpp"
#include "backstop/store/schema_access.hpp"
#include "process.hpp"
#include "test_support.hpp"

namespace backstop::testing {
namespace {

namespace fs = std::filesystem;

// A config file in a scratch folder, pointing at a test database.
class ConfigFile {
 public:
  ConfigFile(const std::string& database_url, const std::string& extra = "")
      : dir_(fs::temp_directory_path() / ("backstop-cli-" + RandomHex(6))) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / "backstop.yaml")
        << "listen: 127.0.0.1:0\n"
        << "database_url: " << database_url << "\n"
        << "migrations_dir: " << SourcePath("migrations") << "\n"
        << "thresholds_dir: " << SourcePath("thresholds") << "\n"
        << extra;
  }
  ~ConfigFile() { fs::remove_all(dir_); }
  std::string path() const { return (dir_ / "backstop.yaml").string(); }
  std::string dir() const { return dir_.string(); }

 private:
  fs::path dir_;
};

ProcessResult Backstop(const std::vector<std::string>& args) {
  std::vector<std::string> argv{BACKSTOP_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, {"BACKSTOP_DATABASE_URL=", "BACKSTOP_LISTEN=", "BACKSTOP_MIGRATION_DATABASE_URL="});
}

TEST(CliTest, MigrateAppliesThenIsANoOp) {
  TestDatabase db(TestDatabase::Kind::kEmpty);
  ConfigFile cfg(db.owner_url());
  auto first = Backstop({"migrate", "--config", cfg.path()});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  auto second = Backstop({"migrate", "--config", cfg.path()});
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("0 applied"), std::string::npos) << second.err;
}

// DESIGN "Audit log": migrate connects as the owner (migration_database_url)
// and grants the serving role (database_url) what serving needs, no more.
TEST(CliTest, MigrateAsTheOwnerGrantsTheServingRoleAccessButNoControl) {
  TestDatabase db(TestDatabase::Kind::kEmpty);
  // The serving role alone cannot create the schema.
  ConfigFile serving_only(db.url());
  auto refused = Backstop({"migrate", "--config", serving_only.path()});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("permission denied"), std::string::npos) << refused.err;

  ConfigFile cfg(db.url(), "migration_database_url: " + db.owner_url() + "\n");
  auto migrated = Backstop({"migrate", "--config", cfg.path()});
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_NE(migrated.err.find("granted role"), std::string::npos) << migrated.err;
  // What serving does works as the serving role: a token and its audit row.
  auto token = Backstop({"token", "create", "--config", cfg.path(), "--name", "ci-bot", "--role", "deployer"});
  EXPECT_EQ(token.exit_code, 0) << token.err;
  auto conn = db.Connect();
  {
    pqxx::read_transaction tx(*conn);
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM audit_log WHERE kind = 'token.created'")[0].as<int>(), 1);
    const auto control = store::AuditTableControlOf(tx);
    ASSERT_TRUE(control.has_value());
    EXPECT_FALSE(control->controls) << control->role << " controls audit_log";
  }
  for (const char* sql : {"ALTER TABLE audit_log DISABLE TRIGGER USER", "INSERT INTO schema_migrations "
                          "(version, name, checksum) VALUES (9999, 'x', 'y')", "TRUNCATE releases"}) {
    pqxx::work tx(*conn);
    EXPECT_THROW(tx.exec0(sql), pqxx::sql_error) << sql;
  }
  // Serving (which migrates first unless --no-migrate) needs no owner rights
  // when nothing is pending; it is the serving role's own check.
  auto again = Backstop({"migrate", "--config", serving_only.path()});
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

TEST(CliTest, TokenCreatePrintsTheTokenAloneAndStoresOnlyItsHash) {
  TestDatabase db;
  ConfigFile cfg(db.url());
  auto r = Backstop({"token", "create", "--config", cfg.path(), "--name", "ci-bot", "--role", "deployer"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.back(), '\n');
  const std::string token = r.out.substr(0, r.out.size() - 1);
  EXPECT_EQ(token.find('\n'), std::string::npos);
  EXPECT_GE(token.size(), 32u);
  auto conn = db.Connect();
  pqxx::read_transaction tx(*conn);
  EXPECT_EQ(tx.exec1("SELECT token_sha256 FROM api_tokens WHERE name = 'ci-bot'")[0].as<std::string>(),
            Sha256Hex(token));
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM audit_log WHERE kind = 'token.created'")[0].as<int>(), 1);
}

TEST(CliTest, TokenCreateRejectsBadRoleDuplicateNameAndRevokeUnknown) {
  TestDatabase db;
  ConfigFile cfg(db.url());
  EXPECT_NE(Backstop({"token", "create", "--config", cfg.path(), "--name", "x", "--role", "root"}).exit_code, 0);
  EXPECT_EQ(Backstop({"token", "create", "--config", cfg.path(), "--name", "x", "--role", "viewer"}).exit_code, 0);
  auto dup = Backstop({"token", "create", "--config", cfg.path(), "--name", "x", "--role", "viewer"});
  EXPECT_NE(dup.exit_code, 0);
  EXPECT_TRUE(dup.out.empty());
  EXPECT_NE(Backstop({"token", "revoke", "--config", cfg.path(), "--name", "nobody"}).exit_code, 0);
  auto revoke = Backstop({"token", "revoke", "--config", cfg.path(), "--name", "x"});
  EXPECT_EQ(revoke.exit_code, 0) << revoke.err;
  // A revoked name may be issued again.
  EXPECT_EQ(Backstop({"token", "create", "--config", cfg.path(), "--name", "x", "--role", "viewer"}).exit_code, 0);
}

// Two servers on one database hold a telemetry token in memory (telemetry
// takes principals from memory); `token revoke` still stops it on both
// within a second (NOTIFY; the one-second TTL as the backstop).
TEST(CliTest, TokenRevokeStopsACachedTokenOnEveryServerWithinOneSecond) {
  TestServer first;
  app::App second(TestConfig(first.db().url()));
  ASSERT_TRUE(second.Start().ok());
  ConfigFile cfg(first.db().url());
  auto created = Backstop({"token", "create", "--config", cfg.path(), "--name", "agent", "--role", "telemetry"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string token = created.out.substr(0, created.out.size() - 1);
  const std::string batch = TelemetryBatch("checkout", "v2", 0.01, 1);
  http::HttpClient to_first("127.0.0.1", first.port());
  http::HttpClient to_second("127.0.0.1", second.port());
  const auto post = [&](http::HttpClient& client) {
    auto r = client.Send({"POST", "/v1/telemetry",
                          {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}, batch},
                         Millis(5000));
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : http::ClientResponse{};
  };
  ASSERT_EQ(post(to_first).status, 202);
  // The second process is the standby evaluator: past authentication, it
  // refuses telemetry as such.
  auto standby = post(to_second);
  ASSERT_EQ(standby.status, 503) << standby.body;
  ASSERT_NE(standby.body.find("standby"), std::string::npos) << standby.body;

  auto revoked = Backstop({"token", "revoke", "--config", cfg.path(), "--name", "agent"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  int on_first = post(to_first).status;
  int on_second = post(to_second).status;
  while ((on_first != 401 || on_second != 401) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    on_first = post(to_first).status;
    on_second = post(to_second).status;
  }
  EXPECT_EQ(on_first, 401);
  EXPECT_EQ(on_second, 401);
  second.Stop();
}

TEST(CliTest, ConfigErrorNamesTheKey) {
  TestDatabase db;
  ConfigFile cfg(db.url(), "limits:\n  max_bodies: 3\n");
  auto r = Backstop({"migrate", "--config", cfg.path()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("limits.max_bodies"), std::string::npos) << r.err;
}

TEST(CliTest, ConfigStartingWithACommaIsAStartUpErrorNamingFileAndLine) {
  // yaml-cpp 0.7 alone allocated on this file until std::bad_alloc aborted the process.
  const fs::path dir = fs::temp_directory_path() / ("backstop-cli-" + RandomHex(6));
  fs::create_directories(dir);
  const std::string path = (dir / "backstop.yaml").string();
  std::ofstream(path) << ",\nlisten: x";
  for (const char* command : {"migrate", "serve"}) {
    auto r = Backstop({command, "--config", path});
    EXPECT_GT(r.exit_code, 0) << command << ": " << r.err;  // an exit, not a signal
    EXPECT_NE(r.err.find(path + ": YAML parse error at line 1, column 1"), std::string::npos)
        << command << ": " << r.err;
  }
  fs::remove_all(dir);
}

TEST(CliTest, ThresholdsValidateNeedsNoDatabaseAndNamesFileFieldAndReason) {
  auto shipped = Backstop({"thresholds", "validate", SourcePath("thresholds")});
  EXPECT_EQ(shipped.exit_code, 0) << shipped.err;
  EXPECT_TRUE(shipped.err.empty()) << shipped.err;
  ThresholdDir dir;
  dir.Write("good.yaml", ThresholdYaml("good", 1));
  dir.Write("bad.yaml", "release_class: bad\nversion: 1\nreversibility: irreversible\nautomation: auto\n"
                        "evaluation:\n  window: 5m\n  min_samples: 5\nsignals:\n  - name: x\n    max: 1\n");
  auto r = Backstop({"thresholds", "validate", dir.path()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("bad.yaml: automation: "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("good.yaml"), std::string::npos) << r.err;
}

TEST(CliTest, ThresholdsValidateWithConfigNamesAQueryForAnUnknownSource) {
  // The config's header secret is not set: validation reads the file alone.
  ConfigFile cfg("postgresql://nobody@127.0.0.1:1/none",
                 "telemetry_sources:\n  - name: prom-main\n    type: prometheus\n    url: http://127.0.0.1:9090\n"
                 "    headers_env: {Authorization: BACKSTOP_TEST_UNSET_PROM_AUTH}\n");
  ThresholdDir dir;
  dir.Write("good.yaml", ThresholdYaml("good", 1) + "    queries:\n      prom-main: job:http_5xx_ratio:rate1m\n");
  dir.Write("typo.yaml", ThresholdYaml("typo", 1) + "    queries:\n      prom-mian: job:http_5xx_ratio:rate1m\n");
  auto r = Backstop({"thresholds", "validate", dir.path(), "--config", cfg.path()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err,
            "typo.yaml: signals[0].queries.prom-mian: unknown telemetry source \"prom-mian\" (configured: "
            "prom-main)\n");
  EXPECT_EQ(r.out, "1 of 2 files valid\n");
  // Without --config the same files are valid.
  EXPECT_EQ(Backstop({"thresholds", "validate", dir.path()}).exit_code, 0);
  // A config that is not valid is an error naming it.
  auto bad = Backstop({"thresholds", "validate", dir.path(), "--config", cfg.dir() + "/missing.yaml"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("missing.yaml"), std::string::npos) << bad.err;
}

TEST(CliTest, ServeRefusesToStartWhenATelemetrySourceHeaderVariableIsUnset) {
  TestDatabase db;
  ConfigFile cfg(db.url(),
                 "telemetry_sources:\n  - name: prom-main\n    type: prometheus\n    url: http://127.0.0.1:9090\n"
                 "    headers_env: {Authorization: BACKSTOP_TEST_UNSET_PROM_AUTH}\n");
  auto r = Backstop({"serve", "--config", cfg.path()});
  EXPECT_GT(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("telemetry_sources[0].headers_env.Authorization: environment variable "
                       "BACKSTOP_TEST_UNSET_PROM_AUTH is not set"),
            std::string::npos)
      << r.err;
}

// The log of a starting `backstop serve` once it serves (bounded wait).
std::string StartServing(const std::string& log) {
  std::string text;
  for (int i = 0; i < 100 && text.find("serving on") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream in(log);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  return text;
}

TEST(CliTest, ServeWarnsWhenItsRoleOwnsTheAuditTable) {
  TestDatabase db;
  ConfigFile cfg(db.owner_url());
  const std::string log = cfg.dir() + "/serve.log";
  ChildProcess child({BACKSTOP_BINARY, "serve", "--config", cfg.path()},
                     {"BACKSTOP_DATABASE_URL=", "BACKSTOP_LISTEN=", "BACKSTOP_MIGRATION_DATABASE_URL="}, log);
  const std::string text = StartServing(log);
  ASSERT_NE(text.find("serving on"), std::string::npos) << text;
  EXPECT_NE(text.find("the audit table audit_log"), std::string::npos) << text;
  child.Signal(SIGTERM);
  EXPECT_EQ(child.Wait(std::chrono::seconds(20)), 0);
}

TEST(CliTest, ServeShutsDownGracefullyOnSigterm) {
  TestDatabase db;
  ConfigFile cfg(db.url());
  const std::string log = cfg.dir() + "/serve.log";
  ChildProcess child({BACKSTOP_BINARY, "serve", "--config", cfg.path()},
                     {"BACKSTOP_DATABASE_URL=", "BACKSTOP_LISTEN=", "BACKSTOP_MIGRATION_DATABASE_URL="}, log);
  std::string text = StartServing(log);
  ASSERT_NE(text.find("serving on"), std::string::npos) << text;
  // The serving role only has grants: no warning about the audit table.
  EXPECT_EQ(text.find("the audit table audit_log"), std::string::npos) << text;
  child.Signal(SIGTERM);
  EXPECT_EQ(child.Wait(std::chrono::seconds(20)), 0);
  std::ifstream in(log);
  text.assign(std::istreambuf_iterator<char>(in), {});
  EXPECT_NE(text.find("stopped"), std::string::npos) << text;
}

}  // namespace
}  // namespace backstop::testing
