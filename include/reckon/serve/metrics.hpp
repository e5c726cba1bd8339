#pragma once
// Request counters and latency histograms per route, in Prometheus text format. Lock-free:
// every request adds to a few relaxed atomics.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace reckon {

enum class Route : int {
  kHealth,
  kRecommend,
  kSimilar,
  kPopular,
  kEvents,
  kUserEvents,
  kItems,
  kMetrics,
  kReload,
  kNeighbors,
  kUsers,
  kItemEvents,
  kLatest,
  kUserHistory,
  kItemPopularity,
  kReports,
  kStats,
  kDashboard,  // the web page and its assets
  kOther,
  kCount
};
std::string_view route_label(Route route);

// What /metrics reports besides the counters.
struct ServiceGauges {
  std::string model, version;
  std::int64_t users = 0, items = 0;
  bool offline_ready = false;
  std::int64_t events_in_store = 0;
  std::int64_t reloads = 0, reload_failures = 0;
  double uptime_seconds = 0;
};

class Metrics {
 public:
  // Every route's counts added up: what the dashboard's live charts difference over time.
  struct Totals {
    std::int64_t requests = 0, errors = 0;  // errors: status 5xx
    std::array<std::int64_t, 16> buckets{};  // kBuckets, then +Inf
    std::int64_t events_stored = 0;
  };
  static constexpr std::array<double, 15> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
  static constexpr std::array<int, 13> kStatuses = {200, 400, 404, 405, 408, 413, 415,
                                                    422, 429, 431, 500, 503, 0 /* other */};

  void observe(Route route, int status, double seconds) noexcept;
  void add_events_stored(std::int64_t n) noexcept { events_stored_.fetch_add(n, kRelaxed); }
  std::int64_t events_stored() const noexcept { return events_stored_.load(kRelaxed); }
  void add_events_pruned(std::int64_t n) noexcept { events_pruned_.fetch_add(n, kRelaxed); }
  std::int64_t events_pruned() const noexcept { return events_pruned_.load(kRelaxed); }
  std::string render(const ServiceGauges& gauges) const;
  Totals totals() const noexcept;

 private:
  static constexpr auto kRelaxed = std::memory_order_relaxed;
  static constexpr std::size_t kRoutes = static_cast<std::size_t>(Route::kCount);
  struct PerRoute {
    std::array<std::atomic<std::int64_t>, kStatuses.size()> by_status{};
    std::array<std::atomic<std::int64_t>, kBuckets.size() + 1> buckets{};  // last: +Inf
    std::atomic<std::int64_t> micros_sum{0};
  };
  std::array<PerRoute, kRoutes> routes_{};
  std::atomic<std::int64_t> events_stored_{0};
  std::atomic<std::int64_t> events_pruned_{0};
};

}  // namespace reckon
