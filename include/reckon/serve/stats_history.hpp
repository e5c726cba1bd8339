#pragma once
// The server's recent past for the dashboard's live charts: every few seconds a thread reads the
// cumulative counters (metrics.hpp) and keeps the differences, so that requests/s, latency
// percentiles and events/s over the last minutes are there when a page opens, at no cost per
// request.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "reckon/serve/metrics.hpp"

namespace reckon {

struct StatsSample {
  std::int64_t time_ms = 0;  // unix milliseconds at the end of the interval
  double seconds = 0;        // the interval's length
  double requests_per_s = 0, errors_per_s = 0, events_per_s = 0;
  // Latency percentiles in milliseconds, interpolated within the histogram's buckets; NaN for an
  // interval without requests.
  double p50_ms = 0, p95_ms = 0, p99_ms = 0;
};

// The percentile q (0..1) of a histogram over Metrics::kBuckets (the last count: above the last
// bound), in seconds, interpolated linearly inside its bucket; NaN when it counts nothing.
double histogram_quantile(const Metrics::Totals& counts, double q);

// One interval's sample from the counters at its start and end.
StatsSample stats_sample(const Metrics::Totals& before, const Metrics::Totals& after,
                         double seconds, std::int64_t time_ms);

class StatsHistory {
 public:
  // Samples `metrics` every `interval`, keeping `keep` of them (10 minutes at 2 s: 300).
  StatsHistory(const Metrics& metrics, std::chrono::milliseconds interval, std::size_t keep);
  ~StatsHistory();
  StatsHistory(const StatsHistory&) = delete;
  StatsHistory& operator=(const StatsHistory&) = delete;

  // {"interval_s":2,"samples":[{"t":..,"requests_per_s":..,..}]}: the samples of the last
  // `seconds` (0: all kept), oldest first.
  std::string json(double seconds) const;
  // Takes a sample now (tests; the thread calls it).
  void sample();
  void stop();

 private:
  const Metrics& metrics_;
  std::chrono::milliseconds interval_;
  std::size_t keep_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  Metrics::Totals last_;
  std::chrono::steady_clock::time_point last_time_;
  std::deque<StatsSample> samples_;
  std::thread thread_;
};

}  // namespace reckon
