#include "dashboard.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <system_error>

#include "reckon/io/json.hpp"
#include "reckon/io/text.hpp"

namespace reckon::detail {

namespace {

constexpr std::size_t kMaxSearchResults = 100;
constexpr std::size_t kMaxHistory = 1000;
constexpr std::size_t kMaxItemEvents = 10'000;  // stored events read for a popularity chart
constexpr std::size_t kMaxReports = 200;
constexpr std::uintmax_t kMaxReportBytes = 32u << 20;

}  // namespace

HttpResponse user_search(const Snapshot& snap, const Target& t) {
  check_params(t, {"q", "k", "n", "limit"});
  const std::size_t k = parse_k(t, 20, kMaxSearchResults);
  const std::string q = to_lower(t.param("q") ? *t.param("q") : std::string());
  const CsrMatrix& m = snap.train().interactions;
  struct Hit {
    int rank;  // 0 the id itself, 1 starts with q, 2 contains it, 3 any (no q)
    index_t user;
  };
  std::vector<Hit> hits;
  for (index_t u = 0; u < snap.train().num_users(); ++u) {
    if (q.empty()) {
      hits.push_back({3, u});
      continue;
    }
    const std::string id = to_lower(snap.train().users.id(u));
    const auto at = id.find(q);
    if (at == std::string::npos) continue;
    hits.push_back({id.size() == q.size() ? 0 : at == 0 ? 1 : 2, u});
  }
  // Within a rank the most active first: the users someone is likely to look at.
  const auto before = [&](const Hit& a, const Hit& b) {
    if (a.rank != b.rank) return a.rank < b.rank;
    const auto na = m.row_size(a.user), nb = m.row_size(b.user);
    return na != nb ? na > nb : a.user < b.user;
  };
  const std::size_t shown = std::min(k, hits.size());
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(shown), hits.end(),
                    before);
  HttpResponse out;
  out.route = Route::kUsers;
  std::string& b = out.body;
  b = "{\"users\":[";
  for (std::size_t i = 0; i < shown; ++i) {
    if (i) b += ',';
    b += "{\"user_id\":";
    append_json_string(b, snap.train().users.id(hits[i].user));
    b += fmt::format(",\"interactions\":{}}}", m.row_size(hits[i].user));
  }
  b += fmt::format("],\"total\":{}}}", hits.size());
  return out;
}

HttpResponse user_history(const Snapshot& snap, const Target& t) {
  check_params(t, {"k", "n", "limit", "offset"});
  const std::string& user_id = t.segments[1];
  const std::size_t limit = parse_k(t, 50, kMaxHistory);
  const std::size_t offset = parse_offset(t);
  HttpResponse out;
  out.route = Route::kUserHistory;
  std::string& b = out.body;
  b = "{\"user_id\":";
  append_json_string(b, user_id);
  const auto u = snap.train().users.find(user_id);
  if (!u) {
    b += ",\"in_model\":false,\"total\":0,\"items\":[]}";
    return out;
  }
  const CsrMatrix& m = snap.train().interactions;
  const auto items = m.row_indices(*u);
  const auto values = m.row_values(*u);
  const auto times = m.row_times(*u);
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  // Newest first; without times, the data's order read backwards (its last rows are newest in
  // most logs).
  if (!times.empty())
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return times[a] > times[b]; });
  else
    std::reverse(order.begin(), order.end());
  b += fmt::format(",\"in_model\":true,\"total\":{},\"items\":[", items.size());
  for (std::size_t j = offset; j < order.size() && j < offset + limit; ++j) {
    const std::size_t e = order[j];
    if (j > offset) b += ',';
    b += "{\"item_id\":";
    append_json_string(b, snap.train().items.id(items[e]));
    b += ",\"value\":";
    append_json_number(b, values.empty() ? 1.0f : values[e]);
    if (!times.empty() && times[e] != kNoTime) {
      b += ",\"timestamp\":";
      append_json_string(b, format_timestamp(times[e]));
    }
    b += snap.metadata_fields(items[e]);
    b += '}';
  }
  b += "]}";
  return out;
}

namespace {

// Days since 1970-01-01 to a civil date and back (Howard Hinnant's algorithms): bucket starts
// of weeks and months in UTC, without time zone tables.
struct Civil {
  std::int64_t year;
  unsigned month, day;
};
Civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned mo = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (mo <= 2), mo, d};
}
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

