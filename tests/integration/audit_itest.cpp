#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "backstop/audit/audit_repository.hpp"
#include "backstop/audit/audit_sealer.hpp"
#include "backstop/store/schema_access.hpp"
#include "test_support.hpp"

namespace backstop::testing {
namespace {

using audit::AuditRepository;

void AppendMany(const std::string& url, int thread_index, int count) {
  pqxx::connection conn(url);
  for (int i = 0; i < count; ++i) {
    pqxx::work tx(conn);
    AuditRepository::Append(
        tx, audit::AuditEvent{"writer-" + std::to_string(thread_index), audit::AuditKind::kModeChanged, std::nullopt,
                              R"({"i":)" + std::to_string(i) + "}"});
    tx.commit();
  }
}

// Seals what was committed, as a reader of the log does first.
void Seal(const std::string& url) {
  pqxx::connection conn(url);
  audit::SealCommitted(conn);
}

void AppendSome(const TestDatabase& db, int n) {
  AppendMany(db.url(), 0, n);
  Seal(db.url());
}

std::int64_t CountUnsealed(const TestDatabase& db) {
  auto conn = db.Connect();
  pqxx::read_transaction tx(*conn);
  return tx.exec1("SELECT count(*) FROM audit_log WHERE seq IS NULL")[0].as<std::int64_t>();
}

audit::VerifyResult Verify(const TestDatabase& db, std::optional<audit::AuditHead> head = std::nullopt) {
  auto conn = db.Connect();
  pqxx::read_transaction tx(*conn);
  return AuditRepository::Verify(tx, head);
}

// Runs SQL as the superuser with the append-only triggers disabled, like an
// attacker with full database access would.
void Tamper(const TestDatabase& db, const std::string& sql) {
  pqxx::connection conn(db.admin_url());
  pqxx::work tx(conn);
  tx.exec0("ALTER TABLE audit_log DISABLE TRIGGER USER");
  tx.exec0(sql);
  tx.exec0("ALTER TABLE audit_log ENABLE TRIGGER USER");
  tx.commit();
}

TEST(AuditTest, ASealingPassReportsEachSealedEntrysDelayFromItsInsert) {
  TestDatabase db;
  AppendMany(db.url(), 0, 3);
  auto conn = db.Connect();
  pqxx::work tx(*conn);
  const audit::SealPass pass = AuditRepository::SealPending(tx, audit::SealerLock::kTry, 100);
  tx.commit();
  EXPECT_EQ(pass.sealed, 3);
  ASSERT_EQ(pass.delays_seconds.size(), 3u);
  for (const double d : pass.delays_seconds) {
    EXPECT_GE(d, 0.0);
    EXPECT_LT(d, 60.0);
  }
  // Nothing left: the next pass seals and reports nothing.
  pqxx::work again(*conn);
  const audit::SealPass empty = AuditRepository::SealPending(again, audit::SealerLock::kTry, 100);
  again.commit();
  EXPECT_EQ(empty.sealed, 0);
  EXPECT_TRUE(empty.delays_seconds.empty());
}

TEST(AuditTest, ConcurrentAppendsKeepOneUnbrokenChain) {
  TestDatabase db;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  // Two competing sealers seal while the writers write, as two processes do.
  std::atomic<bool> writing{true};
  std::vector<std::thread> sealers;
  for (int s = 0; s < 2; ++s) {
    sealers.emplace_back([&] {
      pqxx::connection conn(db.url());
      while (writing.load()) {
        pqxx::work tx(conn);
        AuditRepository::SealPending(tx, audit::SealerLock::kTry, 100);
        tx.commit();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(AppendMany, db.url(), t, kPerThread);
  for (auto& t : threads) t.join();
  writing = false;
  for (auto& t : sealers) t.join();
  Seal(db.url());

  auto conn = db.Connect();
  pqxx::read_transaction tx(*conn);
  const auto stats = tx.exec1(
      "SELECT count(*), min(seq), max(seq), count(DISTINCT prev_hash) FROM audit_log");
  const auto total = kThreads * kPerThread;
  EXPECT_EQ(stats[0].as<int>(), total);
  EXPECT_EQ(stats[1].as<int>(), 1);
  EXPECT_EQ(stats[2].as<int>(), total);  // contiguous: count == max with min 1
  EXPECT_EQ(stats[3].as<int>(), total);  // no shared prev_hash: no fork
  auto v = AuditRepository::Verify(tx);
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.checked, total);
  EXPECT_FALSE(v.first_bad_seq.has_value());
}

TEST(AuditTest, EditedRowIsReportedAtItsSeq) {
  TestDatabase db;
  AppendSome(db, 20);
  Tamper(db, R"(UPDATE audit_log SET payload = '{"i":999}' WHERE seq = 7)");
  auto v = Verify(db);
  EXPECT_FALSE(v.ok);
  ASSERT_TRUE(v.first_bad_seq.has_value());
  EXPECT_EQ(*v.first_bad_seq, 7);
  EXPECT_EQ(v.checked, 6);
}

TEST(AuditTest, EditWithRecomputedHashIsCaughtAtTheNextRow) {
  TestDatabase db;
  AppendSome(db, 10);
  // The attacker fixes row 4's own hash, but row 5 still points at the old one.
  Tamper(db, "UPDATE audit_log SET actor = 'mallory', hash = repeat('a', 64) WHERE seq = 4");
  auto v = Verify(db);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq.value_or(-1), 4);
}

TEST(AuditTest, DeletedRowIsReportedAtTheMissingSeq) {
  TestDatabase db;
  AppendSome(db, 20);
  Tamper(db, "DELETE FROM audit_log WHERE seq = 12");
  auto v = Verify(db);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq.value_or(-1), 12);
  EXPECT_EQ(v.checked, 11);
}

TEST(AuditTest, SwappedRowsAreReportedAtTheFirstOfThem) {
  TestDatabase db;
  AppendSome(db, 20);
  // Reorder rows 5 and 6 by swapping their seq numbers.
  Tamper(db, "UPDATE audit_log SET seq = 100005 WHERE seq = 5;"
             "UPDATE audit_log SET seq = 5 WHERE seq = 6;"
             "UPDATE audit_log SET seq = 6 WHERE seq = 100005;");
  auto v = Verify(db);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq.value_or(-1), 5);
}

TEST(AuditTest, CutOffTailIsCaughtOnlyAgainstTheExportedHead) {
  TestDatabase db;
  AppendSome(db, 15);
  audit::AuditHead head;
  {
    auto conn = db.Connect();
    pqxx::read_transaction tx(*conn);
    head = AuditRepository::Head(tx);
  }
  ASSERT_EQ(head.seq, 15);
  EXPECT_TRUE(Verify(db, head).ok);
  Tamper(db, "DELETE FROM audit_log WHERE seq > 12");
  EXPECT_TRUE(Verify(db).ok);  // the chain alone cannot tell
  auto v = Verify(db, head);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_seq.value_or(-1), 13);
}

TEST(AuditTest, ApplicationRoleCannotUpdateDeleteOrTruncate) {
  TestDatabase db;
  AppendSome(db, 3);
  auto conn = db.Connect();  // the application's role, not a superuser
  for (const char* sql : {"UPDATE audit_log SET actor = 'x' WHERE seq = 1",
                          "DELETE FROM audit_log WHERE seq = 1", "TRUNCATE audit_log"}) {
    pqxx::work tx(*conn);
    EXPECT_THROW(tx.exec0(sql), pqxx::sql_error) << sql;
  }
  EXPECT_TRUE(Verify(db).ok);
  EXPECT_EQ(Verify(db).checked, 3);
}

TEST(AuditTest, AppendedEntriesStayUnsealedAndUnlistedUntilSealed) {
  TestDatabase db;
  AppendSome(db, 2);
  AppendMany(db.url(), 1, 3);  // committed, not sealed yet
  EXPECT_EQ(CountUnsealed(db), 3);
  {
    auto conn = db.Connect();
    pqxx::read_transaction tx(*conn);
    EXPECT_EQ(AuditRepository::List(tx, audit::AuditQuery{}).items.size(), 2u);
    EXPECT_EQ(AuditRepository::Verify(tx).checked, 2);
    EXPECT_EQ(AuditRepository::Head(tx).seq, 2);
  }
  Seal(db.url());
  EXPECT_EQ(CountUnsealed(db), 0);
  auto conn = db.Connect();
  pqxx::read_transaction tx(*conn);
  const auto page = AuditRepository::List(tx, audit::AuditQuery{});
  ASSERT_EQ(page.items.size(), 5u);
  EXPECT_EQ(page.items[0].seq, 5);  // newest first, sealed in the order written
  EXPECT_EQ(page.items[0].payload, R"({"i":2})");
  EXPECT_EQ(AuditRepository::Verify(tx).checked, 5);
  EXPECT_EQ(AuditRepository::Head(tx).seq, 5);
}

TEST(AuditTest, OnlyTheSealingOfAnUnsealedRowIsAllowedToTheApplicationRole) {
  TestDatabase db;
  AppendSome(db, 2);
  AppendMany(db.url(), 1, 1);  // id 3, unsealed
  auto conn = db.Connect();  // the application's role, not a superuser
  const std::string seal_values = "seq = 3, prev_hash = repeat('1', 64), hash = repeat('2', 64), sealed_at = now()";
  // Re-sealing a sealed row, editing it, or editing an unsealed row's
  // content (alone or with a seal) is refused; so is inserting a sealed row.
  for (const std::string& sql : std::vector<std::string>{
        "UPDATE audit_log SET seq = 7, prev_hash = repeat('1', 64), hash = repeat('2', 64) WHERE seq = 1",
        "UPDATE audit_log SET hash = repeat('2', 64) WHERE seq = 2",
        "UPDATE audit_log SET sealed_at = now() WHERE seq = 2",
        "UPDATE audit_log SET actor = 'mallory' WHERE seq IS NULL",
        "UPDATE audit_log SET payload = '{\"i\":9}', " + seal_values + " WHERE seq IS NULL",
        "UPDATE audit_log SET at = at - interval '1 hour', " + seal_values + " WHERE seq IS NULL",
        "UPDATE audit_log SET seq = 3, prev_hash = repeat('1', 64) WHERE seq IS NULL",
        "DELETE FROM audit_log WHERE seq IS NULL",
        "INSERT INTO audit_log (actor, kind, payload, seq, prev_hash, hash, sealed_at) "
        "VALUES ('x', 'mode.changed', '{}', 99, repeat('3', 64), repeat('4', 64), now())"}) {
    pqxx::work tx(*conn);
    EXPECT_THROW(tx.exec0(sql), pqxx::sql_error) << sql;
  }
  {
    // The one allowed change: the seal of an unsealed row, content untouched.
    // (A wrong seal like this one is what verification then catches.)
    pqxx::work tx(*conn);
    EXPECT_EQ(tx.exec0("UPDATE audit_log SET " + seal_values + " WHERE seq IS NULL").affected_rows(), 1u);
    tx.abort();
  }
  Seal(db.url());
  EXPECT_TRUE(Verify(db).ok);
  EXPECT_EQ(Verify(db).checked, 3);
}

// Issue 16 / DESIGN "Audit log": tampering needs a superuser. The serving
// role is granted access by the schema owner and owns nothing, so it can
// neither switch the append-only triggers off nor drop or replace them.
TEST(AuditTest, TheServingRoleCannotDisableDropOrReplaceTheAppendOnlyTriggers) {
  TestDatabase db;
  AppendSome(db, 3);
  auto conn = db.Connect();  // the role servers use
  {
    pqxx::read_transaction tx(*conn);
    const auto control = store::AuditTableControlOf(tx);
    ASSERT_TRUE(control.has_value());
    ASSERT_FALSE(control->controls) << "role " << control->role << " controls audit_log (owner "
                                    << control->table_owner
                                    << "): BACKSTOP_TEST_SERVING_URL must name a role that owns nothing";
  }
  for (const char* sql : {
           "ALTER TABLE audit_log DISABLE TRIGGER USER",
           "ALTER TABLE audit_log DISABLE TRIGGER audit_log_only_sealing",
           "ALTER TABLE audit_log DISABLE TRIGGER ALL",
           "DROP TRIGGER audit_log_only_sealing ON audit_log",
            "DROP TRIGGER audit_log_insert_unsealed ON audit_log",
           "DROP TRIGGER audit_log_no_delete ON audit_log",
           "DROP TRIGGER audit_log_no_truncate ON audit_log",
           "CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql "
           "AS $$ BEGIN RETURN NEW; END; $$",
           "DROP FUNCTION audit_log_refuse_change() CASCADE",
           "DROP TABLE audit_log",
           "ALTER TABLE audit_log RENAME TO audit_log_old",
           "TRUNCATE audit_log",
           "CREATE TABLE sneaky (id int)",
           "SET session_replication_role = replica",
       }) {
    pqxx::work tx(*conn);
    EXPECT_THROW(tx.exec0(sql), pqxx::sql_error) << sql;
  }
  {
    pqxx::work tx(*conn);
    EXPECT_THROW(tx.exec0("UPDATE audit_log SET actor = 'x' WHERE seq = 1"), pqxx::sql_error);
  }
  EXPECT_TRUE(Verify(db).ok);
  EXPECT_EQ(Verify(db).checked, 3);
}

TEST(AuditTest, RolledBackAppendLeavesNoGap) {
  TestDatabase db;
  AppendSome(db, 2);
  {
    auto conn = db.Connect();
    pqxx::work tx(*conn);
    AuditRepository::Append(tx, audit::AuditEvent{"x", audit::AuditKind::kModeChanged, std::nullopt, "{}"});
    tx.abort();
  }
  AppendSome(db, 1);
  auto v = Verify(db);
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.checked, 3);
  EXPECT_EQ(CountUnsealed(db), 0);
}

