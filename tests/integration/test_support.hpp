#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <pqxx/pqxx>

#include "backstop/app/app.hpp"
#include "backstop/common/role.hpp"
#include "backstop/config/config.hpp"
#include "backstop/http/client.hpp"

namespace backstop::testing {

// BACKSTOP_TEST_DATABASE_URL, set by scripts/test: the role that creates,
// migrates and owns test databases (the schema owner). Missing = the test
// fails (never a skip): integration tests must run against a real PostgreSQL.
std::string TestDatabaseUrl();
// BACKSTOP_TEST_SERVING_URL: the role servers and tests connect as, granted
// access by the owner like `backstop migrate` does (default: the owner's URL).
// The owner must be a member of it, to end its sessions when dropping a
// test database.
std::string ServingDatabaseUrl();
// BACKSTOP_TEST_ADMIN_URL: a superuser, for tests that tamper like an attacker would.
std::string AdminDatabaseUrl();

// Replaces the database name of a postgresql:// URL.
std::string WithDatabase(const std::string& url, const std::string& dbname);

// A database of its own for one test: a copy of a template migrated once per
// migration set (or empty, for migration tests). Dropped at the end.
class TestDatabase {
 public:
  enum class Kind { kMigrated, kEmpty };
  explicit TestDatabase(Kind kind = Kind::kMigrated);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // The database as the serving role (what a TestServer serves with).
  const std::string& url() const { return url_; }
  // The database as the owner of its schema (migrations).
  const std::string& owner_url() const { return owner_url_; }
  const std::string& name() const { return name_; }
  // The same database, as the superuser.
  std::string admin_url() const;
  std::unique_ptr<pqxx::connection> Connect() const;
  std::unique_ptr<pqxx::connection> ConnectAsOwner() const;

 private:
  std::string name_;
  std::string url_;
  std::string owner_url_;
};

// A config for an in-process server on 127.0.0.1:0 against `db`.
config::Config TestConfig(const std::string& database_url);

// A webhook executor for every service: POST to `url`, signed with the
// secret held in the environment variable `secret_env`.
config::ExecutorConfig WebhookExecutor(const std::string& url, const std::string& secret_env,
                                       Millis timeout = Millis(2000), int max_attempts = 5);

// A real App (HTTP server on 127.0.0.1, port 0) against its own database.
class TestServer {
 public:
  explicit TestServer(std::optional<config::Config> config = std::nullopt);
  ~TestServer();

  std::uint16_t port() const { return app_->port(); }
  app::App& app() { return *app_; }
  TestDatabase& db() { return *db_; }

  // Creates a token for `name` with `role` directly in the database.
  std::string Token(const std::string& name, Role role);

  // One request on a fresh keep-alive client.
  http::ClientResponse Request(const std::string& method, const std::string& target,
                               const std::string& token = "", const std::string& body = "",
                               const std::string& content_type = "application/json");

 private:
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<app::App> app_;
};

boost::json::value ParseJson(const std::string& text);
// error.code of an error answer, or "" if the body has none.
std::string ErrorCode(const http::ClientResponse& r);

// Path of a file in the source tree.
std::string SourcePath(const std::string& relative);

}  // namespace backstop::testing

namespace backstop::testing {

// A scratch thresholds folder a test fills with files.
class ThresholdDir {
 public:
  ThresholdDir();
  ~ThresholdDir();
  ThresholdDir(const ThresholdDir&) = delete;
  ThresholdDir& operator=(const ThresholdDir&) = delete;
  const std::string& path() const { return path_; }
  void Write(const std::string& name, const std::string& yaml) const;
  void Remove(const std::string& name) const;

 private:
  std::string path_;
};

// A minimal valid threshold file; `extra` lines are appended at top level.
std::string ThresholdYaml(const std::string& release_class, int version,
                          const std::string& automation = "auto", double max_5xx = 0.05);

// POSTs a deployment and returns the response.
http::ClientResponse PostDeployment(TestServer& server, const std::string& token,
                                    const std::string& body);

}  // namespace backstop::testing

namespace backstop::testing {

inline bool IsOneOf(std::string_view s, std::initializer_list<std::string_view> options) {
  for (auto o : options) {
    if (s == o) return true;
  }
  return false;
}

// A release whose rollback was decided: queued, running or done.
inline bool IsRollbackStatus(std::string_view s) { return IsOneOf(s, {"rolling_back", "rolled_back"}); }

}  // namespace backstop::testing

namespace backstop::testing {

// True when the audit answer's entries include one of `kind`.
inline bool HasAuditKind(const boost::json::value& audit_answer, std::string_view kind) {
  for (const auto& e : audit_answer.at("entries").as_array()) {
    if (e.at("kind").as_string() == kind) return true;
  }
  return false;
}

}  // namespace backstop::testing

namespace backstop::testing {

// A telemetry body of `n` samples of http_5xx_ratio = `value` in environment prod.
std::string TelemetryBatch(const std::string& service, const std::string& version, double value, int n,
                           const std::string& source = "");

}  // namespace backstop::testing
