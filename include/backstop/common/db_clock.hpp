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
  // Never steps back by less than kMaxHeldStep: each re-measurement of the
  // offset jitters by a fraction of a round trip, and a sample stamped just
  // before one must not land in the future of the next evaluation (it would
  // be skipped until then). A larger step back is a real correction and is taken.
  TimePoint Now() const {
    const std::int64_t t = (NowMicros() + std::chrono::microseconds(offset_us_.load())).time_since_epoch().count();
    std::int64_t last = last_us_.load();
    while (true) {
      if (t < last && last - t < kMaxHeldStep.count()) return TimePoint(std::chrono::microseconds(last));
      if (last_us_.compare_exchange_weak(last, t)) return TimePoint(std::chrono::microseconds(t));
    }
  }

  // One measurement: the database said `db_now` between local `before` and
  // `after`; the midpoint stands for the moment it was read.
  void Observe(TimePoint db_now, TimePoint before, TimePoint after) {
    const auto mid = before + (after - before) / 2;
    offset_us_.store((db_now - mid).count());
  }

  std::int64_t offset_us() const { return offset_us_.load(); }

 private:
  static constexpr std::chrono::microseconds kMaxHeldStep = std::chrono::seconds(1);
  std::atomic<std::int64_t> offset_us_{0};
  mutable std::atomic<std::int64_t> last_us_{0};  // the latest time Now() returned
};

}  // namespace backstop
