#pragma once

#include <string>

#include "backstop/decision/decide.hpp"

namespace backstop::decision {

// One line for a human deciding an escalation, e.g.
// "checkout v2.4.1 in production: http_5xx_ratio 0.12 vs baseline 0.002;
//  baseline also degraded — possible dependency outage". Pure.
std::string SummarizeEscalation(const ReleaseFacts& release, const Decision& decision);

}  // namespace backstop::decision
