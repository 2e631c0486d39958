#include "bench_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <strings.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>
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
  owner_url_ = url_;
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
  // Experiments: BACKSTOP_BENCH_POOL_SIZE overrides database.pool_size.
  if (const char* pool = std::getenv("BACKSTOP_BENCH_POOL_SIZE")) c.database.pool_size = std::atoi(pool);
  // BACKSTOP_BENCH_TICK_MS overrides evaluation_tick (before `tune`, which wins).
  if (const char* tick = std::getenv("BACKSTOP_BENCH_TICK_MS")) c.evaluation_tick = Millis(std::atoi(tick));
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

namespace {

int ConnectLoopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{10, 0};  // a stuck server fails the request instead of hanging the run
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

bool WriteAll(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads one response (Content-Length framed); returns its status or -1.
// `buf` keeps bytes past the response for the next one.
int ReadResponse(int fd, std::string& buf) {
  char chunk[16384];
  std::size_t header_end;
  while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return -1;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  if (buf.size() < 12) return -1;
  const int status = std::atoi(buf.c_str() + 9);
  std::size_t length = 0;
  const std::string headers = buf.substr(0, header_end);
  for (std::size_t pos = 0; pos < headers.size();) {
    const std::size_t eol = headers.find("\r\n", pos);
    const std::string line = headers.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    if (line.size() > 15 && strncasecmp(line.c_str(), "content-length:", 15) == 0) {
      length = static_cast<std::size_t>(std::strtoull(line.c_str() + 15, nullptr, 10));
    }
    if (eol == std::string::npos) break;
    pos = eol + 2;
  }
  const std::size_t total = header_end + 4 + length;
  while (buf.size() < total) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return -1;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  buf.erase(0, total);
  return status;
}

}  // namespace

LoadResult RunLoad(std::uint16_t port, int connections, std::chrono::milliseconds duration,
                   int max_per_connection, const RequestMaker& make, int expect_status) {
  using Clock = std::chrono::steady_clock;
  std::vector<LoadResult> per(static_cast<std::size_t>(connections));
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      LoadResult& r = per[static_cast<std::size_t>(c)];
      int fd = ConnectLoopback(port);
      std::string buf;
      for (int i = 0; i < max_per_connection && Clock::now() - start < duration; ++i) {
        if (fd < 0) fd = ConnectLoopback(port);
        const std::string req = make(c, i);
        const auto t0 = Clock::now();
        int status = -1;
        if (fd >= 0 && WriteAll(fd, req)) status = ReadResponse(fd, buf);
        r.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (status == expect_status) {
          ++r.ok;
        } else {
          ++r.errors;
          if (status < 0 && fd >= 0) {
            ::close(fd);
            fd = -1;
            buf.clear();
          }
        }
      }
      if (fd >= 0) ::close(fd);
    });
  }
  for (auto& t : threads) t.join();
  LoadResult all;
  all.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& r : per) {
    all.ok += r.ok;
    all.errors += r.errors;
    all.latencies_ms.insert(all.latencies_ms.end(), r.latencies_ms.begin(), r.latencies_ms.end());
  }
  return all;
}

std::string RawPost(const std::string& target, const std::string& token, const std::string& body) {
  std::string req = "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  req += body;
  return req;
}

double Median(std::vector<double> values) { return Percentile(std::move(values), 50); }

void Summary(const std::string& figure, const std::string& value, const std::string& baseline,
             const std::string& ratio, const std::string& target) {
  std::printf("SUMMARY|%s|%s|%s|%s|%s\n", figure.c_str(), value.c_str(), baseline.c_str(), ratio.c_str(),
              target.c_str());
  std::fflush(stdout);
}

}  // namespace backstop::bench