TEST(AuditApiTest, ListsNewestFirstWithFiltersAndCursor) {
  TestServer server;
  const std::string viewer = server.Token("viewer-1", Role::kViewer);
  {
    auto conn = server.db().Connect();
    for (int i = 0; i < 5; ++i) {
      pqxx::work tx(*conn);
      AuditRepository::Append(tx, audit::AuditEvent{"t", audit::AuditKind::kReleaseRegistered,
                                                    std::string(i % 2 ? "rel-a" : "rel-b"), "{}"});
      tx.commit();
    }
  }
  auto page = ParseJson(server.Request("GET", "/v1/audit?limit=2", viewer).body).as_object();
  const auto& entries = page.at("entries").as_array();
  ASSERT_EQ(entries.size(), 2u);
  const auto first_seq = entries[0].at("seq").as_int64();
  EXPECT_GT(first_seq, entries[1].at("seq").as_int64());
  ASSERT_TRUE(page.contains("next"));
  auto next = ParseJson(server.Request("GET", "/v1/audit?limit=2&cursor=" +
                                               std::string(page.at("next").as_string()), viewer).body);
  EXPECT_LT(next.at("entries").as_array()[0].at("seq").as_int64(), entries[1].at("seq").as_int64());

  auto only_a = ParseJson(server.Request("GET", "/v1/audit?release_id=rel-a", viewer).body);
  EXPECT_EQ(only_a.at("entries").as_array().size(), 2u);
  for (const auto& e : only_a.at("entries").as_array()) EXPECT_EQ(e.at("release_id").as_string(), "rel-a");

  auto after = ParseJson(server.Request("GET", "/v1/audit?after=" + std::to_string(first_seq - 1), viewer).body);
  ASSERT_EQ(after.at("entries").as_array().size(), 1u);
  EXPECT_EQ(after.at("entries").as_array()[0].at("seq").as_int64(), first_seq);

  auto too_many = server.Request("GET", "/v1/audit?limit=5000", viewer);
  EXPECT_EQ(too_many.status, 400);
  EXPECT_EQ(ErrorCode(too_many), "limit_exceeded");
}

