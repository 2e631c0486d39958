#include "backstop/common/strict_yaml.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <sstream>
#include <system_error>

#include <yaml-cpp/eventhandler.h>

#include "backstop/common/identifiers.hpp"

namespace backstop {
namespace {

constexpr std::string_view kKeysMustBeStrings = "keys must be strings";

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

YamlSyntaxError SyntaxErrorAt(const YAML::Mark& mark, std::string reason) {
  // yaml-cpp marks count from 0 (and are -1 when unknown); editors count from 1.
  YamlSyntaxError error;
  if (!mark.is_null() && mark.line >= 0 && mark.column >= 0) {
    error.line = mark.line + 1;
    error.column = mark.column + 1;
  }
  error.reason = std::move(reason);
  return error;
}

YamlDocument SyntaxErrorDocument(YamlSyntaxError error) {
  YamlDocument document;
  document.outcome = YamlDocument::Outcome::kSyntaxError;
  document.syntax_error = std::move(error);
  return document;
}

// Why not YAML::LoadAll or a bare YAML::Load: yaml-cpp 0.7 never finishes on
// a stray flow indicator outside a flow collection (text starting with ","):
// it yields an endless run of empty documents at the same position, and
// LoadAll allocates until the process dies. Counting at most two documents
// first, and calling the parser stuck when a document starts where the
// previous one did, turns that into a syntax error. Throws YAML::Exception
// for other syntax errors.
YamlDocument LoadSingleDocumentOrThrow(const std::string& text) {
  std::istringstream input(text);
  YAML::Parser parser(input);
  DocumentStarts documents;
  for (int calls = 0; calls < 2 && documents.starts.size() < 2; ++calls) {
    if (!parser.HandleNextDocument(documents)) break;
  }
  YamlDocument document;
  if (documents.starts.empty()) {
    document.outcome = YamlDocument::Outcome::kEmpty;
    return document;
  }
  if (documents.starts.size() > 1) {
    const YAML::Mark& second = documents.starts[1];
    if (second.pos == documents.starts[0].pos) {
      const std::size_t pos = static_cast<std::size_t>(std::max(second.pos, 0));
      const std::string found = pos < text.size() ? Quote(text.substr(pos, 1)) : "end of file";
      return SyntaxErrorDocument(SyntaxErrorAt(second, "unexpected " + found));
    }
    document.outcome = YamlDocument::Outcome::kSeveral;
    return document;
  }
  // The first document parsed above, so building its tree terminates too.
  document.outcome = YamlDocument::Outcome::kOne;
  document.root = YAML::Load(text);
  return document;
}

// yaml-cpp tags every plain (unquoted, non-block) scalar "?"; quoted and
// block scalars get "!".
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

enum class IntegerText { kValue, kMalformed, kTooLarge, kTooSmall };

// A decimal integer with an optional sign. Out-of-range text is told apart
// by its sign, so "99999999999999999999" reads as too large, not malformed.
IntegerText ParseIntegerText(std::string_view text, std::int64_t& value) {
  const bool plus = text.starts_with('+');
  if (plus) text.remove_prefix(1);
  if (text.empty() || (plus && (text.front() == '+' || text.front() == '-'))) {
    return IntegerText::kMalformed;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (end != text.data() + text.size()) return IntegerText::kMalformed;
  if (ec == std::errc::result_out_of_range) {
    return text.starts_with('-') ? IntegerText::kTooSmall : IntegerText::kTooLarge;
  }
  if (ec != std::errc()) return IntegerText::kMalformed;
  return IntegerText::kValue;
}

}  // namespace

std::string FormatSyntaxError(std::string_view lead, const YamlSyntaxError& error) {
  std::string text(lead);
  if (error.line > 0) {
    text += " at line " + std::to_string(error.line) + ", column " + std::to_string(error.column);
  }
  return text + ": " + error.reason;
}

YamlDocument LoadSingleDocument(const std::string& text) {
  try {
    return LoadSingleDocumentOrThrow(text);
  } catch (const YAML::Exception& e) {
    return SyntaxErrorDocument(SyntaxErrorAt(e.mark, e.msg));
  } catch (const std::exception& e) {
    // std::bad_alloc from a pathological document included: an error, not an abort.
    return SyntaxErrorDocument(SyntaxErrorAt(YAML::Mark::null_mark(), e.what()));
  }
}

std::string KeyPath(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return parent + "." + std::string(key);
}

std::string ItemPath(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string OneOfReason(std::span<const std::string_view> names) {
  std::string text = "must be one of ";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += ", ";
    text += names[i];
  }
  return text;
}

std::optional<YAML::Node> YamlMap::Get(std::string_view key) const {
  const YAML::Node* value = Find(key);
  if (value == nullptr || value->IsNull()) return std::nullopt;
  return *value;
}

const YAML::Node* YamlMap::Find(std::string_view key) const {
  for (const auto& [name, value] : entries_) {
    if (name == key) return &value;
  }
  return nullptr;
}

void YamlReader::Fail(std::string field, std::string reason) {
  problems_.push_back({std::move(field), std::move(reason)});
}

bool YamlReader::VisitMap(const YAML::Node& node, const std::string& path,
                          std::span<const std::string_view> known_keys, const Visit& visit) {
  return VisitKeys(node, path, &known_keys, visit);
}

bool YamlReader::VisitOpenMap(const YAML::Node& node, const std::string& path, const Visit& visit) {
  return VisitKeys(node, path, nullptr, visit);
}

bool YamlReader::VisitKeys(const YAML::Node& node, const std::string& path,
                           const std::span<const std::string_view>* known_keys, const Visit& visit) {
  const std::string field = path.empty() ? document_field_ : path;
  if (node.IsNull()) return true;
  if (!node.IsMap()) {
    Fail(field, "must be a map");
    return false;
  }
  std::vector<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      Fail(field, std::string(kKeysMustBeStrings));
      continue;
    }
    const std::string key = it->first.Scalar();
    const std::string key_path = KeyPath(path, key);
    if (known_keys != nullptr &&
        std::find(known_keys->begin(), known_keys->end(), key) == known_keys->end()) {
      Fail(key_path, std::string(kUnknownKey));
      continue;
    }
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      Fail(key_path, "duplicate key");
      continue;
    }
    seen.push_back(key);
    visit(key, it->second);
  }
  return true;
}

