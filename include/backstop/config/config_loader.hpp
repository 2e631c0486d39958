#pragma once

#include <functional>
#include <optional>
#include <string>

#include "backstop/common/result.hpp"
#include "backstop/config/config.hpp"

namespace backstop::config {

// Reads environment variables; injectable so tests need not touch the process env.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnv();

// Parses YAML text (one document, read by common/strict_yaml). `base_dir`
// resolves relative paths (the config file's folder). Unknown keys and bad
// values are errors whose message names the key path (e.g.
// "limits.max_body_bytes: must be a positive integer"); a syntax error names
// the line ("YAML parse error at line 1, column 1: ..."). Never throws.
// Env overrides: BACKSTOP_DATABASE_URL, BACKSTOP_LISTEN. The environment also
// supplies the header values of telemetry sources (`headers_env`); an unset
// variable is an error naming the key. A null `env` reads the file alone:
// no overrides, no header values (`thresholds validate --config`).
Result<Config> ParseConfig(const std::string& yaml_text, const std::string& base_dir,
                           const EnvLookup& env);

// Reads and parses a config file. Every error message names the file:
// "PATH: <ParseConfig's message>", or "cannot read config file \"PATH\": ...".
// Never throws.
Result<Config> LoadConfigFile(const std::string& path, const EnvLookup& env);

}  // namespace backstop::config