TEST(AuditApiTest, VerifyAnswersOkAndCatchesTamperingAgainstHead) {
  TestServer server;
  const std::string viewer = server.Token("viewer-1", Role::kViewer);
  AppendSome(server.db(), 6);
  auto ok = ParseJson(server.Request("GET", "/v1/audit/verify", viewer).body).as_object();
  EXPECT_TRUE(ok.at("ok").as_bool());
  const auto checked = ok.at("checked").as_int64();
  EXPECT_GE(checked, 6);
  auto newest = ParseJson(server.Request("GET", "/v1/audit?limit=1", viewer).body)
                    .at("entries").as_array()[0].as_object();
  const std::string head_query = "/v1/audit/verify?head_seq=" + std::to_string(newest.at("seq").as_int64()) +
                                 "&head_hash=" + std::string(newest.at("hash").as_string());
  EXPECT_TRUE(ParseJson(server.Request("GET", head_query, viewer).body).at("ok").as_bool());

  Tamper(server.db(), "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)");
  auto r = server.Request("GET", head_query, viewer);
  EXPECT_EQ(r.status, 200);
  auto bad = ParseJson(r.body).as_object();
  EXPECT_FALSE(bad.at("ok").as_bool());
  EXPECT_EQ(bad.at("first_bad_seq").as_int64(), newest.at("seq").as_int64());
}

}  // namespace
}  // namespace backstop::testing
