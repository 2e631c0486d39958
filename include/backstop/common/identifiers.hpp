#pragma once

#include <string>
#include <string_view>

namespace backstop {

// Identifiers (service, environment, version, signal, source, token names):
// 1-128 characters of [A-Za-z0-9._:-], which keeps them safe in logs, URLs
// and argv without escaping.
inline constexpr std::size_t kMaxIdentifierLength = 128;
// The reason every error about a bad identifier gives.
inline constexpr const char* kIdentifierRule = "must be 1-128 characters of [A-Za-z0-9._:-]";
bool IsValidIdentifier(std::string_view s);

// Release ids given by clients follow the same rule (DESIGN: deployment id).
inline bool IsValidReleaseId(std::string_view s) { return IsValidIdentifier(s); }

// A random RFC 4122 version-4 UUID string.
std::string NewUuid();

}  // namespace backstop
