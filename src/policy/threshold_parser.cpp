#include "backstop/policy/threshold_parser.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "backstop/common/identifiers.hpp"
#include "backstop/common/sha256.hpp"

namespace backstop::policy {
namespace {

// Upper bounds. None is a product rule; each keeps a typo (an extra zero)
// from passing and keeps deadline arithmetic far from overflow.
constexpr Millis kMaxDuration = std::chrono::hours(720);  // 30 days
// 2^53 - 1: a version every JSON reader (dashboards in JavaScript too) reads exactly.
constexpr std::int64_t kMaxVersion = 9'007'199'254'740'991;
constexpr std::int64_t kMaxMinSamples = 1'000'000;
constexpr std::int64_t kMaxFlapLimit = 1000;
constexpr std::int64_t kMaxAutoRollbacks = 1000;
constexpr std::uintmax_t kMaxFileBytes = 1024 * 1024;

constexpr std::string_view kFileField = "(file)";
constexpr std::string_view kYamlField = "(yaml)";
constexpr std::string_view kDirectoryField = "(directory)";

constexpr std::string_view kIsRequired = "is required";
constexpr std::string_view kDurationProblem = "must be a duration like 500ms, 30s, 5m, 2h";
constexpr std::string_view kIdentifierProblem = kIdentifierRule;

constexpr std::array<std::string_view, 10> kTopLevelKeys = {
    "release_class", "version",  "description", "reversibility", "automation",
    "blast_radius",  "budget",   "approval",    "evaluation",    "signals"};
constexpr std::array<std::string_view, 2> kBlastRadiusKeys = {"max_traffic_percent",
                                                              "allow_shared_infrastructure"};
constexpr std::array<std::string_view, 2> kBudgetKeys = {"max_auto_rollbacks", "per"};
constexpr std::array<std::string_view, 1> kApprovalKeys = {"ttl"};
constexpr std::array<std::string_view, 6> kEvaluationKeys = {
    "window", "min_samples", "max_staleness", "breach_for", "duration", "flap_limit"};
constexpr std::array<std::string_view, 8> kSignalKeys = {
    "name", "critical", "aggregate", "bad_when", "max", "min", "baseline", "sources_tolerance"};
constexpr std::array<std::string_view, 4> kBaselineKeys = {"ratio", "min_delta", "test",
                                                           "confidence"};

constexpr std::array<Reversibility, 5> kAllReversibilities = {
    Reversibility::kTriviallyReversible, Reversibility::kReversibleWithState,
    Reversibility::kReversibleWithBackup, Reversibility::kPartiallyReversible,
    Reversibility::kIrreversible};
constexpr std::array<Automation, 3> kAllAutomations = {Automation::kAuto, Automation::kApproval,
                                                       Automation::kDualApproval};
constexpr std::array<AggregateKind, 3> kAllAggregates = {AggregateKind::kMean, AggregateKind::kMax,
                                                         AggregateKind::kLast};
constexpr std::array<BadWhen, 2> kAllBadWhens = {BadWhen::kAbove, BadWhen::kBelow};
constexpr std::array<StatTest, 2> kAllStatTests = {StatTest::kNone, StatTest::kMannWhitney};

std::string Join(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return path + "." + std::string(key);
}

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

// yaml-cpp tags every plain (unquoted, non-block) scalar "?"; quoted and
// block scalars get "!". Numbers and booleans must be plain, so `max: "0.05"`
// is a string where a number goes.
bool IsPlainScalar(const YAML::Node& node) { return node.IsScalar() && node.Tag() == "?"; }

bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1;
      code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2;
      code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3;
      code = lead & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    static constexpr std::array<std::uint32_t, 4> kMinCode = {0, 0x80, 0x800, 0x10000};
    if (code < kMinCode[extra] || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

// A plain decimal number as YAML and JSON write it: an optional sign, digits,
// an optional fraction and exponent. nullopt for anything else; non-finite
// results (overflow, "inf", "nan") come back as such for the caller to refuse.
std::optional<double> ParseNumberText(std::string_view text) {
  const bool plus = text.starts_with('+');
  if (plus) text.remove_prefix(1);
  if (text.empty() || (plus && (text.front() == '+' || text.front() == '-'))) return std::nullopt;
  double value = 0.0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (end != text.data() + text.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) return HUGE_VAL;
  if (ec != std::errc()) return std::nullopt;
  return value;
}

std::optional<std::int64_t> ParseIntegerText(std::string_view text) {
  const bool plus = text.starts_with('+');
  if (plus) text.remove_prefix(1);
  if (text.empty() || (plus && (text.front() == '+' || text.front() == '-'))) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

template <typename E, std::size_t N>
std::string OneOf(const std::array<E, N>& values) {
  std::string text = "must be one of ";
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) text += ", ";
    text += ToString(values[i]);
  }
  return text;
}

// A YAML map whose keys have been checked against the known ones. Unknown
// and duplicate keys are reported once, when the section is opened; lookups
// then see only known keys.
class Section {
 public:
  Section(std::string path, std::vector<std::pair<std::string, YAML::Node>> entries)
      : path_(std::move(path)), entries_(std::move(entries)) {}

