#include "backstop/config/config_loader.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "backstop/actions/delivery.hpp"
#include "backstop/common/strict_yaml.hpp"
#include "backstop/common/wire_table.hpp"

namespace backstop::config {
namespace {

// Error messages have two shapes, both naming the full key path:
//   unknown key "limits.max_bodies"
//   limits.max_body_bytes: must be a positive integer
// Executors are addressed by index: executors[1].url. ParseConfig reports
// every problem it finds: Error.message is the first one (in document order)
// and Error.details lists all of them, the first included.

constexpr std::int64_t kMiB = 1024 * 1024;
constexpr std::int64_t kMaxBodyBytes = 64 * kMiB;
constexpr std::int64_t kMaxSamplesPerRequest = 1'000'000;
constexpr std::int64_t kMaxSeries = 100'000'000;
constexpr std::int64_t kMaxHeaderBytes = 1 * kMiB;
constexpr std::int64_t kMaxThreads = 64;
constexpr std::int64_t kMaxPoolSize = 64;
constexpr std::int64_t kMaxQueueLimit = 1'000'000;
constexpr std::int64_t kMaxAttempts = 100;
// No timeout or tick in Backstop is sensibly longer than a day; the cap also
// keeps deadline arithmetic far from overflow.
constexpr Millis kMaxDuration = std::chrono::hours(24);

constexpr std::string_view kListenEnv = "BACKSTOP_LISTEN";
constexpr std::string_view kDatabaseUrlEnv = "BACKSTOP_DATABASE_URL";
constexpr std::string_view kMigrationDatabaseUrlEnv = "BACKSTOP_MIGRATION_DATABASE_URL";

constexpr std::array<std::string_view, 5> kLogLevels = {"trace", "debug", "info", "warn",
                                                        "error"};

// "host:port" or "[v6-address]:port"; the brackets are not kept.
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

std::optional<ListenAddress> ParseListen(std::string_view text) {
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    // An unbracketed host must not itself contain ':' (IPv6 needs brackets).
    if (host.find(':') != std::string_view::npos) return std::nullopt;
  }
  if (host.empty() || port_text.empty() || port_text.size() > 5) return std::nullopt;
  for (const char c : host) {
    if (c == ' ' || c == '\t' || c == '/' || c == '[' || c == ']') return std::nullopt;
  }
  unsigned port = 0;
  for (const char c : port_text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return std::nullopt;
  return ListenAddress{std::string(host), static_cast<std::uint16_t>(port)};
}

constexpr std::string_view kListenProblem = "must be \"host:port\" with a port from 0 to 65535";

bool IsEnvVarName(std::string_view name) {
  if (name.empty()) return false;
  const auto is_alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  if (!is_alpha(name.front()) && name.front() != '_') return false;
  for (const char c : name) {
    if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '_') return false;
  }
  return true;
}

bool IsHttpUrl(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return false;
  }
  if (rest.empty() || rest.front() == '/') return false;
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= ' ') return false;
  }
  return true;
}

// The executor keys, all of which are known to the parser; which of them a
// given type accepts is decided after the type is known.
constexpr std::array<std::string_view, 8> kExecutorKeys = {
    "match", "type", "url", "secret_env", "argv", "timeout", "max_attempts", "ca_file"};
constexpr WireTable<ExecutorType, 4> kExecutorTypes{{
    {ExecutorType::kWebhook, "webhook"},
    {ExecutorType::kCommand, "command"},
    {ExecutorType::kLog, "log"},
    {ExecutorType::kGate, "gate"},
}};

constexpr WireTable<TelemetrySourceType, 1> kTelemetrySourceTypes{{
    {TelemetrySourceType::kPrometheus, "prometheus"},
}};
constexpr std::array<std::string_view, 9> kTelemetrySourceKeys = {
    "name", "type", "url", "interval", "timeout", "max_concurrency", "headers_env", "labels", "ca_file"};
constexpr std::array<std::string_view, 3> kSourceLabelKeys = {"service", "environment", "version"};
// Each source runs its own scheduler and workers; the caps keep a typo from
// starting hundreds of threads.
constexpr std::int64_t kMaxTelemetrySources = 16;
constexpr std::int64_t kMaxSourceConcurrency = 32;
// Pulling a metrics store more often than it scrapes only repeats values.
constexpr Millis kMinPullInterval = std::chrono::seconds(1);
// The source of pushed samples that name none (DESIGN "Sources").
constexpr std::string_view kPushedSource = "default";
// Headers the HTTP client writes itself.
constexpr std::array<std::string_view, 5> kReservedHeaders = {"host", "content-type", "content-length",
                                                              "connection", "transfer-encoding"};

// RFC 9110 token characters.
bool IsHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool IsReservedHeader(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::find(kReservedHeaders.begin(), kReservedHeaders.end(), lower) != kReservedHeaders.end();
}

// A Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool IsLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool ExecutorTypeAllows(ExecutorType type, std::string_view key) {
  if (key == "match" || key == "type" || key == "timeout") return true;
  // A gate action is handed out once, never attempted again: max_attempts
  // means nothing for it. For the others it belongs to the outbox worker's
  // delivery loop and applies to every type, including log.
  if (key == "max_attempts") return type != ExecutorType::kGate;
  if (type == ExecutorType::kWebhook) return key == "url" || key == "secret_env" || key == "ca_file";
  if (type == ExecutorType::kCommand) return key == "argv";
  return false;
}

