#include "backstop/audit/hash_chain.hpp"

#include "backstop/common/sha256.hpp"

namespace backstop::audit {

namespace {

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.push_back('=');
  out.append(std::to_string(value.size()));
  out.push_back(':');
  out.append(value);
  out.push_back('\n');
}

}  // namespace

std::string CanonicalContent(const AuditEntry& e) {
  std::string out;
  out.reserve(128 + e.payload.size());
  AppendField(out, "seq", std::to_string(e.seq));
  AppendField(out, "at_us", std::to_string(e.at.time_since_epoch().count()));
  AppendField(out, "actor", e.actor);
  AppendField(out, "kind", e.kind);
  // "0" for no release, "1<id>" otherwise, so null and "" hash differently.
  std::string release = e.release_id ? "1" : "0";
  if (e.release_id) release.append(*e.release_id);
  AppendField(out, "release_id", release);
  AppendField(out, "payload", e.payload);
  AppendField(out, "prev_hash", e.prev_hash);
  return out;
}

std::string ComputeHash(const AuditEntry& e) {
  return Sha256Hex(e.prev_hash + CanonicalContent(e));
}

AuditHead SealAfter(const AuditHead& head, std::vector<AuditEntry>& pending) {
  AuditHead out = head;
  for (auto& e : pending) {
    e.seq = out.seq + 1;
    e.prev_hash = out.hash;
    e.hash = ComputeHash(e);
    out = AuditHead{e.seq, e.hash};
  }
  return out;
}

bool ChainVerifier::Feed(const AuditEntry& e) {
  if (first_bad_seq_) return false;
  if (e.seq != expected_seq_) {
    // A deleted row shows up as a gap; a swapped or renumbered row as a seq
    // out of place. Either way the chain is bad from the seq we expected.
    first_bad_seq_ = expected_seq_;
    return false;
  }
  if (e.prev_hash != last_hash_ || ComputeHash(e) != e.hash) {
    first_bad_seq_ = e.seq;
    return false;
  }
  last_hash_ = e.hash;
  ++expected_seq_;
  ++checked_;
  return true;
}

void ChainVerifier::CheckHead(std::int64_t head_seq, const std::string& head_hash,
                              const std::optional<std::string>& hash_at_head_seq) {
  if (first_bad_seq_) return;
  if (head_seq <= 0) return;
  if (last_seq() < head_seq) {
    first_bad_seq_ = last_seq() + 1;  // the tail was cut off
    return;
  }
  if (!hash_at_head_seq || *hash_at_head_seq != head_hash) first_bad_seq_ = head_seq;
}

}  // namespace backstop::audit
