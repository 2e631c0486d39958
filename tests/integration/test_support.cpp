#include "test_support.hpp"

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "backstop/common/sha256.hpp"
#include "backstop/store/migrator.hpp"
#include "backstop/store/schema_access.hpp"
#include "backstop/store/token_repository.hpp"

namespace backstop::testing {

namespace {

std::string RequiredEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    ADD_FAILURE() << name << " is not set: run the tests through scripts/test";
    throw std::runtime_error(std::string(name) + " is not set");
  }
  return v;
}

// The serving role's name (current_user of ServingDatabaseUrl), asked once.
const std::string& ServingRole() {
  static const std::string role = [] {
    pqxx::connection conn(ServingDatabaseUrl());
    return store::CurrentRole(conn);
  }();
  return role;
}

// One template per migration set and serving role, so a changed migration
// (or another serving role) gets a new template.
std::string TemplateName() {
  auto files = store::ListMigrations(SourcePath("migrations"));
  if (!files) throw std::runtime_error(files.error().message);
  std::string all;
  for (const auto& f : *files) all += f.checksum;
  return "backstop_tpl_" + Sha256Hex(all + "\n" + ServingRole()).substr(0, 16);
}

// Creates the migrated template once; concurrent test processes serialize on
// an advisory lock in the base database.
void EnsureTemplate(const std::string& tpl) {
  pqxx::connection base(TestDatabaseUrl());
  pqxx::nontransaction lock_tx(base);
  lock_tx.exec("SELECT pg_advisory_lock(4242)");
  const bool exists = !lock_tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", tpl).empty();
  if (!exists) {
    const std::string building = tpl + "_building";
    lock_tx.exec("DROP DATABASE IF EXISTS " + base.quote_name(building));
    lock_tx.exec("CREATE DATABASE " + base.quote_name(building));
    {
      // As `backstop migrate` does: migrate as the owner, then grant the
      // serving role its access (databases copied from the template keep both).
      pqxx::connection conn(WithDatabase(TestDatabaseUrl(), building));
      auto applied = store::Migrate(conn, SourcePath("migrations"));
      if (!applied) throw std::runtime_error("migrating the template: " + applied.error().message);
      if (ServingRole() != store::CurrentRole(conn)) {
        auto granted = store::GrantServingAccess(conn, ServingRole());
        if (!granted) throw std::runtime_error(granted.error().message);
      }
    }
    lock_tx.exec("ALTER DATABASE " + base.quote_name(building) + " RENAME TO " + base.quote_name(tpl));
  }
  lock_tx.exec("SELECT pg_advisory_unlock(4242)");
}

}  // namespace

std::string TestDatabaseUrl() { return RequiredEnv("BACKSTOP_TEST_DATABASE_URL"); }
std::string ServingDatabaseUrl() {
  const char* v = std::getenv("BACKSTOP_TEST_SERVING_URL");
  return v == nullptr || *v == '\0' ? TestDatabaseUrl() : std::string(v);
}
std::string AdminDatabaseUrl() { return RequiredEnv("BACKSTOP_TEST_ADMIN_URL"); }

std::string SourcePath(const std::string& relative) {
  return std::string(BACKSTOP_SOURCE_DIR) + "/" + relative;
}

std::string WithDatabase(const std::string& url, const std::string& dbname) {
  const auto slash = url.rfind('/');
  const auto query = url.find('?', slash);
  return url.substr(0, slash + 1) + dbname + (query == std::string::npos ? "" : url.substr(query));
}

TestDatabase::TestDatabase(Kind kind) {
  name_ = "bt_" + RandomHex(8);
  url_ = WithDatabase(ServingDatabaseUrl(), name_);
  owner_url_ = WithDatabase(TestDatabaseUrl(), name_);
  pqxx::connection base(TestDatabaseUrl());
  pqxx::nontransaction tx(base);
  if (kind == Kind::kMigrated) {
    const std::string tpl = TemplateName();
    EnsureTemplate(tpl);
    tx.exec("CREATE DATABASE " + base.quote_name(name_) + " TEMPLATE " + base.quote_name(tpl));
  } else {
    tx.exec("CREATE DATABASE " + base.quote_name(name_));
  }
}

