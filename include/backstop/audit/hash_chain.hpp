#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backstop/audit/audit_entry.hpp"

namespace backstop::audit {

// The prev_hash of the first entry.
inline const std::string kGenesisHash(64, '0');

// The canonical content of an entry: every field except `hash`, each written
// as "<name>=<byte length>:<bytes>\n" so no choice of field contents can make
// two different entries serialize alike.
std::string CanonicalContent(const AuditEntry& e);

// hash = SHA-256(prev_hash || canonical content), lower-case hex.
std::string ComputeHash(const AuditEntry& e);

// Seals `pending` (in the order given) after `head`: assigns seq head.seq+1,
// +2, ..., chains prev_hash and computes each hash. Returns the new head.
// The order given is the chain's order: the sealer passes committed entries
// in id order, so a batch reads as the order the entries were written in.
AuditHead SealAfter(const AuditHead& head, std::vector<AuditEntry>& pending);

// Incremental verifier: feed entries in seq order. Stops at the first bad
// entry. A gap in seq (a deleted row) is reported at the first missing seq.
class ChainVerifier {
 public:
  // Returns false once the chain is broken; later calls are ignored.
  bool Feed(const AuditEntry& e);

  bool ok() const { return !first_bad_seq_.has_value(); }
  std::int64_t checked() const { return checked_; }
  std::optional<std::int64_t> first_bad_seq() const { return first_bad_seq_; }
  std::int64_t last_seq() const { return expected_seq_ - 1; }
  const std::string& last_hash() const { return last_hash_; }

  // After all entries: checks that the chain reaches a head recorded elsewhere
  // (seq, hash). A chain cut off before head_seq is bad at its first missing seq.
  void CheckHead(std::int64_t head_seq, const std::string& head_hash,
                 const std::optional<std::string>& hash_at_head_seq);

 private:
  std::int64_t expected_seq_ = 1;
  std::string last_hash_ = kGenesisHash;
  std::int64_t checked_ = 0;
  std::optional<std::int64_t> first_bad_seq_;
};

}  // namespace backstop::audit
