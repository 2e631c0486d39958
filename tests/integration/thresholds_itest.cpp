#include <set>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace backstop::testing {
namespace {

// A server whose thresholds_dir is a scratch folder the test controls.
struct Fixture {
  explicit Fixture(const ThresholdDir& dir) : server(MakeConfig(dir)) {
    admin = server.Token("admin-1", Role::kAdmin);
    deployer = server.Token("ci", Role::kDeployer);
  }
  static config::Config MakeConfig(const ThresholdDir& dir) {
    auto c = TestConfig("");
    c.thresholds_dir = dir.path();
    return c;
  }
  boost::json::array Reload() {
    auto r = server.Request("POST", "/v1/thresholds/reload", admin);
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseJson(r.body).at("files").as_array();
  }
  boost::json::array Listed() {
    auto r = server.Request("GET", "/v1/thresholds", admin);
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseJson(r.body).at("threshold_sets").as_array();
  }
  TestServer server;
  std::string admin;
  std::string deployer;
};

const boost::json::object& FileOutcome(const boost::json::array& files, const std::string& name) {
  for (const auto& f : files) {
    if (f.at("file").as_string() == name) return f.as_object();
  }
  static const boost::json::object kMissing;
  ADD_FAILURE() << "no outcome for " << name;
  return kMissing;
}

TEST(ThresholdVersioningTest, LoadThenUnchangedThenConflictKeepsOldThenBumpLoads) {
  ThresholdDir dir;
  dir.Write("web.yaml", ThresholdYaml("web", 1, "auto", 0.05));
  Fixture f(dir);
  ASSERT_EQ(f.Listed().size(), 1u);

  // Same content again (comments and spacing do not matter): unchanged.
  dir.Write("web.yaml", "# edited comment\n" + ThresholdYaml("web", 1, "auto", 0.05));
  auto files = f.Reload();
  EXPECT_EQ(FileOutcome(files, "web.yaml").at("result").as_string(), "unchanged");

  // Other content under the same version: rejected, the stored one stays in force.
  const std::string first_sha = std::string(f.Listed()[0].at("sha256").as_string());
  dir.Write("web.yaml", ThresholdYaml("web", 1, "auto", 0.20));
  files = f.Reload();
  const auto& rejected = FileOutcome(files, "web.yaml");
  EXPECT_EQ(rejected.at("result").as_string(), "rejected");
  EXPECT_EQ(rejected.at("error").at("code").as_string(), "version_conflict");
  EXPECT_EQ(rejected.at("release_class").as_string(), "web");
  EXPECT_EQ(rejected.at("version").as_int64(), 1);
  auto listed = f.Listed();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].at("sha256").as_string(), first_sha);

  // A bumped version loads and is listed first.
  dir.Write("web.yaml", ThresholdYaml("web", 2, "auto", 0.20));
  files = f.Reload();
  EXPECT_EQ(FileOutcome(files, "web.yaml").at("result").as_string(), "loaded");
  listed = f.Listed();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].at("version").as_int64(), 2);
  EXPECT_EQ(listed[1].at("version").as_int64(), 1);

  // Loads and rejections are audited.
  auto audit = ParseJson(f.server.Request("GET", "/v1/audit?limit=1000", f.admin).body);
  int loaded = 0, rejected_events = 0;
  for (const auto& e : audit.at("entries").as_array()) {
    if (e.at("kind").as_string() == "thresholds.loaded") ++loaded;
    if (e.at("kind").as_string() == "thresholds.rejected") ++rejected_events;
  }
  EXPECT_EQ(loaded, 2);
  EXPECT_EQ(rejected_events, 1);
}

TEST(ThresholdVersioningTest, ReleasePinnedBeforeABumpKeepsItsVersion) {
  ThresholdDir dir;
  dir.Write("web.yaml", ThresholdYaml("web", 1));
  Fixture f(dir);
  auto first = PostDeployment(f.server, f.deployer,
                              R"({"id":"rel-1","service":"shop","environment":"prod","version":"v2",)"
                              R"("previous_version":"v1","release_class":"web","traffic_percent":10})");
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(ParseJson(first.body).at("release").at("thresholds_version").as_int64(), 1);

  dir.Write("web.yaml", ThresholdYaml("web", 2));
  f.Reload();
  auto second = PostDeployment(f.server, f.deployer,
                               R"({"id":"rel-2","service":"cart","environment":"prod","version":"v2",)"
                               R"("release_class":"web","traffic_percent":10})");
  ASSERT_EQ(second.status, 201) << second.body;
  EXPECT_EQ(ParseJson(second.body).at("release").at("thresholds_version").as_int64(), 2);
  auto again = ParseJson(f.server.Request("GET", "/v1/releases/rel-1", f.admin).body);
  EXPECT_EQ(again.at("release").at("thresholds_version").as_int64(), 1);
}

