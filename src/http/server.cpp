#include "backstop/http/server.hpp"

#include <atomic>
#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "backstop/http/error_response.hpp"
#include "backstop/http/router.hpp"
#include "backstop/http/url.hpp"
#include "backstop/metrics/metrics.hpp"

namespace backstop::http {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

// What the listener keeps of a session: a way to close it on shutdown.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Called on shutdown: an idle connection is closed now, a busy one after
  // its answer is written.
  virtual void CloseIfIdle() = 0;
};

// State shared by the listener and every session.
struct Shared {
  Shared(ServerOptions o, const Router& r, metrics::Metrics* m)
      : options(std::move(o)), router(r), metrics(m) {}

  ServerOptions options;
  const Router& router;
  metrics::Metrics* metrics;
  std::optional<ssl::context> tls;  // set: HTTPS only
  std::atomic<bool> draining{false};
  std::atomic<int> sessions{0};
  std::mutex mutex;
  std::list<std::weak_ptr<SessionBase>> live;  // for closing idle connections on shutdown
};

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection. `Stream` is beast::tcp_stream (plain) or TlsStream; the
// shape is the same, TLS only adds the handshake before the first read.
template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;

 public:
  template <typename... Args>
  Session(Shared& shared, Args&&... stream_args)
      : stream_(std::forward<Args>(stream_args)...), shared_(shared), timer_(stream_.get_executor()) {
    ++shared_.sessions;
  }
  ~Session() override { --shared_.sessions; }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if constexpr (kTls) {
        self->Handshake();
      } else {
        self->ReadHeader();
      }
    });
  }

  void CloseIfIdle() override {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) self->Close();
    });
  }

 private:
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  // A client that does not finish the handshake within read_timeout is dropped.
  void Handshake() {
    Tcp().expires_after(shared_.options.read_timeout);
    stream_.async_handshake(ssl::stream_base::server, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->Close();  // a plain-HTTP client, a bad certificate, a timeout
      self->ReadHeader();
    });
  }

  void ReadHeader() {
    idle_ = true;
    parser_.emplace();
    parser_->header_limit(shared_.options.header_limit);
    parser_->body_limit(shared_.options.body_limit);
    Tcp().expires_after(shared_.options.idle_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               self->OnHeader(ec);
                             });
  }

  void OnHeader(beast::error_code ec) {
    idle_ = false;
    if (ec) return OnReadError(ec);
    const auto length = parser_->content_length();
    if (length && *length > shared_.options.body_limit) return RejectTooLarge();
    Tcp().expires_after(shared_.options.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec2, std::size_t) {
                        self->OnBody(ec2);
                      });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return RejectTooLarge();
    if (ec == bhttp::error::header_limit) {
      close_after_write_ = true;
      return Write(ErrorResponse(Error{ErrorKind::kPayloadTooLarge, "payload_too_large",
                                       "request headers too large", {}}),
                   11, "unmatched", "?");
    }
    // end_of_stream, timeouts and resets just end the connection.
    if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout &&
        ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
        ec != asio::error::eof) {
      // A malformed request gets a 400 before the connection closes.
      if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
        close_after_write_ = true;
        return Write(ErrorResponse(Error::InvalidInput("malformed HTTP request")), 11, "unmatched", "?");
      }
    }
    Close();
  }

  void RejectTooLarge() {
    close_after_write_ = true;
    Write(ErrorResponse(Error{ErrorKind::kPayloadTooLarge, "payload_too_large",
                              "request body exceeds limits.max_body_bytes (" +
                                  std::to_string(shared_.options.body_limit) + " bytes)",
                              {"limits.max_body_bytes"}}),
          parser_->get().version(), "unmatched", std::string(parser_->get().method_string()));
  }

  void OnBody(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    auto& msg = parser_->get();
    version_ = msg.version();
    keep_alive_ = msg.keep_alive();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.body = std::move(msg.body());
    if (auto it = msg.find(bhttp::field::content_type); it != msg.end()) {
      req.content_type = std::string(it->value());
    }
    if (auto it = msg.find(bhttp::field::authorization); it != msg.end()) {
      req.authorization = std::string(it->value());
    }
    for (const auto& field : msg) {
      req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    if (!ParseTarget(req.target, req.path, req.query)) {
      return Write(ErrorResponse(Error::InvalidInput("malformed request target")), version_,
                   "unmatched", req.method);
    }
    method_ = req.method;
    // Matched once: the label, the deadline and the handler come from this.
    Router::Match match = shared_.router.Find(req.method, req.path);
    route_label_ = match.label();
    started_ = std::chrono::steady_clock::now();
    answered_ = false;
    // Answers carry the number of the request they belong to: a handler
    // that answers after its request timed out must not answer the next one.
    const std::uint64_t seq = ++request_seq_;
    // No socket timeout while the handler runs; the request timer bounds it.
    Tcp().expires_never();

    timer_.expires_after(match.timeout().value_or(shared_.options.request_timeout));
    timer_.async_wait([self = shared_from_this(), seq](beast::error_code ec2) {
      if (ec2) return;  // cancelled: the handler answered
      self->Answer(seq, ErrorResponse(Error::Unavailable("request timed out; retry later")));
    });

    auto self = shared_from_this();
    // Handlers answer from any thread; the strand serializes the answer.
    Respond respond = [self, seq](Response r) {
      asio::post(self->stream_.get_executor(),
                 [self, seq, r = std::move(r)]() mutable { self->Answer(seq, std::move(r)); });
    };
    // The router continues here after an authentication lookup, so handlers
    // run on this connection's strand and never on a database pool thread.
    Post post = [self](std::function<void()> task) {
      asio::post(self->stream_.get_executor(), std::move(task));
    };
    shared_.router.Dispatch(std::move(match), std::move(req), std::move(respond), std::move(post));
  }

  void Answer(std::uint64_t seq, Response r) {
    if (seq != request_seq_ || answered_) return;  // the timer or the handler came second
    answered_ = true;
    timer_.cancel();
    Write(std::move(r), version_, route_label_, method_);
  }

  // Methods outside the known set become "OTHER": labels stay bounded.
  static std::string MethodLabel(const std::string& m) {
    for (const char* known : {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}) {
      if (m == known) return m;
    }
    return "OTHER";
  }

  void Write(Response r, unsigned version, const std::string& route, const std::string& method_in) {
    const std::string method = MethodLabel(method_in);
    if (shared_.metrics != nullptr) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
      shared_.metrics->ObserveRequest(route, method, r.status, seconds);
    }
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), version);
    res->set(bhttp::field::server, "backstop");
    res->set(bhttp::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    const bool close = close_after_write_ || !keep_alive_ || shared_.draining.load();
    res->keep_alive(!close);
    res->prepare_payload();
    Tcp().expires_after(shared_.options.read_timeout);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res, close](beast::error_code ec, std::size_t) {
                         if (ec || close) return self->Close();
                         self->ReadHeader();
                       });
  }

  // TLS connections end without waiting for the peer's close_notify: every
  // answer carries its length, so a client never mistakes the end for a
  // truncation, and a peer that never answers cannot hold the drain.
  void Close() {
    beast::error_code ec;
    Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    Tcp().close();
  }

  Stream stream_;
  Shared& shared_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool idle_ = true;
  bool keep_alive_ = true;
  bool close_after_write_ = false;
  bool answered_ = false;
  std::uint64_t request_seq_ = 0;
  unsigned version_ = 11;
  std::string method_;
  std::string route_label_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace

