#include "backstop/app/app.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <stop_token>
#include <thread>

#include <spdlog/spdlog.h>

#include "backstop/actions/action_outbox.hpp"
#include "backstop/actions/delivery.hpp"
#include "backstop/actions/outbox_worker.hpp"
#include "backstop/api/api_context.hpp"
#include "backstop/app/cached_authenticator.hpp"
#include "backstop/config/config_loader.hpp"
#include "backstop/store/action_repository.hpp"
#include "backstop/workflow/policy_sync.hpp"
#include "backstop/evaluator/evaluator.hpp"
#include "backstop/telemetry/window_store.hpp"
#include "backstop/audit/audit_repository.hpp"
#include "backstop/http/client.hpp"
#include "backstop/audit/audit_sealer.hpp"
#include "backstop/http/router.hpp"
#include "backstop/http/server.hpp"
#include "backstop/metrics/metrics.hpp"
#include "backstop/notify/notification_outbox.hpp"
#include "backstop/store/notification_repository.hpp"
#include "backstop/pull/telemetry_puller.hpp"
#include "backstop/store/db_pool.hpp"
#include "backstop/store/release_repository.hpp"
#include "backstop/store/schema_access.hpp"

namespace backstop::app {

namespace {

// Telemetry retention until the first tick sizes it from the loaded
// threshold sets (their largest window plus slack).
constexpr Millis kInitialRetention = std::chrono::hours(1);

// How often the audit chain head is exported to metrics and the log.
constexpr auto kAuditHeadInterval = std::chrono::seconds(5);

// Threads per outbox. Actions and notifications have workers of their own,
// so a notifier timing out never delays a rollback.
constexpr int kActionWorkers = 2;
constexpr int kNotificationWorkers = 2;

// The background sealer reports each sealed entry's delay to the metrics
// (backstop_audit_sealing_delay_seconds).
audit::AuditSealer::Options SealerOptions(metrics::Metrics& metrics) {
  audit::AuditSealer::Options o;
  o.on_sealed = [&metrics](const std::vector<double>& delays) {
    for (const double d : delays) metrics.ObserveAuditSealingDelay(d);
  };
  return o;
}

http::ServerOptions ServerOptionsFrom(const config::Config& c) {
  http::ServerOptions o;
  o.host = c.listen_host;
  o.port = c.listen_port;
  o.threads = c.http.threads;
  o.body_limit = static_cast<std::uint64_t>(c.limits.max_body_bytes);
  o.header_limit = static_cast<std::uint32_t>(c.http.max_header_bytes);
  o.header_timeout = c.http.header_timeout;
  o.max_connections = c.http.max_connections;
  o.read_timeout = c.http.read_timeout;
  o.idle_timeout = c.http.idle_timeout;
  o.request_timeout = c.http.request_timeout;
  o.shutdown_timeout = c.http.shutdown_timeout;
  if (c.tls) {
    o.tls_cert_file = c.tls->cert_file;
    o.tls_key_file = c.tls->key_file;
  }
  return o;
}

}  // namespace

struct App::Impl {
  explicit Impl(config::Config c)
      : config(std::move(c)),
        metrics(BACKSTOP_VERSION),
        pool(std::make_unique<store::DbPool>(config.database_url, config.database)),
        authenticator(*pool, config),
        router(authenticator),
        windows(config.limits.max_series, kInitialRetention),
        evaluator(*pool, registry, windows, metrics, config, clock),
        sealer(config.database_url, config.database, SealerOptions(metrics)),
        api{*pool, metrics, config, registry, windows, evaluator, clock,
            [this] { return server && server->draining(); }, authenticator, {}} {}

