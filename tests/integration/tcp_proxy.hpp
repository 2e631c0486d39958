#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace backstop::testing {

// A loopback TCP proxy in front of PostgreSQL, so a test can take the
// database away from one Backstop (Cut) and give it back (Restore) without
// stopping the cluster the other tests share. From Backstop's side this is
// exactly a database outage: connections reset, new ones refused.
class TcpProxy {
 public:
  TcpProxy(std::string upstream_host, std::uint16_t upstream_port);
  ~TcpProxy();

  std::uint16_t port() const { return port_; }
  void Cut();      // close every connection and stop accepting
  void Restore();  // accept again on the same port

 private:
  void Listen();
  void AcceptLoop(int listen_fd);
  void Pump(int from, int to);

  std::string upstream_host_;
  std::uint16_t upstream_port_;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  int listen_fd_ = -1;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
};

}  // namespace backstop::testing
