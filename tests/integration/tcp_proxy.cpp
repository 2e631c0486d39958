#include "tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace backstop::testing {

TcpProxy::TcpProxy(std::string upstream_host, std::uint16_t upstream_port)
    : upstream_host_(std::move(upstream_host)), upstream_port_(upstream_port) {
  Listen();
}

TcpProxy::~TcpProxy() {
  Cut();
  for (auto& t : threads_) t.join();
}

void TcpProxy::Listen() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    throw std::runtime_error("proxy cannot listen");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  std::lock_guard lock(mutex_);
  listen_fd_ = fd;
  threads_.emplace_back([this, fd] { AcceptLoop(fd); });
}

void TcpProxy::AcceptLoop(int listen_fd) {
  for (;;) {
    const int client = ::accept(listen_fd, nullptr, nullptr);
    if (client < 0) return;  // listener shut down
    const int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(upstream_port_);
    ::inet_pton(AF_INET, upstream_host_.c_str(), &addr.sin_addr);
    if (::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(client);
      ::close(upstream);
      continue;
    }
    std::lock_guard lock(mutex_);
    if (listen_fd_ != listen_fd) {  // cut while connecting
      ::close(client);
      ::close(upstream);
      return;
    }
    fds_.push_back(client);
    fds_.push_back(upstream);
    auto pumps_left = std::make_shared<std::atomic<int>>(2);
    auto run = [this, client, upstream, pumps_left](int from, int to) {
      Pump(from, to);
      if (--*pumps_left == 0) {
        std::lock_guard inner(mutex_);
        std::erase(fds_, client);
        std::erase(fds_, upstream);
        ::close(client);
        ::close(upstream);
      }
    };
    threads_.emplace_back(run, client, upstream);
    threads_.emplace_back(run, upstream, client);
  }
}

void TcpProxy::Pump(int from, int to) {
  char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(from, buf, sizeof buf, 0);
    if (n <= 0) break;
    ssize_t sent = 0;
    while (sent < n) {
      const ssize_t m = ::send(to, buf + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
      if (m <= 0) {
        ::shutdown(from, SHUT_RDWR);
        return;
      }
      sent += m;
    }
  }
  ::shutdown(to, SHUT_RDWR);
}

void TcpProxy::Cut() {
  std::lock_guard lock(mutex_);
  if (listen_fd_ >= 0) {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  // shutdown (not close) wakes the pumps; the last pump of a connection closes it.
  for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
}

void TcpProxy::Restore() { Listen(); }

}  // namespace backstop::testing
