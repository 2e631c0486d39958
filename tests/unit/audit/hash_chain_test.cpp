#include <gtest/gtest.h>

#include "backstop/audit/hash_chain.hpp"

namespace backstop::audit {
namespace {

std::vector<AuditEntry> MakeChain(int n) {
  std::vector<AuditEntry> chain;
  std::string prev = kGenesisHash;
  for (int i = 1; i <= n; ++i) {
    AuditEntry e;
    e.seq = i;
    e.at = TimePoint(std::chrono::microseconds(1'700'000'000'000'000LL + i));
    e.actor = "actor";
    e.kind = "test.event";
    e.release_id = i % 2 ? std::optional<std::string>("rel-1") : std::nullopt;
    e.payload = R"({"i":)" + std::to_string(i) + "}";
    e.prev_hash = prev;
    e.hash = ComputeHash(e);
    prev = e.hash;
    chain.push_back(e);
  }
  return chain;
}

ChainVerifier VerifyAll(const std::vector<AuditEntry>& chain) {
  ChainVerifier v;
  for (const auto& e : chain) v.Feed(e);
  return v;
}

TEST(HashChainTest, IntactChainVerifies) {
  auto v = VerifyAll(MakeChain(10));
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.checked(), 10);
  EXPECT_EQ(v.last_seq(), 10);
}

TEST(HashChainTest, EveryFieldIsCovered) {
  const auto base = MakeChain(1)[0];
  std::vector<AuditEntry> variants(7, base);
  variants[0].seq = 2;
  variants[1].at += std::chrono::microseconds(1);
  variants[2].actor = "other";
  variants[3].kind = "other.kind";
  variants[4].release_id = std::nullopt;
  variants[5].payload = R"({"i":2})";
  variants[6].prev_hash = std::string(64, '1');
  for (const auto& v : variants) EXPECT_NE(ComputeHash(v), base.hash);
}

TEST(HashChainTest, FieldBoundariesCannotBeShifted) {
  AuditEntry a = MakeChain(1)[0];
  AuditEntry b = a;
  a.actor = "ab";
  a.kind = "c";
  b.actor = "a";
  b.kind = "bc";
  EXPECT_NE(ComputeHash(a), ComputeHash(b));
  AuditEntry c = a;
  AuditEntry d = a;
  c.release_id = std::nullopt;
  d.release_id = "";
  EXPECT_NE(ComputeHash(c), ComputeHash(d));
}

TEST(HashChainTest, EditedEntryIsReportedAtItsSeq) {
  auto chain = MakeChain(10);
  chain[4].payload = R"({"i":"forged"})";
  auto v = VerifyAll(chain);
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.first_bad_seq(), 5);
  EXPECT_EQ(v.checked(), 4);
}

TEST(HashChainTest, DeletedEntryIsReportedAtTheMissingSeq) {
  auto chain = MakeChain(10);
  chain.erase(chain.begin() + 6);  // seq 7
  auto v = VerifyAll(chain);
  EXPECT_EQ(v.first_bad_seq(), 7);
  EXPECT_EQ(v.checked(), 6);
}

TEST(HashChainTest, SwappedEntriesAreReportedAtTheFirst) {
  auto chain = MakeChain(10);
  std::swap(chain[2], chain[3]);
  EXPECT_EQ(VerifyAll(chain).first_bad_seq(), 3);
}

TEST(HashChainTest, RehashedForgeryBreaksTheNextLink) {
  auto chain = MakeChain(10);
  chain[4].actor = "mallory";
  chain[4].hash = ComputeHash(chain[4]);
  EXPECT_EQ(VerifyAll(chain).first_bad_seq(), 6);
}

TEST(HashChainTest, CutTailIsCaughtAgainstARecordedHead) {
  auto chain = MakeChain(10);
  const std::string head_hash = chain[9].hash;
  chain.resize(8);
  auto v = VerifyAll(chain);
  EXPECT_TRUE(v.ok());
  v.CheckHead(10, head_hash, std::nullopt);
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.first_bad_seq(), 9);
}

TEST(HashChainTest, RewrittenHistoryIsCaughtAtTheHeadSeq) {
  auto chain = MakeChain(10);
  auto v = VerifyAll(chain);
  v.CheckHead(10, std::string(64, 'f'), chain[9].hash);
  EXPECT_EQ(v.first_bad_seq(), 10);
  auto ok = VerifyAll(chain);
  ok.CheckHead(10, chain[9].hash, chain[9].hash);
  EXPECT_TRUE(ok.ok());
}

TEST(HashChainTest, SealingBatchesChainsThemLikeOneSealOfAll) {
  const auto reference = MakeChain(7);
  std::vector<AuditEntry> unsealed;
  for (auto e : reference) {
    e.seq = 0;
    e.prev_hash.clear();
    e.hash.clear();
    unsealed.push_back(e);
  }
  std::vector<AuditEntry> first(unsealed.begin(), unsealed.begin() + 3);
  std::vector<AuditEntry> second(unsealed.begin() + 3, unsealed.end());
  const AuditHead mid = SealAfter(AuditHead{0, kGenesisHash}, first);
  EXPECT_EQ(mid.seq, 3);
  const AuditHead end = SealAfter(mid, second);
  EXPECT_EQ(end.seq, 7);
  EXPECT_EQ(end.hash, reference[6].hash);
  first.insert(first.end(), second.begin(), second.end());
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].seq, reference[i].seq);
    EXPECT_EQ(first[i].prev_hash, reference[i].prev_hash);
    EXPECT_EQ(first[i].hash, reference[i].hash);
  }
  EXPECT_TRUE(VerifyAll(first).ok());
}

TEST(HashChainTest, SealingNothingKeepsTheHead) {
  std::vector<AuditEntry> none;
  const AuditHead head{41, std::string(64, 'c')};
  const AuditHead after = SealAfter(head, none);
  EXPECT_EQ(after.seq, 41);
  EXPECT_EQ(after.hash, head.hash);
}

TEST(HashChainTest, TheEntryIdIsNotPartOfTheHash) {
  auto chain = MakeChain(1);
  AuditEntry other = chain[0];
  other.id = 12345;
  EXPECT_EQ(ComputeHash(other), chain[0].hash);
}

}  // namespace
}  // namespace backstop::audit