// The notifier keys, all known to the parser; which of them a type accepts
// is decided once the type is known.
constexpr std::array<std::string_view, 11> kNotifierKeys = {
    "name", "type", "match", "events", "routing_key_env", "url_env", "url", "secret_env",
    "ca_file", "timeout", "max_attempts"};
constexpr WireTable<NotifierType, 3> kNotifierTypes{{
    {NotifierType::kPagerDuty, "pagerduty"},
    {NotifierType::kSlack, "slack"},
    {NotifierType::kWebhook, "webhook"},
}};
constexpr std::array<std::string_view, 2> kTlsKeys = {"cert_file", "key_file"};
// Each notifier is a row per event in the outbox; a typo must not fan out forever.
constexpr std::int64_t kMaxNotifiers = 32;
constexpr std::string_view kAllEvents = "*";

bool NotifierTypeAllows(NotifierType type, std::string_view key) {
  if (key == "name" || key == "type" || key == "match" || key == "events" || key == "ca_file" ||
      key == "timeout" || key == "max_attempts") {
    return true;
  }
  switch (type) {
    case NotifierType::kPagerDuty: return key == "routing_key_env" || key == "url";
    case NotifierType::kSlack: return key == "url_env";
    case NotifierType::kWebhook: return key == "url" || key == "secret_env";
  }
  return false;
}

// PagerDuty incidents are escalations: one is triggered when a human is
// asked and resolved when the escalation leaves `pending`. Action events
// have no incident of their own.
bool PagerDutySends(domain::NotificationEvent e) {
  return e != domain::NotificationEvent::kActionSucceeded && e != domain::NotificationEvent::kActionFailed;
}

std::vector<domain::NotificationEvent> DefaultEvents(NotifierType type) {
  using E = domain::NotificationEvent;
  if (type == NotifierType::kPagerDuty) return {E::kEscalationOpened, E::kRollbackFailed, E::kRollbackIneffective};
  const auto all = domain::AllNotificationEvents();
  return {all.begin(), all.end()};
}

template <std::size_t N>
bool IsOneOf(const std::string& text, const std::array<std::string_view, N>& names) {
  return std::find(names.begin(), names.end(), text) != names.end();
}

// Every config integer is a count or size: at least 1, with a sanity cap.
constexpr IntegerRule PositiveUpTo(std::int64_t max) {
  return IntegerRule{1, max, IntegerWording::kPositiveAtMost};
}
constexpr DurationRule kDurationRule{kMaxDuration, false, DurationWording::kPositive};

// The one line a config problem becomes. Unknown keys keep the form users
// know from the README: unknown key "limits.max_bodies".
std::string FormatProblem(const YamlProblem& problem) {
  if (problem.reason == kUnknownKey) return std::string(kUnknownKey) + " " + Quote(problem.field);
  return problem.field + ": " + problem.reason;
}

// Walks the YAML tree, filling a Config and collecting every problem found.
// Single-use, not thread-safe; lives only inside ParseConfig.
class ConfigReader {
 public:
  using Reader = std::function<void(const YAML::Node& value, const std::string& path)>;
  struct Field {
    std::string_view key;
    Reader read;
  };

  explicit ConfigReader(Config& config) : config_(config), yaml_("configuration") {}

  std::vector<std::string> TakeErrors() {
    std::vector<std::string> errors;
    for (const YamlProblem& problem : yaml_.problems()) errors.push_back(FormatProblem(problem));
    return errors;
  }

  // `root` is a map, or null for an empty document ("---" alone): all defaults.
  void ReadTopLevel(const YAML::Node& root) {
    ReadMap(root, "",
            {
                {"listen", [this](const auto& v, const auto& p) { ReadListen(v, p); }},
                {"database_url",
                 [this](const auto& v, const auto& p) { ReadString(v, p, config_.database_url); }},
                {"migration_database_url",
                 [this](const auto& v, const auto& p) { ReadString(v, p, config_.migration_database_url); }},
                {"migrations_dir",
                 [this](const auto& v, const auto& p) { ReadString(v, p, config_.migrations_dir); }},
                {"thresholds_dir",
                 [this](const auto& v, const auto& p) { ReadString(v, p, config_.thresholds_dir); }},
                {"evaluation_tick",
                 [this](const auto& v, const auto& p) {
                   ReadDuration(v, p, config_.evaluation_tick);
                 }},
                {"instance_id",
                 [this](const auto& v, const auto& p) { ReadInstanceId(v, p); }},
                {"log_level", [this](const auto& v, const auto& p) { ReadLogLevel(v, p); }},
                {"limits", [this](const auto& v, const auto& p) { ReadLimits(v, p); }},
                {"http", [this](const auto& v, const auto& p) { ReadHttp(v, p); }},
                {"database", [this](const auto& v, const auto& p) { ReadDatabase(v, p); }},
                {"executors", [this](const auto& v, const auto& p) { ReadExecutors(v, p); }},
                {"notifiers", [this](const auto& v, const auto& p) { ReadNotifiers(v, p); }},
                {"ui_url", [this](const auto& v, const auto& p) { ReadUiUrl(v, p); }},
                {"tls", [this](const auto& v, const auto& p) { ReadTls(v, p); }},
                {"telemetry_sources",
                 [this](const auto& v, const auto& p) { ReadTelemetrySources(v, p); }},
                {"integrations", [this](const auto& v, const auto& p) { ReadIntegrations(v, p); }},
            });
  }

