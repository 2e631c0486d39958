#include "backstop/http/client.hpp"

#include <functional>
#include <optional>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace backstop::http {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::string ClientResponse::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return v;
  }
  return "";
}

// ---- TLS trust ---------------------------------------------------------------

struct TlsClientContext::Impl {
  ssl::context context{ssl::context::tls_client};
};

TlsClientContext::TlsClientContext() : impl_(std::make_unique<Impl>()) {}
TlsClientContext::~TlsClientContext() = default;

Result<std::shared_ptr<const TlsClientContext>> TlsClientContext::Create(const std::string& ca_file) {
  std::shared_ptr<TlsClientContext> out(new TlsClientContext());
  ssl::context& ctx = out->impl_->context;
  // TLS 1.2 or newer; no compression; renegotiation is off by default in OpenSSL 3.
  if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1) {
    return Error::Internal("TLS: cannot require TLS 1.2");
  }
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  ctx.set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  if (ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
    if (ec) return Error::Unavailable("TLS: cannot load the system CA store: " + ec.message());
  } else {
    ctx.load_verify_file(ca_file, ec);
    if (ec) return Error::InvalidInput("cannot load CA certificates from " + ca_file + ": " + ec.message());
  }
  return std::shared_ptr<const TlsClientContext>(std::move(out));
}

std::shared_ptr<const TlsClientContext> TlsClientContext::System() {
  // Loaded once; a failure (no store at all) still yields a context that
  // trusts nothing, so every https call fails verification with a clear reason.
  static const std::shared_ptr<const TlsClientContext> system = [] {
    auto created = Create("");
    if (created) return *created;
    std::shared_ptr<TlsClientContext> empty(new TlsClientContext());
    empty->impl_->context.set_verify_mode(ssl::verify_peer);
    return std::shared_ptr<const TlsClientContext>(std::move(empty));
  }();
  return system;
}

// ---- the client ----------------------------------------------------------------

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

bool IsIpAddress(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// The request's Host header: the port only when it is not the scheme's default.
std::string HostHeader(const ClientEndpoint& ep) {
  const bool v6 = ep.host.find(':') != std::string::npos;
  std::string host = v6 ? "[" + ep.host + "]" : ep.host;
  if (ep.port != (ep.https ? 443 : 80)) host += ":" + std::to_string(ep.port);
  return host;
}

}  // namespace

struct HttpClient::Impl {
  ClientEndpoint ep;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> plain;
  std::optional<TlsStream> tls;
  beast::flat_buffer buffer;

  std::string Where() const { return HostHeader(ClientEndpoint{ep.https, ep.host, ep.port, nullptr}); }

  beast::tcp_stream& Lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  bool Connected() { return (plain || tls) && Lowest().socket().is_open(); }
  void Reset() {
    tls.reset();
    plain.reset();
  }

  // Runs the io_context until `done` or the deadline; returns the error.
  beast::error_code Wait(bool& done, beast::error_code& ec, Millis timeout) {
    ioc.restart();
    ioc.run_for(timeout);
    if (!done) {
      Lowest().cancel();
      ioc.restart();
      ioc.run();
      return beast::error::timeout;
    }
    return ec;
  }

  // Connects (and shakes hands) within `timeout`; the error says why not.
  std::optional<std::string> Connect(Millis timeout) {
    Reset();
    buffer.clear();
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(ep.host, std::to_string(ep.port), ec);
    if (ec) return "resolve " + ep.host + ": " + ec.message();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const auto remaining = [&] {
      return std::max(Millis(1), std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now()));
    };
    if (ep.https) {
      const auto context = ep.tls ? ep.tls : TlsClientContext::System();
      tls.emplace(ioc, context->impl().context);
      SSL* ssl = tls->native_handle();
      // The peer must prove this name: a DNS name (no partial wildcards) or an IP address.
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (IsIpAddress(ep.host)) {
        X509_VERIFY_PARAM_set1_ip_asc(param, ep.host.c_str());
      } else {
        X509_VERIFY_PARAM_set1_host(param, ep.host.c_str(), 0);
        // SNI, so a server with several names presents the right certificate.
        SSL_set_tlsext_host_name(ssl, ep.host.c_str());
      }
    } else {
      plain.emplace(ioc);
    }
    bool done = false;
    Lowest().async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
      ec = e;
      done = true;
    });
    if (auto e = Wait(done, ec, remaining())) {
      Reset();
      return e == beast::error::timeout ? std::string("timeout") : "connect to " + Where() + ": " + e.message();
    }
    if (!tls) return std::nullopt;
    done = false;
    tls->async_handshake(ssl::stream_base::client, [&](beast::error_code e) {
      ec = e;
      done = true;
    });
    if (auto e = Wait(done, ec, remaining())) {
      const long verify = SSL_get_verify_result(tls->native_handle());
      std::string why;
      if (e == beast::error::timeout) {
        why = "timeout during the TLS handshake with " + Where();
      } else if (verify != X509_V_OK) {
        why = "TLS: certificate of " + Where() + " rejected: " + X509_verify_cert_error_string(verify);
      } else {
        why = "TLS handshake with " + Where() + " failed: " + e.message();
      }
      Reset();
      return why;
    }
    return std::nullopt;
  }

  template <typename Stream>
  Result<ClientResponse> Exchange(Stream& stream, const ClientRequest& request, Millis write_time,
                                  const std::function<Millis()>& remaining) {
    bhttp::request<bhttp::string_body> req;
    req.method_string(request.method);
    req.target(request.target);
    req.version(11);
    req.set(bhttp::field::host, HostHeader(ep));
    for (const auto& [k, v] : request.headers) req.set(k, v);
    req.body() = request.body;
    req.prepare_payload();
    req.keep_alive(true);

    beast::error_code ec;
    bool done = false;
    bhttp::async_write(stream, req, [&](beast::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    if (auto e = Wait(done, ec, write_time)) {
      Reset();
      return Error::Unavailable(e == beast::error::timeout ? "timeout" : "write: " + e.message());
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    done = false;
    bhttp::async_read(stream, buffer, parser, [&](beast::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    if (auto e = Wait(done, ec, remaining())) {
      Reset();
      return Error::Unavailable(e == beast::error::timeout ? "timeout" : "read: " + e.message());
    }
    auto& res = parser.get();
    ClientResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    out.body = std::move(res.body());
    if (!res.keep_alive()) {
      beast::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      Reset();
    }
    return out;
  }
};

HttpClient::HttpClient(std::string host, std::uint16_t port)
    : HttpClient(ClientEndpoint{false, std::move(host), port, nullptr}) {}

HttpClient::HttpClient(ClientEndpoint endpoint) : impl_(std::make_unique<Impl>()) {
  impl_->ep = std::move(endpoint);
}

HttpClient::~HttpClient() = default;

Result<ClientResponse> HttpClient::Send(const ClientRequest& request, Millis timeout) {
  auto& im = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::function<Millis()> remaining = [deadline] {
    return std::max(Millis(1), std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now()));
  };
  if (!im.Connected()) {
    if (auto why = im.Connect(timeout)) return Error::Unavailable(*why);
  }
  if (im.tls) return im.Exchange(*im.tls, request, remaining(), remaining);
  return im.Exchange(*im.plain, request, remaining(), remaining);
}

}  // namespace backstop::http
