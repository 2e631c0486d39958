#include "backstop/cli/cli.hpp"

#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "backstop/app/app.hpp"
#include "backstop/cli/rest_cli.hpp"
#include "backstop/cli/thresholds_validate.hpp"
#include "backstop/config/config_loader.hpp"
#include "backstop/store/db_pool.hpp"
#include "backstop/store/migrator.hpp"
#include "backstop/store/schema_access.hpp"
#include "backstop/store/token_repository.hpp"

namespace backstop::cli {

namespace {

constexpr const char* kUsage = R"(usage:
  backstop serve --config FILE [--no-migrate]
  backstop migrate --config FILE
  backstop thresholds validate DIR [--config FILE]
  backstop token create --config FILE --name NAME --role ROLE
  backstop token revoke --config FILE --name NAME
  backstop queue|releases|mode|audit ...   (over REST; `backstop queue --help`)
roles: deployer, telemetry, approver, admin, viewer
)";

// The CLI acts under this identity in the audit log.
constexpr const char* kCliActor = "cli";

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct Flags {
  std::map<std::string, std::string> values;
  std::vector<std::string> switches;
  std::string error;

  std::optional<std::string> Get(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
  bool Has(const std::string& name) const {
    for (const auto& s : switches) {
      if (s == name) return true;
    }
    return false;
  }
};

Flags ParseFlags(const std::vector<std::string>& args, std::size_t from,
                 const std::vector<std::string>& with_value, const std::vector<std::string>& bare) {
  Flags f;
  for (std::size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    bool known = false;
    for (const auto& name : with_value) {
      if (a == name) {
        if (i + 1 >= args.size()) {
          f.error = a + " needs a value";
          return f;
        }
        f.values[name] = args[++i];
        known = true;
      } else if (a.rfind(name + "=", 0) == 0) {
        f.values[name] = a.substr(name.size() + 1);
        known = true;
      }
    }
    for (const auto& name : bare) {
      if (a == name) {
        f.switches.push_back(name);
        known = true;
      }
    }
    if (!known) {
      f.error = "unknown argument: " + a;
      return f;
    }
  }
  return f;
}

void SetUpLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("backstop");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
}

std::optional<config::Config> LoadConfig(const Flags& flags) {
  const auto path = flags.Get("--config");
  if (!path) {
    std::cerr << "error: --config FILE is required\n";
    return std::nullopt;
  }
  auto cfg = config::LoadConfigFile(*path, config::ProcessEnv());
  if (!cfg) {
    // The message names the file already.
    std::cerr << "error: " << cfg.error().message << "\n";
    return std::nullopt;
  }
  return std::move(cfg).value();
}

// Applies migrations as the schema owner (migration_database_url), then
// grants the serving role (database_url's) what it needs, when the two differ.
bool ApplyMigrations(const config::Config& cfg) {
  std::unique_ptr<pqxx::connection> owner;
  std::unique_ptr<pqxx::connection> serving;
  try {
    owner = store::DbPool::Connect(cfg.MigrationDatabaseUrl(), cfg.database);
    if (cfg.MigrationDatabaseUrl() != cfg.database_url) serving = store::DbPool::Connect(cfg.database_url, cfg.database);
  } catch (const std::exception& e) {
    spdlog::error("migrations: cannot reach the database: {}", e.what());
    return false;
  }
  try {
    auto applied = store::Migrate(*owner, cfg.migrations_dir);
    if (!applied) {
      spdlog::error("migrations: {}", applied.error().message);
      return false;
    }
    spdlog::info("migrations: {} applied", applied->size());
    if (!serving) return true;
    const std::string owner_role = store::CurrentRole(*owner);
    const std::string serving_role = store::CurrentRole(*serving);
    if (serving_role == owner_role) return true;
    if (auto granted = store::GrantServingAccess(*owner, serving_role); !granted) {
      spdlog::error("migrations: {}", granted.error().message);
      return false;
    }
    spdlog::info("migrations: role {} (owner) granted role {} access to the tables, without ownership",
                 owner_role, serving_role);
    return true;
  } catch (const std::exception& e) {
    spdlog::error("migrations: {}", e.what());
    return false;
  }
}

int Serve(const std::vector<std::string>& args) {
  Flags flags = ParseFlags(args, 1, {"--config"}, {"--no-migrate"});
  if (!flags.error.empty()) {
    std::cerr << "error: " << flags.error << "\n" << kUsage;
    return kExitUsage;
  }
  auto cfg = LoadConfig(flags);
  if (!cfg) return kExitUsage;
  SetUpLogging(cfg->log_level);
  if (!flags.Has("--no-migrate") && !ApplyMigrations(*cfg)) return kExitFailure;

  // Block the stop signals before any thread starts, then wait for them here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  app::App app(*cfg);
  if (auto s = app.Start(); !s) {
    spdlog::error("cannot start: {}", s.error().message);
    return kExitFailure;
  }
  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received {}, shutting down", received == SIGTERM ? "SIGTERM" : "SIGINT");
  app.Stop();
  spdlog::info("stopped");
  return kExitOk;
}

int Migrate(const std::vector<std::string>& args) {
  Flags flags = ParseFlags(args, 1, {"--config"}, {});
  if (!flags.error.empty()) {
    std::cerr << "error: " << flags.error << "\n" << kUsage;
    return kExitUsage;
  }
  auto cfg = LoadConfig(flags);
  if (!cfg) return kExitUsage;
  SetUpLogging(cfg->log_level);
  return ApplyMigrations(*cfg) ? kExitOk : kExitFailure;
}

int Token(const std::vector<std::string>& args) {
  if (args.size() < 2 || (args[1] != "create" && args[1] != "revoke")) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const bool create = args[1] == "create";
  Flags flags = ParseFlags(args, 2, create ? std::vector<std::string>{"--config", "--name", "--role"}
                                           : std::vector<std::string>{"--config", "--name"},
                           {});
  if (!flags.error.empty()) {
    std::cerr << "error: " << flags.error << "\n" << kUsage;
    return kExitUsage;
  }
  const auto name = flags.Get("--name");
  if (!name) {
    std::cerr << "error: --name NAME is required\n";
    return kExitUsage;
  }
  std::optional<Role> role;
  if (create) {
    const auto role_name = flags.Get("--role");
    if (role_name) role = ParseRole(*role_name);
    if (!role) {
      std::cerr << "error: --role must be one of deployer, telemetry, approver, admin, viewer\n";
      return kExitUsage;
    }
  }
  auto cfg = LoadConfig(flags);
  if (!cfg) return kExitUsage;
  SetUpLogging(cfg->log_level == "info" ? "warn" : cfg->log_level);
  try {
    auto conn = store::DbPool::Connect(cfg->database_url, cfg->database);
    pqxx::work tx(*conn);
    if (create) {
      auto token = store::TokenRepository::Create(tx, *name, *role, kCliActor);
      if (!token) {
        std::cerr << "error: " << token.error().message << "\n";
        return kExitFailure;
      }
      tx.commit();
      std::cout << *token << std::endl;
    } else {
      auto s = store::TokenRepository::Revoke(tx, *name, kCliActor);
      if (!s) {
        std::cerr << "error: " << s.error().message << "\n";
        return kExitFailure;
      }
      tx.commit();
      std::cerr << "revoked token " << *name << "\n";
    }
    return kExitOk;
  } catch (const std::exception& e) {
    std::cerr << "error: database: " << e.what() << "\n";
    return kExitFailure;
  }
}

// `thresholds validate DIR [--config FILE]`: with a config, queries must
// name its telemetry sources. The config file is read alone (no environment:
// validation needs no secrets and no database).
int Thresholds(const std::vector<std::string>& args) {
  if (args.size() < 3 || args[1] != "validate" || args[2].starts_with("--")) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const Flags flags = ParseFlags(args, 3, {"--config"}, {});
  if (!flags.error.empty()) {
    std::cerr << "error: " << flags.error << "\n" << kUsage;
    return kExitUsage;
  }
  std::optional<std::vector<std::string>> sources;
  if (const auto path = flags.Get("--config")) {
    auto config = config::LoadConfigFile(*path, nullptr);
    if (!config.ok()) {
      std::cerr << "error: " << config.error().message << "\n";
      return kExitFailure;
    }
    sources.emplace();
    for (const auto& source : config->telemetry_sources) sources->push_back(source.name);
  }
  return ValidateThresholdsCommand(args[2], std::cout, std::cerr, sources);
}

}  // namespace

int Run(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  const std::string& command = args[0];
  if (command == "serve") return Serve(args);
  if (command == "migrate") return Migrate(args);
  if (command == "token") return Token(args);
  if (IsRestCommand(command)) return RunRestCommand(args, config::ProcessEnv(), std::cout, std::cerr);
  if (command == "thresholds") return Thresholds(args);
  if (command == "--help" || command == "help" || command == "-h") {
    std::cout << kUsage;
    return kExitOk;
  }
  std::cerr << "error: unknown command: " << command << "\n" << kUsage;
  return kExitUsage;
}

}  // namespace backstop::cli