  void ExportAuditHead() {
    auto head = pool->Run<audit::AuditHead>([](pqxx::connection& conn) -> Result<audit::AuditHead> {
      audit::SealCommitted(conn);  // the head covers every entry committed so far
      pqxx::read_transaction tx(conn);
      return audit::AuditRepository::Head(tx);
    });
    if (!head.ok()) return;
    if (head->seq != last_logged_head_) {
      spdlog::info("audit head seq={} hash={}", head->seq, head->hash);
      last_logged_head_ = head->seq;
    }
    metrics.SetAuditHead(head->seq, head->hash);
  }

  void ExportReleaseGauge() {
    auto active = pool->Run<std::int64_t>([](pqxx::connection& conn) -> Result<std::int64_t> {
      pqxx::read_transaction tx(conn);
      return store::ReleaseRepository::CountActive(tx);
    });
    if (active.ok()) metrics.SetReleasesActive(*active);
    auto pending = pool->Run<std::int64_t>([](pqxx::connection& conn) -> Result<std::int64_t> {
      pqxx::read_transaction tx(conn);
      return store::ActionRepository::CountPending(tx);
    });
    if (pending.ok()) metrics.SetActionsPending(*pending);
    auto notifications = pool->Run<std::int64_t>([](pqxx::connection& conn) -> Result<std::int64_t> {
      pqxx::read_transaction tx(conn);
      return store::NotificationRepository::CountUnfinished(tx);
    });
    if (notifications.ok()) metrics.SetNotificationsPending(*notifications);
  }

  // Loads thresholds_dir at start-up. Refuses to start only when no file is valid.
  Status LoadThresholds() {
    auto report = pool->Run<workflow::LoadReport>(
        [this](pqxx::connection& conn) -> Result<workflow::LoadReport> {
          workflow::LoadReport r = workflow::LoadThresholdDirectory(conn, config.thresholds_dir, "startup", metrics);
          workflow::RefreshRegistry(conn, registry, metrics);
          return r;
        },
        std::chrono::seconds(60));
    if (!report) return report.error();
    if (report->valid_files == 0) {
      return Error::InvalidInput("thresholds_dir " + config.thresholds_dir +
                                 ": no valid threshold file (see the errors above)");
    }
    return Ok();
  }

  // The GitHub webhook secret: a configured secret_env whose variable is
  // unset or empty is a start-up error, like a webhook executor's.
  Status LoadIntegrationSecrets() {
    const std::string& name = config.integrations.github.secret_env;
    if (name.empty()) return Ok();
    const auto secret = config::ProcessEnv()(name);
    if (!secret || secret->empty()) {
      return Error::InvalidInput("integrations.github.secret_env: environment variable " + name + " is not set");
    }
    api.github_secret = *secret;
    return Ok();
  }

  // A default release class that is not loaded refuses every event relying
  // on it (400 naming the key); say so once at start-up.
  void WarnAboutIntegrationDefaults() const {
    const auto& i = config.integrations;
    for (const auto& [key, cls] :
         {std::pair<const char*, const std::optional<std::string>*>{"integrations.flagger.default_release_class",
                                                                    &i.flagger.default_release_class},
          {"integrations.cdevents.default_release_class", &i.cdevents.default_release_class},
          {"integrations.github.default_release_class", &i.github.default_release_class}}) {
      if (*cls && !registry.Newest(**cls)) {
        spdlog::warn("{}: release class {} is not loaded; events relying on it are refused", key, **cls);
      }
    }
  }

  // DESIGN "Audit log": tampering must need a superuser, which holds only
  // while the serving role cannot alter the audit table. Serving still works
  // (a single-role local setup is legitimate), so this is a warning.
  void WarnIfServingRoleControlsTheAuditTable() {
    auto control = pool->Run<std::optional<store::AuditTableControl>>(
        [](pqxx::connection& conn) -> Result<std::optional<store::AuditTableControl>> {
          pqxx::read_transaction tx(conn);
          return store::AuditTableControlOf(tx);
        });
    if (!control.ok() || !control->has_value() || !(*control)->controls) return;
    const store::AuditTableControl& c = **control;
    spdlog::warn(
        "database role {} {} the audit table audit_log (owner {}): it could switch off the append-only "
        "triggers and rewrite history. Serve with a role that was only granted access, and migrate as the "
        "owner with migration_database_url (README: Database roles)",
        c.role, c.superuser ? "is a superuser and so controls" : "owns (or owns the schema of)", c.table_owner);
  }

