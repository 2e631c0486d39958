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
#include <string_view>
#include <system_error>
#include <utility>

#include "backstop/common/identifiers.hpp"
#include "backstop/common/sha256.hpp"
#include "backstop/common/strict_yaml.hpp"

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

// A version names only its lower bound; every other integer names its range.
constexpr IntegerRule kVersionRule{1, kMaxVersion, IntegerWording::kPositive};
constexpr IntegerRule kTrafficPercentRule{0, 100, IntegerWording::kRange};
constexpr IntegerRule kAutoRollbacksRule{0, kMaxAutoRollbacks, IntegerWording::kRange};
constexpr IntegerRule kMinSamplesRule{1, kMaxMinSamples, IntegerWording::kRange};
constexpr IntegerRule kFlapLimitRule{1, kMaxFlapLimit, IntegerWording::kRange};
constexpr DurationRule kPositiveDuration{kMaxDuration, false, DurationWording::kDuration};
constexpr DurationRule kDurationOrZero{kMaxDuration, true, DurationWording::kDuration};

constexpr std::array<std::string_view, 10> kTopLevelKeys = {
    "release_class", "version",  "description", "reversibility", "automation",
    "blast_radius",  "budget",   "approval",    "evaluation",    "signals"};
constexpr std::array<std::string_view, 2> kBlastRadiusKeys = {"max_traffic_percent",
                                                              "allow_shared_infrastructure"};
constexpr std::array<std::string_view, 2> kBudgetKeys = {"max_auto_rollbacks", "per"};
constexpr std::array<std::string_view, 1> kApprovalKeys = {"ttl"};
constexpr std::array<std::string_view, 6> kEvaluationKeys = {
    "window", "min_samples", "max_staleness", "breach_for", "duration", "flap_limit"};
constexpr std::array<std::string_view, 9> kSignalKeys = {
    "name", "critical", "aggregate", "bad_when", "max", "min", "baseline", "sources_tolerance", "queries"};
// A PromQL query longer than this is a pasted mistake, not a signal.
constexpr std::size_t kMaxQueryBytes = 16 * 1024;
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

// Walks one document, filling a ThresholdSet and collecting every problem.
// Single-use, not thread-safe; lives only inside ParseThresholdYaml.
class ThresholdReader {
 public:
  ThresholdReader() : yaml_(std::string(kFileField)) {}

  void Fail(std::string_view field, std::string_view reason) {
    yaml_.Fail(std::string(field), std::string(reason));
  }

  std::vector<YamlProblem> TakeProblems() { return yaml_.TakeProblems(); }