  // The value of `key`; nullopt when the key is absent or its value is null
  // (a null value counts as absent, like a section whose lines are all
  // commented out).
  std::optional<YAML::Node> Get(std::string_view key) const {
    for (const auto& [name, value] : entries_) {
      if (name == key) {
        if (value.IsNull()) return std::nullopt;
        return value;
      }
    }
    return std::nullopt;
  }

  std::string PathOf(std::string_view key) const { return Join(path_, key); }

 private:
  std::string path_;
  std::vector<std::pair<std::string, YAML::Node>> entries_;
};

// Walks one document, filling a ThresholdSet and collecting every problem.
// Single-use, not thread-safe; lives only inside ParseThresholdYaml.
class ThresholdReader {
 public:
  explicit ThresholdReader(std::string file) : file_(std::move(file)) {}

  void Fail(std::string_view field, std::string_view reason) {
    errors_.push_back({file_, std::string(field), std::string(reason)});
  }

  std::vector<ValidationError> TakeErrors() { return std::move(errors_); }

  ThresholdSet Read(const YAML::Node& root) {
    ThresholdSet set;
    if (!root.IsMap()) {
      Fail(kFileField, "must be a map of threshold settings");
      return set;
    }
    const std::optional<Section> top = OpenMap(root, "", kTopLevelKeys);
    if (!top) return set;

    if (const auto node = Required(*top, "release_class")) {
      if (auto value = ReadIdentifier(*node, top->PathOf("release_class"))) {
        set.release_class = std::move(*value);
      }
    }
    if (const auto node = Required(*top, "version")) {
      if (auto value = ReadInteger(*node, top->PathOf("version"), 1, kMaxVersion)) {
        set.version = *value;
      }
    }
    if (const auto node = top->Get("description")) {
      if (auto value = ReadText(*node, top->PathOf("description"))) {
        set.description = std::move(*value);
      }
    }
    std::optional<Reversibility> reversibility;
    if (const auto node = Required(*top, "reversibility")) {
      reversibility = ReadEnum(*node, top->PathOf("reversibility"), kAllReversibilities,
                               ParseReversibility);
      if (reversibility) set.reversibility = *reversibility;
    }
    std::optional<Automation> automation;
    if (const auto node = Required(*top, "automation")) {
      automation =
          ReadEnum(*node, top->PathOf("automation"), kAllAutomations, ParseAutomation);
      if (automation) set.automation = *automation;
    }
    // DESIGN "Reversibility bounds automation": only a release that can be
    // undone without touching data may be rolled back with no human.
    if (reversibility && automation && *automation == Automation::kAuto &&
        !AllowsAutomaticRollback(*reversibility)) {
      Fail(top->PathOf("automation"),
           "auto is not allowed with reversibility " + std::string(ToString(*reversibility)) +
               " (only with trivially_reversible or reversible_with_state)");
    }

    if (const auto node = top->Get("blast_radius")) ReadBlastRadius(*node, set);
    if (const auto node = top->Get("budget")) ReadBudget(*node, set);
    if (const auto node = top->Get("approval")) ReadApproval(*node, set);
    ReadEvaluation(top->Get("evaluation"), set.evaluation);
    if (const auto node = Required(*top, "signals")) ReadSignals(*node, set.signals);
    return set;
  }

