#pragma once

#include <ostream>
#include <string>

namespace backstop::cli {

// `backstop thresholds validate DIR`: parses every *.yaml / *.yml file in
// `dir` without a database. Prints each error on `err` as
// `FILE: FIELD: reason` (one line each) and a one-line summary on `out`
// ("3 files valid", "2 of 3 files valid"). Returns 0 when at least one file
// exists and every file is valid, else 1.
int ValidateThresholdsCommand(const std::string& dir, std::ostream& out, std::ostream& err);

}  // namespace backstop::cli