 private:
  void Fail(const std::string& path, std::string problem) { yaml_.Fail(path, std::move(problem)); }

  // Dispatches each entry of a map to its field reader, in document order.
  // A null section (`limits:` with every entry commented out) counts as empty.
  void ReadMap(const YAML::Node& node, const std::string& path, const std::vector<Field>& fields) {
    std::vector<std::string_view> keys;
    for (const Field& field : fields) keys.push_back(field.key);
    yaml_.VisitMap(node, path, keys, [&](const std::string& key, const YAML::Node& value) {
      for (const Field& field : fields) {
        if (field.key == key) field.read(value, KeyPath(path, key));
      }
    });
  }

  bool ReadString(const YAML::Node& node, const std::string& path, std::string& out,
                  YamlReader::Empty empty = YamlReader::Empty::kRefused) {
    std::optional<std::string> text = yaml_.ReadString(node, path, empty);
    if (!text) return false;
    out = std::move(*text);
    return true;
  }

  template <typename T>
  void ReadInteger(const YAML::Node& node, const std::string& path, std::int64_t max, T& out) {
    if (const std::optional<std::int64_t> value = yaml_.ReadInteger(node, path, PositiveUpTo(max))) {
      out = static_cast<T>(*value);
    }
  }

  void ReadDuration(const YAML::Node& node, const std::string& path, Millis& out) {
    if (const std::optional<Millis> value = yaml_.ReadDuration(node, path, kDurationRule)) {
      out = *value;
    }
  }

  void ReadListen(const YAML::Node& node, const std::string& path) {
    std::string text;
    if (!ReadString(node, path, text, YamlReader::Empty::kAllowed)) return;
    const std::optional<ListenAddress> address = ParseListen(text);
    if (!address) {
      Fail(path, std::string(kListenProblem));
      return;
    }
    config_.listen_host = address->host;
    config_.listen_port = address->port;
  }

  void ReadInstanceId(const YAML::Node& node, const std::string& path) {
    // An explicit empty string means the same as leaving the key out: the default.
    std::string text;
    if (!ReadString(node, path, text, YamlReader::Empty::kAllowed)) return;
    for (const char c : text) {
      if (static_cast<unsigned char>(c) < ' ') {
        Fail(path, "must not contain control characters");
        return;
      }
    }
    config_.instance_id = text;
  }

  void ReadLogLevel(const YAML::Node& node, const std::string& path) {
    std::string text;
    if (!ReadString(node, path, text)) return;
    if (!IsOneOf(text, kLogLevels)) {
      Fail(path, OneOfReason(kLogLevels));
      return;
    }
    config_.log_level = text;
  }

  void ReadLimits(const YAML::Node& node, const std::string& path) {
    LimitsConfig& limits = config_.limits;
    ReadMap(node, path,
            {
                {"max_body_bytes",
                 [&](const auto& v, const auto& p) {
                   ReadInteger(v, p, kMaxBodyBytes, limits.max_body_bytes);
                 }},
                {"max_samples_per_request",
                 [&](const auto& v, const auto& p) {
                   ReadInteger(v, p, kMaxSamplesPerRequest, limits.max_samples_per_request);
                 }},
                {"max_series",
                 [&](const auto& v, const auto& p) {
                   ReadInteger(v, p, kMaxSeries, limits.max_series);
                 }},
            });
  }

  void ReadHttp(const YAML::Node& node, const std::string& path) {
    HttpConfig& http = config_.http;
    ReadMap(node, path,
            {
                {"threads",
                 [&](const auto& v, const auto& p) { ReadInteger(v, p, kMaxThreads, http.threads); }},
                {"read_timeout",
                 [&](const auto& v, const auto& p) { ReadDuration(v, p, http.read_timeout); }},
                {"idle_timeout",
                 [&](const auto& v, const auto& p) { ReadDuration(v, p, http.idle_timeout); }},
                {"request_timeout",
                 [&](const auto& v, const auto& p) { ReadDuration(v, p, http.request_timeout); }},
                {"shutdown_timeout",
                 [&](const auto& v, const auto& p) { ReadDuration(v, p, http.shutdown_timeout); }},
                {"max_header_bytes",
                 [&](const auto& v, const auto& p) {
                   ReadInteger(v, p, kMaxHeaderBytes, http.max_header_bytes);
                 }},
            });
  }

  void ReadDatabase(const YAML::Node& node, const std::string& path) {
    DatabaseConfig& database = config_.database;
    ReadMap(node, path,
            {
                {"pool_size",
                 [&](const auto& v, const auto& p) {
                   ReadInteger(v, p, kMaxPoolSize, database.pool_size);
                 }},
                {"queue_limit",
                 [&](const auto& v, const auto& p) {
                   ReadInteger(v, p, kMaxQueueLimit, database.queue_limit);
                 }},
                {"statement_timeout",
                 [&](const auto& v, const auto& p) {
                   ReadDuration(v, p, database.statement_timeout);
                 }},
                {"connect_timeout",
                 [&](const auto& v, const auto& p) { ReadDuration(v, p, database.connect_timeout); }},
            });
  }

