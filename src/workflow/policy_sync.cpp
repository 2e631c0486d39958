#include "backstop/workflow/policy_sync.hpp"

#include <spdlog/spdlog.h>

#include "backstop/metrics/metrics.hpp"
#include "backstop/policy/threshold_parser.hpp"

namespace backstop::workflow {

LoadReport LoadThresholdDirectory(pqxx::connection& conn, const std::string& dir,
                                  const std::string& actor, metrics::Metrics& metrics) {
  LoadReport report;
  const policy::DirectoryResult parsed = policy::ParseThresholdDirectory(dir);
  for (const auto& file : parsed.files) {
    pqxx::work tx(conn);
    store::FileLoadOutcome outcome = store::ThresholdRepository::Store(tx, file.file, file.result, actor);
    tx.commit();
    if (file.result.set) ++report.valid_files;
    if (outcome.result == "rejected") {
      metrics.CountThresholdRejection(outcome.error_code.value_or("invalid"));
      spdlog::warn("thresholds: {} rejected ({}): {}", outcome.file, outcome.error_code.value_or(""),
                   outcome.error_message.value_or(""));
    } else {
      spdlog::info("thresholds: {} {} ({} v{})", outcome.file, outcome.result,
                   outcome.release_class.value_or("?"), outcome.version.value_or(0));
    }
    report.files.push_back(std::move(outcome));
  }
  return report;
}

void RefreshRegistry(pqxx::connection& conn, policy::PolicyRegistry& registry,
                     metrics::Metrics& metrics) {
  std::vector<store::StoredThresholdSet> stored;
  {
    pqxx::read_transaction tx(conn);
    stored = store::ThresholdRepository::ListAll(tx);
  }
  std::vector<policy::ThresholdSet> sets;
  for (const auto& s : stored) {
    // Stored bodies are canonical JSON written by this parser; JSON is YAML.
    policy::ParseResult parsed = policy::ParseThresholdYaml(s.body, s.source_file);
    if (!parsed.set) {
      spdlog::error("thresholds: stored set {} v{} no longer parses: {}", s.release_class, s.version,
                    parsed.errors.empty() ? "" : parsed.errors.front().ToString());
      continue;
    }
    sets.push_back(std::move(*parsed.set));
  }
  registry.Replace(std::move(sets));
  metrics.SetThresholdSetsLoaded(registry.size());
}

}  // namespace backstop::workflow
