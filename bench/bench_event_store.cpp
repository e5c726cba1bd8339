// The SQLite event store on its own: how fast events are stored as the file grows, and what a
// user's history costs to read (the service reads it on a user's first request after a start or
// a reload). Events of random users (Gowalla's 29,858 users and 40,981 items), committed 3,200 at
// a time (what the service's group commit gathers at 100 events a request and 64 connections).
// Usage: bench_event_store [--events N] [--batch B] [--dir D]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "reckon/serve/event_store.hpp"

namespace fs = std::filesystem;
using namespace reckon;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// p50 and p99 of one history() per user for `n` random users, in microseconds.
std::pair<double, double> history_latency(const EventStore& store, int users, int n,
                                          std::mt19937& rng, std::size_t& events_read) {
  std::vector<double> us;
  us.reserve(n);
  events_read = 0;
  for (int i = 0; i < n; ++i) {
    const std::string user = std::to_string(rng() % users);
    const auto t0 = Clock::now();
    events_read += store.history(user, std::numeric_limits<std::int64_t>::max()).size();
    us.push_back(seconds_since(t0) * 1e6);
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t total = 4'000'000, batch = 3'200;
  fs::path dir = fs::temp_directory_path();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--events") total = std::stoul(argv[i + 1]);
    else if (a == "--batch") batch = std::stoul(argv[i + 1]);
    else if (a == "--dir") dir = argv[i + 1];
    else {
      std::fprintf(stderr, "bench_event_store: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  const int users = 29'858, items = 40'981;
  const fs::path path = dir / ("reckon-bench-events-" + std::to_string(getpid()) + ".db");
  std::mt19937 rng(42);
  std::printf("SQLite event store, %zu events of random users committed %zu at a time\n", total,
              batch);
  std::printf("| stored so far | events/s over the last million | history() p50 | p99 |\n");
  std::printf("|---:|---:|---:|---:|\n");
  {
    auto store = open_sqlite_event_store(path.string());
    std::vector<Event> events(batch);
    std::size_t stored = 0;
    std::int64_t ts = 1'700'000'000'000;
    while (stored < total) {
      const auto t0 = Clock::now();
      const std::size_t step_end = std::min(total, stored + 1'000'000);
      const std::size_t step_start = stored;
      while (stored < step_end) {
        const std::size_t n = std::min(batch, step_end - stored);
        events.resize(n);
        for (auto& e : events)
          e = {std::to_string(rng() % users), std::to_string(rng() % items), "view", 1.0, ts++};
        store->append(events);
        stored += n;
      }
      const double rate = static_cast<double>(stored - step_start) / seconds_since(t0);
      std::size_t read = 0;
      const auto [p50, p99] = history_latency(*store, users, 2'000, rng, read);
      std::printf("| %zu | %.0f | %.0f us | %.0f us |\n", stored, rate, p50, p99);
      std::fflush(stdout);
    }
  }
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path.string() + suffix, ec);
  return 0;
}