 private:
  std::optional<Section> OpenMap(const YAML::Node& node, const std::string& path,
                                 std::span<const std::string_view> known) {
    const std::string field = path.empty() ? std::string(kFileField) : path;
    if (!node.IsMap()) {
      Fail(field, "must be a map");
      return std::nullopt;
    }
    std::vector<std::pair<std::string, YAML::Node>> entries;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) {
        Fail(field, "keys must be strings");
        continue;
      }
      const std::string key = it->first.Scalar();
      const std::string key_path = Join(path, key);
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        Fail(key_path, "unknown key");
        continue;
      }
      const bool seen = std::any_of(entries.begin(), entries.end(),
                                    [&](const auto& entry) { return entry.first == key; });
      if (seen) {
        Fail(key_path, "duplicate key");
        continue;
      }
      entries.emplace_back(key, it->second);
    }
    return Section(path, std::move(entries));
  }

  std::optional<YAML::Node> Required(const Section& section, std::string_view key) {
    std::optional<YAML::Node> node = section.Get(key);
    if (!node) Fail(section.PathOf(key), kIsRequired);
    return node;
  }

  std::optional<std::string> ReadIdentifier(const YAML::Node& node, const std::string& path) {
    if (!node.IsScalar() || !IsValidIdentifier(node.Scalar())) {
      Fail(path, kIdentifierProblem);
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<std::string> ReadText(const YAML::Node& node, const std::string& path) {
    if (!node.IsScalar()) {
      Fail(path, "must be a string");
      return std::nullopt;
    }
    if (!IsValidUtf8(node.Scalar())) {
      Fail(path, "must be valid UTF-8");
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::optional<std::int64_t> ReadInteger(const YAML::Node& node, const std::string& path,
                                          std::int64_t min, std::int64_t max) {
    const std::string problem =
        max == kMaxVersion
            ? std::string("must be a positive integer")
            : "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    const std::optional<std::int64_t> value =
        IsPlainScalar(node) ? ParseIntegerText(node.Scalar()) : std::nullopt;
    if (!value || *value < min || *value > max) {
      Fail(path, problem);
      return std::nullopt;
    }
    return value;
  }

  std::optional<double> ReadNumber(const YAML::Node& node, const std::string& path) {
    const std::optional<double> value =
        IsPlainScalar(node) ? ParseNumberText(node.Scalar()) : std::nullopt;
    if (!value) {
      Fail(path, "must be a number");
      return std::nullopt;
    }
    if (!std::isfinite(*value)) {
      Fail(path, "must be a finite number");
      return std::nullopt;
    }
    // -0 and 0 are the same threshold; keep one spelling for the canonical form.
    return *value == 0.0 ? 0.0 : *value;
  }

  std::optional<bool> ReadBool(const YAML::Node& node, const std::string& path) {
    if (IsPlainScalar(node)) {
      const std::string& text = node.Scalar();
      if (text == "true" || text == "True" || text == "TRUE") return true;
      if (text == "false" || text == "False" || text == "FALSE") return false;
    }
    Fail(path, "must be true or false");
    return std::nullopt;
  }

  std::optional<Millis> ReadDuration(const YAML::Node& node, const std::string& path,
                                     bool allow_zero) {
    const std::optional<Millis> value =
        node.IsScalar() ? ParseDuration(node.Scalar()) : std::nullopt;
    if (!value) {
      Fail(path, kDurationProblem);
      return std::nullopt;
    }
    if (!allow_zero && value->count() == 0) {
      Fail(path, "must be greater than 0s");
      return std::nullopt;
    }
    if (*value > kMaxDuration) {
      Fail(path, "must be at most " + FormatDuration(kMaxDuration));
      return std::nullopt;
    }
    return value;
  }

  template <typename E, std::size_t N>
  std::optional<E> ReadEnum(const YAML::Node& node, const std::string& path,
                            const std::array<E, N>& values,
                            std::optional<E> (*parse)(std::string_view)) {
    const std::optional<E> value = node.IsScalar() ? parse(node.Scalar()) : std::nullopt;
    if (!value) Fail(path, OneOf(values));
    return value;
  }

  // Reads an optional key of `section` into `out` when present and valid.
  template <typename T, typename ReadFn>
  void Optional(const Section& section, std::string_view key, T& out, ReadFn read) {
    if (const auto node = section.Get(key)) {
      if (const auto value = read(*node, section.PathOf(key))) out = static_cast<T>(*value);
    }
  }

  void ReadBlastRadius(const YAML::Node& node, ThresholdSet& set) {
    const std::optional<Section> section = OpenMap(node, "blast_radius", kBlastRadiusKeys);
    if (!section) return;
    Optional(*section, "max_traffic_percent", set.max_traffic_percent,
             [this](const auto& n, const auto& p) { return ReadInteger(n, p, 0, 100); });
    Optional(*section, "allow_shared_infrastructure", set.allow_shared_infrastructure,
             [this](const auto& n, const auto& p) { return ReadBool(n, p); });
  }

  void ReadBudget(const YAML::Node& node, ThresholdSet& set) {
    const std::optional<Section> section = OpenMap(node, "budget", kBudgetKeys);
    if (!section) return;
    Optional(*section, "max_auto_rollbacks", set.max_auto_rollbacks,
             [this](const auto& n, const auto& p) {
               return ReadInteger(n, p, 0, kMaxAutoRollbacks);
             });
    Optional(*section, "per", set.budget_per,
             [this](const auto& n, const auto& p) { return ReadDuration(n, p, false); });
  }

  void ReadApproval(const YAML::Node& node, ThresholdSet& set) {
    const std::optional<Section> section = OpenMap(node, "approval", kApprovalKeys);
    if (!section) return;
    Optional(*section, "ttl", set.approval_ttl,
             [this](const auto& n, const auto& p) { return ReadDuration(n, p, false); });
  }

  void ReadEvaluation(const std::optional<YAML::Node>& node, EvaluationRule& rule) {
    if (!node) {
      // The section is required because two of its keys are; name those.
      Fail("evaluation.window", kIsRequired);
      Fail("evaluation.min_samples", kIsRequired);
      return;
    }
    const std::optional<Section> section = OpenMap(*node, "evaluation", kEvaluationKeys);
    if (!section) return;
    if (const auto window = Required(*section, "window")) {
      if (const auto value = ReadDuration(*window, section->PathOf("window"), false)) {
        rule.window = *value;
      }
    }
    if (const auto min_samples = Required(*section, "min_samples")) {
      if (const auto value =
              ReadInteger(*min_samples, section->PathOf("min_samples"), 1, kMaxMinSamples)) {
        rule.min_samples = static_cast<int>(*value);
      }
    }
    Optional(*section, "max_staleness", rule.max_staleness,
             [this](const auto& n, const auto& p) { return ReadDuration(n, p, false); });
    Optional(*section, "breach_for", rule.breach_for,
             [this](const auto& n, const auto& p) { return ReadDuration(n, p, true); });
    Optional(*section, "duration", rule.duration,
             [this](const auto& n, const auto& p) { return ReadDuration(n, p, false); });
    Optional(*section, "flap_limit", rule.flap_limit,
             [this](const auto& n, const auto& p) { return ReadInteger(n, p, 1, kMaxFlapLimit); });
  }

  void ReadSignals(const YAML::Node& node, std::vector<SignalRule>& signals) {
    if (!node.IsSequence() || node.size() == 0) {
      Fail("signals", "must be a non-empty sequence");
      return;
    }
    std::vector<std::string> names;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string path = "signals[" + std::to_string(i) + "]";
      if (std::optional<SignalRule> signal = ReadSignal(node[i], path, names)) {
        signals.push_back(std::move(*signal));
      }
    }
  }

  std::optional<SignalRule> ReadSignal(const YAML::Node& node, const std::string& path,
                                       std::vector<std::string>& names) {
    const std::optional<Section> section = OpenMap(node, path, kSignalKeys);
    if (!section) return std::nullopt;
    SignalRule signal;
    if (const auto name = Required(*section, "name")) {
      if (auto value = ReadIdentifier(*name, section->PathOf("name"))) {
        if (std::find(names.begin(), names.end(), *value) != names.end()) {
          Fail(section->PathOf("name"), "duplicate signal " + Quote(*value));
        } else {
          names.push_back(*value);
        }
        signal.name = std::move(*value);
      }
    }
    Optional(*section, "critical", signal.critical,
             [this](const auto& n, const auto& p) { return ReadBool(n, p); });
    Optional(*section, "aggregate", signal.aggregate, [this](const auto& n, const auto& p) {
      return ReadEnum(n, p, kAllAggregates, ParseAggregateKind);
    });
    bool bad_when_known = true;
    if (const auto bad_when = section->Get("bad_when")) {
      const auto value =
          ReadEnum(*bad_when, section->PathOf("bad_when"), kAllBadWhens, ParseBadWhen);
      if (value) signal.bad_when = *value;
      bad_when_known = value.has_value();
    }
    const std::optional<YAML::Node> max = section->Get("max");
    if (max) signal.max = ReadNumber(*max, section->PathOf("max"));
    const std::optional<YAML::Node> min = section->Get("min");
    if (min) signal.min = ReadNumber(*min, section->PathOf("min"));
    // Exactly the bound bad_when uses: a bound that is never checked would
    // read as protection that is not there.
    if (bad_when_known) {
      const bool above = signal.bad_when == BadWhen::kAbove;
      if (above && !max) Fail(section->PathOf("max"), "bad_when: above needs max");
      if (!above && !min) Fail(section->PathOf("min"), "bad_when: below needs min");
      if (above && min) Fail(section->PathOf("min"), "is not used with bad_when: above");
      if (!above && max) Fail(section->PathOf("max"), "is not used with bad_when: below");
    }
    if (const auto baseline = section->Get("baseline")) {
      signal.baseline = ReadBaseline(*baseline, section->PathOf("baseline"));
    }
    if (const auto tolerance = section->Get("sources_tolerance")) {
      const std::string tolerance_path = section->PathOf("sources_tolerance");
      if (const auto value = ReadNumber(*tolerance, tolerance_path)) {
        if (*value > 0.0) {
          signal.sources_tolerance = *value;
        } else {
          Fail(tolerance_path, "must be greater than 0");
        }
      }
    }
    return signal;
  }

  std::optional<BaselineRule> ReadBaseline(const YAML::Node& node, const std::string& path) {
    const std::optional<Section> section = OpenMap(node, path, kBaselineKeys);
    if (!section) return std::nullopt;
    BaselineRule rule;
    if (const auto ratio = Required(*section, "ratio")) {
      if (const auto value = ReadNumber(*ratio, section->PathOf("ratio"))) {
        if (*value > 1.0) {
          rule.ratio = *value;
        } else {
          Fail(section->PathOf("ratio"), "must be greater than 1");
        }
      }
    }
    if (const auto min_delta = section->Get("min_delta")) {
      if (const auto value = ReadNumber(*min_delta, section->PathOf("min_delta"))) {
        if (*value >= 0.0) {
          rule.min_delta = *value;
        } else {
          Fail(section->PathOf("min_delta"), "must be at least 0");
        }
      }
    }
    Optional(*section, "test", rule.test, [this](const auto& n, const auto& p) {
      return ReadEnum(n, p, kAllStatTests, ParseStatTest);
    });
    if (const auto confidence = section->Get("confidence")) {
      if (const auto value = ReadNumber(*confidence, section->PathOf("confidence"))) {
        if (*value > 0.5 && *value < 1.0) {
          rule.confidence = *value;
        } else {
          Fail(section->PathOf("confidence"), "must be greater than 0.5 and less than 1");
        }
      }
    }
    return rule;
  }

  std::string file_;
  std::vector<ValidationError> errors_;
};

// Records where each document starts and ignores everything else; used to
// count documents before building the node tree.
class DocumentStarts final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

std::string AtMark(const YAML::Mark& mark) {
  // yaml-cpp marks are 0-based; editors count from 1.
  return "invalid YAML at line " + std::to_string(mark.line + 1) + ", column " +
         std::to_string(mark.column + 1);
}

// The file's single document, or nullopt after reporting why there is none.
// Why not YAML::LoadAll: yaml-cpp 0.7 never finishes on a stray flow
// indicator outside a flow collection (a file starting with ","): it yields
// an endless run of empty documents at the same position and LoadAll
// allocates until the process dies. Counting documents first, and calling
// the parser stuck when a document starts where the previous one did, turns
// that into a syntax error. Throws YAML::Exception for other syntax errors.
std::optional<YAML::Node> LoadSingleDocument(const std::string& text, ThresholdReader& reader) {
  std::istringstream input(text);
  YAML::Parser parser(input);
  DocumentStarts documents;
  for (int calls = 0; calls < 2 && documents.starts.size() < 2; ++calls) {
    if (!parser.HandleNextDocument(documents)) break;
  }
  if (documents.starts.empty()) {
    reader.Fail(kFileField, "is empty");
    return std::nullopt;
  }
  if (documents.starts.size() > 1) {
    const YAML::Mark& second = documents.starts[1];
    if (second.pos == documents.starts[0].pos) {
      const std::size_t pos = static_cast<std::size_t>(std::max(second.pos, 0));
      const std::string found = pos < text.size() ? Quote(text.substr(pos, 1)) : "end of file";
      reader.Fail(kYamlField, AtMark(second) + ": unexpected " + found);
    } else {
      reader.Fail(kFileField, "must hold exactly one YAML document");
    }
    return std::nullopt;
  }
  return YAML::Load(text);
}

// ---- canonical JSON ---------------------------------------------------------

void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(c >> 4) & 0x0F];
          out += kHex[c & 0x0F];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// Shortest text that reads back as the same double (std::to_chars without a
// precision), so 0.05 is written "0.05" and 2.0 is written "2".
void AppendJsonNumber(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";  // unreachable for validated sets; JSON has no inf or nan
    return;
  }
  if (value == 0.0) value = 0.0;  // no "-0"
  char buffer[64];
  const auto [end, ec] = std::to_chars(std::begin(buffer), std::end(buffer), value);
  out.append(buffer, ec == std::errc() ? end : buffer);
}