TestDatabase::~TestDatabase() {
  // A superuser connection a test just closed (the audit tamperer) can
  // still be exiting on the server, and WITH (FORCE) as the test role may
  // not terminate it ("must be a superuser to terminate superuser
  // process"): try again for a moment (bounded) before failing.
  std::string last_error;
  for (int attempt = 0; attempt < 50; ++attempt) {
    try {
      pqxx::connection base(TestDatabaseUrl());
      pqxx::nontransaction tx(base);
      tx.exec("DROP DATABASE IF EXISTS " + base.quote_name(name_) + " WITH (FORCE)");
      return;
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ADD_FAILURE() << "dropping test database " << name_ << ": " << last_error;
}

std::string TestDatabase::admin_url() const { return WithDatabase(AdminDatabaseUrl(), name_); }

std::unique_ptr<pqxx::connection> TestDatabase::Connect() const {
  return std::make_unique<pqxx::connection>(url_);
}

std::unique_ptr<pqxx::connection> TestDatabase::ConnectAsOwner() const {
  return std::make_unique<pqxx::connection>(owner_url_);
}

config::Config TestConfig(const std::string& database_url) {
  config::Config c;
  c.listen_host = "127.0.0.1";
  c.listen_port = 0;
  c.database_url = database_url;
  c.migrations_dir = SourcePath("migrations");
  c.thresholds_dir = SourcePath("thresholds");
  c.instance_id = "test-" + RandomHex(4);
  c.http.threads = 2;
  c.http.request_timeout = Millis(10000);  // generous: tests share 2 cores with a busy database
  c.http.shutdown_timeout = Millis(5000);
  c.database.pool_size = 4;
  c.executors.push_back(config::ExecutorConfig{});
  return c;
}

config::ExecutorConfig WebhookExecutor(const std::string& url, const std::string& secret_env, Millis timeout,
                                       int max_attempts) {
  config::ExecutorConfig e;
  e.match = "*";
  e.type = config::ExecutorType::kWebhook;
  e.url = url;
  e.secret_env = secret_env;
  e.timeout = timeout;
  e.max_attempts = max_attempts;
  return e;
}

TestServer::TestServer(std::optional<config::Config> config)
    : db_(std::make_unique<TestDatabase>()) {
  config::Config c = config ? *config : TestConfig(db_->url());
  c.database_url = db_->url();
  app_ = std::make_unique<app::App>(c);
  auto s = app_->Start();
  if (!s) throw std::runtime_error("server did not start: " + s.error().message);
}

TestServer::~TestServer() {
  app_->Stop();
  app_.reset();
}

std::string TestServer::Token(const std::string& name, Role role) {
  auto conn = db_->Connect();
  pqxx::work tx(*conn);
  auto token = store::TokenRepository::Create(tx, name, role, "test");
  if (!token) throw std::runtime_error(token.error().message);
  tx.commit();
  return *token;
}

http::ClientResponse TestServer::Request(const std::string& method, const std::string& target,
                                         const std::string& token, const std::string& body,
                                         const std::string& content_type) {
  http::HttpClient client("127.0.0.1", port());
  http::ClientRequest req;
  req.method = method;
  req.target = target;
  req.body = body;
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  if (!body.empty() && !content_type.empty()) req.headers.emplace_back("Content-Type", content_type);
  auto r = client.Send(req, Millis(15000));
  if (!r) throw std::runtime_error("request failed: " + r.error().message);
  return *r;
}

boost::json::value ParseJson(const std::string& text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec) {
    ADD_FAILURE() << "not JSON: " << text;
    return nullptr;
  }
  return v;
}

std::string ErrorCode(const http::ClientResponse& r) {
  auto v = ParseJson(r.body);
  if (!v.is_object()) return "";
  const auto* e = v.as_object().if_contains("error");
  if (e == nullptr || !e->is_object()) return "";
  const auto* c = e->as_object().if_contains("code");
  return c != nullptr && c->is_string() ? std::string(c->as_string()) : "";
}

}  // namespace backstop::testing

#include <filesystem>
#include <fstream>

namespace backstop::testing {

ThresholdDir::ThresholdDir()
    : path_((std::filesystem::temp_directory_path() / ("backstop-th-" + RandomHex(6))).string()) {
  std::filesystem::create_directories(path_);
}

ThresholdDir::~ThresholdDir() { std::filesystem::remove_all(path_); }

void ThresholdDir::Write(const std::string& name, const std::string& yaml) const {
  std::ofstream(std::filesystem::path(path_) / name, std::ios::trunc) << yaml;
}

void ThresholdDir::Remove(const std::string& name) const {
  std::filesystem::remove(std::filesystem::path(path_) / name);
}

std::string ThresholdYaml(const std::string& release_class, int version, const std::string& automation,
                          double max_5xx) {
  const std::string reversibility = automation == "auto" ? "reversible_with_state" : "reversible_with_backup";
  return "release_class: " + release_class + "\n" + "version: " + std::to_string(version) + "\n" +
         "reversibility: " + reversibility + "\n" + "automation: " + automation + "\n" +
         "evaluation:\n  window: 5m\n  min_samples: 5\n  breach_for: 0s\n"
         "signals:\n  - name: http_5xx_ratio\n    max: " + std::to_string(max_5xx) + "\n";
}

http::ClientResponse PostDeployment(TestServer& server, const std::string& token, const std::string& body) {
  return server.Request("POST", "/v1/deployments", token, body);
}

}  // namespace backstop::testing

namespace backstop::testing {

std::string TelemetryBatch(const std::string& service, const std::string& version, double value, int n,
                           const std::string& source) {
  std::string body = R"({"samples":[)";
  for (int i = 0; i < n; ++i) {
    if (i) body += ",";
    body += R"({"service":")" + service + R"(","environment":"prod","version":")" + version +
            R"(","signal":"http_5xx_ratio","value":)" + std::to_string(value) +
            (source.empty() ? "" : R"(,"source":")" + source + "\"") + "}";
  }
  return body + "]}";
}

}  // namespace backstop::testing
