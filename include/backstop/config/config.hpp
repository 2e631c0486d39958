#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

#include "backstop/common/duration.hpp"
#include "backstop/domain/states.hpp"

namespace backstop::config {

// How a rollback is carried out; the wire strings are the config's `type`
// and the `executor` recorded on actions.
enum class ExecutorType {
  kWebhook,  // webhook: a signed POST to `url`
  kCommand,  // command: runs `argv` (no shell)
  kLog,      // log: records only, for local runs
  kGate,     // gate: waits to be handed out to Argo Rollouts or Flagger by a gate
             //   answer (INTEGRATIONS.md §2); never run by the outbox worker
};
std::string_view ToString(ExecutorType t);
std::optional<ExecutorType> ParseExecutorType(std::string_view text);

// One executor rule; the first rule whose `match` glob matches the service wins.
// For a gate executor `timeout` is how long an action waits to be handed
// out before it fails (default 10m when the key is absent).
struct ExecutorConfig {
  std::string match = "*";
  ExecutorType type = ExecutorType::kLog;
  std::string url;                    // webhook only
  std::string secret_env;             // webhook only: name of the env var holding the secret
  std::vector<std::string> argv;      // command only: argv template
  std::string ca_file;                // webhook only: CA certificates for https (absolute after
                                      // loading); empty = the system store
  Millis timeout = Millis(5000);
  int max_attempts = 5;
};

// Where notifications go; the wire strings are the config's `type`.
enum class NotifierType {
  kPagerDuty,  // pagerduty: PagerDuty Events API v2, one incident per escalation (trigger, then resolve)
  kSlack,      // slack: a Slack incoming webhook
  kWebhook,    // webhook: a POST signed like the rollback webhook
};
std::string_view ToString(NotifierType t);
std::optional<NotifierType> ParseNotifierType(std::string_view text);

// PagerDuty's Events API v2 endpoint, unless a notifier's `url` overrides it.
inline constexpr std::string_view kPagerDutyEventsUrl = "https://events.pagerduty.com/v2/enqueue";

// One notifier: every event in `events` about a service matching `match` is
// written to the notification outbox for it. Secrets are named here and read
// from the environment when the notifier is built, never stored or logged.
struct NotifierConfig {
  std::string name;                              // unique; the `notifier` of each notification
  NotifierType type = NotifierType::kWebhook;
  std::string match = "*";                       // service glob
  std::vector<domain::NotificationEvent> events; // the type's default when the key is absent
  std::string routing_key_env;                   // pagerduty: the variable holding the routing key
  std::string url_env;                           // slack: the variable holding the webhook URL (a secret)
  std::string url;                               // webhook: the receiver; pagerduty: overrides kPagerDutyEventsUrl
  std::string secret_env;                        // webhook: the variable holding the signing secret
  std::string ca_file;                           // https: CA certificates (absolute); empty = system store
  Millis timeout = Millis(5000);
  int max_attempts = 10;
};
using Notifiers = std::vector<NotifierConfig>;

// Inbound TLS: the API and /metrics are then served over HTTPS only.
struct TlsConfig {
  std::string cert_file;  // PEM certificate chain (absolute after loading)
  std::string key_file;   // PEM private key (absolute after loading)
};

// The kind of metrics store a telemetry source is; the wire string is the
// config's `type`.
enum class TelemetrySourceType {
  kPrometheus,  // prometheus: the Prometheus HTTP API (Thanos, Mimir, VictoriaMetrics speak it too)
};
std::string_view ToString(TelemetrySourceType t);
std::optional<TelemetrySourceType> ParseTelemetrySourceType(std::string_view text);

// Which result labels of a pulled series name the release's service,
// environment and version (INTEGRATIONS §1). Each defaults to its own name.
struct SourceLabels {
  std::string service = "service";
  std::string environment = "environment";
  std::string version = "version";

