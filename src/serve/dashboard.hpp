#pragma once
// The routes the web dashboard reads besides the contract's (user search, a user's training
// history, an item's popularity over time, the reports beside the model), and its page and
// assets. Each reads a snapshot (and the event store), never writes.
#include <filesystem>
#include <span>
#include <string_view>

#include "reckon/serve/event_store.hpp"
#include "reckon/serve/service.hpp"
#include "reckon/serve/snapshot.hpp"
#include "request.hpp"

namespace reckon::detail {

// GET /users?q=&k=: training users whose id contains q (case-insensitive; the exact id first,
// then those starting with it), or the most active ones when q is empty.
HttpResponse user_search(const Snapshot& snap, const Target& t);
// GET /users/{id}/history?limit=&offset=: the training history, newest first, with metadata.
HttpResponse user_history(const Snapshot& snap, const Target& t);
// GET /items/{id}/popularity: the item's training interactions and stored events per day, week
// or month (dense, oldest first), the unit chosen by the time span.
HttpResponse item_popularity(const Snapshot& snap, const EventStore& store, const Target& t);
// GET /reports and GET /reports/{name}: the evaluation and tuning reports (reckon's JSON) in
// `dir`, newest first, and one of them.
HttpResponse report_list(const std::filesystem::path& dir, const Target& t);
HttpResponse report_get(const std::filesystem::path& dir, const Target& t);
// GET / and GET /assets/{name}: the dashboard (404 in a build without it).
HttpResponse dashboard_asset(const Target& t);

// The page and its assets, built by npm into a generated source file (dashboard_assets.cpp),
// or none in a build without the dashboard.
struct DashboardAsset {
  std::string_view name;  // "index.html", "app.js", ...
  std::string_view content_type;
  std::string_view body;
};
std::span<const DashboardAsset> dashboard_assets();

}  // namespace reckon::detail