  ThresholdSet Read(const YAML::Node& root) {
    ThresholdSet set;
    if (!root.IsMap()) {
      Fail(kFileField, "must be a map of threshold settings");
      return set;
    }
    const std::optional<YamlMap> top = yaml_.OpenMap(root, "", kTopLevelKeys);
    if (!top) return set;

    if (const auto node = yaml_.Required(*top, "release_class")) {
      if (auto value = yaml_.ReadIdentifier(*node, top->PathOf("release_class"))) {
        set.release_class = std::move(*value);
      }
    }
    if (const auto node = yaml_.Required(*top, "version")) {
      if (auto value = yaml_.ReadInteger(*node, top->PathOf("version"), kVersionRule)) {
        set.version = *value;
      }
    }
    if (const auto node = top->Get("description")) {
      if (auto value = yaml_.ReadText(*node, top->PathOf("description"))) {
        set.description = std::move(*value);
      }
    }
    std::optional<Reversibility> reversibility;
    if (const auto node = yaml_.Required(*top, "reversibility")) {
      reversibility = yaml_.ReadEnum(*node, top->PathOf("reversibility"), kAllReversibilities);
      if (reversibility) set.reversibility = *reversibility;
    }
    std::optional<Automation> automation;
    if (const auto node = yaml_.Required(*top, "automation")) {
      automation = yaml_.ReadEnum(*node, top->PathOf("automation"), kAllAutomations);
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
    if (const auto node = yaml_.Required(*top, "signals")) ReadSignals(*node, set.signals);
    return set;
  }

 private:
  // Reads an optional key of `map` into `out` when present and valid.
  template <typename T, typename ReadFn>
  void Optional(const YamlMap& map, std::string_view key, T& out, ReadFn read) {
    if (const auto node = map.Get(key)) {
      if (const auto value = read(*node, map.PathOf(key))) out = static_cast<T>(*value);
    }
  }

  void ReadBlastRadius(const YAML::Node& node, ThresholdSet& set) {
    const std::optional<YamlMap> section = yaml_.OpenMap(node, "blast_radius", kBlastRadiusKeys);
    if (!section) return;
    Optional(*section, "max_traffic_percent", set.max_traffic_percent,
             [this](const auto& n, const auto& p) {
               return yaml_.ReadInteger(n, p, kTrafficPercentRule);
             });
    Optional(*section, "allow_shared_infrastructure", set.allow_shared_infrastructure,
             [this](const auto& n, const auto& p) { return yaml_.ReadBool(n, p); });
  }

  void ReadBudget(const YAML::Node& node, ThresholdSet& set) {
    const std::optional<YamlMap> section = yaml_.OpenMap(node, "budget", kBudgetKeys);
    if (!section) return;
    Optional(*section, "max_auto_rollbacks", set.max_auto_rollbacks,
             [this](const auto& n, const auto& p) {
               return yaml_.ReadInteger(n, p, kAutoRollbacksRule);
             });
    Optional(*section, "per", set.budget_per, [this](const auto& n, const auto& p) {
      return yaml_.ReadDuration(n, p, kPositiveDuration);
    });
  }

  void ReadApproval(const YAML::Node& node, ThresholdSet& set) {
    const std::optional<YamlMap> section = yaml_.OpenMap(node, "approval", kApprovalKeys);
    if (!section) return;
    Optional(*section, "ttl", set.approval_ttl, [this](const auto& n, const auto& p) {
      return yaml_.ReadDuration(n, p, kPositiveDuration);
    });
  }

  void ReadEvaluation(const std::optional<YAML::Node>& node, EvaluationRule& rule) {
    if (!node) {
      // The section is required because two of its keys are; name those.
      Fail("evaluation.window", "is required");
      Fail("evaluation.min_samples", "is required");
      return;
    }
    const std::optional<YamlMap> section = yaml_.OpenMap(*node, "evaluation", kEvaluationKeys);
    if (!section) return;
    if (const auto window = yaml_.Required(*section, "window")) {
      if (const auto value =
              yaml_.ReadDuration(*window, section->PathOf("window"), kPositiveDuration)) {
        rule.window = *value;
      }
    }
    if (const auto min_samples = yaml_.Required(*section, "min_samples")) {
      if (const auto value =
              yaml_.ReadInteger(*min_samples, section->PathOf("min_samples"), kMinSamplesRule)) {
        rule.min_samples = static_cast<int>(*value);
      }
    }
    const auto positive_duration = [this](const auto& n, const auto& p) {
      return yaml_.ReadDuration(n, p, kPositiveDuration);
    };
    Optional(*section, "max_staleness", rule.max_staleness, positive_duration);
    Optional(*section, "breach_for", rule.breach_for, [this](const auto& n, const auto& p) {
      return yaml_.ReadDuration(n, p, kDurationOrZero);
    });
    Optional(*section, "duration", rule.duration, positive_duration);
    Optional(*section, "flap_limit", rule.flap_limit, [this](const auto& n, const auto& p) {
      return yaml_.ReadInteger(n, p, kFlapLimitRule);
    });
  }

  void ReadSignals(const YAML::Node& node, std::vector<SignalRule>& signals) {
    const auto items = yaml_.OpenSequence(node, "signals", "must be a non-empty sequence");
    if (!items) return;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < items->size(); ++i) {
      if (std::optional<SignalRule> signal = ReadSignal((*items)[i], ItemPath("signals", i), names)) {
        signals.push_back(std::move(*signal));
      }
    }
  }