// Writes one JSON object's members in call order; the caller fixes the order.
class JsonObject {
 public:
  explicit JsonObject(std::string& out) : out_(out) { out_ += '{'; }
  ~JsonObject() { out_ += '}'; }
  JsonObject(const JsonObject&) = delete;
  JsonObject& operator=(const JsonObject&) = delete;

  std::string& Key(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    AppendJsonString(out_, key);
    out_ += ':';
    return out_;
  }
  void String(std::string_view key, std::string_view value) { AppendJsonString(Key(key), value); }
  void Integer(std::string_view key, std::int64_t value) { Key(key) += std::to_string(value); }
  void Number(std::string_view key, double value) { AppendJsonNumber(Key(key), value); }
  void Bool(std::string_view key, bool value) { Key(key) += value ? "true" : "false"; }
  void Duration(std::string_view key, Millis value) { String(key, FormatDuration(value)); }

 private:
  std::string& out_;
  bool first_ = true;
};

void AppendSignal(std::string& out, const SignalRule& signal) {
  JsonObject object(out);
  object.String("name", signal.name);
  object.Bool("critical", signal.critical);
  object.String("aggregate", ToString(signal.aggregate));
  object.String("bad_when", ToString(signal.bad_when));
  if (signal.max) object.Number("max", *signal.max);
  if (signal.min) object.Number("min", *signal.min);
  if (signal.baseline) {
    JsonObject baseline(object.Key("baseline"));
    baseline.Number("ratio", signal.baseline->ratio);
    baseline.Number("min_delta", signal.baseline->min_delta);
    baseline.String("test", ToString(signal.baseline->test));
    baseline.Number("confidence", signal.baseline->confidence);
  }
  object.Number("sources_tolerance", signal.sources_tolerance);
}

