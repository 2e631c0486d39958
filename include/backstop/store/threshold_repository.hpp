#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/common/time_format.hpp"
#include "backstop/policy/threshold_parser.hpp"

namespace backstop::store {

// The outcome of loading one threshold file (the reload answer's `files[]`).
struct FileLoadOutcome {
  std::string file;
  std::optional<std::string> release_class;
  std::optional<std::int64_t> version;
  std::string result;                  // loaded | unchanged | rejected
  std::optional<std::string> error_code;     // invalid | version_conflict
  std::optional<std::string> error_message;
};

struct StoredThresholdSet {
  std::string release_class;
  std::int64_t version = 0;
  std::string sha256;
  std::string body;                    // canonical JSON
  std::string source_file;
  TimePoint loaded_at{};
};

// Stores threshold sets: (release_class, version) once and forever.
class ThresholdRepository {
 public:
  // Stores one parsed file in `tx` and audits the outcome (loaded or
  // rejected; unchanged is not an event). An invalid file is rejected with
  // every validation error in the message.
  static FileLoadOutcome Store(pqxx::work& tx, const std::string& file,
                               const policy::ParseResult& parsed, const std::string& actor);

  // Every stored set, newest first (loaded_at, then version).
  static std::vector<StoredThresholdSet> ListAll(pqxx::transaction_base& tx);
};

}  // namespace backstop::store
