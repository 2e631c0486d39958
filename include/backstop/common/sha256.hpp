#pragma once

#include <string>
#include <string_view>

namespace backstop {

// Lower-case hex SHA-256 of the bytes.
std::string Sha256Hex(std::string_view bytes);

// Lower-case hex HMAC-SHA256(key, message).
std::string HmacSha256Hex(std::string_view key, std::string_view message);

// Hex of `n` cryptographically random bytes (OpenSSL RAND_bytes); throws on failure.
std::string RandomHex(std::size_t n);

// Compares without early exit, for secrets.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace backstop
