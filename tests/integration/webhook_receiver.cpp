#include "webhook_receiver.hpp"

#include <stdexcept>
#include <thread>

#include "backstop/http/error_response.hpp"

namespace backstop::testing {

WebhookReceiver::WebhookReceiver() : WebhookReceiver(Options{}) {}

WebhookReceiver::WebhookReceiver(Options options) : options_(std::move(options)), router_(auth_) {
  router_.Add({"POST", options_.path, {}, http::BodyPolicy::kRequiredJson,
               [this](const http::RequestContext& rc, http::Respond respond) {
                 Reply reply;
                 {
                   std::lock_guard lock(mutex_);
                   if (!script_.empty()) {
                     reply = script_.front();
                     script_.pop_front();
                   } else {
                     reply = otherwise_;
                   }
                   received_.push_back(Received{rc.request.body, rc.request.Header("Idempotency-Key").value_or(""),
                                                rc.request.Header("X-Backstop-Signature").value_or(""),
                                                rc.request.content_type, std::chrono::system_clock::now(),
                                                reply.status});
                 }
                 const auto answer = [](const Reply& reply) {
                   http::Response r = http::JsonResponse(reply.status, reply.body);
                   r.content_type = reply.content_type;
                   for (const auto& h : reply.headers) r.headers.push_back(h);
                   return r;
                 };
                 // Delays run off the I/O threads so one slow answer blocks
                 // nothing else; once closing, answers go out at once, here.
                 {
                   std::unique_lock lock(answering_->mutex);
                   if (answering_->closing) {
                     lock.unlock();
                     return respond(answer(reply));
                   }
                   ++answering_->count;
                 }
                 std::thread([reply, answer, respond = std::move(respond), answering = answering_] {
                   {
                     std::unique_lock lock(answering->mutex);
                     answering->cv.wait_for(lock, reply.delay, [&] { return answering->closing; });
                   }
                   respond(answer(reply));
                   {
                     std::lock_guard lock(answering->mutex);
                     --answering->count;
                   }
                   answering->cv.notify_all();
                 }).detach();
               }});
  http::ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.threads = 2;
  o.request_timeout = std::chrono::milliseconds(120000);
  o.shutdown_timeout = std::chrono::milliseconds(2000);
  o.tls_cert_file = options_.tls_cert_file;
  o.tls_key_file = options_.tls_key_file;
  server_ = std::make_unique<http::Server>(o, router_, nullptr);
  if (auto s = server_->Start(); !s) throw std::runtime_error(s.error().message);
}

WebhookReceiver::~WebhookReceiver() {
  // Delayed answers must be out before the server goes: cut their delays
  // short and wait (bounded) for them. A request arriving meanwhile is
  // answered at once on its I/O thread. Waiting out a 10 s delay
  // while the sender kept retrying used to hold teardown for 30 s and then
  // let a late answer touch the destroyed server (a crash).
  std::unique_lock lock(answering_->mutex);
  answering_->closing = true;
  answering_->cv.notify_all();
  answering_->cv.wait_for(lock, std::chrono::seconds(30), [this] { return answering_->count == 0; });
  lock.unlock();
  server_->Shutdown();
}

void WebhookReceiver::Script(std::vector<Reply> replies, Reply otherwise) {
  std::lock_guard lock(mutex_);
  script_.assign(replies.begin(), replies.end());
  otherwise_ = otherwise;
}

std::vector<WebhookReceiver::Received> WebhookReceiver::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

bool WebhookReceiver::AwaitCount(std::size_t n, std::chrono::milliseconds limit) const {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mutex_);
      if (received_.size() >= n) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace backstop::testing