// ---- files ------------------------------------------------------------------

ParseResult FileError(const std::string& file, std::string_view field, std::string reason) {
  ParseResult result;
  result.errors.push_back({file, std::string(field), std::move(reason)});
  return result;
}

ParseResult ParseThresholdFile(const std::filesystem::path& path, const std::string& label) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return FileError(label, kFileField, "cannot read file: " + ec.message());
  if (size > kMaxFileBytes) return FileError(label, kFileField, "is larger than 1 MiB");
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in || !in.read(text.data(), static_cast<std::streamsize>(size))) {
    return FileError(label, kFileField, "cannot read file");
  }
  return ParseThresholdYaml(text, label);
}

bool IsThresholdFileName(const std::string& name) {
  if (name.empty() || name.front() == '.') return false;
  return name.ends_with(".yaml") || name.ends_with(".yml");
}

}  // namespace

std::string ValidationError::ToString() const { return file + ": " + field + ": " + reason; }

ParseResult ParseThresholdYaml(const std::string& yaml_text, const std::string& file_label) {
  ParseResult result;
  ThresholdReader reader(file_label);
  try {
    if (const std::optional<YAML::Node> document = LoadSingleDocument(yaml_text, reader)) {
      result.set = reader.Read(*document);
    }
  } catch (const YAML::Exception& e) {
    reader.Fail(kYamlField, AtMark(e.mark) + ": " + e.msg);
  } catch (const std::exception& e) {
    reader.Fail(kYamlField, std::string("invalid YAML: ") + e.what());
  }
  result.errors = reader.TakeErrors();
  if (!result.errors.empty()) result.set.reset();
  return result;
}

