#include "backstop/common/strict_yaml.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace backstop {
namespace {

using Lines = std::vector<std::string>;

// The reader's problems as "FIELD: reason" lines, in the order reported.
Lines ProblemsOf(const YamlReader& reader) {
  Lines lines;
  for (const YamlProblem& problem : reader.problems()) {
    lines.push_back(problem.field + ": " + problem.reason);
  }
  return lines;
}

constexpr std::array<std::string_view, 3> kKnown = {"a", "b", "c"};

enum class Colour { kRed, kGreen };
std::string_view ToString(Colour colour) { return colour == Colour::kRed ? "red" : "green"; }
constexpr std::array<Colour, 2> kAllColours = {Colour::kRed, Colour::kGreen};

// ---- the document ----------------------------------------------------------

TEST(StrictYamlTest, LoadsExactlyOneDocument) {
  const YamlDocument document = LoadSingleDocument("a: 1\nb: two\n");
  ASSERT_EQ(document.outcome, YamlDocument::Outcome::kOne);
  EXPECT_EQ(document.root["a"].Scalar(), "1");
  EXPECT_EQ(document.root["b"].Scalar(), "two");
}

TEST(StrictYamlTest, CallsEmptyAndCommentOnlyTextEmpty) {
  EXPECT_EQ(LoadSingleDocument("").outcome, YamlDocument::Outcome::kEmpty);
  EXPECT_EQ(LoadSingleDocument("# nothing\n\n# still nothing\n").outcome,
            YamlDocument::Outcome::kEmpty);
}

TEST(StrictYamlTest, LoadsAnExplicitlyEmptyDocumentAsNull) {
  const YamlDocument document = LoadSingleDocument("---\n");
  ASSERT_EQ(document.outcome, YamlDocument::Outcome::kOne);
  EXPECT_TRUE(document.root.IsNull());
}

TEST(StrictYamlTest, RefusesSeveralDocuments) {
  EXPECT_EQ(LoadSingleDocument("a: 1\n---\na: 2\n").outcome, YamlDocument::Outcome::kSeveral);
  EXPECT_EQ(LoadSingleDocument("--- 1\n--- 2\n--- 3\n").outcome, YamlDocument::Outcome::kSeveral);
}

TEST(StrictYamlTest, ReportsAStrayLeadingCommaAsASyntaxErrorInsteadOfLoopingForever) {
  // yaml-cpp 0.7's LoadAll allocates on this until std::bad_alloc.
  const YamlDocument document = LoadSingleDocument(",\nlisten: x");
  ASSERT_EQ(document.outcome, YamlDocument::Outcome::kSyntaxError);
  EXPECT_EQ(document.syntax_error.line, 1);
  EXPECT_EQ(document.syntax_error.column, 1);
  EXPECT_EQ(document.syntax_error.reason, "unexpected \",\"");
}

TEST(StrictYamlTest, ReportsTheLineOfAParserError) {
  const YamlDocument document = LoadSingleDocument("a: 1\nb: [1,\n");
  ASSERT_EQ(document.outcome, YamlDocument::Outcome::kSyntaxError);
  EXPECT_GE(document.syntax_error.line, 2);
  EXPECT_EQ(document.syntax_error.reason, "end of sequence flow not found");
}

TEST(StrictYamlTest, FormatsASyntaxErrorWithAndWithoutAPosition) {
  EXPECT_EQ(FormatSyntaxError("invalid YAML", {3, 5, "end of map not found"}),
            "invalid YAML at line 3, column 5: end of map not found");
  EXPECT_EQ(FormatSyntaxError("YAML parse error", {0, 0, "std::bad_alloc"}),
            "YAML parse error: std::bad_alloc");
}

// ---- paths -----------------------------------------------------------------

TEST(StrictYamlTest, BuildsKeyAndItemPaths) {
  EXPECT_EQ(KeyPath("", "limits"), "limits");
  EXPECT_EQ(KeyPath("limits", "max_series"), "limits.max_series");
  EXPECT_EQ(ItemPath("signals", 2), "signals[2]");
  EXPECT_EQ(KeyPath(ItemPath("executors", 0), "url"), "executors[0].url");
  EXPECT_EQ(Quote("x"), "\"x\"");
}

// ---- maps ------------------------------------------------------------------

TEST(StrictYamlTest, VisitsKnownKeysInDocumentOrderAndReportsTheRest) {
  YamlReader reader("(file)");
  std::vector<std::string> visited;
  const bool is_map = reader.VisitMap(
      YAML::Load("c: 1\nx: 2\na: 3\nc: 4\n"), "section", kKnown,
      [&](const std::string& key, const YAML::Node& value) {
        visited.push_back(key + "=" + value.Scalar());
      });
  EXPECT_TRUE(is_map);
  EXPECT_EQ(visited, (std::vector<std::string>{"c=1", "a=3"}));
  EXPECT_EQ(ProblemsOf(reader),
            (Lines{"section.x: unknown key", "section.c: duplicate key"}));
}

TEST(StrictYamlTest, ReportsAKeyThatIsNotAStringUnderTheDocumentField) {
  YamlReader reader("(file)");
  const std::optional<YamlMap> map = reader.OpenMap(YAML::Load("[1, 2]: x\na: 1\n"), "", kKnown);
  ASSERT_TRUE(map.has_value());
  EXPECT_EQ(map->entries().size(), 1u);
  EXPECT_EQ(ProblemsOf(reader), (Lines{"(file): keys must be strings"}));
}

TEST(StrictYamlTest, OpensANullNodeAsAnEmptyMapAndRefusesAScalar) {
  YamlReader reader("configuration");
  const std::optional<YamlMap> empty = reader.OpenMap(YAML::Node(), "limits", kKnown);
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->entries().empty());
  EXPECT_FALSE(reader.OpenMap(YAML::Load("5"), "limits", kKnown).has_value());
  EXPECT_EQ(ProblemsOf(reader), (Lines{"limits: must be a map"}));
}

