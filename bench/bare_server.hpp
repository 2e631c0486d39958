#pragma once

#include <cstdint>
#include <memory>

namespace backstop::bench {

// The baseline for telemetry throughput: the least an HTTP server on this
// machine must do for a telemetry batch -- Beast reads the request on a
// keep-alive connection, Boost.JSON parses the body and every sample's
// fields are looked at, and it answers 202 with the count. No auth, no
// validation rules, no storage. Same I/O thread count as Backstop's default.
class BareServer {
 public:
  explicit BareServer(int threads = 2);
  ~BareServer();
  BareServer(const BareServer&) = delete;
  BareServer& operator=(const BareServer&) = delete;

  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backstop::bench