enum class Unit { kDay, kWeek, kMonth, kYear };
// A bucket's index for a time (unix seconds): days, weeks from a Monday, months or years.
std::int64_t bucket_of(Unit unit, std::int64_t seconds) {
  const std::int64_t day = floor_div(seconds, 86400);
  switch (unit) {
    case Unit::kDay:
      return day;
    case Unit::kWeek:
      return floor_div(day + 3, 7);  // 1970-01-01 was a Thursday
    case Unit::kMonth: {
      const Civil c = civil_from_days(day);
      return c.year * 12 + (c.month - 1);
    }
    case Unit::kYear:
      return civil_from_days(day).year;
  }
  return day;
}
// The first day of a bucket, as YYYY-MM-DD.
std::string bucket_label(Unit unit, std::int64_t bucket) {
  std::int64_t day = bucket;
  if (unit == Unit::kWeek) day = bucket * 7 - 3;
  if (unit == Unit::kMonth)
    day = days_from_civil(floor_div(bucket, 12),
                          static_cast<unsigned>(bucket - floor_div(bucket, 12) * 12 + 1), 1);
  if (unit == Unit::kYear) day = days_from_civil(bucket, 1, 1);
  const Civil c = civil_from_days(day);
  return fmt::format("{:04}-{:02}-{:02}", c.year, c.month, c.day);
}

}  // namespace

HttpResponse item_popularity(const Snapshot& snap, const EventStore& store, const Target& t) {
  check_params(t, {});
  const std::string& item_id = t.segments[1];
  const auto item = snap.train().items.find(item_id);
  const auto events = store.item_events(item_id, kMaxItemEvents);
  if (!item && events.empty()) fail(404, "not_found", fmt::format("unknown item \"{}\"", item_id));
  // (time in unix seconds, from training) of every interaction with the item.
  std::vector<std::int64_t> trained;
  std::int64_t interactions = 0;
  if (item) {
    const CsrMatrix& m = snap.train().interactions;
    for (index_t u = 0; u < m.rows(); ++u) {
      const auto items = m.row_indices(u);
      const auto it = std::lower_bound(items.begin(), items.end(), *item);
      if (it == items.end() || *it != *item) continue;
      ++interactions;
      const auto times = m.row_times(u);
      if (!times.empty() && times[it - items.begin()] != kNoTime)
        trained.push_back(times[it - items.begin()]);
    }
  }
  std::vector<std::int64_t> stored;
  for (const Event& e : events) stored.push_back(floor_div(e.timestamp_ms, 1000));
  // Times beyond a few thousand years either side of 1970 (a crafted file or event) are not
  // drawn, only counted: they would make the span, and its arithmetic, meaningless.
  constexpr std::int64_t kMaxAbsSeconds = 100'000'000'000;  // about 3,170 years
  std::int64_t undated = 0;
  for (auto* v : {&trained, &stored})
    v->erase(std::remove_if(v->begin(), v->end(),
                            [&](std::int64_t x) {
                              const bool out = x < -kMaxAbsSeconds || x > kMaxAbsSeconds;
                              undated += out;
                              return out;
                            }),
             v->end());
  HttpResponse out;
  out.route = Route::kItemPopularity;
  std::string& b = out.body;
  b = "{\"item_id\":";
  append_json_string(b, item_id);
  b += fmt::format(",\"in_model\":{},\"interactions\":{},\"events\":{}", item ? "true" : "false",
                   interactions, events.size());
  if (trained.empty() && stored.empty()) {
    if (undated) b += fmt::format(",\"undated\":{}", undated);
    b += ",\"unit\":null,\"series\":[]}";
    return out;
  }
  std::int64_t lo = kMaxAbsSeconds, hi = -kMaxAbsSeconds;
  for (const auto* v : {&trained, &stored})
    for (const auto x : *v) lo = std::min(lo, x), hi = std::max(hi, x);
  // About 30 to 200 points whatever the span: days up to four months, weeks up to three years,
  // months up to a century, then years.
  const std::int64_t span_days = (hi - lo) / 86400;
  const Unit unit = span_days <= 120        ? Unit::kDay
                    : span_days <= 3 * 366  ? Unit::kWeek
                    : span_days <= 100 * 366 ? Unit::kMonth
                                             : Unit::kYear;
  // Dense buckets, at most 2,000 of them: the latest; what is older is counted in "earlier".
  constexpr std::int64_t kMaxBuckets = 2000;
  const std::int64_t last = bucket_of(unit, hi);
  const std::int64_t first = std::max(bucket_of(unit, lo), last - kMaxBuckets + 1);
  const auto n = static_cast<std::size_t>(last - first + 1);
  std::vector<std::int64_t> a(n, 0), c(n, 0);
  std::int64_t earlier = 0;
  const auto count = [&](const std::vector<std::int64_t>& times, std::vector<std::int64_t>& to) {
    for (const auto x : times) {
      const std::int64_t k = bucket_of(unit, x) - first;
      if (k < 0)
        ++earlier;
      else
        ++to[static_cast<std::size_t>(k)];
    }
  };
  count(trained, a);
  count(stored, c);
  static constexpr const char* kUnits[] = {"day", "week", "month", "year"};
  b += fmt::format(",\"unit\":\"{}\"", kUnits[static_cast<int>(unit)]);
  if (earlier) b += fmt::format(",\"earlier\":{}", earlier);
  if (undated) b += fmt::format(",\"undated\":{}", undated);
  b += ",\"series\":[";
  for (std::size_t i = 0; i < n; ++i) {
    if (i) b += ',';
    b += fmt::format("{{\"t\":\"{}\",\"training\":{},\"events\":{}}}",
                     bucket_label(unit, first + static_cast<std::int64_t>(i)), a[i], c[i]);
  }
  b += "]}";
  return out;
}

