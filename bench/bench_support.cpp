#include "bench_support.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "backstop/common/sha256.hpp"
#include "backstop/store/migrator.hpp"
#include "backstop/store/schema_access.hpp"
#include "backstop/store/token_repository.hpp"

namespace backstop::bench {

namespace {

std::string WithDatabase(const std::string& url, const std::string& dbname) {
  return url.substr(0, url.rfind('/') + 1) + dbname;
}

}  // namespace

BenchServer::BenchServer(const std::string& thresholds_dir, void (*tune)(config::Config&)) {
  spdlog::set_level(spdlog::level::warn);  // figures only, not the server's log
  const char* base = std::getenv("BACKSTOP_BENCH_DATABASE_URL");
  if (base == nullptr) throw std::runtime_error("BACKSTOP_BENCH_DATABASE_URL is not set: run scripts/bench");
  base_url_ = base;
  name_ = "bench_" + RandomHex(6);
  url_ = WithDatabase(base_url_, name_);
  {
    pqxx::connection conn(base_url_);
    pqxx::nontransaction tx(conn);
    tx.exec("CREATE DATABASE " + conn.quote_name(name_));
  }
  {
    pqxx::connection conn(url_);
    auto applied = store::Migrate(conn, std::string(BACKSTOP_SOURCE_DIR) + "/migrations");
    if (!applied) throw std::runtime_error(applied.error().message);
    // Served as in production: by a role the owner granted access to.
    if (const char* serving = std::getenv("BACKSTOP_BENCH_SERVING_URL"); serving != nullptr && *serving != '\0') {
      const std::string serving_url = WithDatabase(serving, name_);
      pqxx::connection serving_conn(serving_url);
      auto granted = store::GrantServingAccess(conn, store::CurrentRole(serving_conn));
      if (!granted) throw std::runtime_error(granted.error().message);
      url_ = serving_url;
    }
  }
  config::Config c;
  c.listen_host = "127.0.0.1";
  c.listen_port = 0;
  c.database_url = url_;
  c.migrations_dir = std::string(BACKSTOP_SOURCE_DIR) + "/migrations";
  c.thresholds_dir = thresholds_dir.empty() ? std::string(BACKSTOP_SOURCE_DIR) + "/thresholds" : thresholds_dir;
  c.instance_id = "bench";
  c.log_level = "warn";
  c.executors.push_back(config::ExecutorConfig{});
  if (tune != nullptr) tune(c);
  app_ = std::make_unique<app::App>(c);
  if (auto s = app_->Start(); !s) throw std::runtime_error(s.error().message);
}

BenchServer::~BenchServer() {
  app_->Stop();
  app_.reset();
  try {
    pqxx::connection conn(base_url_);
    pqxx::nontransaction tx(conn);
    tx.exec("DROP DATABASE IF EXISTS " + conn.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception&) {
  }
}

std::string BenchServer::Token(const std::string& name, Role role) {
  pqxx::connection conn(url_);
  pqxx::work tx(conn);
  auto t = store::TokenRepository::Create(tx, name, role, "bench");
  if (!t) throw std::runtime_error(t.error().message);
  tx.commit();
  return *t;
}

BenchThresholds::BenchThresholds()
    : path_((std::filesystem::temp_directory_path() / ("backstop-bench-" + RandomHex(6))).string()) {
  std::filesystem::create_directories(path_);
  std::ofstream(std::filesystem::path(path_) / "bench.yaml")
      << "release_class: bench\nversion: 1\nreversibility: reversible_with_state\nautomation: auto\n"
         "budget:\n  max_auto_rollbacks: 1000\n  per: 1h\n"
         "evaluation:\n  window: 5m\n  min_samples: 5\n  breach_for: 0s\n  duration: 1h\n"
         "signals:\n  - name: http_5xx_ratio\n    max: 0.05\n";
}

BenchThresholds::~BenchThresholds() { std::filesystem::remove_all(path_); }

std::optional<std::chrono::system_clock::time_point> DeployAndBreach(http::HttpClient& client,
                                                                     const std::string& token,
                                                                     const std::string& id,
                                                                     const std::string& service) {
  const std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "Bearer " + token},
                                                                 {"Content-Type", "application/json"}};
  auto d = client.Send({"POST", "/v1/deployments", headers,
                        R"({"id":")" + id + R"(","service":")" + service +
                            R"(","environment":"prod","version":"v2","previous_version":"v1","release_class":"bench","traffic_percent":5})"});
  if (!d || d->status != 201) return std::nullopt;
  auto healthy = client.Send({"POST", "/v1/telemetry", headers, TelemetryBatch(service, "v2", 0.0, 4)});
  if (!healthy || healthy->status != 202) return std::nullopt;
  auto r = client.Send({"POST", "/v1/telemetry", headers, TelemetryBatch(service, "v2", 0.9, 6)});
  const auto responded = std::chrono::system_clock::now();
  if (!r || r->status != 202) return std::nullopt;
  return responded;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const auto hi = static_cast<std::size_t>(std::ceil(rank));
  return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
}

std::string TelemetryBatch(const std::string& service, const std::string& version, double value, int n) {
  std::string body = R"({"samples":[)";
  body.reserve(static_cast<std::size_t>(n) * 110);
  for (int i = 0; i < n; ++i) {
    if (i) body += ",";
    body += R"({"service":")" + service + R"(","environment":"prod","version":")" + version +
            R"(","signal":"http_5xx_ratio","value":)" + std::to_string(value) + "}";
  }
  body += "]}";
  return body;
}

}  // namespace backstop::bench
