#include "prometheus_fixture.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <boost/json.hpp>

#include "backstop/http/client.hpp"
#include "backstop/pull/pull_plan.hpp"

namespace backstop::testing {

namespace {

constexpr const char* kPrometheusBinary = "/usr/bin/prometheus";
constexpr double kRequestsPerSecond = 100.0;
constexpr auto kReadyLimit = std::chrono::seconds(30);

}  // namespace

std::uint16_t FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// ---- BlackHole -------------------------------------------------------------

BlackHole::BlackHole() {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 64) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("black hole socket");
  }
  port_ = ntohs(addr.sin_port);
}

BlackHole::~BlackHole() { ::close(fd_); }

// ---- MetricsExporter -------------------------------------------------------

MetricsExporter::MetricsExporter() : last_scrape_(std::chrono::steady_clock::now()), router_(auth_) {
  router_.Add({"GET", "/metrics", {}, http::BodyPolicy::kNone,
               [this](const http::RequestContext&, http::Respond respond) {
                 http::Response r;
                 r.status = 200;
                 r.content_type = "text/plain; version=0.0.4";
                 r.body = Render();
                 respond(std::move(r));
               }});
  http::ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.threads = 1;
  o.shutdown_timeout = std::chrono::milliseconds(1000);
  server_ = std::make_unique<http::Server>(o, router_, nullptr);
  if (auto s = server_->Start(); !s) throw std::runtime_error(s.error().message);
  port_ = server_->port();
}

MetricsExporter::~MetricsExporter() { Stop(); }

void MetricsExporter::SetErrorRatio(const std::string& family, const std::string& version, double ratio) {
  std::lock_guard lock(mutex_);
  counters_[{family, version}].ratio = ratio;
}

void MetricsExporter::Stop() {
  if (server_) server_->Shutdown();
}

int MetricsExporter::scrapes() const {
  std::lock_guard lock(mutex_);
  return scrapes_;
}

std::string MetricsExporter::Render() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - last_scrape_).count();
  last_scrape_ = now;
  ++scrapes_;
  std::string out;
  std::string last_family;
  for (auto& [key, c] : counters_) {
    const auto& [family, version] = key;
    c.errors += elapsed * kRequestsPerSecond * c.ratio;
    c.ok += elapsed * kRequestsPerSecond * (1.0 - c.ratio);
    if (family != last_family) {
      out += "# TYPE " + family + " counter\n";
      last_family = family;
    }
    char line[512];
    for (const auto& [code, value] : {std::pair<const char*, double>{"200", c.ok}, {"500", c.errors}}) {
      std::snprintf(line, sizeof line,
                    "%s{service=\"checkout\",namespace=\"prod\",version=\"%s\",code=\"%s\"} %.6f\n",
                    family.c_str(), version.c_str(), code, value);
      out += line;
    }
  }
  return out;
}

// ---- PrometheusServer ------------------------------------------------------

PrometheusServer::PrometheusServer(std::uint16_t target_port) : port_(FreeLoopbackPort()) {
  if (!std::filesystem::exists(kPrometheusBinary)) {
    throw std::runtime_error(std::string(kPrometheusBinary) +
                             " is missing: scripts/test installs the Debian package prometheus");
  }
  dir_.Write("prometheus.yml",
             "global:\n"
             "  scrape_interval: 1s\n"
             "  scrape_timeout: 1s\n"
             "  evaluation_interval: 1s\n"
             "scrape_configs:\n"
             "  - job_name: exporter\n"
             "    static_configs:\n"
             "      - targets: [\"127.0.0.1:" + std::to_string(target_port) + "\"]\n");
  Launch();
}

PrometheusServer::~PrometheusServer() { Kill(); }

void PrometheusServer::Launch() {
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{kPrometheusBinary, "--config.file=" + dir_.path() + "/prometheus.yml",
                               "--storage.tsdb.path=" + dir_.path() + "/data",
                               "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"},
      std::vector<std::string>{}, dir_.path() + "/prometheus.log");
  http::HttpClient client("127.0.0.1", port_);
  const auto deadline = std::chrono::steady_clock::now() + kReadyLimit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = client.Send(http::ClientRequest{"GET", "/-/ready", {}, ""}, std::chrono::milliseconds(1000));
    if (r.ok() && r->status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("prometheus did not become ready on port " + std::to_string(port_));
}

void PrometheusServer::Kill() {
  if (!process_) return;
  process_->Signal(SIGKILL);
  process_->Wait(std::chrono::seconds(10));
  process_.reset();
}

void PrometheusServer::Restart() {
  Kill();
  Launch();
}

bool PrometheusServer::AwaitResult(const std::string& query, std::chrono::milliseconds limit) const {
  http::HttpClient client("127.0.0.1", port_);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    http::ClientRequest request{"POST", "/api/v1/query", {{"Content-Type", "application/x-www-form-urlencoded"}},
                                "query=" + pull::FormEncode(query)};
    auto r = client.Send(request, std::chrono::milliseconds(2000));
    if (r.ok() && r->status == 200) {
      boost::system::error_code ec;
      const auto v = boost::json::parse(r->body, ec);
      if (!ec && !v.at("data").at("result").as_array().empty()) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

// ---- LogCapture ------------------------------------------------------------

void LogCapture::sink_it_(const spdlog::details::log_msg& msg) {
  lines_.emplace_back(msg.payload.data(), msg.payload.size());
}

std::vector<std::string> LogCapture::Lines() {
  std::lock_guard lock(mutex_);
  return lines_;
}

int LogCapture::Count(const std::string& text) {
  int n = 0;
  for (const auto& line : Lines()) n += line.find(text) != std::string::npos ? 1 : 0;
  return n;
}

}  // namespace backstop::testing