  bool operator==(const SourceLabels&) const = default;
};

// One metrics store Backstop pulls signals from. `name` is the `source` of
// every sample pulled from it (never `default`, the source of pushed samples
// without one).
struct TelemetrySourceConfig {
  std::string name;
  TelemetrySourceType type = TelemetrySourceType::kPrometheus;
  std::string url;                     // http(s)://host[:port][/prefix]; the API is under prefix/api/v1
  std::string ca_file;                 // https: CA certificates (absolute after loading); empty = system store
  Millis interval = Millis(10000);     // one pull per (source, signal) per interval
  Millis timeout = Millis(5000);       // per query; also sent as the query's `timeout`
  int max_concurrency = 4;             // queries of this source in flight at once
  // Header name -> name of the environment variable holding its value.
  std::vector<std::pair<std::string, std::string>> headers_env;
  // Header name -> value, read from the environment when the config was
  // loaded with an environment (empty for `thresholds validate --config`).
  std::vector<std::pair<std::string, std::string>> headers;
  SourceLabels labels;
};

// The default gate timeout when a gate executor leaves `timeout` out.
inline constexpr Millis kDefaultGateTimeout = std::chrono::minutes(10);

// Deploy events and gate calls from the tools SREs already run
// (INTEGRATIONS.md §2, §3). A default release class is optional: without
// one, an event that names no class is refused naming the missing field.
struct FlaggerIntegration {
  std::optional<std::string> default_release_class;
  double default_traffic_percent = 10;
};
struct CdeventsIntegration {
  std::optional<std::string> default_release_class;
};
struct GithubIntegration {
  std::string secret_env;  // env var holding the webhook secret; empty: the route refuses every delivery
  std::optional<std::string> default_release_class;
  double default_traffic_percent = 100;
};
struct IntegrationsConfig {
  FlaggerIntegration flagger;
  CdeventsIntegration cdevents;
  GithubIntegration github;
};

struct LimitsConfig {
  std::int64_t max_body_bytes = 1048576;
  std::int64_t max_samples_per_request = 10000;
  std::int64_t max_series = 1000000;
};

struct HttpConfig {
  int threads = 2;                        // I/O threads
  Millis read_timeout = Millis(10000);    // whole request must arrive within this
  Millis idle_timeout = Millis(60000);    // keep-alive connection idle limit
  Millis request_timeout = Millis(5000);  // a handler's answer (incl. database) within this
  Millis shutdown_timeout = Millis(10000);// drain limit on SIGTERM
  std::int64_t max_header_bytes = 16384;
};

struct DatabaseConfig {
  int pool_size = 4;                          // connections == pool threads
  int queue_limit = 1024;                     // queued jobs beyond this → 503 at once
  Millis statement_timeout = Millis(5000);
  Millis connect_timeout = Millis(2000);
};

// The whole configuration as one value. Every field has a default so an
// empty file is a valid configuration for local runs.
struct Config {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string database_url = "postgresql://backstop@127.0.0.1:5432/backstop";
  // The schema owner's URL, for migrations (DESIGN "Audit log"); empty means
  // database_url. Read it through MigrationDatabaseUrl().
  std::string migration_database_url;
  std::string migrations_dir = "migrations";  // absolute after loading
  std::string thresholds_dir = "thresholds";  // absolute after loading
  Millis evaluation_tick = Millis(1000);
  std::string instance_id;                    // default: host name ":" listen port
  std::string log_level = "info";
  LimitsConfig limits;
  HttpConfig http;
  DatabaseConfig database;
  std::vector<ExecutorConfig> executors;      // default: one `log` executor matching "*"
  std::vector<TelemetrySourceConfig> telemetry_sources;  // default: none (push only)
  IntegrationsConfig integrations;
  Notifiers notifiers;                        // default: none
  std::string ui_url;                         // links in notifications; no trailing '/'; empty = no links
  std::optional<TlsConfig> tls;               // absent: plain HTTP

  // Migrations connect here: migration_database_url, or database_url without it.
  const std::string& MigrationDatabaseUrl() const {
    return migration_database_url.empty() ? database_url : migration_database_url;
  }
};

}  // namespace backstop::config
