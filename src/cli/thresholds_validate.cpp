#include "backstop/cli/thresholds_validate.hpp"

#include <cstddef>

#include "backstop/policy/threshold_parser.hpp"

namespace backstop::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;

std::string Files(std::size_t n) { return n == 1 ? "file" : "files"; }

}  // namespace

int ValidateThresholdsCommand(const std::string& dir, std::ostream& out, std::ostream& err,
                              const std::optional<std::vector<std::string>>& sources) {
  const policy::DirectoryResult result = policy::ParseThresholdDirectory(dir);
  std::size_t valid = 0;
  for (const auto& file : result.files) {
    for (const auto& error : file.result.errors) err << error.ToString() << '\n';
    if (!file.result.set) continue;
    if (sources) {
      const auto errors = policy::CheckQuerySources(*file.result.set, file.file, *sources);
      for (const auto& error : errors) err << error.ToString() << '\n';
      if (!errors.empty()) continue;
    }
    ++valid;
  }
  if (!result.directory_readable) {
    out << "no threshold files validated\n";
    return kExitFailure;
  }
  const std::size_t total = result.files.size();
  if (total == 0) {
    // An empty directory would start a server with no release class at all.
    err << policy::ValidationError{dir, "(directory)", "has no .yaml or .yml files"}.ToString()
        << '\n';
    out << "0 files valid\n";
    return kExitFailure;
  }
  if (valid == total) {
    out << total << ' ' << Files(total) << " valid\n";
    return kExitOk;
  }
  out << valid << " of " << total << ' ' << Files(total) << " valid\n";
  return kExitFailure;
}

}  // namespace backstop::cli
