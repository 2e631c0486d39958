#pragma once

#include <optional>
#include <string>
#include <vector>

#include "backstop/policy/threshold_set.hpp"

namespace backstop::policy {

// One problem in a threshold file. `field` is the key path with dots and
// signal indices (`evaluation.window`, `signals[0].baseline.ratio`), or one
// of the pseudo-fields "(yaml)" (syntax error), "(file)" (unreadable, empty,
// not a map) and "(directory)" (unreadable directory). `reason` is a short
// lower-case phrase ("is required", "unknown key").
struct ValidationError {
  std::string file;
  std::string field;
  std::string reason;

  // "FILE: FIELD: reason", the line `backstop thresholds validate` prints.
  std::string ToString() const;

  bool operator==(const ValidationError&) const = default;
};

// `set` is present exactly when `errors` is empty.
struct ParseResult {
  std::optional<ThresholdSet> set;
  std::vector<ValidationError> errors;
};

// Parses and validates one threshold file (DESIGN "Threshold files"), collecting
// every problem rather than stopping at the first. `file_label` only names the
// file in the errors. Pure: no I/O. Never throws for any input text.
//
// Strictness beyond the types: numbers, integers and booleans must be plain
// (unquoted) scalars; booleans are true/false only (not yes/no); a key given
// twice in one map is an error; a key whose value is null (`approval:` with
// everything below commented out) counts as absent.
[[nodiscard]] ParseResult ParseThresholdYaml(const std::string& yaml_text,
                                             const std::string& file_label);

// Deterministic JSON of the whole set with every default filled: keys in a
// fixed order with the YAML names and nesting, no whitespace, durations in
// FormatDuration form, integers as integers, doubles in shortest round-trip
// form. `max`, `min` and `baseline` are omitted when absent, `queries` when
// empty (its members are sorted by source name). Signals keep
// their file order. The result is itself a valid threshold file:
// ParseThresholdYaml(CanonicalJson(s)) yields a set equal to `s` for any
// validated `s`. The database stores this text.
[[nodiscard]] std::string CanonicalJson(const ThresholdSet& set);

// Lower-case hex SHA-256 of CanonicalJson(set): the identity of the content
// behind (release_class, version).
[[nodiscard]] std::string ContentSha256(const ThresholdSet& set);

// The queries of `set` that name a telemetry source not in `sources` (the
// names of the config's `telemetry_sources`), one error each:
// `signals[0].queries.prom-x: unknown telemetry source "prom-x" (configured: a, b)`.
// A threshold file is valid without a config; this is the check
// `backstop thresholds validate DIR --config FILE` adds.
[[nodiscard]] std::vector<ValidationError> CheckQuerySources(const ThresholdSet& set,
                                                             const std::string& file_label,
                                                             const std::vector<std::string>& sources);

struct DirectoryResult {
  struct File {
    std::string file;  // file name only (the directory path for a directory error)
    ParseResult result;
  };
  std::vector<File> files;
  // False when the directory itself could not be listed; `files` then holds one
  // entry named by the directory with a "(directory)" error.
  bool directory_readable = true;
};

// Reads and parses every regular `*.yaml` / `*.yml` file directly inside `dir`
// (not recursive; names starting with '.' are skipped, as editors leave such
// files behind), sorted by file name. One file's errors never stop the others.
// Files over 1 MiB are rejected unread. Two valid files with the same
// (release_class, version): the later one (by name) gets the error
// `version: release_class X version N is also defined in FILE` and no set.
// Does file I/O; never throws.
[[nodiscard]] DirectoryResult ParseThresholdDirectory(const std::string& dir);

}  // namespace backstop::policy
