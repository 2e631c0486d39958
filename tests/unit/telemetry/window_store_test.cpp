#include "backstop/telemetry/window_store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace backstop::telemetry {
namespace {

// A fixed origin, so every time in a test is an exact, readable offset.
const TimePoint kT0 = TimePoint{} + std::chrono::hours(24 * 365 * 56);

TimePoint At(std::int64_t seconds) { return kT0 + std::chrono::seconds(seconds); }

IncomingSample SampleOf(const std::string& version, double value, TimePoint at,
                        const std::string& source = "default",
                        const std::string& signal = "http_5xx_ratio",
                        const std::string& service = "checkout",
                        const std::string& environment = "prod") {
  IncomingSample s;
  s.service = service;
  s.environment = environment;
  s.version = version;
  s.signal = signal;
  s.source = source;
  s.sample = Sample{at, value};
  return s;
}

std::vector<double> Values(const std::vector<Sample>& samples) {
  std::vector<double> values;
  for (const Sample& s : samples) values.push_back(s.value);
  return values;
}

std::vector<decision::SeriesPair> SnapshotOf(const WindowStore& store, const std::string& version,
                                             const std::optional<std::string>& previous,
                                             const std::string& signal = "http_5xx_ratio") {
  return store.Snapshot("checkout", "prod", signal, version, previous);
}

constexpr std::int64_t kManySeries = 1000;
constexpr Millis kHour = std::chrono::hours(1);

// ---- append and snapshot ---------------------------------------------------

TEST(WindowStoreTest, SnapshotOfAnUnknownSignalIsEmpty) {
  WindowStore store(kManySeries, kHour);
  EXPECT_TRUE(SnapshotOf(store, "v2", "v1").empty());
  EXPECT_EQ(store.series_count(), 0);
}

TEST(WindowStoreTest, PairsEachCanarySourceWithTheBaselineOfTheSameSource) {
  WindowStore store(kManySeries, kHour);
  EXPECT_EQ(store.Append(SampleOf("v2", 0.10, At(1), "eu")), AppendResult::kAccepted);
  EXPECT_EQ(store.Append(SampleOf("v2", 0.20, At(2), "eu")), AppendResult::kAccepted);
  EXPECT_EQ(store.Append(SampleOf("v2", 0.30, At(1), "us")), AppendResult::kAccepted);
  EXPECT_EQ(store.Append(SampleOf("v1", 0.01, At(1), "eu")), AppendResult::kAccepted);
  EXPECT_EQ(store.Append(SampleOf("v1", 0.02, At(1), "us")), AppendResult::kAccepted);
  EXPECT_EQ(store.Append(SampleOf("v1", 0.03, At(2), "us")), AppendResult::kAccepted);
  EXPECT_EQ(store.series_count(), 4);

  const std::vector<decision::SeriesPair> pairs = SnapshotOf(store, "v2", "v1");
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].signal, "http_5xx_ratio");
  EXPECT_EQ(pairs[0].source, "eu");
  EXPECT_EQ(Values(pairs[0].canary), (std::vector<double>{0.10, 0.20}));
  EXPECT_EQ(Values(pairs[0].baseline), (std::vector<double>{0.01}));
  EXPECT_EQ(pairs[1].source, "us");
  EXPECT_EQ(Values(pairs[1].canary), (std::vector<double>{0.30}));
  EXPECT_EQ(Values(pairs[1].baseline), (std::vector<double>{0.02, 0.03}));
  EXPECT_EQ(pairs[1].canary[0].at, At(1));
}

TEST(WindowStoreTest, LeavesTheBaselineEmptyWithoutAPreviousVersion) {
  WindowStore store(kManySeries, kHour);
  store.Append(SampleOf("v2", 0.5, At(1)));
  store.Append(SampleOf("v1", 0.1, At(1)));
  const std::vector<decision::SeriesPair> pairs = SnapshotOf(store, "v2", std::nullopt);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(Values(pairs[0].canary), (std::vector<double>{0.5}));
  EXPECT_TRUE(pairs[0].baseline.empty());
}

