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

// A blocking HTTP/1.1 client over one keep-alive connection (Beast inside).
// Used by the webhook executor, tests and benchmarks. Not thread-safe: one
// per thread. Reconnects on the next call after an error.
class HttpClient {
 public:
  HttpClient(std::string host, std::uint16_t port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends and waits for the answer within `timeout` (connect + write + read).
  // A timeout or connection error is `unavailable` with the reason.
  Result<ClientResponse> Send(const ClientRequest& request, Millis timeout = Millis(10000));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backstop::http