  void ReadExecutors(const YAML::Node& node, const std::string& path) {
    if (node.IsNull()) return;  // every entry commented out: same as absent
    if (!node.IsSequence()) {
      Fail(path, "must be a sequence of executor maps");
      return;
    }
    if (node.size() == 0) {
      Fail(path, "must list at least one executor (leave the key out for a log executor)");
      return;
    }
    std::vector<ExecutorConfig> executors;
    std::optional<std::size_t> catch_all;  // first executor whose match is all stars
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string item_path = ItemPath(path, i);
      ExecutorConfig executor;
      const bool is_map = ReadExecutor(node[i], item_path, executor);
      if (catch_all) {
        // First match wins, so nothing after a catch-all can ever be chosen.
        Fail(item_path, "is unreachable: " + ItemPath(path, *catch_all) + " matches every service");
      } else if (is_map && executor.match.find_first_not_of('*') == std::string::npos) {
        catch_all = i;
      }
      executors.push_back(std::move(executor));
    }
    config_.executors = std::move(executors);
  }

  // Returns false when the item is not a map at all.
  bool ReadExecutor(const YAML::Node& node, const std::string& path, ExecutorConfig& executor) {
    if (!node.IsMap()) {
      Fail(path, "must be a map");
      return false;
    }
    // Open first: which keys are allowed depends on `type`, wherever it appears.
    const std::optional<YamlMap> map = yaml_.OpenMap(node, path, kExecutorKeys);
    if (!map) return false;

    std::optional<ExecutorType> type;
    if (const YAML::Node* value = map->Find("type")) {
      std::string text;
      if (ReadString(*value, map->PathOf("type"), text)) {
        type = ParseWire(kExecutorTypes, text);
        if (!type) Fail(map->PathOf("type"), "must be one of " + JoinWireNames(kExecutorTypes));
      }
    } else {
      Fail(map->PathOf("type"), "is required (webhook, command, log or gate)");
    }

    for (const auto& [key, value] : map->entries()) {
      const std::string key_path = map->PathOf(key);
      if (type && !ExecutorTypeAllows(*type, key)) {
        Fail(key_path, "is not valid for a " + std::string(WireName(kExecutorTypes, *type)) + " executor");
        continue;
      }
      if (key == "match") {
        ReadString(value, key_path, executor.match);
      } else if (key == "timeout") {
        ReadDuration(value, key_path, executor.timeout);
      } else if (key == "max_attempts") {
        ReadInteger(value, key_path, kMaxAttempts, executor.max_attempts);
      } else if (key == "url") {
        ReadWebhookUrl(value, key_path, executor.url);
      } else if (key == "secret_env") {
        ReadEnvVarName(value, key_path, executor.secret_env);
      } else if (key == "argv") {
        ReadArgv(value, key_path, executor.argv);
      } else if (key == "ca_file") {
        ReadString(value, key_path, executor.ca_file);
      }
    }

    if (!type) return true;
    executor.type = *type;
    if (*type == ExecutorType::kWebhook) {
      if (!map->Find("url")) Fail(map->PathOf("url"), "is required for a webhook executor");
      if (!map->Find("secret_env")) {
        Fail(map->PathOf("secret_env"), "is required for a webhook executor");
      }
    } else if (*type == ExecutorType::kCommand) {
      if (!map->Find("argv")) Fail(map->PathOf("argv"), "is required for a command executor");
    } else if (*type == ExecutorType::kGate) {
      // Orchestrators poll every few minutes at most; 5s would fail every gate action.
      if (!map->Find("timeout")) executor.timeout = kDefaultGateTimeout;
    }
    return true;
  }

  void ReadTelemetrySources(const YAML::Node& node, const std::string& path) {
    if (node.IsNull()) return;  // every entry commented out: same as absent
    if (!node.IsSequence()) {
      Fail(path, "must be a sequence of telemetry source maps");
      return;
    }
    if (static_cast<std::int64_t>(node.size()) > kMaxTelemetrySources) {
      Fail(path, "must list at most " + std::to_string(kMaxTelemetrySources) + " sources");
      return;
    }
    std::vector<TelemetrySourceConfig> sources;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string item_path = ItemPath(path, i);
      TelemetrySourceConfig source;
      ReadTelemetrySource(node[i], item_path, source);
      if (!source.name.empty()) {
        for (std::size_t j = 0; j < sources.size(); ++j) {
          if (sources[j].name == source.name) {
            Fail(KeyPath(item_path, "name"),
                 "duplicate source " + Quote(source.name) + " (also " + ItemPath(path, j) + ")");
            break;
          }
        }
      }
      sources.push_back(std::move(source));
    }
    config_.telemetry_sources = std::move(sources);
  }

  void ReadTelemetrySource(const YAML::Node& node, const std::string& path,
                           TelemetrySourceConfig& source) {
    if (!node.IsMap()) {
      Fail(path, "must be a map");
      return;
    }
    const std::optional<YamlMap> map = yaml_.OpenMap(node, path, kTelemetrySourceKeys);
    if (!map) return;
    if (const auto value = yaml_.Required(*map, "name")) {
      if (auto name = yaml_.ReadIdentifier(*value, map->PathOf("name"))) {
        if (*name == kPushedSource) {
          Fail(map->PathOf("name"),
               "\"default\" is the source of pushed samples that name none; choose another name");
        } else {
          source.name = std::move(*name);
        }
      }
    }
    if (const auto value = yaml_.Required(*map, "type")) {
      std::string text;
      if (ReadString(*value, map->PathOf("type"), text)) {
        if (const auto type = ParseWire(kTelemetrySourceTypes, text)) {
          source.type = *type;
        } else {
          Fail(map->PathOf("type"), "must be one of " + JoinWireNames(kTelemetrySourceTypes));
        }
      }
    }
    if (const auto value = yaml_.Required(*map, "url")) ReadSourceUrl(*value, map->PathOf("url"), source.url);
    if (const auto value = map->Get("interval")) {
      Millis interval{0};
      ReadDuration(*value, map->PathOf("interval"), interval);
      if (interval.count() > 0 && interval < kMinPullInterval) {
        Fail(map->PathOf("interval"), "must be at least " + FormatDuration(kMinPullInterval));
      } else if (interval.count() > 0) {
        source.interval = interval;
      }
    }
    if (const auto value = map->Get("timeout")) ReadDuration(*value, map->PathOf("timeout"), source.timeout);
    if (const auto value = map->Get("max_concurrency")) {
      ReadInteger(*value, map->PathOf("max_concurrency"), kMaxSourceConcurrency, source.max_concurrency);
    }
    if (const auto value = map->Get("headers_env")) {
      ReadHeadersEnv(*value, map->PathOf("headers_env"), source.headers_env);
    }
    if (const auto value = map->Get("labels")) ReadSourceLabels(*value, map->PathOf("labels"), source.labels);
    if (const auto value = map->Get("ca_file")) ReadString(*value, map->PathOf("ca_file"), source.ca_file);
  }

  void ReadSourceUrl(const YAML::Node& node, const std::string& path, std::string& out) {
    std::string url;
    if (!ReadString(node, path, url)) return;
    if (!IsHttpUrl(url) || url.find_first_of("?#") != std::string::npos) {
      Fail(path, "must be an http:// or https:// URL without a query or fragment");
      return;
    }
    if (!actions::ParseHttpUrl(url)) {
      Fail(path, "must be http(s)://host[:port][/path] with a port from 1 to 65535");
      return;
    }
    while (url.ends_with('/')) url.pop_back();
    out = url;
  }

  void ReadHeadersEnv(const YAML::Node& node, const std::string& path,
                      std::vector<std::pair<std::string, std::string>>& out) {
    yaml_.VisitOpenMap(node, path, [&](const std::string& header, const YAML::Node& value) {
      const std::string header_path = KeyPath(path, header);
      if (!IsHeaderName(header)) {
        Fail(header_path, "is not a valid HTTP header name");
        return;
      }
      if (IsReservedHeader(header)) {
        Fail(header_path, "is set by Backstop itself and cannot be configured");
        return;
      }
      std::string name;
      if (!ReadString(value, header_path, name)) return;
      if (!IsEnvVarName(name)) {
        Fail(header_path, "must be an environment variable name (letters, digits, _)");
        return;
      }
      out.emplace_back(header, name);
    });
  }

  void ReadSourceLabels(const YAML::Node& node, const std::string& path, SourceLabels& labels) {
    const auto read = [this](const YAML::Node& value, const std::string& key_path, std::string& out) {
      std::string name;
      if (!ReadString(value, key_path, name)) return;
      if (!IsLabelName(name)) {
        Fail(key_path, "must be a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)");
        return;
      }
      out = name;
    };
    ReadMap(node, path,
            {
                {"service", [&](const auto& v, const auto& p) { read(v, p, labels.service); }},
                {"environment", [&](const auto& v, const auto& p) { read(v, p, labels.environment); }},
                {"version", [&](const auto& v, const auto& p) { read(v, p, labels.version); }},
            });
  }

  // integrations: flagger, cdevents, github (INTEGRATIONS.md §2, §3).
  void ReadIntegrations(const YAML::Node& node, const std::string& path) {
    IntegrationsConfig& integrations = config_.integrations;
    ReadMap(node, path,
            {
                {"flagger",
                 [&](const auto& v, const auto& p) {
                   ReadMap(v, p,
                           {
                               {"default_release_class",
                                [&](const auto& v2, const auto& p2) {
                                  ReadReleaseClass(v2, p2, integrations.flagger.default_release_class);
                                }},
                               {"default_traffic_percent",
                                [&](const auto& v2, const auto& p2) {
                                  ReadTrafficPercent(v2, p2, integrations.flagger.default_traffic_percent);
                                }},
                           });
                 }},
                {"cdevents",
                 [&](const auto& v, const auto& p) {
                   ReadMap(v, p,
                           {
                               {"default_release_class",
                                [&](const auto& v2, const auto& p2) {
                                  ReadReleaseClass(v2, p2, integrations.cdevents.default_release_class);
                                }},
                           });
                 }},
                {"github",
                 [&](const auto& v, const auto& p) {
                   ReadMap(v, p,
                           {
                               {"secret_env",
                                [&](const auto& v2, const auto& p2) {
                                  ReadEnvVarName(v2, p2, integrations.github.secret_env);
                                }},
                               {"default_release_class",
                                [&](const auto& v2, const auto& p2) {
                                  ReadReleaseClass(v2, p2, integrations.github.default_release_class);
                                }},
                               {"default_traffic_percent",
                                [&](const auto& v2, const auto& p2) {
                                  ReadTrafficPercent(v2, p2, integrations.github.default_traffic_percent);
                                }},
                           });
                 }},
            });
  }

  void ReadReleaseClass(const YAML::Node& node, const std::string& path, std::optional<std::string>& out) {
    if (std::optional<std::string> cls = yaml_.ReadIdentifier(node, path)) out = std::move(*cls);
  }

  void ReadTrafficPercent(const YAML::Node& node, const std::string& path, double& out) {
    const std::optional<double> value = yaml_.ReadNumber(node, path);
    if (!value) return;
    if (*value < 0 || *value > 100) {
      Fail(path, "must be a number from 0 to 100");
      return;
    }
    out = *value;
  }

  void ReadEnvVarName(const YAML::Node& node, const std::string& path, std::string& out) {
    std::string name;
    if (!ReadString(node, path, name)) return;
    if (!IsEnvVarName(name)) {
      Fail(path, "must be an environment variable name (letters, digits, _)");
      return;
    }
    out = name;
  }

  void ReadWebhookUrl(const YAML::Node& node, const std::string& path, std::string& out) {
    std::string url;
    if (!ReadString(node, path, url)) return;
    if (!IsHttpUrl(url) || !actions::ParseHttpUrl(url)) {
      Fail(path, "must be an http:// or https:// URL");
      return;
    }
    out = url;
  }

  void ReadNotifiers(const YAML::Node& node, const std::string& path) {
    if (node.IsNull()) return;  // every entry commented out: same as absent
    if (!node.IsSequence()) {
      Fail(path, "must be a sequence of notifier maps");
      return;
    }
    if (static_cast<std::int64_t>(node.size()) > kMaxNotifiers) {
      Fail(path, "must list at most " + std::to_string(kMaxNotifiers) + " notifiers");
      return;
    }
    Notifiers notifiers;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string item_path = ItemPath(path, i);
      NotifierConfig notifier;
      ReadNotifier(node[i], item_path, notifier);
      if (!notifier.name.empty()) {
        for (std::size_t j = 0; j < notifiers.size(); ++j) {
          if (notifiers[j].name == notifier.name) {
            Fail(KeyPath(item_path, "name"),
                 "duplicate notifier " + Quote(notifier.name) + " (also " + ItemPath(path, j) + ")");
            break;
          }
        }
      }
      notifiers.push_back(std::move(notifier));
    }
    config_.notifiers = std::move(notifiers);
  }

  void ReadNotifier(const YAML::Node& node, const std::string& path, NotifierConfig& notifier) {
    if (!node.IsMap()) {
      Fail(path, "must be a map");
      return;
    }
    const std::optional<YamlMap> map = yaml_.OpenMap(node, path, kNotifierKeys);
    if (!map) return;
    if (const auto value = yaml_.Required(*map, "name")) {
      if (auto name = yaml_.ReadIdentifier(*value, map->PathOf("name"))) notifier.name = std::move(*name);
    }
    std::optional<NotifierType> type;
    if (const auto value = map->Get("type")) {
      std::string text;
      if (ReadString(*value, map->PathOf("type"), text)) {
        type = ParseWire(kNotifierTypes, text);
        if (!type) Fail(map->PathOf("type"), "must be one of " + JoinWireNames(kNotifierTypes));
      }
    } else {
      Fail(map->PathOf("type"), "is required (" + JoinWireNames(kNotifierTypes) + ")");
    }
    for (const auto& [key, value] : map->entries()) {
      const std::string key_path = map->PathOf(key);
      if (type && !NotifierTypeAllows(*type, key)) {
        std::string why = "is not valid for a " + std::string(WireName(kNotifierTypes, *type)) + " notifier";
        if (*type == NotifierType::kSlack && key == "url") {
          why += " (a Slack webhook URL is a secret: name its environment variable in url_env)";
        }
        Fail(key_path, std::move(why));
        continue;
      }
      if (key == "match") {
        ReadString(value, key_path, notifier.match);
      } else if (key == "events") {
        if (type) ReadEvents(value, key_path, *type, notifier.events);
      } else if (key == "routing_key_env") {
        ReadEnvVarName(value, key_path, notifier.routing_key_env);
      } else if (key == "url_env") {
        ReadEnvVarName(value, key_path, notifier.url_env);
      } else if (key == "secret_env") {
        ReadEnvVarName(value, key_path, notifier.secret_env);
      } else if (key == "url") {
        ReadWebhookUrl(value, key_path, notifier.url);
      } else if (key == "ca_file") {
        ReadString(value, key_path, notifier.ca_file);
      } else if (key == "timeout") {
        ReadDuration(value, key_path, notifier.timeout);
      } else if (key == "max_attempts") {
        ReadInteger(value, key_path, kMaxAttempts, notifier.max_attempts);
      }
    }
    if (!type) return;
    notifier.type = *type;
    const auto require = [&](std::string_view key) {
      if (!map->Find(key)) {
        Fail(map->PathOf(key), "is required for a " + std::string(WireName(kNotifierTypes, *type)) + " notifier");
      }
    };
    switch (*type) {
      case NotifierType::kPagerDuty:
        require("routing_key_env");
        if (notifier.url.empty()) notifier.url = std::string(kPagerDutyEventsUrl);
        break;
      case NotifierType::kSlack: require("url_env"); break;
      case NotifierType::kWebhook:
        require("url");
        require("secret_env");
        break;
    }
    if (!map->Find("events")) notifier.events = DefaultEvents(*type);
  }

  // A sequence of event names, or "*" for every event the type sends.
  void ReadEvents(const YAML::Node& node, const std::string& path, NotifierType type,
                  std::vector<domain::NotificationEvent>& out) {
    const auto items = yaml_.OpenSequence(node, path, "must be a non-empty sequence of event names or \"*\"");
    if (!items) return;
    std::vector<domain::NotificationEvent> events;
    bool all = false;
    for (std::size_t i = 0; i < items->size(); ++i) {
      const std::string item_path = ItemPath(path, i);
      std::string text;
      if (!ReadString((*items)[i], item_path, text)) continue;
      if (text == kAllEvents) {
        all = true;
        continue;
      }
      const auto event = domain::ParseNotificationEvent(text);
      if (!event) {
        Fail(item_path, "must be \"*\" or one of " + domain::NotificationEventNames());
        continue;
      }
      if (type == NotifierType::kPagerDuty && !PagerDutySends(*event)) {
        Fail(item_path, "a pagerduty notifier pages about escalations; " + text +
                            " has none (send it to a slack or webhook notifier)");
        continue;
      }
      if (std::find(events.begin(), events.end(), *event) != events.end()) {
        Fail(item_path, "duplicate event " + text);
        continue;
      }
      events.push_back(*event);
    }
    if (all) {
      events.clear();
      for (const auto e : domain::AllNotificationEvents()) {
        if (type != NotifierType::kPagerDuty || PagerDutySends(e)) events.push_back(e);
      }
    }
    out = std::move(events);
  }

  void ReadUiUrl(const YAML::Node& node, const std::string& path) {
    std::string url;
    if (!ReadString(node, path, url, YamlReader::Empty::kAllowed)) return;
    if (url.empty()) return;
    if (!IsHttpUrl(url) || !actions::ParseHttpUrl(url) || url.find_first_of("?#") != std::string::npos) {
      Fail(path, "must be an http:// or https:// URL without a query or fragment");
      return;
    }
    while (url.ends_with('/')) url.pop_back();
    config_.ui_url = url;
  }

  void ReadTls(const YAML::Node& node, const std::string& path) {
    if (node.IsNull()) return;  // every line commented out: plain HTTP
    const std::optional<YamlMap> map = yaml_.OpenMap(node, path, kTlsKeys);
    if (!map) return;
    TlsConfig tls;
    bool complete = true;
    for (const auto& [key, out] : {std::pair<std::string_view, std::string*>{"cert_file", &tls.cert_file},
                                   {"key_file", &tls.key_file}}) {
      if (const auto value = yaml_.Required(*map, key)) {
        complete = ReadString(*value, map->PathOf(key), *out) && complete;
      } else {
        complete = false;
      }
    }
    if (complete) config_.tls = std::move(tls);
  }

  void ReadArgv(const YAML::Node& node, const std::string& path, std::vector<std::string>& out) {
    const auto items = yaml_.OpenSequence(node, path, "must be a non-empty sequence of strings");
    if (!items) return;
    std::vector<std::string> argv;
    bool ok = true;
    for (std::size_t i = 0; i < items->size(); ++i) {
      const std::string arg_path = ItemPath(path, i);
      const YAML::Node& item = (*items)[i];
      if (!item.IsScalar()) {
        Fail(arg_path, "must be a string");
        ok = false;
        continue;
      }
      std::string arg = item.Scalar();
      if (i == 0 && arg.empty()) {
        Fail(arg_path, "must name the program to run");
        ok = false;
      }
      argv.push_back(std::move(arg));
    }
    if (ok) out = std::move(argv);
  }

  Config& config_;
  YamlReader yaml_;
};

