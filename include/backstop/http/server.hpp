#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "backstop/common/duration.hpp"
#include "backstop/common/result.hpp"

namespace backstop::metrics {
class Metrics;
}

namespace backstop::http {

class Router;

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;          // 0 = any free port, read back with port()
  int threads = 2;
  std::uint64_t body_limit = 1048576;
  std::uint32_t header_limit = 16384;
  Millis read_timeout = Millis(10000);
  Millis idle_timeout = Millis(60000);
  Millis request_timeout = Millis(5000);
  Millis shutdown_timeout = Millis(10000);
  // Both set: HTTPS only (PEM certificate chain and private key; TLS 1.2+).
  std::string tls_cert_file;
  std::string tls_key_file;
};

// The HTTP/1.1 server (Boost.Beast over Asio; both stay inside server.cpp),
// plain or, with a certificate and key, HTTPS only (the TLS handshake runs
// under the read timeout before the first request is read).
//
// Shape of Beast's async server: one session per connection, kept alive by
// its pending operations and serialized on a strand; a fresh parser per
// message with a body and header limit; a timeout before every read; one
// request at a time per connection. Every request gets an answer within
// request_timeout: if the handler has not answered by then (e.g. the
// database is down), the client gets 503 with Retry-After.
//
// Shutdown: stops accepting, closes idle connections, lets in-flight
// requests finish (up to shutdown_timeout), then stops the I/O threads.
// Thread-safe: Start and Shutdown may be called from any one thread.
class Server {
 public:
  Server(ServerOptions options, const Router& router, metrics::Metrics* metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving; fails (with the reason) if it cannot bind or
  // cannot load the TLS certificate or key (the error names tls.cert_file or
  // tls.key_file).
  Status Start();
  std::uint16_t port() const;

  // True once Shutdown began (readiness reports false from then on).
  bool draining() const;
  void Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backstop::http