  std::optional<SignalRule> ReadSignal(const YAML::Node& node, const std::string& path,
                                       std::vector<std::string>& names) {
    const std::optional<YamlMap> section = yaml_.OpenMap(node, path, kSignalKeys);
    if (!section) return std::nullopt;
    SignalRule signal;
    if (const auto name = yaml_.Required(*section, "name")) {
      if (auto value = yaml_.ReadIdentifier(*name, section->PathOf("name"))) {
        if (std::find(names.begin(), names.end(), *value) != names.end()) {
          Fail(section->PathOf("name"), "duplicate signal " + Quote(*value));
        } else {
          names.push_back(*value);
        }
        signal.name = std::move(*value);
      }
    }
    Optional(*section, "critical", signal.critical,
             [this](const auto& n, const auto& p) { return yaml_.ReadBool(n, p); });
    Optional(*section, "aggregate", signal.aggregate, [this](const auto& n, const auto& p) {
      return yaml_.ReadEnum(n, p, kAllAggregates);
    });
    bool bad_when_known = true;
    if (const auto bad_when = section->Get("bad_when")) {
      const auto value = yaml_.ReadEnum(*bad_when, section->PathOf("bad_when"), kAllBadWhens);
      if (value) signal.bad_when = *value;
      bad_when_known = value.has_value();
    }
    const std::optional<YAML::Node> max = section->Get("max");
    if (max) signal.max = yaml_.ReadNumber(*max, section->PathOf("max"));
    const std::optional<YAML::Node> min = section->Get("min");
    if (min) signal.min = yaml_.ReadNumber(*min, section->PathOf("min"));
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
      if (const auto value = yaml_.ReadNumber(*tolerance, tolerance_path)) {
        if (*value > 0.0) {
          signal.sources_tolerance = *value;
        } else {
          Fail(tolerance_path, "must be greater than 0");
        }
      }
    }
    if (const auto queries = section->Get("queries")) {
      ReadQueries(*queries, section->PathOf("queries"), signal.queries);
    }
    return signal;
  }

  // `queries: {source: PromQL}`. Surrounding whitespace is not part of a
  // query (a folded `>` block ends with a newline), so it is trimmed before
  // the query is hashed.
  void ReadQueries(const YAML::Node& node, const std::string& path,
                   std::map<std::string, std::string>& queries) {
    if (!node.IsMap()) {
      Fail(path, "must be a map of telemetry source name to query");
      return;
    }
    yaml_.VisitOpenMap(node, path, [&](const std::string& source, const YAML::Node& value) {
      const std::string query_path = KeyPath(path, source);
      if (!IsValidIdentifier(source)) {
        Fail(query_path, std::string("source name ") + kIdentifierRule);
        return;
      }
      std::optional<std::string> text = yaml_.ReadText(value, query_path);
      if (!text) return;
      const auto first = text->find_first_not_of(" \t\r\n");
      if (first == std::string::npos) {
        Fail(query_path, "must not be empty");
        return;
      }
      const auto last = text->find_last_not_of(" \t\r\n");
      std::string query = text->substr(first, last - first + 1);
      if (query.size() > kMaxQueryBytes) {
        Fail(query_path, "must be at most " + std::to_string(kMaxQueryBytes) + " bytes");
        return;
      }
      queries.emplace(source, std::move(query));
    });
  }

  std::optional<BaselineRule> ReadBaseline(const YAML::Node& node, const std::string& path) {
    const std::optional<YamlMap> section = yaml_.OpenMap(node, path, kBaselineKeys);
    if (!section) return std::nullopt;
    BaselineRule rule;
    if (const auto ratio = yaml_.Required(*section, "ratio")) {
      if (const auto value = yaml_.ReadNumber(*ratio, section->PathOf("ratio"))) {
        if (*value > 1.0) {
          rule.ratio = *value;
        } else {
          Fail(section->PathOf("ratio"), "must be greater than 1");
        }
      }
    }
    if (const auto min_delta = section->Get("min_delta")) {
      if (const auto value = yaml_.ReadNumber(*min_delta, section->PathOf("min_delta"))) {
        if (*value >= 0.0) {
          rule.min_delta = *value;
        } else {
          Fail(section->PathOf("min_delta"), "must be at least 0");
        }
      }
    }
    Optional(*section, "test", rule.test, [this](const auto& n, const auto& p) {
      return yaml_.ReadEnum(n, p, kAllStatTests);
    });
    if (const auto confidence = section->Get("confidence")) {
      if (const auto value = yaml_.ReadNumber(*confidence, section->PathOf("confidence"))) {
        if (*value > 0.5 && *value < 1.0) {
          rule.confidence = *value;
        } else {
          Fail(section->PathOf("confidence"), "must be greater than 0.5 and less than 1");
        }
      }
    }
    return rule;
  }

  YamlReader yaml_;
};

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
  // Absent when empty, so the hash of every set written before queries
  // existed is unchanged.
  if (!signal.queries.empty()) {
    JsonObject queries(object.Key("queries"));
    for (const auto& [source, query] : signal.queries) queries.String(source, query);
  }
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
  ThresholdReader reader;
  const YamlDocument document = LoadSingleDocument(yaml_text);
  switch (document.outcome) {
    case YamlDocument::Outcome::kEmpty:
      reader.Fail(kFileField, "is empty");
      break;
    case YamlDocument::Outcome::kSeveral:
      reader.Fail(kFileField, "must hold exactly one YAML document");
      break;
    case YamlDocument::Outcome::kSyntaxError:
      reader.Fail(kYamlField, FormatSyntaxError("invalid YAML", document.syntax_error));
      break;
    case YamlDocument::Outcome::kOne:
      // Reading a parsed tree does not throw in practice; the catch keeps the
      // promise that no input text makes this function throw.
      try {
        result.set = reader.Read(document.root);
      } catch (const std::exception& e) {
        reader.Fail(kYamlField, std::string("invalid YAML: ") + e.what());
      }
      break;
  }
  for (YamlProblem& problem : reader.TakeProblems()) {
    result.errors.push_back({file_label, std::move(problem.field), std::move(problem.reason)});
  }
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

std::vector<ValidationError> CheckQuerySources(const ThresholdSet& set, const std::string& file_label,
                                               const std::vector<std::string>& sources) {
  std::string configured;
  for (const std::string& source : sources) {
    if (!configured.empty()) configured += ", ";
    configured += source;
  }
  if (configured.empty()) configured = "none";
  std::vector<ValidationError> errors;
  for (std::size_t i = 0; i < set.signals.size(); ++i) {
    for (const auto& [source, query] : set.signals[i].queries) {
      if (std::find(sources.begin(), sources.end(), source) != sources.end()) continue;
      errors.push_back({file_label, KeyPath(KeyPath(ItemPath("signals", i), "queries"), source),
                        "unknown telemetry source " + Quote(source) + " (configured: " + configured + ")"});
    }
  }
  return errors;
}

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
