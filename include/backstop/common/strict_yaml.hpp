#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "backstop/common/duration.hpp"

namespace backstop {

// The strict YAML reading shared by Backstop's two YAML files, the config
// (config/config_loader) and the threshold files (policy/threshold_parser):
// one document only, known keys only, each key once, typed values, every
// problem collected rather than only the first.
//
// Problems are worded "FIELD: reason", where FIELD is the key path
// (`limits.max_body_bytes`, `signals[0].baseline.ratio`) and reason a short
// lower-case phrase. The few wordings that differ between the two files
// (integers, durations) are selected per call, because both are contracts
// that users and tests already read.

// ---- the document ----------------------------------------------------------

// Why text is not YAML, and where. `line` and `column` count from 1; both
// are 0 when the parser gave no position.
struct YamlSyntaxError {
  int line = 0;
  int column = 0;
  std::string reason;
};

// "LEAD at line 3, column 5: REASON", or "LEAD: REASON" without a position.
[[nodiscard]] std::string FormatSyntaxError(std::string_view lead, const YamlSyntaxError& error);

struct YamlDocument {
  enum class Outcome {
    kOne,          // `root` holds the document
    kEmpty,        // no document at all: empty text, or comments only
    kSeveral,      // more than one document
    kSyntaxError,  // `syntax_error` says where
  };
  Outcome outcome = Outcome::kEmpty;
  YAML::Node root;
  YamlSyntaxError syntax_error;
};

// Parses text that must hold one YAML document. Never throws: a yaml-cpp
// exception and any other (std::bad_alloc included) become kSyntaxError.
[[nodiscard]] YamlDocument LoadSingleDocument(const std::string& text);

// ---- paths -----------------------------------------------------------------

// "parent.key", or "key" at the top.
[[nodiscard]] std::string KeyPath(const std::string& parent, std::string_view key);
// "parent[index]".
[[nodiscard]] std::string ItemPath(const std::string& parent, std::size_t index);
// "\"text\"".
[[nodiscard]] std::string Quote(std::string_view text);

// ---- problems and rules ----------------------------------------------------

struct YamlProblem {
  std::string field;   // key path, or a pseudo-field such as "(file)"
  std::string reason;  // "is required", "unknown key", ...
};

// The reason given for a key the file does not know.
inline constexpr std::string_view kUnknownKey = "unknown key";

// "must be one of a, b, c".
[[nodiscard]] std::string OneOfReason(std::span<const std::string_view> names);

// How a bad integer is worded.
enum class IntegerWording {
  kRange,           // every bad value: "must be an integer from MIN to MAX"
  kPositive,        // every bad value: "must be a positive integer" (min 1, max far off)
  kPositiveAtMost,  // above max: "must be at most MAX"; else "must be a positive integer"
};

struct IntegerRule {
  std::int64_t min = 0;
  std::int64_t max = 0;
  IntegerWording wording = IntegerWording::kRange;
};

// How a bad duration is worded.
enum class DurationWording {
  // malformed or 0: "must be a positive duration such as 500ms, 30s, 5m or 2h"
  kPositive,
  // malformed: "must be a duration like 500ms, 30s, 5m, 2h"; 0 where refused: "must be greater than 0s"
  kDuration,
};

struct DurationRule {
  Millis max{0};  // above it: "must be at most MAX"
  bool allow_zero = false;
  DurationWording wording = DurationWording::kDuration;
};

// ---- maps ------------------------------------------------------------------

// A map whose keys were checked when it was opened: unknown, duplicate and
// non-string keys were reported then, so it holds only known keys, each
// once, in document order.
class YamlMap {
 public:
  using Entry = std::pair<std::string, YAML::Node>;

  YamlMap(std::string path, std::vector<Entry> entries)
      : path_(std::move(path)), entries_(std::move(entries)) {}

  // The value of `key`; nullopt when the key is absent or its value is null
  // (a null value counts as absent, like a section whose lines are all
  // commented out).
  [[nodiscard]] std::optional<YAML::Node> Get(std::string_view key) const;

  // The value of `key` as written, a null value included; nullptr when absent.
  [[nodiscard]] const YAML::Node* Find(std::string_view key) const;