// Migration 0009: a loaded threshold set is permanent and immutable (a new
// version is a new row), for the serving role and the schema owner alike, so
// the set every release is pinned to always exists. (The serving role may not
// TRUNCATE any table anyway; the owner's TRUNCATE is what the trigger stops.)
TEST(ThresholdVersioningTest, ALoadedThresholdSetCanNeverBeChangedOrRemoved) {
  ThresholdDir dir;
  dir.Write("web.yaml", ThresholdYaml("web", 1));
  Fixture f(dir);
  ASSERT_EQ(PostDeployment(f.server, f.deployer,
                           R"({"id":"rel-1","service":"shop","environment":"prod","version":"v2",)"
                           R"("previous_version":"v1","release_class":"web","traffic_percent":10})")
                .status,
            201);
  const auto sets_and_bodies = [&] {
    auto conn = f.server.db().ConnectAsOwner();
    pqxx::read_transaction tx(*conn);
    return tx.exec1("SELECT count(*)::text || ':' || string_agg(release_class || version || sha256 || body::text, "
                    "',' ORDER BY release_class, version) FROM threshold_sets")[0]
        .as<std::string>();
  };
  const std::string before = sets_and_bodies();
  for (bool as_owner : {false, true}) {
    auto conn = as_owner ? f.server.db().ConnectAsOwner() : f.server.db().Connect();
    for (const char* sql : {"UPDATE threshold_sets SET sha256 = repeat('0', 64) WHERE release_class = 'web'",
                            "UPDATE threshold_sets SET version = 7 WHERE release_class = 'web'",
                            "DELETE FROM threshold_sets WHERE release_class = 'web'",
                            "TRUNCATE threshold_sets CASCADE"}) {
      pqxx::work tx(*conn);
      EXPECT_THROW(tx.exec0(sql), pqxx::sql_error) << (as_owner ? "owner: " : "serving role: ") << sql;
    }
  }
  EXPECT_EQ(sets_and_bodies(), before);
  auto release = ParseJson(f.server.Request("GET", "/v1/releases/rel-1", f.admin).body);
  EXPECT_EQ(release.at("release").at("thresholds_version").as_int64(), 1);
}

TEST(ThresholdVersioningTest, InvalidFileIsRejectedWhileValidOnesLoad) {
  ThresholdDir dir;
  dir.Write("good.yaml", ThresholdYaml("good", 1));
  dir.Write("bad.yaml", "release_class: bad\nversion: 1\nreversibility: irreversible\nautomation: auto\n"
                        "evaluation:\n  window: 5m\n  min_samples: 5\nsignals:\n  - name: x\n    max: 1\n");
  Fixture f(dir);
  auto files = f.Reload();
  EXPECT_EQ(FileOutcome(files, "good.yaml").at("result").as_string(), "unchanged");
  const auto& bad = FileOutcome(files, "bad.yaml");
  EXPECT_EQ(bad.at("result").as_string(), "rejected");
  EXPECT_EQ(bad.at("error").at("code").as_string(), "invalid");
  EXPECT_NE(std::string(bad.at("error").at("message").as_string()).find("automation"), std::string::npos);
  ASSERT_EQ(f.Listed().size(), 1u);
  EXPECT_EQ(f.Listed()[0].at("release_class").as_string(), "good");
}

TEST(ThresholdVersioningTest, ServeRefusesToStartWithoutAnyValidFile) {
  ThresholdDir dir;
  dir.Write("bad.yaml", "release_class: bad\n");
  TestDatabase db;
  auto c = TestConfig(db.url());
  c.thresholds_dir = dir.path();
  app::App app(c);
  auto s = app.Start();
  EXPECT_FALSE(s.ok());
  app.Stop();
}

TEST(ThresholdVersioningTest, ReloadIsForAdminsOnly) {
  TestServer server;
  for (Role role : {Role::kViewer, Role::kDeployer, Role::kApprover, Role::kTelemetry}) {
    const std::string token = server.Token("u-" + std::string(RoleName(role)), role);
    EXPECT_EQ(server.Request("POST", "/v1/thresholds/reload", token).status, 403) << RoleName(role);
  }
}

TEST(ThresholdVersioningTest, ShippedClassesAreAllStoredAtStartUp) {
  TestServer server;
  const std::string viewer = server.Token("v", Role::kViewer);
  auto listed = ParseJson(server.Request("GET", "/v1/thresholds", viewer).body).at("threshold_sets").as_array();
  std::set<std::string> classes;
  for (const auto& s : listed) classes.insert(std::string(s.at("release_class").as_string()));
  for (const char* c : {"stateless-service", "config-change", "schema-migration", "secrets-change",
                        "permissions-change", "agent-tool-change", "data-migration"}) {
    EXPECT_TRUE(classes.count(c)) << c;
  }
  EXPECT_EQ(server.Request("GET", "/readyz").status, 200);
}

}  // namespace
}  // namespace backstop::testing