std::string CanonicalJson(const ThresholdSet& set) {
  std::string out;
  out.reserve(1024);
  {
    JsonObject object(out);
    object.String("release_class", set.release_class);
    object.Integer("version", set.version);
    object.String("description", set.description);
    object.String("reversibility", ToString(set.reversibility));
    object.String("automation", ToString(set.automation));
    {
      JsonObject blast_radius(object.Key("blast_radius"));
      blast_radius.Integer("max_traffic_percent", set.max_traffic_percent);
      blast_radius.Bool("allow_shared_infrastructure", set.allow_shared_infrastructure);
    }
    {
      JsonObject budget(object.Key("budget"));
      budget.Integer("max_auto_rollbacks", set.max_auto_rollbacks);
      budget.Duration("per", set.budget_per);
    }
    {
      JsonObject approval(object.Key("approval"));
      approval.Duration("ttl", set.approval_ttl);
    }
    {
      const EvaluationRule& rule = set.evaluation;
      JsonObject evaluation(object.Key("evaluation"));
      evaluation.Duration("window", rule.window);
      evaluation.Integer("min_samples", rule.min_samples);
      evaluation.Duration("max_staleness", rule.max_staleness);
      evaluation.Duration("breach_for", rule.breach_for);
      evaluation.Duration("duration", rule.duration);
      evaluation.Integer("flap_limit", rule.flap_limit);
    }
    std::string& signals = object.Key("signals");
    signals += '[';
    for (std::size_t i = 0; i < set.signals.size(); ++i) {
      if (i > 0) signals += ',';
      AppendSignal(signals, set.signals[i]);
    }
    signals += ']';
  }
  return out;
}

