#pragma once

#include <atomic>
#include <cstdint>

#include "backstop/common/time_format.hpp"

namespace backstop {

// The database's clock, as seen from this process: the local clock plus an
// offset measured against PostgreSQL's clock_timestamp(). DESIGN puts all
// time-based state on the database's clock; telemetry receipt times and
// evaluation "now" use this so they compare correctly with started_at and
// updated_at, which the database stamps. Thread-safe.
class DbClock {
 public:
  TimePoint Now() const { return NowMicros() + std::chrono::microseconds(offset_us_.load()); }

  // One measurement: the database said `db_now` between local `before` and
  // `after`; the midpoint stands for the moment it was read.
  void Observe(TimePoint db_now, TimePoint before, TimePoint after) {
    const auto mid = before + (after - before) / 2;
    offset_us_.store((db_now - mid).count());
  }

  std::int64_t offset_us() const { return offset_us_.load(); }

 private:
  std::atomic<std::int64_t> offset_us_{0};
};

}  // namespace backstop
