#include "reckon/serve/stats_history.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "request.hpp"

namespace reckon {

double histogram_quantile(const Metrics::Totals& counts, double q) {
  std::int64_t total = 0;
  for (const auto n : counts.buckets) total += n;
  if (total <= 0) return std::numeric_limits<double>::quiet_NaN();
  const double rank = q * static_cast<double>(total);
  double below = 0;
  for (std::size_t b = 0; b < counts.buckets.size(); ++b) {
    const auto n = static_cast<double>(counts.buckets[b]);
    if (n > 0 && below + n >= rank) {
      const double lo = b == 0 ? 0.0 : Metrics::kBuckets[b - 1];
      // Above the last bound nothing says how far: the bound is what is known.
      if (b == Metrics::kBuckets.size()) return lo;
      const double hi = Metrics::kBuckets[b];
      return lo + (hi - lo) * std::clamp((rank - below) / n, 0.0, 1.0);
    }
    below += n;
  }
  return Metrics::kBuckets.back();
}

StatsSample stats_sample(const Metrics::Totals& before, const Metrics::Totals& after,
                         double seconds, std::int64_t time_ms) {
  StatsSample s;
  s.time_ms = time_ms;
  s.seconds = seconds;
  const double per = seconds > 0 ? 1.0 / seconds : 0.0;
  // Counters only grow; a difference below zero would be a bug, and reads as none.
  const auto diff = [](std::int64_t a, std::int64_t b) { return static_cast<double>(std::max<std::int64_t>(0, b - a)); };
  s.requests_per_s = diff(before.requests, after.requests) * per;
  s.errors_per_s = diff(before.errors, after.errors) * per;
  s.events_per_s = diff(before.events_stored, after.events_stored) * per;
  Metrics::Totals d;
  for (std::size_t b = 0; b < d.buckets.size(); ++b)
    d.buckets[b] = std::max<std::int64_t>(0, after.buckets[b] - before.buckets[b]);
  s.p50_ms = histogram_quantile(d, 0.50) * 1000;
  s.p95_ms = histogram_quantile(d, 0.95) * 1000;
  s.p99_ms = histogram_quantile(d, 0.99) * 1000;
  return s;
}

StatsHistory::StatsHistory(const Metrics& metrics, std::chrono::milliseconds interval,
                           std::size_t keep)
    : metrics_(metrics),
      interval_(interval),
      keep_(keep),
      last_(metrics.totals()),
      last_time_(std::chrono::steady_clock::now()) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
      lock.unlock();
      sample();
      lock.lock();
    }
  });
}

StatsHistory::~StatsHistory() { stop(); }

void StatsHistory::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StatsHistory::sample() {
  const auto now = std::chrono::steady_clock::now();
  const auto totals = metrics_.totals();
  const auto wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  std::lock_guard lock(mutex_);
  const double seconds = std::chrono::duration<double>(now - last_time_).count();
  samples_.push_back(stats_sample(last_, totals, seconds, wall_ms));
  while (samples_.size() > keep_) samples_.pop_front();
  last_ = totals;
  last_time_ = now;
}

std::string StatsHistory::json(double seconds) const {
  std::lock_guard lock(mutex_);
  std::string b = "{\"interval_s\":";
  detail::append_json_number(b, std::chrono::duration<double>(interval_).count());
  b += ",\"samples\":[";
  const std::int64_t from =
      samples_.empty() || seconds <= 0
          ? std::numeric_limits<std::int64_t>::min()
          : samples_.back().time_ms - static_cast<std::int64_t>(seconds * 1000);
  bool first = true;
  for (const StatsSample& s : samples_) {
    if (s.time_ms < from) continue;
    if (!first) b += ',';
    first = false;
    b += "{\"t\":" + std::to_string(s.time_ms);
    const std::pair<const char*, double> fields[] = {
        {"requests_per_s", s.requests_per_s}, {"errors_per_s", s.errors_per_s},
        {"events_per_s", s.events_per_s},     {"p50_ms", s.p50_ms},
        {"p95_ms", s.p95_ms},                 {"p99_ms", s.p99_ms}};
    for (const auto& [name, value] : fields) {
      b += ",\"";
      b += name;
      b += "\":";
      detail::append_json_number(b, value);  // null when NaN (no requests)
    }
    b += '}';
  }
  b += "]}";
  return b;
}

}  // namespace reckon