struct Server::Impl {
  Impl(ServerOptions options, const Router& router, metrics::Metrics* metrics)
      : shared(std::move(options), router, metrics),
        ioc(shared.options.threads),
        acceptor(asio::make_strand(ioc)),
        retry_timer(acceptor.get_executor()),
        work_guard(asio::make_work_guard(ioc)) {}

  void Accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (!acceptor.is_open()) return;  // shutting down
      if (ec) {
        // EMFILE and friends: log, wait a little, accept again; never stop serving.
        spdlog::warn("accept failed: {}", ec.message());
        retry_timer.expires_after(std::chrono::milliseconds(100));
        retry_timer.async_wait([this](beast::error_code) { Accept(); });
        return;
      }
      if (shared.tls) {
        Track(std::make_shared<Session<TlsStream>>(shared, std::move(socket), *shared.tls));
      } else {
        Track(std::make_shared<Session<beast::tcp_stream>>(shared, std::move(socket)));
      }
      Accept();
    });
  }

  template <typename S>
  void Track(std::shared_ptr<S> session) {
    {
      std::lock_guard lock(shared.mutex);
      shared.live.remove_if([](const std::weak_ptr<SessionBase>& w) { return w.expired(); });
      shared.live.push_back(session);
    }
    session->Start();
  }

  // Loads the certificate chain and key; the errors name the config keys.
  Status LoadTls() {
    const ServerOptions& o = shared.options;
    if (o.tls_cert_file.empty() && o.tls_key_file.empty()) return Ok();
    ssl::context ctx(ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                    ssl::context::single_dh_use);
    beast::error_code ec;
    ctx.use_certificate_chain_file(o.tls_cert_file, ec);
    if (ec) return Error::InvalidInput("tls.cert_file: cannot load " + o.tls_cert_file + ": " + ec.message());
    ctx.use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
    if (ec) return Error::InvalidInput("tls.key_file: cannot load " + o.tls_key_file + ": " + ec.message());
    if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
      return Error::InvalidInput("tls.key_file: " + o.tls_key_file + " does not match tls.cert_file");
    }
    shared.tls.emplace(std::move(ctx));
    return Ok();
  }

  Shared shared;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  asio::steady_timer retry_timer;
  asio::executor_work_guard<asio::io_context::executor_type> work_guard;
  std::vector<std::thread> threads;
  std::uint16_t port = 0;
  bool started = false;
  bool stopped = false;
};