TEST(StrictYamlTest, GetCountsANullValueAsAbsentWhileFindSeesIt) {
  YamlReader reader("(file)");
  const std::optional<YamlMap> map = reader.OpenMap(YAML::Load("a:\nb: 2\n"), "top", kKnown);
  ASSERT_TRUE(map.has_value());
  EXPECT_FALSE(map->Get("a").has_value());
  ASSERT_NE(map->Find("a"), nullptr);
  EXPECT_TRUE(map->Find("a")->IsNull());
  EXPECT_EQ(map->Find("c"), nullptr);
  ASSERT_TRUE(map->Get("b").has_value());
  EXPECT_EQ(map->Get("b")->Scalar(), "2");
  EXPECT_EQ(map->PathOf("b"), "top.b");
  EXPECT_FALSE(reader.Required(*map, "a").has_value());
  EXPECT_TRUE(reader.Required(*map, "b").has_value());
  EXPECT_EQ(ProblemsOf(reader), (Lines{"top.a: is required"}));
}

TEST(StrictYamlTest, OpensOnlyANonEmptySequence) {
  YamlReader reader("(file)");
  const auto items = reader.OpenSequence(YAML::Load("[x, y]"), "argv", "must be a list");
  ASSERT_TRUE(items.has_value());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[1].Scalar(), "y");
  EXPECT_FALSE(reader.OpenSequence(YAML::Load("[]"), "argv", "must be a list").has_value());
  EXPECT_FALSE(reader.OpenSequence(YAML::Load("x"), "argv", "must be a list").has_value());
  EXPECT_EQ(ProblemsOf(reader), (Lines{"argv: must be a list", "argv: must be a list"}));
}

// ---- typed values ----------------------------------------------------------

TEST(StrictYamlTest, ReadsIntegersWithTheRangeWording) {
  YamlReader reader("(file)");
  const IntegerRule rule{0, 100, IntegerWording::kRange};
  EXPECT_EQ(reader.ReadInteger(YAML::Load("0"), "p", rule), 0);
  EXPECT_EQ(reader.ReadInteger(YAML::Load("+100"), "p", rule), 100);
  for (const char* bad : {"101", "-1", "1.5", "\"5\"", "five", "[1]", "99999999999999999999"}) {
    YamlReader bad_reader("(file)");
    EXPECT_FALSE(bad_reader.ReadInteger(YAML::Load(bad), "p", rule).has_value()) << bad;
    EXPECT_EQ(ProblemsOf(bad_reader), (Lines{"p: must be an integer from 0 to 100"})) << bad;
  }
  EXPECT_TRUE(reader.problems().empty());
}

TEST(StrictYamlTest, ReadsIntegersWithThePositiveWordings) {
  const IntegerRule positive{1, 64, IntegerWording::kPositive};
  const IntegerRule at_most{1, 64, IntegerWording::kPositiveAtMost};
  YamlReader reader("configuration");
  EXPECT_FALSE(reader.ReadInteger(YAML::Load("65"), "a", positive).has_value());
  EXPECT_FALSE(reader.ReadInteger(YAML::Load("0"), "b", at_most).has_value());
  EXPECT_FALSE(reader.ReadInteger(YAML::Load("65"), "c", at_most).has_value());
  EXPECT_FALSE(reader.ReadInteger(YAML::Load("99999999999999999999"), "d", at_most).has_value());
  EXPECT_FALSE(reader.ReadInteger(YAML::Load("-99999999999999999999"), "e", at_most).has_value());
  EXPECT_EQ(reader.ReadInteger(YAML::Load("64"), "f", at_most), 64);
  EXPECT_EQ(ProblemsOf(reader),
            (Lines{"a: must be a positive integer", "b: must be a positive integer",
                   "c: must be at most 64", "d: must be at most 64",
                   "e: must be a positive integer"}));
}

TEST(StrictYamlTest, ReadsPlainFiniteNumbers) {
  YamlReader reader("(file)");
  EXPECT_EQ(reader.ReadNumber(YAML::Load("0.05"), "n"), 0.05);
  EXPECT_EQ(reader.ReadNumber(YAML::Load("-0"), "n"), 0.0);
  EXPECT_FALSE(std::signbit(*reader.ReadNumber(YAML::Load("-0"), "n")));
  EXPECT_FALSE(reader.ReadNumber(YAML::Load("\"0.05\""), "quoted").has_value());
  EXPECT_FALSE(reader.ReadNumber(YAML::Load("1e999"), "huge").has_value());
  EXPECT_EQ(ProblemsOf(reader),
            (Lines{"quoted: must be a number", "huge: must be a finite number"}));
}

