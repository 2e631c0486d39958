#pragma once

#include <boost/json/value.hpp>

namespace backstop {

// Boost.JSON serializes what a value holds without checking it: an infinite
// double comes out as the bare word `Infinity`, a string's bytes as given.
// Neither is JSON a strict parser accepts.

// Whether every number of `v` is finite and every string and object key is
// well-formed UTF-8, so its serialization is valid JSON. Pure.
[[nodiscard]] bool IsWritableJson(const boost::json::value& v);

// Makes `v` writable: a non-finite number becomes null, ill-formed UTF-8 in
// a string or key becomes U+FFFD (see ToValidUtf8). Pure.
void MakeWritableJson(boost::json::value& v);

}  // namespace backstop
