#pragma once

#include <vector>

#include "backstop/common/time_format.hpp"

namespace backstop::telemetry {

// One telemetry value at a point in time.
struct Sample {
  TimePoint at{};
  double value = 0.0;
};

}  // namespace backstop::telemetry