TEST(WindowStoreTest, IgnoresABaselineOnlySource) {
  WindowStore store(kManySeries, kHour);
  store.Append(SampleOf("v2", 0.5, At(1), "eu"));
  store.Append(SampleOf("v1", 0.1, At(1), "asia"));
  const std::vector<decision::SeriesPair> pairs = SnapshotOf(store, "v2", "v1");
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].source, "eu");
  EXPECT_TRUE(pairs[0].baseline.empty());
}

TEST(WindowStoreTest, KeepsServicesEnvironmentsAndSignalsApart) {
  WindowStore store(kManySeries, kHour);
  store.Append(SampleOf("v2", 1.0, At(1)));
  store.Append(SampleOf("v2", 2.0, At(1), "default", "latency_p99"));
  store.Append(SampleOf("v2", 3.0, At(1), "default", "http_5xx_ratio", "search"));
  store.Append(SampleOf("v2", 4.0, At(1), "default", "http_5xx_ratio", "checkout", "staging"));
  EXPECT_EQ(store.series_count(), 4);

  const auto errors = SnapshotOf(store, "v2", std::nullopt);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(Values(errors[0].canary), (std::vector<double>{1.0}));
  const auto latency = SnapshotOf(store, "v2", std::nullopt, "latency_p99");
  ASSERT_EQ(latency.size(), 1u);
  EXPECT_EQ(latency[0].signal, "latency_p99");
  EXPECT_EQ(Values(latency[0].canary), (std::vector<double>{2.0}));
  const auto search = store.Snapshot("search", "prod", "http_5xx_ratio", "v2", std::nullopt);
  ASSERT_EQ(search.size(), 1u);
  EXPECT_EQ(Values(search[0].canary), (std::vector<double>{3.0}));
  const auto staging = store.Snapshot("checkout", "staging", "http_5xx_ratio", "v2", std::nullopt);
  ASSERT_EQ(staging.size(), 1u);
  EXPECT_EQ(Values(staging[0].canary), (std::vector<double>{4.0}));
}

TEST(WindowStoreTest, SnapshotIsACopyThatLaterAppendsDoNotChange) {
  WindowStore store(kManySeries, kHour);
  store.Append(SampleOf("v2", 1.0, At(1)));
  const auto before = SnapshotOf(store, "v2", std::nullopt);
  store.Append(SampleOf("v2", 2.0, At(2)));
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(Values(before[0].canary), (std::vector<double>{1.0}));
  EXPECT_EQ(Values(SnapshotOf(store, "v2", std::nullopt)[0].canary),
            (std::vector<double>{1.0, 2.0}));
}

// ---- ordering --------------------------------------------------------------

TEST(WindowStoreTest, KeepsLateSamplesInTimeOrder) {
  WindowStore store(kManySeries, kHour);
  store.Append(SampleOf("v2", 10, At(10)));
  store.Append(SampleOf("v2", 30, At(30)));
  store.Append(SampleOf("v2", 20, At(20)));  // late
  store.Append(SampleOf("v2", 5, At(5)));    // late, oldest
  store.Append(SampleOf("v2", 40, At(40)));
  const auto pairs = SnapshotOf(store, "v2", std::nullopt);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(Values(pairs[0].canary), (std::vector<double>{5, 10, 20, 30, 40}));
  for (std::size_t i = 1; i < pairs[0].canary.size(); ++i) {
    EXPECT_LT(pairs[0].canary[i - 1].at, pairs[0].canary[i].at);
  }
}

TEST(WindowStoreTest, KeepsArrivalOrderForEqualTimestamps) {
  WindowStore store(kManySeries, kHour);
  store.Append(SampleOf("v2", 1, At(10)));
  store.Append(SampleOf("v2", 2, At(20)));
  store.Append(SampleOf("v2", 3, At(10)));  // late, same time as the first
  store.Append(SampleOf("v2", 4, At(20)));  // in order, same time as the last
  EXPECT_EQ(Values(SnapshotOf(store, "v2", std::nullopt)[0].canary),
            (std::vector<double>{1, 3, 2, 4}));
}

