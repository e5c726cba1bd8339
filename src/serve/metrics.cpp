#include "reckon/serve/metrics.hpp"

#include <fmt/format.h>

namespace reckon {

std::string_view route_label(Route route) {
  switch (route) {
    case Route::kHealth:
      return "/health";
    case Route::kRecommend:
      return "/recommend";
    case Route::kSimilar:
      return "/similar";
    case Route::kPopular:
      return "/popular";
    case Route::kEvents:
      return "/events";
    case Route::kUserEvents:
      return "/users/events";
    case Route::kItems:
      return "/items";
    case Route::kMetrics:
      return "/metrics";
    case Route::kReload:
      return "/admin/reload";
    case Route::kUsers:
      return "/users";
    case Route::kItemEvents:
      return "/items/events";
    case Route::kLatest:
      return "/latest";
    case Route::kNeighbors:
      return "/users/neighbors";
    case Route::kUserHistory:
      return "/users/history";
    case Route::kItemPopularity:
      return "/items/popularity";
    case Route::kReports:
      return "/reports";
    case Route::kStats:
      return "/stats";
    case Route::kDashboard:
      return "/dashboard";
    case Route::kOther:
    case Route::kCount:
      break;
  }
  return "other";
}

void Metrics::observe(Route route, int status, double seconds) noexcept {
  PerRoute& r = routes_[static_cast<std::size_t>(route)];
  std::size_t s = kStatuses.size() - 1;
  for (std::size_t i = 0; i + 1 < kStatuses.size(); ++i)
    if (kStatuses[i] == status) s = i;
  r.by_status[s].fetch_add(1, kRelaxed);
  std::size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  r.buckets[b].fetch_add(1, kRelaxed);
  r.micros_sum.fetch_add(static_cast<std::int64_t>(seconds * 1e6), kRelaxed);
}

Metrics::Totals Metrics::totals() const noexcept {
  static_assert(std::tuple_size_v<decltype(Totals::buckets)> == kBuckets.size() + 1);
  Totals t;
  for (const PerRoute& r : routes_) {
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      const auto n = r.by_status[s].load(kRelaxed);
      t.requests += n;
      if (kStatuses[s] >= 500) t.errors += n;
    }
    for (std::size_t b = 0; b < r.buckets.size(); ++b) t.buckets[b] += r.buckets[b].load(kRelaxed);
  }
  t.events_stored = events_stored();
  return t;
}

namespace {

// Prometheus label values escape backslash, double quote and newline.
std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string Metrics::render(const ServiceGauges& g) const {
  std::string o;
  auto out = std::back_inserter(o);
  fmt::format_to(out,
                 "# HELP reckon_http_requests_total HTTP requests answered, by route and status.\n"
                 "# TYPE reckon_http_requests_total counter\n");
  for (std::size_t r = 0; r < kRoutes; ++r)
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      const auto n = routes_[r].by_status[s].load(kRelaxed);
      if (n == 0) continue;
      fmt::format_to(out, "reckon_http_requests_total{{route=\"{}\",code=\"{}\"}} {}\n",
                     route_label(static_cast<Route>(r)),
                     kStatuses[s] == 0 ? std::string("other") : std::to_string(kStatuses[s]), n);
    }
  fmt::format_to(out,
                 "# HELP reckon_http_request_duration_seconds Time from a request read to its "
                 "answer, by route.\n"
                 "# TYPE reckon_http_request_duration_seconds histogram\n");
  for (std::size_t r = 0; r < kRoutes; ++r) {
    const PerRoute& p = routes_[r];
    std::int64_t cumulative = 0;
    const auto label = route_label(static_cast<Route>(r));
    for (std::size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += p.buckets[b].load(kRelaxed);
      if (b < kBuckets.size())
        fmt::format_to(out,
                       "reckon_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                       label, kBuckets[b], cumulative);
      else
        fmt::format_to(
            out, "reckon_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
            label, cumulative);
    }
    fmt::format_to(out, "reckon_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", label,
                   static_cast<double>(p.micros_sum.load(kRelaxed)) / 1e6);
    fmt::format_to(out, "reckon_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", label,
                   cumulative);
  }
  fmt::format_to(out,
                 "# HELP reckon_events_stored_total Events this process stored durably.\n"
                 "# TYPE reckon_events_stored_total counter\n"
                 "reckon_events_stored_total {}\n"
                 "# HELP reckon_events_pruned_total Events this process deleted as older than "
                 "--events-retention.\n"
                 "# TYPE reckon_events_pruned_total counter\n"
                 "reckon_events_pruned_total {}\n"
                 "# HELP reckon_events_in_store Events in the event store.\n"
                 "# TYPE reckon_events_in_store gauge\n"
                 "reckon_events_in_store {}\n",
                 events_stored(), events_pruned(), g.events_in_store);
  fmt::format_to(out,
                 "# HELP reckon_model_info The model being served.\n"
                 "# TYPE reckon_model_info gauge\n"
                 "reckon_model_info{{model=\"{}\",version=\"{}\"}} 1\n"
                 "# HELP reckon_model_users Training users of the model.\n"
                 "# TYPE reckon_model_users gauge\n"
                 "reckon_model_users {}\n"
                 "# HELP reckon_model_items Items of the model's catalogue.\n"
                 "# TYPE reckon_model_items gauge\n"
                 "reckon_model_items {}\n"
                 "# HELP reckon_offline_lists_ready 1 once every user's offline list is computed.\n"
                 "# TYPE reckon_offline_lists_ready gauge\n"
                 "reckon_offline_lists_ready {}\n"
                 "# HELP reckon_reloads_total Model reloads, by result.\n"
                 "# TYPE reckon_reloads_total counter\n"
                 "reckon_reloads_total{{result=\"ok\"}} {}\n"
                 "reckon_reloads_total{{result=\"failed\"}} {}\n"
                 "# HELP reckon_uptime_seconds Seconds since the server started.\n"
                 "# TYPE reckon_uptime_seconds gauge\n"
                 "reckon_uptime_seconds {:.3f}\n",
                 escape_label(g.model), escape_label(g.version), g.users, g.items,
                 g.offline_ready ? 1 : 0, g.reloads, g.reload_failures, g.uptime_seconds);
  return o;
}

}  // namespace reckon