  [[nodiscard]] std::string PathOf(std::string_view key) const { return KeyPath(path_, key); }
  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::string path_;
  std::vector<Entry> entries_;
};

// ---- the reader ------------------------------------------------------------

// Reads typed values out of a yaml-cpp tree, reporting each problem under
// its key path and carrying on. Each Read* returns nullopt after reporting
// why the value is unusable. Single-use, not thread-safe.
class YamlReader {
 public:
  // `document_field` names problems of the document's top-level map.
  explicit YamlReader(std::string document_field) : document_field_(std::move(document_field)) {}

  void Fail(std::string field, std::string reason);
  [[nodiscard]] const std::vector<YamlProblem>& problems() const { return problems_; }
  [[nodiscard]] std::vector<YamlProblem> TakeProblems() { return std::move(problems_); }

  // Calls `visit(key, value)` for every known key of a map, in document
  // order, reporting unknown, duplicate and non-string keys as they come. A
  // null node is an empty map. Returns false after reporting a node that is
  // not a map.
  using Visit = std::function<void(const std::string& key, const YAML::Node& value)>;
  bool VisitMap(const YAML::Node& node, const std::string& path,
                std::span<const std::string_view> known_keys, const Visit& visit);

  // VisitMap for a map whose keys the user chooses (HTTP header names,
  // telemetry source names): every scalar key is visited, each once;
  // non-string and duplicate keys are reported.
  bool VisitOpenMap(const YAML::Node& node, const std::string& path, const Visit& visit);

  // VisitMap, keeping the known entries for lookup.
  [[nodiscard]] std::optional<YamlMap> OpenMap(const YAML::Node& node, const std::string& path,
                                               std::span<const std::string_view> known_keys);

  // The items of a non-empty sequence; nullopt after reporting `reason`.
  [[nodiscard]] std::optional<std::vector<YAML::Node>> OpenSequence(const YAML::Node& node,
                                                                    const std::string& path,
                                                                    std::string_view reason);

  // The value of `key`, reporting "is required" when it is absent or null.
  [[nodiscard]] std::optional<YAML::Node> Required(const YamlMap& map, std::string_view key);

  enum class Empty { kAllowed, kRefused };
  // Any scalar, quoted or not.
  [[nodiscard]] std::optional<std::string> ReadString(const YAML::Node& node,
                                                      const std::string& path, Empty empty);
  // Any scalar that is valid UTF-8, the empty string included (descriptions).
  [[nodiscard]] std::optional<std::string> ReadText(const YAML::Node& node, const std::string& path);
  // An identifier (common/identifiers.hpp).
  [[nodiscard]] std::optional<std::string> ReadIdentifier(const YAML::Node& node,
                                                          const std::string& path);

  // Numbers and booleans must be plain (unquoted) scalars: `max: "0.05"` is a
  // string where a number goes.
  [[nodiscard]] std::optional<std::int64_t> ReadInteger(const YAML::Node& node,
                                                        const std::string& path,
                                                        const IntegerRule& rule);
  // A finite decimal number; -0 reads as 0.
  [[nodiscard]] std::optional<double> ReadNumber(const YAML::Node& node, const std::string& path);
  // true or false only (not yes/no/on/off).
  [[nodiscard]] std::optional<bool> ReadBool(const YAML::Node& node, const std::string& path);
  // A scalar such as 500ms, 30s, 5m, 2h (common/duration.hpp).
  [[nodiscard]] std::optional<Millis> ReadDuration(const YAML::Node& node, const std::string& path,
                                                   const DurationRule& rule);

  // The index into `names` of the scalar's text; else "must be one of ...".
  [[nodiscard]] std::optional<std::size_t> ReadChoice(const YAML::Node& node,
                                                      const std::string& path,
                                                      std::span<const std::string_view> names);

  // A closed enum spelled as ToString(value) spells it (found by ADL).
  template <typename E, std::size_t N>
  [[nodiscard]] std::optional<E> ReadEnum(const YAML::Node& node, const std::string& path,
                                          const std::array<E, N>& values) {
    std::array<std::string_view, N> names{};
    for (std::size_t i = 0; i < N; ++i) names[i] = ToString(values[i]);
    const std::optional<std::size_t> index = ReadChoice(node, path, names);
    if (!index) return std::nullopt;
    return values[*index];
  }

 private:
  // VisitMap and VisitOpenMap: `known_keys` null = every key is known.
  bool VisitKeys(const YAML::Node& node, const std::string& path,
                 const std::span<const std::string_view>* known_keys, const Visit& visit);

  std::string document_field_;
  std::vector<YamlProblem> problems_;
};

}  // namespace backstop
