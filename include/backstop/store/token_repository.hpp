#pragma once

#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "backstop/common/result.hpp"
#include "backstop/common/role.hpp"

namespace backstop::store {

// API tokens. Only the SHA-256 of a token is stored; the token itself is
// shown once, by `backstop token create`.
class TokenRepository {
 public:
  // Creates a token for `name` with `role`, audited in the same transaction.
  // Returns the token; a live token with that name → conflict.
  static Result<std::string> Create(pqxx::work& tx, const std::string& name, Role role,
                                    const std::string& actor);

  // Revokes the live token of `name`, audited; not_found when there is none.
  static Status Revoke(pqxx::work& tx, const std::string& name, const std::string& actor);

  // The live principal for a presented token, if any.
  static std::optional<Principal> Authenticate(pqxx::transaction_base& tx,
                                               const std::string& token);
};

}  // namespace backstop::store
