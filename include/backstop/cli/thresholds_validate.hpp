#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace backstop::cli {

// `backstop thresholds validate DIR`: parses every *.yaml / *.yml file in
// `dir` without a database. Prints each error on `err` as
// `FILE: FIELD: reason` (one line each) and a one-line summary on `out`
// ("3 files valid", "2 of 3 files valid"). Returns 0 when at least one file
// exists and every file is valid, else 1.
//
// With `sources` (the names of the config's telemetry_sources, from
// `--config FILE`), a query naming any other source is an error of its file
// too (policy::CheckQuerySources).
int ValidateThresholdsCommand(const std::string& dir, std::ostream& out, std::ostream& err,
                              const std::optional<std::vector<std::string>>& sources = std::nullopt);

}  // namespace backstop::cli
