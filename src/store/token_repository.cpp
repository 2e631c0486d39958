#include "backstop/store/token_repository.hpp"

#include <boost/json.hpp>

#include "backstop/audit/audit_repository.hpp"
#include "backstop/common/identifiers.hpp"
#include "backstop/common/sha256.hpp"
#include "backstop/store/prepared.hpp"

namespace backstop::store {

namespace {

constexpr const char* kTokenPrefix = "bst_";
constexpr const char* kInsert =
    "INSERT INTO api_tokens (name, role, token_sha256) VALUES ($1, $2, $3) "
    "ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING RETURNING id";
constexpr const char* kRevoke =
    "UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL RETURNING role";
constexpr const char* kLookup =
    "SELECT name, role FROM api_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL";
constexpr const char* kNotify = "SELECT pg_notify($1, $2)";

}  // namespace

Result<std::string> TokenRepository::Create(pqxx::work& tx, const std::string& name, Role role,
                                            const std::string& actor) {
  if (!IsValidIdentifier(name)) {
    return Error::InvalidInput(std::string("name: ") + kIdentifierRule, {"name"});
  }
  const std::string token = kTokenPrefix + RandomHex(32);
  const pqxx::result r =
      Exec(tx, kInsert, name, std::string(RoleName(role)), Sha256Hex(token));
  if (r.empty()) {
    return Error::Conflict("token_exists", "a live token named " + name + " exists; revoke it first");
  }
  boost::json::object payload{{"name", name}, {"role", RoleName(role)}};
  audit::AuditRepository::Append(
      tx, audit::AuditEvent{actor, audit::AuditKind::kTokenCreated, std::nullopt, boost::json::serialize(payload)});
  return token;
}

Status TokenRepository::Revoke(pqxx::work& tx, const std::string& name, const std::string& actor) {
  const pqxx::result r = Exec(tx, kRevoke, name);
  if (r.empty()) return Error::NotFound("no live token named " + name);
  boost::json::object payload{{"name", name}, {"role", r[0][0].as<std::string>()}};
  audit::AuditRepository::Append(
      tx, audit::AuditEvent{actor, audit::AuditKind::kTokenRevoked, std::nullopt, boost::json::serialize(payload)});
  // Every server drops its cached principals when this commits.
  Exec(tx, kNotify, std::string(kTokenRevokedChannel), name);
  return Ok();
}

std::optional<Principal> TokenRepository::FindByHash(pqxx::transaction_base& tx,
                                                     const std::string& token_sha256) {
  const pqxx::result r = Exec(tx, kLookup, token_sha256);
  if (r.empty()) return std::nullopt;
  auto role = ParseRole(r[0][1].as<std::string>());
  if (!role) return std::nullopt;
  return Principal{r[0][0].as<std::string>(), *role};
}

}  // namespace backstop::store
