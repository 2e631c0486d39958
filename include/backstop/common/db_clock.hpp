#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "backstop/common/time_format.hpp"

namespace backstop {

// The database's clock, as seen from this process: the local clock plus an
// offset measured against PostgreSQL's clock_timestamp(). DESIGN puts all
// time-based state on the database's clock; telemetry receipt times and
// evaluation "now" use this so they compare correctly with started_at and
// updated_at, which the database stamps. Thread-safe.
//
// Now() never runs backwards: a new measurement that lowers the offset
// (each one is only as good as its round trip) holds the clock until it
// catches up. Otherwise an evaluation right after a remeasurement could
// read "now" before the receipt time of samples just stamped, and not count
// them yet.
class DbClock {
 public:
  TimePoint Now() const {
    const std::int64_t t = (NowMicros() + std::chrono::microseconds(offset_us_.load())).time_since_epoch().count();
    std::int64_t last = last_us_.load(std::memory_order_relaxed);
    while (t > last && !last_us_.compare_exchange_weak(last, t, std::memory_order_relaxed)) {
    }
    return TimePoint(std::chrono::microseconds(std::max(t, last)));
  }

  // One measurement: the database said `db_now` between local `before` and
  // `after`; the midpoint stands for the moment it was read.
  void Observe(TimePoint db_now, TimePoint before, TimePoint after) {
    const auto mid = before + (after - before) / 2;
    offset_us_.store((db_now - mid).count());
  }

  std::int64_t offset_us() const { return offset_us_.load(); }

 private:
  std::atomic<std::int64_t> offset_us_{0};
  mutable std::atomic<std::int64_t> last_us_{0};  // the latest Now() returned
};

}  // namespace backstop