TEST(StrictYamlTest, ReadsTrueAndFalseOnly) {
  YamlReader reader("(file)");
  EXPECT_EQ(reader.ReadBool(YAML::Load("true"), "b"), true);
  EXPECT_EQ(reader.ReadBool(YAML::Load("False"), "b"), false);
  EXPECT_FALSE(reader.ReadBool(YAML::Load("yes"), "yes").has_value());
  EXPECT_FALSE(reader.ReadBool(YAML::Load("'true'"), "quoted").has_value());
  EXPECT_EQ(ProblemsOf(reader),
            (Lines{"yes: must be true or false", "quoted: must be true or false"}));
}

TEST(StrictYamlTest, ReadsDurationsWithBothWordings) {
  const DurationRule positive{std::chrono::hours(24), false, DurationWording::kPositive};
  const DurationRule duration{std::chrono::hours(720), false, DurationWording::kDuration};
  const DurationRule zero_ok{std::chrono::hours(720), true, DurationWording::kDuration};
  YamlReader reader("(file)");
  EXPECT_EQ(reader.ReadDuration(YAML::Load("'5m'"), "ok", positive), Millis(300'000));
  EXPECT_EQ(reader.ReadDuration(YAML::Load("0s"), "ok", zero_ok), Millis(0));
  EXPECT_FALSE(reader.ReadDuration(YAML::Load("5 m"), "a", positive).has_value());
  EXPECT_FALSE(reader.ReadDuration(YAML::Load("0s"), "b", positive).has_value());
  EXPECT_FALSE(reader.ReadDuration(YAML::Load("25h"), "c", positive).has_value());
  EXPECT_FALSE(reader.ReadDuration(YAML::Load("[5m]"), "d", duration).has_value());
  EXPECT_FALSE(reader.ReadDuration(YAML::Load("0ms"), "e", duration).has_value());
  EXPECT_FALSE(reader.ReadDuration(YAML::Load("721h"), "f", duration).has_value());
  EXPECT_EQ(ProblemsOf(reader),
            (Lines{"a: must be a positive duration such as 500ms, 30s, 5m or 2h",
                   "b: must be a positive duration such as 500ms, 30s, 5m or 2h",
                   "c: must be at most 24h", "d: must be a duration like 500ms, 30s, 5m, 2h",
                   "e: must be greater than 0s", "f: must be at most 720h"}));
}

TEST(StrictYamlTest, ReadsStringsTextAndIdentifiers) {
  YamlReader reader("(file)");
  EXPECT_EQ(reader.ReadString(YAML::Load("'x y'"), "s", YamlReader::Empty::kRefused), "x y");
  EXPECT_EQ(reader.ReadString(YAML::Load("''"), "s", YamlReader::Empty::kAllowed), "");
  EXPECT_FALSE(reader.ReadString(YAML::Load("''"), "empty", YamlReader::Empty::kRefused).has_value());
  EXPECT_FALSE(reader.ReadString(YAML::Load("[x]"), "list", YamlReader::Empty::kAllowed).has_value());
  EXPECT_EQ(reader.ReadText(YAML::Load("\"caf\xc3\xa9\""), "t"), "caf\xc3\xa9");
  EXPECT_FALSE(reader.ReadText(YAML::Load("\"caf\xe9\""), "latin1").has_value());
  EXPECT_EQ(reader.ReadIdentifier(YAML::Load("web-1.a:b_c"), "id"), "web-1.a:b_c");
  EXPECT_FALSE(reader.ReadIdentifier(YAML::Load("'a b'"), "space").has_value());
  EXPECT_EQ(ProblemsOf(reader),
            (Lines{"empty: must not be empty", "list: must be a string",
                   "latin1: must be valid UTF-8",
                   "space: must be 1-128 characters of [A-Za-z0-9._:-]"}));
}

TEST(StrictYamlTest, ReadsAnEnumFromItsTable) {
  YamlReader reader("(file)");
  EXPECT_EQ(reader.ReadEnum(YAML::Load("green"), "c", kAllColours), Colour::kGreen);
  EXPECT_FALSE(reader.ReadEnum(YAML::Load("Red"), "case", kAllColours).has_value());
  EXPECT_FALSE(reader.ReadEnum(YAML::Load("{a: 1}"), "map", kAllColours).has_value());
  EXPECT_EQ(ProblemsOf(reader), (Lines{"case: must be one of red, green",
                                       "map: must be one of red, green"}));
}

TEST(StrictYamlTest, TakeProblemsHandsOverEveryProblem) {
  YamlReader reader("(file)");
  reader.Fail("x", "is wrong");
  const std::vector<YamlProblem> problems = reader.TakeProblems();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].field, "x");
  EXPECT_EQ(problems[0].reason, "is wrong");
}

}  // namespace
}  // namespace backstop
