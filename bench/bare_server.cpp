#include "bare_server.hpp"

#include <memory>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

namespace backstop::bench {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

constexpr std::uint64_t kBodyLimit = 1 << 20;

// Counts the samples whose fields are all there, as a real handler must look at each.
std::int64_t CountSamples(const std::string& body) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return -1;
  const auto* samples = v.as_object().if_contains("samples");
  if (samples == nullptr || !samples->is_array()) return -1;
  std::int64_t n = 0;
  for (const auto& s : samples->as_array()) {
    if (!s.is_object()) continue;
    const auto& o = s.as_object();
    if (o.if_contains("service") && o.if_contains("environment") && o.if_contains("version") &&
        o.if_contains("signal") && o.if_contains("value") && o.at("value").is_number()) {
      ++n;
    }
  }
  return n;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket socket) : stream_(std::move(socket)) {}
  void Start() { Read(); }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }
  void OnRead(beast::error_code ec) {
    if (ec) return;
    auto req = parser_->release();
    const std::int64_t n = CountSamples(req.body());
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(n < 0 ? bhttp::status::bad_request
                                                                          : bhttp::status::accepted,
                                                                    req.version());
    res->set(bhttp::field::content_type, "application/json");
    res->keep_alive(req.keep_alive());
    res->body() = "{\"accepted\":" + std::to_string(n < 0 ? 0 : n) + ",\"rejected\":[]}";
    res->prepare_payload();
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (!ec && res->keep_alive()) self->Read();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
};

}  // namespace

struct BareServer::Impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;

  void Accept() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (!ec) {
        socket.set_option(tcp::no_delay(true));
        std::make_shared<Session>(std::move(socket))->Start();
      }
      if (acceptor.is_open()) Accept();
    });
  }
};

BareServer::BareServer(int threads) : impl_(std::make_unique<Impl>()) {
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->Accept();
  for (int i = 0; i < threads; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
}

BareServer::~BareServer() {
  asio::post(impl_->ioc, [this] { impl_->acceptor.close(); });
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
}

std::uint16_t BareServer::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace backstop::bench