Server::Server(ServerOptions options, const Router& router, metrics::Metrics* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), router, metrics)) {}

Server::~Server() { Shutdown(); }

Status Server::Start() {
  if (auto s = impl_->LoadTls(); !s) return s;
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl_->shared.options.host, ec);
  if (ec) return Error::InvalidInput("listen: bad address " + impl_->shared.options.host);
  const tcp::endpoint endpoint(address, impl_->shared.options.port);
  auto& acc = impl_->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error::Unavailable("cannot listen on " + impl_->shared.options.host + ":" +
                              std::to_string(impl_->shared.options.port) + ": " + ec.message());
  }
  impl_->port = acc.local_endpoint().port();
  impl_->Accept();
  for (int i = 0; i < impl_->shared.options.threads; ++i) {
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  }
  impl_->started = true;
  return Ok();
}

std::uint16_t Server::port() const { return impl_->port; }

bool Server::draining() const { return impl_->shared.draining.load(); }

void Server::Shutdown() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->shared.draining = true;
  if (impl_->started) {
    asio::post(impl_->acceptor.get_executor(), [this] {
      beast::error_code ec;
      impl_->acceptor.close(ec);
      impl_->retry_timer.cancel();
    });
    {
      std::lock_guard lock(impl_->shared.mutex);
      for (auto& w : impl_->shared.live) {
        if (auto s = w.lock()) s->CloseIfIdle();
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + impl_->shared.options.shutdown_timeout;
    while (impl_->shared.sessions.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (impl_->shared.sessions.load() > 0) {
      spdlog::warn("shutdown: {} connections still open after the drain timeout",
                   impl_->shared.sessions.load());
    }
  }
  impl_->work_guard.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace backstop::http
