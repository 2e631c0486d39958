#include "backstop/config/config_loader.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
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

constexpr std::array<std::string_view, 5> kLogLevels = {"trace", "debug", "info", "warn",
                                                        "error"};

std::string Join(const std::string& prefix, std::string_view key) {
  if (prefix.empty()) return std::string(key);
  return prefix + "." + std::string(key);
}

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

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
constexpr std::array<std::string_view, 7> kExecutorKeys = {
    "match", "type", "url", "secret_env", "argv", "timeout", "max_attempts"};

bool ExecutorTypeAllows(std::string_view type, std::string_view key) {
  // timeout and max_attempts belong to the outbox worker's delivery loop and
  // apply to every executor type, including log.
  if (key == "match" || key == "type" || key == "timeout" || key == "max_attempts") return true;
  if (type == "webhook") return key == "url" || key == "secret_env";
  if (type == "command") return key == "argv";
  return false;
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

  explicit ConfigReader(Config& config) : config_(config) {}

  const std::vector<std::string>& errors() const { return errors_; }

  void Fail(const std::string& path, std::string_view problem) {
    errors_.push_back(path + ": " + std::string(problem));
  }

  void ReadTopLevel(const YAML::Node& root) {
    if (root.IsNull()) return;  // an empty or comment-only document: all defaults
    if (!root.IsMap()) {
      errors_.push_back("configuration must be a YAML map of settings");
      return;
    }
    ReadMap(root, "",
            {
                {"listen", [this](const auto& v, const auto& p) { ReadListen(v, p); }},
                {"database_url",
                 [this](const auto& v, const auto& p) { ReadString(v, p, config_.database_url); }},
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
            });
  }

 private:
  // Dispatches each entry of a map to its field reader, in document order.
  // A null section (`limits:` with every entry commented out) counts as empty.
  void ReadMap(const YAML::Node& node, const std::string& path, const std::vector<Field>& fields) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      Fail(path, "must be a map");
      return;
    }
    std::vector<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::optional<std::string> key = KeyOf(it->first, path);
      if (!key) continue;
      const std::string key_path = Join(path, *key);
      const Field* field = nullptr;
      for (const Field& candidate : fields) {
        if (candidate.key == *key) field = &candidate;
      }
      if (field == nullptr) {
        errors_.push_back("unknown key " + Quote(key_path));
        continue;
      }
      if (std::find(seen.begin(), seen.end(), *key) != seen.end()) {
        Fail(key_path, "duplicate key");
        continue;
      }
      seen.push_back(*key);
      field->read(it->second, key_path);
    }
  }

  std::optional<std::string> KeyOf(const YAML::Node& key, const std::string& path) {
    if (!key.IsScalar()) {
      Fail(path.empty() ? std::string("configuration") : path, "keys must be plain strings");
      return std::nullopt;
    }
    return key.Scalar();
  }

  bool ReadString(const YAML::Node& node, const std::string& path, std::string& out,
                  bool allow_empty = false) {
    if (!node.IsScalar()) {
      Fail(path, "must be a string");
      return false;
    }
    if (node.Scalar().empty() && !allow_empty) {
      Fail(path, "must not be empty");
      return false;
    }
    out = node.Scalar();
    return true;
  }

  template <typename T>
  void ReadInteger(const YAML::Node& node, const std::string& path, std::int64_t min,
                   std::int64_t max, T& out) {
    const std::string problem =
        min == 1 ? std::string("must be a positive integer")
                 : "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (!node.IsScalar()) {
      Fail(path, problem);
      return;
    }
    const std::string& text = node.Scalar();
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    const bool whole = end == text.data() + text.size();
    if (ec == std::errc::result_out_of_range && whole && !text.starts_with("-")) {
      Fail(path, "must be at most " + std::to_string(max));
      return;
    }
    if (ec != std::errc() || !whole || text.empty() || value < min) {
      Fail(path, problem);
      return;
    }
    if (value > max) {
      Fail(path, "must be at most " + std::to_string(max));
      return;
    }
    out = static_cast<T>(value);
  }

  void ReadDuration(const YAML::Node& node, const std::string& path, Millis& out) {
    constexpr std::string_view kProblem =
        "must be a positive duration such as 500ms, 30s, 5m or 2h";
    if (!node.IsScalar()) {
      Fail(path, kProblem);
      return;
    }
    const std::optional<Millis> value = ParseDuration(node.Scalar());
    if (!value || value->count() <= 0) {
      Fail(path, kProblem);
      return;
    }
    if (*value > kMaxDuration) {
      Fail(path, "must be at most " + FormatDuration(kMaxDuration));
      return;
    }
    out = *value;
  }

  void ReadListen(const YAML::Node& node, const std::string& path) {
    std::string text;
    if (!ReadString(node, path, text, /*allow_empty=*/true)) return;
    const std::optional<ListenAddress> address = ParseListen(text);
    if (!address) {
      Fail(path, kListenProblem);
      return;
    }
    config_.listen_host = address->host;
    config_.listen_port = address->port;
  }

  void ReadInstanceId(const YAML::Node& node, const std::string& path) {
    // An explicit empty string means the same as leaving the key out: the host name.
    std::string text;
    if (!ReadString(node, path, text, /*allow_empty=*/true)) return;
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
    if (std::find(kLogLevels.begin(), kLogLevels.end(), text) == kLogLevels.end()) {
      Fail(path, "must be one of trace, debug, info, warn, error");
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
                   ReadInteger(v, p, 1, kMaxBodyBytes, limits.max_body_bytes);
                 }},
                {"max_samples_per_request",
                 [&](const auto& v, const auto& p) {
                   ReadInteger(v, p, 1, kMaxSamplesPerRequest, limits.max_samples_per_request);
                 }},
                {"max_series",
                 [&](const auto& v, const auto& p) {
                   ReadInteger(v, p, 1, kMaxSeries, limits.max_series);
                 }},
            });
  }

  void ReadHttp(const YAML::Node& node, const std::string& path) {
    HttpConfig& http = config_.http;
    ReadMap(node, path,
            {
                {"threads",
                 [&](const auto& v, const auto& p) { ReadInteger(v, p, 1, kMaxThreads, http.threads); }},
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
                   ReadInteger(v, p, 1, kMaxHeaderBytes, http.max_header_bytes);
                 }},
            });
  }

  void ReadDatabase(const YAML::Node& node, const std::string& path) {
    DatabaseConfig& database = config_.database;
    ReadMap(node, path,
            {
                {"pool_size",
                 [&](const auto& v, const auto& p) {
                   ReadInteger(v, p, 1, kMaxPoolSize, database.pool_size);
                 }},
                {"queue_limit",
                 [&](const auto& v, const auto& p) {
                   ReadInteger(v, p, 1, kMaxQueueLimit, database.queue_limit);
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
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      ExecutorConfig executor;
      const bool is_map = ReadExecutor(node[i], item_path, executor);
      if (catch_all) {
        // First match wins, so nothing after a catch-all can ever be chosen.
        Fail(item_path, "is unreachable: " + path + "[" + std::to_string(*catch_all) +
                            "] matches every service");
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
    // Collect first: which keys are allowed depends on `type`, wherever it appears.
    std::vector<std::pair<std::string, YAML::Node>> entries;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::optional<std::string> key = KeyOf(it->first, path);
      if (!key) continue;
      const std::string key_path = Join(path, *key);
      if (std::find(kExecutorKeys.begin(), kExecutorKeys.end(), *key) == kExecutorKeys.end()) {
        errors_.push_back("unknown key " + Quote(key_path));
        continue;
      }
      const bool duplicate = std::any_of(entries.begin(), entries.end(),
                                         [&](const auto& entry) { return entry.first == *key; });
      if (duplicate) {
        Fail(key_path, "duplicate key");
        continue;
      }
      entries.emplace_back(*key, it->second);
    }
    const auto find = [&](std::string_view key) -> const YAML::Node* {
      for (const auto& entry : entries) {
        if (entry.first == key) return &entry.second;
      }
      return nullptr;
    };

    std::optional<std::string> type;
    if (const YAML::Node* value = find("type")) {
      std::string text;
      if (ReadString(*value, Join(path, "type"), text)) {
        if (text == "webhook" || text == "command" || text == "log") {
          type = text;
        } else {
          Fail(Join(path, "type"), "must be one of webhook, command, log");
        }
      }
    } else {
      Fail(Join(path, "type"), "is required (webhook, command or log)");
    }

    for (const auto& [key, value] : entries) {
      const std::string key_path = Join(path, key);
      if (type && !ExecutorTypeAllows(*type, key)) {
        Fail(key_path, "is not valid for a " + *type + " executor");
        continue;
      }
      if (key == "match") {
        ReadString(value, key_path, executor.match);
      } else if (key == "timeout") {
        ReadDuration(value, key_path, executor.timeout);
      } else if (key == "max_attempts") {
        ReadInteger(value, key_path, 1, kMaxAttempts, executor.max_attempts);
      } else if (key == "url") {
        std::string url;
        if (ReadString(value, key_path, url)) {
          if (IsHttpUrl(url)) {
            executor.url = url;
          } else {
            Fail(key_path, "must be an http:// or https:// URL");
          }
        }
      } else if (key == "secret_env") {
        std::string name;
        if (ReadString(value, key_path, name)) {
          if (IsEnvVarName(name)) {
            executor.secret_env = name;
          } else {
            Fail(key_path, "must be an environment variable name (letters, digits, _)");
          }
        }
      } else if (key == "argv") {
        ReadArgv(value, key_path, executor.argv);
      }
    }

    if (!type) return true;
    executor.type = *type;
    if (*type == "webhook") {
      if (!find("url")) Fail(Join(path, "url"), "is required for a webhook executor");
      if (!find("secret_env")) Fail(Join(path, "secret_env"), "is required for a webhook executor");
    } else if (*type == "command") {
      if (!find("argv")) Fail(Join(path, "argv"), "is required for a command executor");
    }
    return true;
  }

  void ReadArgv(const YAML::Node& node, const std::string& path, std::vector<std::string>& out) {
    if (!node.IsSequence() || node.size() == 0) {
      Fail(path, "must be a non-empty sequence of strings");
      return;
    }
    std::vector<std::string> argv;
    bool ok = true;
    for (std::size_t i = 0; i < node.size(); ++i) {
      std::string arg;
      const std::string arg_path = path + "[" + std::to_string(i) + "]";
      if (!node[i].IsScalar()) {
        Fail(arg_path, "must be a string");
        ok = false;
        continue;
      }
      arg = node[i].Scalar();
      if (i == 0 && arg.empty()) {
        Fail(arg_path, "must name the program to run");
        ok = false;
      }
      argv.push_back(std::move(arg));
    }
    if (ok) out = std::move(argv);
  }

  Config& config_;
  std::vector<std::string> errors_;
};

std::string HostName() {
  std::array<char, 256> buffer{};
  if (gethostname(buffer.data(), buffer.size() - 1) != 0 || buffer[0] == '\0') {
    return "backstop";
  }
  return std::string(buffer.data());
}

// Makes `dir` absolute against `base_dir` (itself made absolute against the
// working directory) and lexically normal, without a trailing separator.
std::optional<std::string> ResolveDir(const std::string& dir, const std::string& base_dir) {
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
  Config config;
  std::vector<std::string> errors;
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(yaml_text);
    if (documents.size() > 1) {
      errors.push_back("configuration must be a single YAML document");
    } else {
      ConfigReader reader(config);
      if (!documents.empty()) reader.ReadTopLevel(documents.front());
      errors = reader.errors();
    }
  } catch (const YAML::Exception& e) {
    std::ostringstream message;
    message << "YAML parse error";
    if (!e.mark.is_null()) {
      message << " at line " << e.mark.line + 1 << ", column " << e.mark.column + 1;
    }
    message << ": " << e.msg;
    return Error::InvalidInput(message.str(), {message.str()});
  }

  // Environment overrides win over the file; each is validated like its key
  // but errors name the variable.
  if (env) {
    if (const std::optional<std::string> url = env(std::string(kDatabaseUrlEnv))) {
      if (url->empty()) {
        errors.push_back(std::string(kDatabaseUrlEnv) + ": must not be empty");
      } else {
        config.database_url = *url;
      }
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
    for (auto [key, dir] : {std::pair<std::string_view, std::string*>{"migrations_dir",
                                                                       &config.migrations_dir},
                            {"thresholds_dir", &config.thresholds_dir}}) {
      if (const std::optional<std::string> resolved = ResolveDir(*dir, base_dir)) {
        *dir = *resolved;
      } else {
        errors.push_back(std::string(key) + ": cannot be made absolute");
      }
    }
  }
  if (!errors.empty()) {
    std::string first = errors.front();
    return Error::InvalidInput(std::move(first), std::move(errors));
  }

  if (config.instance_id.empty()) config.instance_id = HostName();
  if (config.executors.empty()) config.executors.push_back(ExecutorConfig{});  // "*" → log
  return config;
}

Result<Config> LoadConfigFile(const std::string& path, const EnvLookup& env) {
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
  return ParseConfig(text.str(), fs::path(path).parent_path().string(), env);
}

}  // namespace backstop::config
