#pragma once

#include <string>
#include <vector>

#include <boost/json/value.hpp>

// Human-readable renderings of REST answers for `backstop queue|releases|
// mode|audit` (the default output; `--output json` prints the answer as is).
// Pure: JSON in, text out; unknown or missing fields print as "-".
namespace backstop::cli {

// Columns aligned on the widest cell, two spaces apart, a header row first.
std::string FormatTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

std::string FormatEscalationList(const boost::json::value& answer);  // {"escalations": [...]}
// One escalation with its evidence: per signal, canary against baseline
// and the bound, and the reasons in words, so an approver can decide.
std::string FormatEscalation(const boost::json::value& answer);      // {"escalation": {...}}
std::string FormatReleaseList(const boost::json::value& answer);     // {"releases": [...]}
std::string FormatRelease(const boost::json::value& answer);         // {"release": {...}}
std::string FormatMode(const boost::json::value& answer);            // {"mode": ...}
std::string FormatVerify(const boost::json::value& answer);          // {"ok", "checked", ...}

}  // namespace backstop::cli