std::string HostName() {
  std::array<char, 256> buffer{};
  if (gethostname(buffer.data(), buffer.size() - 1) != 0 || buffer[0] == '\0') {
    return "backstop";
  }
  return std::string(buffer.data());
}

// Makes a path (a folder or a file) absolute against `base_dir` (itself made absolute against the
// working directory) and lexically normal, without a trailing separator.
std::optional<std::string> ResolvePath(const std::string& dir, const std::string& base_dir) {
  namespace fs = std::filesystem;
  fs::path path(dir);
  if (path.is_relative()) path = fs::path(base_dir) / path;
  std::error_code ec;
  path = fs::absolute(path, ec);
  if (ec) return std::nullopt;
  path = path.lexically_normal();
  if (!path.has_filename() && path.has_relative_path()) path = path.parent_path();
  return path.string();
}

// The whole of ParseConfig; may throw only on a failure nobody expects
// (std::bad_alloc), which ParseConfig turns into an error.
Result<Config> ParseConfigOrThrow(const std::string& yaml_text, const std::string& base_dir,
                                  const EnvLookup& env) {
  Config config;
  std::vector<std::string> errors;
  const YamlDocument document = LoadSingleDocument(yaml_text);
  switch (document.outcome) {
    case YamlDocument::Outcome::kEmpty:
      break;  // an empty or comment-only file: all defaults
    case YamlDocument::Outcome::kSeveral:
      errors.push_back("configuration must be a single YAML document");
      break;
    case YamlDocument::Outcome::kSyntaxError: {
      const std::string message = FormatSyntaxError("YAML parse error", document.syntax_error);
      return Error::InvalidInput(message, {message});
    }
    case YamlDocument::Outcome::kOne:
      if (!document.root.IsNull() && !document.root.IsMap()) {
        errors.push_back("configuration must be a YAML map of settings");
      } else {
        ConfigReader reader(config);
        reader.ReadTopLevel(document.root);
        errors = reader.TakeErrors();
      }
      break;
  }

  // Environment overrides win over the file; each is validated like its key
  // but errors name the variable. Header secrets of telemetry sources come
  // from the environment too; an unset one names its key.
  if (env) {
    for (std::size_t i = 0; i < config.telemetry_sources.size(); ++i) {
      TelemetrySourceConfig& source = config.telemetry_sources[i];
      for (const auto& [header, variable] : source.headers_env) {
        const std::optional<std::string> value = env(variable);
        if (!value || value->empty()) {
          errors.push_back(KeyPath(KeyPath(ItemPath("telemetry_sources", i), "headers_env"), header) +
                           ": environment variable " + variable + " is not set");
        } else {
          source.headers.emplace_back(header, *value);
        }
      }
    }
    if (const std::optional<std::string> url = env(std::string(kDatabaseUrlEnv))) {
      if (url->empty()) {
        errors.push_back(std::string(kDatabaseUrlEnv) + ": must not be empty");
      } else {
        config.database_url = *url;
      }
    }
    if (const std::optional<std::string> url = env(std::string(kMigrationDatabaseUrlEnv))) {
      // Empty is allowed here: it means "the same as database_url", so a
      // deployment can switch the override off without unsetting it.
      config.migration_database_url = *url;
    }
    if (const std::optional<std::string> listen = env(std::string(kListenEnv))) {
      if (const std::optional<ListenAddress> address = ParseListen(*listen)) {
        config.listen_host = address->host;
        config.listen_port = address->port;
      } else {
        errors.push_back(std::string(kListenEnv) + ": " + std::string(kListenProblem));
      }
    }
  }

  if (errors.empty()) {
    std::vector<std::pair<std::string, std::string*>> paths{{"migrations_dir", &config.migrations_dir},
                                                            {"thresholds_dir", &config.thresholds_dir}};
    // Files (CA certificates, the server's certificate and key) likewise.
    for (std::size_t i = 0; i < config.executors.size(); ++i) {
      if (!config.executors[i].ca_file.empty()) {
        paths.emplace_back(KeyPath(ItemPath("executors", i), "ca_file"), &config.executors[i].ca_file);
      }
    }
    for (std::size_t i = 0; i < config.telemetry_sources.size(); ++i) {
      if (!config.telemetry_sources[i].ca_file.empty()) {
        paths.emplace_back(KeyPath(ItemPath("telemetry_sources", i), "ca_file"), &config.telemetry_sources[i].ca_file);
      }
    }
    for (std::size_t i = 0; i < config.notifiers.size(); ++i) {
      if (!config.notifiers[i].ca_file.empty()) {
        paths.emplace_back(KeyPath(ItemPath("notifiers", i), "ca_file"), &config.notifiers[i].ca_file);
      }
    }
    if (config.tls) {
      paths.emplace_back("tls.cert_file", &config.tls->cert_file);
      paths.emplace_back("tls.key_file", &config.tls->key_file);
    }
    for (auto& [key, path] : paths) {
      if (const std::optional<std::string> resolved = ResolvePath(*path, base_dir)) {
        *path = *resolved;
      } else {
        errors.push_back(key + ": cannot be made absolute");
      }
    }
  }
  if (!errors.empty()) {
    std::string first = errors.front();
    return Error::InvalidInput(std::move(first), std::move(errors));
  }

  // Host name plus listen port (after BACKSTOP_LISTEN), so two processes on
  // one host hold executor leases under different ids.
  if (config.instance_id.empty()) {
    config.instance_id = HostName() + ":" + std::to_string(config.listen_port);
  }
  if (config.executors.empty()) config.executors.push_back(ExecutorConfig{});  // "*" → log
  return config;
}