std::string ContentSha256(const ThresholdSet& set) { return Sha256Hex(CanonicalJson(set)); }

DirectoryResult ParseThresholdDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  DirectoryResult result;
  const auto directory_error = [&](const std::error_code& ec) {
    result.directory_readable = false;
    result.files.clear();
    result.files.push_back(
        {dir, FileError(dir, kDirectoryField, "cannot read directory: " + ec.message())});
    return result;
  };

  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return directory_error(ec);
  std::vector<std::string> names;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return directory_error(ec);
    const std::string name = it->path().filename().string();
    if (!IsThresholdFileName(name)) continue;
    std::error_code status_ec;
    // is_regular_file follows symlinks: a linked file counts, a dangling link
    // or a folder named x.yaml does not.
    if (!fs::is_regular_file(it->path(), status_ec)) continue;
    names.push_back(name);
  }
  if (ec) return directory_error(ec);
  std::sort(names.begin(), names.end());

  // (release_class, version) -> the file that defined it first.
  std::map<std::pair<std::string, std::int64_t>, std::string> defined_in;
  for (const std::string& name : names) {
    ParseResult parsed = ParseThresholdFile(fs::path(dir) / name, name);
    if (parsed.set) {
      const auto key = std::make_pair(parsed.set->release_class, parsed.set->version);
      const auto [existing, inserted] = defined_in.emplace(key, name);
      if (!inserted) {
        parsed.errors.push_back({name, "version",
                                 "release_class " + key.first + " version " +
                                     std::to_string(key.second) + " is also defined in " +
                                     existing->second});
        parsed.set.reset();
      }
    }
    result.files.push_back({name, std::move(parsed)});
  }
  return result;
}

}  // namespace backstop::policy
