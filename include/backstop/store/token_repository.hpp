#pragma once

#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "backstop/common/result.hpp"
#include "backstop/common/role.hpp"

namespace backstop::store {

// NOTIFY channel of token revocations; servers LISTEN on it to drop the
// principals they hold in memory.
inline constexpr const char* kTokenRevokedChannel = "backstop_tokens";

// API tokens. Only the SHA-256 of a token is stored; the token itself is
// shown once, by `backstop token create`.
class TokenRepository {
 public:
  // Creates a token for `name` with `role`, audited in the same transaction.
  // Returns the token; a live token with that name → conflict.
  static Result<std::string> Create(pqxx::work& tx, const std::string& name, Role role,
                                    const std::string& actor);

  // Revokes the live token of `name`, audited, and notifies
  // kTokenRevokedChannel (delivered when `tx` commits); not_found when there
  // is none.
  static Status Revoke(pqxx::work& tx, const std::string& name, const std::string& actor);

  // The live principal of the token whose SHA-256 (lower-case hex) this is, if any.
  static std::optional<Principal> FindByHash(pqxx::transaction_base& tx,
                                             const std::string& token_sha256);
};

}  // namespace backstop::store