TEST(WindowStoreTest, DropsTheOldestSamplesPastThePerSeriesCap) {
  WindowStore store(kManySeries, kHour, /*max_samples_per_series=*/3);
  for (int i = 1; i <= 5; ++i) store.Append(SampleOf("v2", i, At(i)));
  EXPECT_EQ(Values(SnapshotOf(store, "v2", std::nullopt)[0].canary),
            (std::vector<double>{3, 4, 5}));
  // A late sample older than everything kept is itself the oldest, so it goes.
  store.Append(SampleOf("v2", 0, At(0)));
  EXPECT_EQ(Values(SnapshotOf(store, "v2", std::nullopt)[0].canary),
            (std::vector<double>{3, 4, 5}));
  EXPECT_EQ(store.series_count(), 1);
}

// ---- retention -------------------------------------------------------------

TEST(WindowStoreTest, PruneDropsSamplesOlderThanRetentionAndKeepsTheCutoff) {
  WindowStore store(kManySeries, std::chrono::seconds(60));
  for (int t : {0, 30, 40, 90}) store.Append(SampleOf("v2", t, At(t)));
  store.Prune(At(100));  // cutoff At(40): older samples go, At(40) itself stays
  EXPECT_EQ(Values(SnapshotOf(store, "v2", std::nullopt)[0].canary),
            (std::vector<double>{40, 90}));
  EXPECT_EQ(store.series_count(), 1);
}

TEST(WindowStoreTest, PruneRemovesSeriesLeftEmptyAndFreesTheirSlots) {
  WindowStore store(/*max_series=*/2, std::chrono::seconds(60));
  store.Append(SampleOf("v1", 1, At(0), "eu"));
  store.Append(SampleOf("v2", 2, At(100), "eu"));
  EXPECT_EQ(store.Append(SampleOf("v3", 3, At(100))), AppendResult::kSeriesLimit);

  store.Prune(At(100));  // v1's only sample is 100 s old
  EXPECT_EQ(store.series_count(), 1);
  const auto pairs = SnapshotOf(store, "v2", "v1");
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_TRUE(pairs[0].baseline.empty());
  EXPECT_EQ(store.Append(SampleOf("v3", 3, At(100))), AppendResult::kAccepted);
  EXPECT_EQ(store.series_count(), 2);
}

TEST(WindowStoreTest, PruneOfEverythingLeavesAnEmptyStore) {
  WindowStore store(kManySeries, std::chrono::seconds(10));
  store.Append(SampleOf("v2", 1, At(0), "eu"));
  store.Append(SampleOf("v2", 1, At(0), "us", "latency_p99"));
  store.Prune(At(3600));
  EXPECT_EQ(store.series_count(), 0);
  EXPECT_TRUE(SnapshotOf(store, "v2", std::nullopt).empty());
  EXPECT_TRUE(SnapshotOf(store, "v2", std::nullopt, "latency_p99").empty());
}

TEST(WindowStoreTest, SetRetentionChangesWhatTheNextPruneKeeps) {
  WindowStore store(kManySeries, kHour);
  for (int t : {0, 50, 100}) store.Append(SampleOf("v2", t, At(t)));
  store.Prune(At(100));
  EXPECT_EQ(Values(SnapshotOf(store, "v2", std::nullopt)[0].canary),
            (std::vector<double>{0, 50, 100}));
  store.SetRetention(std::chrono::seconds(60));
  store.Prune(At(100));
  EXPECT_EQ(Values(SnapshotOf(store, "v2", std::nullopt)[0].canary),
            (std::vector<double>{50, 100}));
}

// ---- the series cap (series_limit) -----------------------------------------

TEST(WindowStoreTest, RefusesANewSeriesAtTheCapButKeepsFeedingExistingOnes) {
  WindowStore store(/*max_series=*/2, kHour);
  EXPECT_EQ(store.Append(SampleOf("v2", 1, At(1), "eu")), AppendResult::kAccepted);
  EXPECT_EQ(store.Append(SampleOf("v1", 1, At(1), "eu")), AppendResult::kAccepted);
  // A new source, version or signal is a new series.
  EXPECT_EQ(store.Append(SampleOf("v2", 1, At(1), "us")), AppendResult::kSeriesLimit);
  EXPECT_EQ(store.Append(SampleOf("v3", 1, At(1), "eu")), AppendResult::kSeriesLimit);
  EXPECT_EQ(store.Append(SampleOf("v2", 1, At(1), "eu", "latency_p99")),
            AppendResult::kSeriesLimit);
  EXPECT_EQ(store.series_count(), 2);
  // Existing series still take samples.
  EXPECT_EQ(store.Append(SampleOf("v2", 2, At(2), "eu")), AppendResult::kAccepted);
  EXPECT_EQ(store.Append(SampleOf("v1", 2, At(2), "eu")), AppendResult::kAccepted);
  const auto pairs = SnapshotOf(store, "v2", "v1");
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(Values(pairs[0].canary), (std::vector<double>{1, 2}));
  EXPECT_EQ(Values(pairs[0].baseline), (std::vector<double>{1, 2}));
  // A refused sample left nothing behind.
  EXPECT_TRUE(SnapshotOf(store, "v3", std::nullopt).empty());
  EXPECT_TRUE(SnapshotOf(store, "v2", std::nullopt, "latency_p99").empty());
}

