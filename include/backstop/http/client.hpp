#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backstop/common/duration.hpp"
#include "backstop/common/result.hpp"

namespace backstop::http {

struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::string Header(const std::string& name) const;  // case-insensitive; "" if absent
};

// What an https client trusts: the system's CA store, or the certificates of
// one `ca_file` (and then only those). Every connection made with it
// verifies the peer's chain, checks the host name (DNS name or IP address
// against the certificate's subjectAltName), sends SNI for DNS names and
// speaks TLS 1.2 or newer. There is deliberately no way to turn
// verification off. Built once per executor or notifier (loading a CA file
// is not free); immutable and thread-safe once built.
class TlsClientContext {
 public:
  // `ca_file` empty: the system store. A file that cannot be read or holds
  // no certificate is an error naming it.
  static Result<std::shared_ptr<const TlsClientContext>> Create(const std::string& ca_file);
  // The system store, loaded once per process.
  static std::shared_ptr<const TlsClientContext> System();

  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  struct Impl;  // Asio's ssl::context, kept out of this header
  Impl& impl() const { return *impl_; }

 private:
  TlsClientContext();
  std::unique_ptr<Impl> impl_;
};

// Where a client connects. `tls` null with `https` = the system store.
struct ClientEndpoint {
  bool https = false;
  std::string host;
  std::uint16_t port = 80;
  std::shared_ptr<const TlsClientContext> tls;
};

// A blocking HTTP/1.1 client over one keep-alive connection, plain or TLS
// (Beast inside). The one client of every outbound caller: rollback
// webhooks, notifiers, tests and benchmarks. Not thread-safe: one per
// thread. Reconnects on the next call after an error.
class HttpClient {
 public:
  HttpClient(std::string host, std::uint16_t port);  // plain http
  explicit HttpClient(ClientEndpoint endpoint);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends and waits for the answer within `timeout` (connect + TLS handshake
  // + write + read). A timeout, connection or TLS error is `unavailable`
  // with a reason a person can act on ("timeout", "connect to h:p: ...",
  // "TLS: certificate of h:p rejected: certificate has expired"). Reasons
  // never contain the request target (a Slack webhook's path is its secret).
  Result<ClientResponse> Send(const ClientRequest& request, Millis timeout = Millis(10000));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backstop::http