Result<Config> LoadConfigFileOrThrow(const std::string& path, const EnvLookup& env) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return Error::InvalidInput("cannot read config file " + Quote(path) + ": is a directory");
  }
  errno = 0;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    const int error = errno;
    std::string message = "cannot read config file " + Quote(path);
    if (error != 0) message += ": " + std::string(std::strerror(error));
    return Error::InvalidInput(std::move(message));
  }
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) {
    return Error::InvalidInput("cannot read config file " + Quote(path));
  }
  Result<Config> config = ParseConfig(text.str(), fs::path(path).parent_path().string(), env);
  if (config.ok()) return config;
  // Name the file, so a start-up error says which file is wrong.
  Error error = config.error();
  error.message = path + ": " + error.message;
  return error;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<Config> ParseConfig(const std::string& yaml_text, const std::string& base_dir,
                           const EnvLookup& env) {
  try {
    return ParseConfigOrThrow(yaml_text, base_dir, env);
  } catch (const std::exception& e) {
    return Error::InvalidInput(std::string("configuration could not be read: ") + e.what());
  } catch (...) {
    return Error::InvalidInput("configuration could not be read");
  }
}

Result<Config> LoadConfigFile(const std::string& path, const EnvLookup& env) {
  try {
    return LoadConfigFileOrThrow(path, env);
  } catch (const std::exception& e) {
    return Error::InvalidInput("cannot read config file " + Quote(path) + ": " + e.what());
  } catch (...) {
    return Error::InvalidInput("cannot read config file " + Quote(path));
  }
}

std::string_view ToString(NotifierType t) { return WireName(kNotifierTypes, t); }
std::optional<NotifierType> ParseNotifierType(std::string_view text) { return ParseWire(kNotifierTypes, text); }
std::string_view ToString(TelemetrySourceType t) { return WireName(kTelemetrySourceTypes, t); }
std::optional<TelemetrySourceType> ParseTelemetrySourceType(std::string_view text) {
  return ParseWire(kTelemetrySourceTypes, text);
}

std::string_view ToString(ExecutorType t) { return WireName(kExecutorTypes, t); }
std::optional<ExecutorType> ParseExecutorType(std::string_view text) { return ParseWire(kExecutorTypes, text); }

}  // namespace backstop::config