// ---- concurrency (smoke) -----------------------------------------------------

TEST(WindowStoreTest, ConcurrentAppendsToSharedAndOwnSeriesLoseNothing) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  WindowStore store(kManySeries, kHour);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      const std::string own_source = "source-" + std::to_string(t);
      for (int i = 0; i < kPerThread; ++i) {
        store.Append(SampleOf("v2", i, At(i), "shared"));
        store.Append(SampleOf("v2", i, At(i), own_source));
        store.Append(SampleOf("v1", i, At(i), own_source, "signal-" + std::to_string(t)));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  // One shared series, one own series per thread, one series per thread's own signal.
  EXPECT_EQ(store.series_count(), 1 + 2 * kThreads);
  const auto pairs = SnapshotOf(store, "v2", std::nullopt);
  ASSERT_EQ(pairs.size(), static_cast<std::size_t>(1 + kThreads));
  for (const decision::SeriesPair& pair : pairs) {
    const std::size_t expected = pair.source == "shared" ? kThreads * kPerThread : kPerThread;
    EXPECT_EQ(pair.canary.size(), expected) << pair.source;
    for (std::size_t i = 1; i < pair.canary.size(); ++i) {
      ASSERT_LE(pair.canary[i - 1].at, pair.canary[i].at) << pair.source;
    }
  }
  for (int t = 0; t < kThreads; ++t) {
    const auto own = SnapshotOf(store, "v1", std::nullopt, "signal-" + std::to_string(t));
    ASSERT_EQ(own.size(), 1u);
    EXPECT_EQ(own[0].canary.size(), static_cast<std::size_t>(kPerThread));
  }
}

TEST(WindowStoreTest, ConcurrentNewSeriesNeverOvershootTheCap) {
  constexpr int kThreads = 4;
  constexpr int kSeriesPerThread = 200;
  constexpr std::int64_t kCap = 150;
  WindowStore store(kCap, kHour);
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSeriesPerThread; ++i) {
        // Distinct signals spread the series over many shards.
        const std::string signal = "s" + std::to_string(t) + "_" + std::to_string(i);
        const AppendResult result = store.Append(SampleOf("v2", 1, At(1), "default", signal));
        (result == AppendResult::kAccepted ? accepted : refused).fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(accepted.load(), kCap);
  EXPECT_EQ(refused.load(), kThreads * kSeriesPerThread - kCap);
  EXPECT_EQ(store.series_count(), kCap);
}

TEST(WindowStoreTest, ConcurrentPruneAndAppendKeepTheCountExact) {
  constexpr int kWriters = 3;
  constexpr int kPerWriter = 400;
  WindowStore store(kManySeries, std::chrono::seconds(10));
  std::atomic<bool> writing{true};
  std::thread pruner([&] {
    // Samples are all at At(1000) or later, so pruning at At(1005) removes nothing.
    while (writing.load()) store.Prune(At(1005));
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&store, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        store.Append(SampleOf("v2", i, At(1000 + i % 5), "w" + std::to_string(w)));
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  writing.store(false);
  pruner.join();

  EXPECT_EQ(store.series_count(), kWriters);
  const auto pairs = SnapshotOf(store, "v2", std::nullopt);
  ASSERT_EQ(pairs.size(), static_cast<std::size_t>(kWriters));
  for (const auto& pair : pairs) EXPECT_EQ(pair.canary.size(), static_cast<std::size_t>(kPerWriter));

  store.Prune(At(2000));
  EXPECT_EQ(store.series_count(), 0);
}

}  // namespace
}  // namespace backstop::telemetry