std::optional<YamlMap> YamlReader::OpenMap(const YAML::Node& node, const std::string& path,
                                           std::span<const std::string_view> known_keys) {
  std::vector<YamlMap::Entry> entries;
  const bool is_map = VisitMap(node, path, known_keys,
                               [&](const std::string& key, const YAML::Node& value) {
                                 entries.emplace_back(key, value);
                               });
  if (!is_map) return std::nullopt;
  return YamlMap(path, std::move(entries));
}

std::optional<std::vector<YAML::Node>> YamlReader::OpenSequence(const YAML::Node& node,
                                                                const std::string& path,
                                                                std::string_view reason) {
  if (!node.IsSequence() || node.size() == 0) {
    Fail(path, std::string(reason));
    return std::nullopt;
  }
  std::vector<YAML::Node> items;
  items.reserve(node.size());
  for (std::size_t i = 0; i < node.size(); ++i) items.push_back(node[i]);
  return items;
}

std::optional<YAML::Node> YamlReader::Required(const YamlMap& map, std::string_view key) {
  std::optional<YAML::Node> node = map.Get(key);
  if (!node) Fail(map.PathOf(key), "is required");
  return node;
}

std::optional<std::string> YamlReader::ReadString(const YAML::Node& node, const std::string& path,
                                                  Empty empty) {
  if (!node.IsScalar()) {
    Fail(path, "must be a string");
    return std::nullopt;
  }
  if (node.Scalar().empty() && empty == Empty::kRefused) {
    Fail(path, "must not be empty");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::string> YamlReader::ReadText(const YAML::Node& node, const std::string& path) {
  std::optional<std::string> text = ReadString(node, path, Empty::kAllowed);
  if (text && !IsValidUtf8(*text)) {
    Fail(path, "must be valid UTF-8");
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> YamlReader::ReadIdentifier(const YAML::Node& node,
                                                      const std::string& path) {
  if (!node.IsScalar() || !IsValidIdentifier(node.Scalar())) {
    Fail(path, kIdentifierRule);
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::int64_t> YamlReader::ReadInteger(const YAML::Node& node, const std::string& path,
                                                    const IntegerRule& rule) {
  std::int64_t value = 0;
  IntegerText parsed =
      IsPlainScalar(node) ? ParseIntegerText(node.Scalar(), value) : IntegerText::kMalformed;
  if (parsed == IntegerText::kValue && value < rule.min) parsed = IntegerText::kTooSmall;
  if (parsed == IntegerText::kValue && value > rule.max) parsed = IntegerText::kTooLarge;
  if (parsed == IntegerText::kValue) return value;

  switch (rule.wording) {
    case IntegerWording::kRange:
      Fail(path, "must be an integer from " + std::to_string(rule.min) + " to " +
                     std::to_string(rule.max));
      break;
    case IntegerWording::kPositive:
      Fail(path, "must be a positive integer");
      break;
    case IntegerWording::kPositiveAtMost:
      Fail(path, parsed == IntegerText::kTooLarge ? "must be at most " + std::to_string(rule.max)
                                                  : std::string("must be a positive integer"));
      break;
  }
  return std::nullopt;
}

std::optional<double> YamlReader::ReadNumber(const YAML::Node& node, const std::string& path) {
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

std::optional<bool> YamlReader::ReadBool(const YAML::Node& node, const std::string& path) {
  if (IsPlainScalar(node)) {
    const std::string& text = node.Scalar();
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
  }
  Fail(path, "must be true or false");
  return std::nullopt;
}

std::optional<Millis> YamlReader::ReadDuration(const YAML::Node& node, const std::string& path,
                                               const DurationRule& rule) {
  const std::string malformed = rule.wording == DurationWording::kPositive
                                    ? "must be a positive duration such as 500ms, 30s, 5m or 2h"
                                    : "must be a duration like 500ms, 30s, 5m, 2h";
  const std::optional<Millis> value =
      node.IsScalar() ? ParseDuration(node.Scalar()) : std::nullopt;
  if (!value) {
    Fail(path, malformed);
    return std::nullopt;
  }
  if (value->count() == 0 && !rule.allow_zero) {
    Fail(path, rule.wording == DurationWording::kPositive ? malformed
                                                          : std::string("must be greater than 0s"));
    return std::nullopt;
  }
  if (*value > rule.max) {
    Fail(path, "must be at most " + FormatDuration(rule.max));
    return std::nullopt;
  }
  return value;
}

std::optional<std::size_t> YamlReader::ReadChoice(const YAML::Node& node, const std::string& path,
                                                  std::span<const std::string_view> names) {
  if (node.IsScalar()) {
    const auto it = std::find(names.begin(), names.end(), node.Scalar());
    if (it != names.end()) return static_cast<std::size_t>(it - names.begin());
  }
  Fail(path, OneOfReason(names));
  return std::nullopt;
}

}  // namespace backstop