  void BackgroundLoop(std::stop_token stop) {
    std::unique_lock lock(mutex);
    while (!stop.stop_requested()) {
      lock.unlock();
      ExportAuditHead();
      ExportReleaseGauge();
      lock.lock();
      cv.wait_for(lock, stop, kAuditHeadInterval, [] { return false; });
    }
  }

  config::Config config;
  metrics::Metrics metrics;
  policy::PolicyRegistry registry;
  std::unique_ptr<store::DbPool> pool;
  CachedAuthenticator authenticator;
  http::Router router;
  telemetry::WindowStore windows;
  DbClock clock;
  evaluator::Evaluator evaluator;
  audit::AuditSealer sealer;
  api::ApiContext api;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<actions::OutboxWorker> worker;               // rollback actions
  std::unique_ptr<actions::OutboxWorker> notification_worker;  // notifications
  std::unique_ptr<pull::TelemetryPuller> puller;

  std::mutex mutex;
  std::condition_variable_any cv;  // woken by the background thread's stop request
  std::jthread background;
  std::int64_t last_logged_head_ = -1;
  bool stopped = false;
};

App::App(config::Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

App::~App() { Stop(); }

Status App::Start() {
  auto& im = *impl_;
  api::AddSystemRoutes(im.router, im.api);
  api::AddModeRoutes(im.router, im.api);
  api::AddAuditRoutes(im.router, im.api);
  api::AddThresholdRoutes(im.router, im.api);
  api::AddDeploymentRoutes(im.router, im.api);
  api::AddTelemetryRoutes(im.router, im.api);
  api::AddEscalationRoutes(im.router, im.api);
  api::AddActionRoutes(im.router, im.api);
  api::AddApprovalRoutes(im.router, im.api);
  api::AddNotificationRoutes(im.router, im.api);
  api::AddArgoRolloutsRoutes(im.router, im.api);
  api::AddFlaggerRoutes(im.router, im.api);
  api::AddCdeventsRoutes(im.router, im.api);
  api::AddGithubRoutes(im.router, im.api);
  api::AddUiRoutes(im.router, im.api);

  if (auto s = im.LoadIntegrationSecrets(); !s) return s;
  if (auto s = im.LoadThresholds(); !s) return s;
  im.WarnAboutIntegrationDefaults();
  im.WarnIfServingRoleControlsTheAuditTable();

  // Executors are built before serving: a webhook without its secret is a
  // start-up error, not a surprise at the first rollback.
  std::vector<std::shared_ptr<actions::Executor>> executors;
  for (std::size_t i = 0; i < im.config.executors.size(); ++i) {
    auto e = actions::MakeExecutor(im.config.executors[i], static_cast<int>(i), config::ProcessEnv());
    if (!e) return e.error();
    executors.push_back(*e);
  }
  im.worker = std::make_unique<actions::OutboxWorker>(
      *im.pool, im.config, actions::MakeActionOutbox(im.registry, im.metrics, im.config, std::move(executors)),
      kActionWorkers);
  // Telemetry sources over https: a CA file that cannot be loaded is a
  // start-up error naming the key; plain http to another host is a warning.
  for (std::size_t i = 0; i < im.config.telemetry_sources.size(); ++i) {
    const auto& source = im.config.telemetry_sources[i];
    const auto url = actions::ParseHttpUrl(source.url);
    if (!url) continue;
    if (url->https) {
      auto tls = http::TlsClientContext::Create(source.ca_file);
      if (!tls) {
        return Error::InvalidInput("telemetry_sources[" + std::to_string(i) + "].ca_file: " + tls.error().message);
      }
    } else if (!actions::IsLoopbackHost(url->host)) {
      spdlog::warn("telemetry_sources[{}].url is plain http:// to {}: queries and answers travel unencrypted", i,
                   url->host);
    }
  }
  // Likewise notifiers: a missing secret is a start-up error naming the entry.
  std::map<std::string, std::shared_ptr<notify::Sender>> senders;
  for (std::size_t i = 0; i < im.config.notifiers.size(); ++i) {
    const auto& n = im.config.notifiers[i];
    auto s = notify::MakeSender(n, static_cast<int>(i), im.config.ui_url, config::ProcessEnv());
    if (!s) return s.error();
    senders.emplace(n.name, *s);
  }
  // Without notifiers one thread is enough: it only fails what notifiers
  // that are no longer configured left pending.
  im.notification_worker = std::make_unique<actions::OutboxWorker>(
      *im.pool, im.config, notify::MakeNotificationOutbox(im.metrics, im.config, std::move(senders)),
      im.config.notifiers.empty() ? 1 : kNotificationWorkers);
  // The short path from decision to webhook: this process's worker claims
  // the rollback its evaluator just committed without waiting for NOTIFY.
  im.evaluator.SetOnActionQueued([worker = im.worker.get()] { worker->Wake(); });

  // Every process seals; one at a time gets the lock. Started before serving
  // so entries of this process never wait for another one to seal them.
  im.sealer.Start();
  // Listening for token revocations before the first request is served.
  im.authenticator.Start();
  im.server = std::make_unique<http::Server>(ServerOptionsFrom(im.config), im.router, &im.metrics);
  // The evaluator takes its lease before the server answers telemetry.
  im.evaluator.Start();
  if (auto s = im.server->Start(); !s) return s;
  im.worker->Start();
  im.notification_worker->Start();
  // Pulls feed the evaluator's windows and run only while it holds the lease.
  im.puller = std::make_unique<pull::TelemetryPuller>(
      im.config.telemetry_sources, im.windows, im.metrics,
      pull::PullHooks{[&im] { return im.evaluator.active(); }, [&im] { return im.evaluator.PullTargets(); },
                      [&im](const auto& touched, auto arrival) { im.evaluator.NotifyTelemetry(touched, arrival); },
                      [&im] { return im.clock.Now(); }});
  im.puller->Start();
  im.background = std::jthread([&im](std::stop_token stop) { im.BackgroundLoop(stop); });
  spdlog::info("backstop {} serving on {}://{}:{} (instance {})", BACKSTOP_VERSION,
               im.config.tls ? "https" : "http", im.config.listen_host, im.server->port(), im.config.instance_id);
  return Ok();
}

void App::Stop() {
  auto& im = *impl_;
  if (im.stopped) return;
  im.stopped = true;
  if (im.server) im.server->Shutdown();
  im.authenticator.Stop();
  if (im.puller) im.puller->Stop();  // it feeds the evaluator: stopped first
  im.evaluator.Stop();
  if (im.worker) im.worker->Stop();
  if (im.notification_worker) im.notification_worker->Stop();
  im.sealer.Stop();  // after the last audited write of this process
  if (im.background.joinable()) {
    im.background.request_stop();
    im.background.join();
  }
  // The pool goes before the server object: callbacks of jobs still queued
  // hold sessions, which must die while the server's io_context exists.
  im.pool.reset();
  im.server.reset();
}

std::uint16_t App::port() const { return impl_->server ? impl_->server->port() : 0; }
store::DbPool& App::pool() { return *impl_->pool; }
metrics::Metrics& App::metrics() { return impl_->metrics; }
const config::Config& App::config() const { return impl_->config; }
evaluator::Evaluator& App::evaluator() { return impl_->evaluator; }
pull::TelemetryPuller* App::puller() { return impl_->puller.get(); }
std::vector<std::pair<std::string, std::string>> App::routes() const { return impl_->router.Routes(); }

}  // namespace backstop::app
