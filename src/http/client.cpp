#include "backstop/http/client.hpp"

#include <optional>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace backstop::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::string ClientResponse::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return v;
  }
  return "";
}

struct HttpClient::Impl {
  std::string host;
  std::uint16_t port;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  // Runs the io_context until `done` or the deadline; returns the error.
  beast::error_code Wait(bool& done, beast::error_code& ec, Millis timeout) {
    ioc.restart();
    ioc.run_for(timeout);
    if (!done) {
      stream->cancel();
      ioc.restart();
      ioc.run();
      return beast::error::timeout;
    }
    return ec;
  }
};

HttpClient::HttpClient(std::string host, std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}

HttpClient::~HttpClient() = default;

Result<ClientResponse> HttpClient::Send(const ClientRequest& request, Millis timeout) {
  auto& im = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto remaining = [&] {
    return std::max(Millis(1), std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now()));
  };
  beast::error_code ec;
  bool done = false;
  if (!im.stream || !im.stream->socket().is_open()) {
    im.stream.emplace(im.ioc);
    im.buffer.clear();
    tcp::resolver resolver(im.ioc);
    auto endpoints = resolver.resolve(im.host, std::to_string(im.port), ec);
    if (ec) return Error::Unavailable("resolve " + im.host + ": " + ec.message());
    im.stream->async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
      ec = e;
      done = true;
    });
    if (auto e = im.Wait(done, ec, remaining())) {
      im.stream.reset();
      return Error::Unavailable("connect: " + e.message());
    }
  }
  bhttp::request<bhttp::string_body> req;
  req.method_string(request.method);
  req.target(request.target);
  req.version(11);
  req.set(bhttp::field::host, im.host + ":" + std::to_string(im.port));
  for (const auto& [k, v] : request.headers) req.set(k, v);
  req.body() = request.body;
  req.prepare_payload();
  req.keep_alive(true);

  done = false;
  bhttp::async_write(*im.stream, req, [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (auto e = im.Wait(done, ec, remaining())) {
    im.stream.reset();
    return Error::Unavailable("write: " + e.message());
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  done = false;
  bhttp::async_read(*im.stream, im.buffer, parser, [&](beast::error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  if (auto e = im.Wait(done, ec, remaining())) {
    im.stream.reset();
    return Error::Unavailable(e == beast::error::timeout ? "timeout" : "read: " + e.message());
  }
  auto& res = parser.get();
  ClientResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  out.body = std::move(res.body());
  if (!res.keep_alive()) {
    beast::error_code ignored;
    im.stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    im.stream.reset();
  }
  return out;
}

}  // namespace backstop::http
