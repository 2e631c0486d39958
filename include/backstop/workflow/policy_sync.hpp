#pragma once

#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "backstop/policy/policy_registry.hpp"
#include "backstop/store/threshold_repository.hpp"

namespace backstop::metrics {
class Metrics;
}

// Threshold files on disk → versioned sets in PostgreSQL → the in-memory
// registry every decision reads.
namespace backstop::workflow {

struct LoadReport {
  std::vector<store::FileLoadOutcome> files;
  std::size_t valid_files = 0;  // files that passed validation (loaded, unchanged or version_conflict)
};

// Parses every file of `dir` and stores each in its own transaction (one
// file's failure never stops the others), counting rejections in metrics.
// Runs on a database pool thread (it reads files and blocks on PostgreSQL).
LoadReport LoadThresholdDirectory(pqxx::connection& conn, const std::string& dir,
                                  const std::string& actor, metrics::Metrics& metrics);

// Rebuilds the in-memory registry from every stored set.
void RefreshRegistry(pqxx::connection& conn, policy::PolicyRegistry& registry,
                     metrics::Metrics& metrics);

}  // namespace backstop::workflow