namespace {

struct ReportFile {
  std::string name, kind;
  std::int64_t modified = 0;  // unix seconds
  nlohmann::json json;
};

// A report of reckon's: evaluation ({"dataset","protocol","models"}) or tuning ({"search",
// "test"}); anything else in the folder (a dataset's metadata, a config) is not listed.
std::string report_kind(const nlohmann::json& j) {
  if (!j.is_object()) return {};
  if (j.contains("models") && j["models"].is_array() && j.contains("protocol")) return "evaluation";
  if (j.contains("search") && j.contains("test") && j["test"].is_object()) return "tuning";
  return {};
}

std::optional<ReportFile> read_report(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec) || file.extension() != ".json") return {};
  const auto size = std::filesystem::file_size(file, ec);
  if (ec || size > kMaxReportBytes) return {};
  std::ifstream in(file, std::ios::binary);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(size))) return {};
  auto parsed = parse_json(text);
  if (!parsed) return {};
  ReportFile r;
  r.kind = report_kind(*parsed);
  if (r.kind.empty()) return {};
  r.name = file.filename().string();
  const auto when = std::filesystem::last_write_time(file, ec);
  if (!ec)
    r.modified = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::file_clock::to_sys(when).time_since_epoch())
                     .count();
  r.json = std::move(*parsed);
  return r;
}

std::vector<ReportFile> read_reports(const std::filesystem::path& dir) {
  std::vector<ReportFile> out;
  std::error_code ec;
  if (dir.empty()) return out;
  std::filesystem::directory_iterator it(dir, ec), end;
  std::size_t looked = 0;
  for (; !ec && it != end && looked < 10 * kMaxReports; it.increment(ec), ++looked)
    if (auto r = read_report(it->path())) out.push_back(std::move(*r));
  std::sort(out.begin(), out.end(), [](const ReportFile& a, const ReportFile& b) {
    return a.modified != b.modified ? a.modified > b.modified : a.name < b.name;
  });
  if (out.size() > kMaxReports) out.resize(kMaxReports);
  return out;
}

}  // namespace

HttpResponse report_list(const std::filesystem::path& dir, const Target& t) {
  check_params(t, {});
  nlohmann::json list = nlohmann::json::array();
  for (auto& r : read_reports(dir)) {
    nlohmann::json models = nlohmann::json::array();
    const nlohmann::json& ms = r.kind == "evaluation" ? r.json["models"] : r.json["test"].value("models", nlohmann::json::array());
    if (ms.is_array())
      for (const auto& m : ms)
        if (m.is_object() && m.contains("name") && m["name"].is_string()) models.push_back(m["name"]);
    list.push_back({{"name", r.name},
                    {"kind", r.kind},
                    {"modified", format_timestamp(r.modified)},
                    {"models", std::move(models)}});
  }
  HttpResponse out;
  out.route = Route::kReports;
  out.body = nlohmann::json{{"reports", std::move(list)}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  return out;
}

HttpResponse report_get(const std::filesystem::path& dir, const Target& t) {
  check_params(t, {});
  const std::string& name = t.segments[1];
  // Only a file of the folder itself, by its plain name: never a path out of it.
  if (dir.empty() || name.empty() || name.find('/') != std::string::npos ||
      name.find('\\') != std::string::npos || name == "." || name == "..")
    fail(404, "not_found", fmt::format("no report \"{}\"", excerpt(name)));
  auto r = read_report(dir / name);
  if (!r) fail(404, "not_found", fmt::format("no report \"{}\"", excerpt(name)));
  nlohmann::json j = {{"name", r->name},
                      {"kind", r->kind},
                      {"modified", format_timestamp(r->modified)},
                      {"report", std::move(r->json)}};
  HttpResponse out;
  out.route = Route::kReports;
  out.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return out;
}

HttpResponse dashboard_asset(const Target& t) {
  check_params(t, {});
  const std::string_view name = t.segments.empty() ? std::string_view("index.html")
                                                   : std::string_view(t.segments.back());
  for (const DashboardAsset& a : dashboard_assets()) {
    if (a.name != name) continue;
    HttpResponse out;
    out.route = Route::kDashboard;
    out.body = std::string(a.body);
    out.content_type = std::string(a.content_type);
    // Everything the page loads is its own: no inline script, no other origin.
    out.headers = {{"Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"},
                   {"X-Content-Type-Options", "nosniff"},
                   {"Cache-Control", "no-cache"}};
    return out;
  }
  if (dashboard_assets().empty())
    fail(404, "not_found",
         "this reckon was built without its dashboard (npm was not found at build time: "
         "see docs/DASHBOARD.md)");
  fail(404, "not_found", fmt::format("no dashboard asset \"{}\"", excerpt(name)));
}

}  // namespace reckon::detail
