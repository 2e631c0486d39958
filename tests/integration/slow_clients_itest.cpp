// Slow clients (issue 16): connections that never finish their headers are
// closed within http.header_timeout, past http.max_connections new ones are
// closed at once, and neither stops a normal client from being served.
// Everything on 127.0.0.1, bounded in count and time.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "backstop/metrics/metrics.hpp"
#include "test_support.hpp"

namespace backstop::testing {
namespace {

using namespace std::chrono_literals;

// A raw client socket, closed on destruction.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(RawConnection&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RawConnection& operator=(RawConnection&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return fd_ >= 0; }
  bool Send(const std::string& bytes) const {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // True once the server has closed its side (end of stream or reset)
  // within `limit`; false while it stays open.
  bool ClosedByServerWithin(std::chrono::milliseconds limit) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
    char buf[256];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  int fd_ = -1;
};

// Room for `needed` descriptors: the soft limit is raised towards the hard one.
void EnsureDescriptors(rlim_t needed) {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    ASSERT_TRUE(limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= needed)
        << "the hard open-file limit " << limit.rlim_max << " is below the " << needed << " this test needs";
    limit.rlim_cur = needed;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
}

// The value of an unlabelled (or fully labelled) series in the exposition text.
double MetricValue(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 2));
}

// A normal client's request, timed.
struct Timed {
  int status = 0;
  std::chrono::milliseconds took{0};
};
Timed TimedRequest(TestServer& server, const std::string& target, const std::string& token) {
  const auto start = std::chrono::steady_clock::now();
  const int status = server.Request("GET", target, token).status;
  return {status, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)};
}

TEST(SlowClientsTest, ThousandSilentOrHalfSentConnectionsDoNotStopANormalClientAndAreClosedOnTime) {
  constexpr int kSilent = 500;
  constexpr int kHalfSent = 500;
  // Both ends of every connection live in this process.
  EnsureDescriptors(2 * (kSilent + kHalfSent) + 512);
  auto c = TestConfig("");
  c.http.header_timeout = Millis(2000);
  TestServer server(c);
  const std::string viewer = server.Token("viewer-1", Role::kViewer);

  std::vector<RawConnection> slow;
  slow.reserve(kSilent + kHalfSent);
  for (int i = 0; i < kSilent + kHalfSent; ++i) {
    RawConnection conn(server.port());
    ASSERT_TRUE(conn.ok()) << "connection " << i;
    // Half of them start a request and never finish its headers.
    if (i >= kSilent) {
      ASSERT_TRUE(conn.Send("GET /v1/mode HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
    }
    slow.push_back(std::move(conn));
  }
  const auto opened = std::chrono::steady_clock::now();

  // A normal client is served at once, with and without the database.
  for (const char* target : {"/healthz", "/v1/mode", "/readyz"}) {
    const Timed t = TimedRequest(server, target, viewer);
    EXPECT_EQ(t.status, 200) << target;
    EXPECT_LT(t.took, 2000ms) << target;
  }

  // Within header_timeout (plus slack) the server has closed every one of them.
  int closed = 0;
  for (const auto& conn : slow) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(opened + 8s - std::chrono::steady_clock::now());
    if (conn.ClosedByServerWithin(std::max(left, 1ms))) ++closed;
  }
  EXPECT_EQ(closed, kSilent + kHalfSent);
  // The stream closes the socket when its timer fires; the read it ends
  // completes (and is counted) a moment later.
  const auto timed_out = [&] {
    return MetricValue(server.app().metrics().Serialize(), R"(backstop_http_connections_timed_out_total{phase="header"})");
  };
  for (int i = 0; i < 100 && timed_out() < kSilent + kHalfSent; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(timed_out(), kSilent + kHalfSent);
  EXPECT_EQ(TimedRequest(server, "/v1/mode", viewer).status, 200);
}

TEST(SlowClientsTest, ConnectionsPastMaxConnectionsAreClosedAtOnceAndCounted) {
  auto c = TestConfig("");
  c.http.max_connections = 20;
  c.http.header_timeout = Millis(10000);
  TestServer server(c);
  const std::string viewer = server.Token("viewer-1", Role::kViewer);
  const auto metric = [&](const std::string& series) { return MetricValue(server.app().metrics().Serialize(), series); };

  std::vector<RawConnection> held;
  for (int i = 0; i < 20; ++i) {
    held.emplace_back(server.port());
    ASSERT_TRUE(held.back().ok());
  }
  for (int i = 0; i < 100 && metric("backstop_http_connections_open") < 20; ++i) std::this_thread::sleep_for(20ms);
  ASSERT_EQ(metric("backstop_http_connections_open"), 20);

  // Past the limit: accepted by the kernel, closed by Backstop at once.
  for (int i = 0; i < 5; ++i) {
    RawConnection extra(server.port());
    ASSERT_TRUE(extra.ok());
    EXPECT_TRUE(extra.ClosedByServerWithin(2000ms)) << "extra connection " << i;
  }
  EXPECT_EQ(metric("backstop_http_connections_rejected_total"), 5);

  // Slots freed by clients that leave are served again.
  held.erase(held.begin(), held.begin() + 10);
  for (int i = 0; i < 100 && metric("backstop_http_connections_open") > 10; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(TimedRequest(server, "/v1/mode", viewer).status, 200);
}

}  // namespace
}  // namespace backstop::testing
