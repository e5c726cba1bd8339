#include "reckon/serve/service.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <nlohmann/json.hpp>
#include <shared_mutex>

#include "reckon/core/error.hpp"
#include "reckon/io/json.hpp"
#include "reckon/io/text.hpp"
#include "reckon/retrieval/topk.hpp"
#include "catalogue.hpp"
#include "dashboard.hpp"
#include "users.hpp"
#include "new_items.hpp"
#include "request.hpp"
#include "user_events.hpp"

namespace reckon {

using detail::append_json_number;
using detail::append_json_string;
using detail::aliased;
using detail::check_params;
using detail::error_body;
using detail::fail;
using detail::HttpError;
using detail::parse_count;

namespace {

constexpr std::size_t kMaxIdBytes = 256;
constexpr std::size_t kMaxTypeBytes = 64;
constexpr std::size_t kMaxEventsLimit = 1000;

HttpResponse error(int status, std::string_view code, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.body = error_body(code, message);
  return r;
}

// A page: k (alias n, limit) items after `offset` ones, within max_k in all.
struct Page {
  std::size_t k = 0, offset = 0;
  std::size_t end() const { return offset + k; }
};

Page parse_page(const detail::Target& t, std::size_t fallback, std::size_t max) {
  Page p;
  std::string_view which = "k";
  p.k = aliased(t, {"k", "n", "limit"}, which) ? parse_count(t, which, fallback, max)
                                               : std::min(fallback, max);
  if (const std::string* v = t.param("offset")) {
    const auto n = parse_int(*v);
    if (!n || *n < 0 || static_cast<std::size_t>(*n) + p.k > max)
      fail(422, "invalid_parameter",
           fmt::format("offset must be an integer from 0 to {} (offset + k at most {}), got \"{}\"",
                       max - p.k, max, excerpt(*v)));
    p.offset = static_cast<std::size_t>(*n);
  }
  return p;
}

template <typename T>
void drop_front(std::vector<T>& v, std::size_t n) {
  v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(std::min(n, v.size())));
}

// Whether /recommend?explain=true answers for this model (the dashboard asks before it asks
// for explanations). An empty question costs nothing: a model that explains answers it with
// nothing, or finds something to refuse in it; one that does not throws NotSupported.
bool model_explains(const Model& model, const Dataset& train) {
  UserContext nobody;
  nobody.item_features = &train.item_features;
  for (const bool by_history : {false, true}) {
    try {
      if (by_history)
        (void)model.explain_history(nobody, {}, 1);
      else
        (void)model.explain(nobody, {}, 1);
      return true;
    } catch (const NotSupported&) {
    } catch (const std::exception&) {
      return true;
    }
  }
  return false;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool sorted_contains(const std::vector<col_t>& sorted, index_t item) {
  return std::binary_search(sorted.begin(), sorted.end(), item);
}

// One user's view at a moment: training history (cut at `at` when asked) and stored events.
struct Profile {
  std::optional<index_t> user;
  std::vector<col_t> train_items;
  std::vector<float> train_weights;
  std::vector<std::int64_t> train_times;
  bool train_cut = false;          // at= removed training interactions
  std::optional<std::int64_t> at;  // at= in unix seconds (the models' request moment)
  std::vector<col_t> new_items;    // distinct event items not in the training history, sorted
  std::vector<float> new_weights;  // their net event weights (positive)
  std::vector<col_t> negative;     // items whose events add up to less than 0, sorted
  std::vector<col_t> latest;       // distinct positive event items, newest first
  std::vector<col_t> seen;         // training + event items, sorted
  // The user's cached events when the profile is exactly them (no at=): where the online list
  // computed from this profile is kept.
  std::shared_ptr<const detail::UserEvents> events;
  // A user the model does not know: the features of their stored record (PUT /users/{id}).
  std::shared_ptr<const FeatureTable> stranger;
};

struct Ranked {
  std::vector<ScoredItem> items;
  std::vector<const char*> from;  // "offline", "online", "similar", "popular" per item
  bool model = false;             // false: the fallback's items...
  const char* source = nullptr;   // ...from "popular" (nullptr) or "demographic-popular"
  // New items in the list (indexes from num_items on), placed by their features.
  std::shared_ptr<const detail::NewItems> fresh;
  // explain=true: each item's `,"explanation":[...]` (empty: not asked).
  std::vector<std::string> explanations;
};

// Takes from `b` at the positions where take_b(pos) holds and from `a` elsewhere; when one runs
// out the other continues; an item appears once.
template <typename Pattern>
Ranked interleave(const Ranked& a, const Ranked& b, std::size_t k, Pattern take_b) {
  Ranked out;
  out.model = a.model || b.model;
  out.source = a.source ? a.source : b.source;
  std::size_t ia = 0, ib = 0;
  auto taken = [&](index_t item) {
    return std::any_of(out.items.begin(), out.items.end(),
                       [&](const ScoredItem& s) { return s.item == item; });
  };
  auto next = [&](const Ranked& r, std::size_t& i) -> bool {
    while (i < r.items.size()) {
      const std::size_t j = i++;
      if (taken(r.items[j].item)) continue;
      out.items.push_back(r.items[j]);
      out.from.push_back(r.from[j]);
      return true;
    }
    return false;
  };
  while (out.items.size() < k) {
    const bool prefer_b = take_b(out.items.size());
    if (prefer_b ? next(b, ib) || next(a, ia) : next(a, ia) || next(b, ib)) continue;
    break;
  }
  return out;
}

Ranked labelled(std::vector<ScoredItem> items, const char* from, bool model) {
  Ranked r;
  r.from.assign(items.size(), from);
  r.items = std::move(items);
  r.model = model;
  return r;
}

// A file's modification time and size: what --watch-model compares.
using FileStamp = std::pair<std::filesystem::file_time_type, std::uintmax_t>;
std::optional<FileStamp> file_stamp(const std::filesystem::path& path) {
  std::error_code ec;
  const auto time = std::filesystem::last_write_time(path, ec);
  if (ec) return std::nullopt;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return std::nullopt;
  return FileStamp{time, size};
}

}  // namespace

struct Service::Impl {
  // `loaded`: the stamp of the model file the first snapshot came from (taken before it loaded).
  Impl(Service& s, std::optional<FileStamp> loaded)
      : service(s),
        loaded_stamp(loaded),
        events(*s.store_, s.options_.events_cache_ttl_seconds, s.options_.max_user_events,
               s.options_.event_weights, s.options_.events_cache_bytes) {
    for (auto& record : s.store_->items()) set_overlay(record);
    events_in_store = s.store_->count();
    reload_thread = std::thread([this] { reload_loop(); });
  }

  ~Impl() { close(); }

  void close() {
    {
      std::lock_guard lock(reload_mutex);
      stopping = true;
    }
    reload_wake.notify_all();
    if (reload_thread.joinable()) reload_thread.join();
  }

  Service& service;
  std::optional<FileStamp> loaded_stamp;  // of the file the current snapshot came from
  detail::UserEventCache events;
  std::atomic<std::int64_t> events_in_store{0};

  // Item metadata set with PUT /items/{id}: replaces the training metadata of that item.
  mutable std::shared_mutex overlay_mutex;
  struct OverlayEntry {
    std::string json;    // as stored
    std::string fields;  // `,"title":..` for answers
    detail::ItemFlags flags;
  };
  absl::flat_hash_map<std::string, OverlayEntry> overlay;
  std::atomic<std::size_t> overlay_size{0};
  std::atomic<std::size_t> hidden_count{0};  // hidden or deleted edits

  std::mutex reload_mutex;
  std::condition_variable reload_wake;
  std::vector<std::function<void(std::exception_ptr)>> reload_waiting;
  bool stopping = false;
  std::thread reload_thread;
  std::atomic<std::int64_t> reloads{0}, reload_failures{0};

  void set_overlay(const ItemRecord& record) {
    auto parsed = parse_json(record.json);
    nlohmann::json object =
        parsed && parsed->is_object() ? std::move(*parsed) : nlohmann::json::object();
    std::string fields;
    if (!object.empty()) {
      fields = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      fields.front() = ',';
      fields.pop_back();
    }
    detail::ItemFlags flags = detail::item_flags(object);
    std::unique_lock lock(overlay_mutex);
    auto& entry = overlay[record.item_id];
    if (entry.flags.hidden) --hidden_count;
    if (flags.hidden) ++hidden_count;
    entry = {record.json, std::move(fields), std::move(flags)};
    overlay_size = overlay.size();
    overlay_version.fetch_add(1, std::memory_order_release);
  }

  // Training items an answer must not contain (catalogue.hpp), sorted; cached per snapshot,
  // item edits and category.
  mutable std::mutex exclusions_mutex;
  mutable std::uint64_t exclusions_serial = 0, exclusions_version = ~std::uint64_t{0};
  mutable absl::flat_hash_map<std::string, std::shared_ptr<const std::vector<index_t>>>
      exclusions_cache;

  std::shared_ptr<const std::vector<index_t>> exclusions(const Snapshot& snap,
                                                         const std::string& category) const {
    static const auto none = std::make_shared<const std::vector<index_t>>();
    if (category.empty() && hidden_count.load(std::memory_order_relaxed) == 0) return none;
    const std::uint64_t version = overlay_version.load(std::memory_order_acquire);
    {
      std::lock_guard lock(exclusions_mutex);
      if (exclusions_serial != snap.serial() || exclusions_version != version) {
        exclusions_cache.clear();
        exclusions_serial = snap.serial();
        exclusions_version = version;
      }
      if (auto it = exclusions_cache.find(category); it != exclusions_cache.end())
        return it->second;
    }
    std::shared_ptr<const std::vector<index_t>> built;
    {
      std::shared_lock lock(overlay_mutex);
      built = std::make_shared<const std::vector<index_t>>(detail::excluded_items(
          snap.train(), category, [&](const std::string& id) -> const detail::ItemFlags* {
            const auto it = overlay.find(id);
            return it == overlay.end() ? nullptr : &it->second.flags;
          }));
    }
    std::lock_guard lock(exclusions_mutex);
    if (exclusions_cache.size() >= 256) exclusions_cache.clear();  // bounded: many categories
    if (exclusions_serial == snap.serial() && exclusions_version == version)
      exclusions_cache[category] = built;
    return built;
  }

  // Whether an item of a finished list may be answered (a list kept from before an item was
  // hidden, new items placed by their features).
  bool allowed(const Snapshot& snap, const Ranked& r, index_t item,
               const std::vector<index_t>& excluded, const std::string& category) const {
    if (item < snap.num_items()) return !std::binary_search(excluded.begin(), excluded.end(), item);
    const std::string& id = r.fresh->ids[static_cast<std::size_t>(item - snap.num_items())];
    std::shared_lock lock(overlay_mutex);
    const auto it = overlay.find(id);
    if (it == overlay.end()) return category.empty();
    const auto& f = it->second.flags;
    if (f.hidden) return false;
    return category.empty() ||
           std::find(f.categories.begin(), f.categories.end(), category) != f.categories.end();
  }

  void keep_allowed(const Snapshot& snap, Ranked& r, const std::vector<index_t>& excluded,
                    const std::string& category) const {
    if (excluded.empty() && category.empty() && !r.fresh) return;
    std::size_t w = 0;
    for (std::size_t i = 0; i < r.items.size(); ++i) {
      if (!allowed(snap, r, r.items[i].item, excluded, category)) continue;
      r.items[w] = r.items[i];
      r.from[w] = r.from[i];
      if (i < r.explanations.size()) r.explanations[w] = r.explanations[i];
      ++w;
    }
    r.items.resize(w);
    r.from.resize(w);
    if (r.explanations.size() > w) r.explanations.resize(w);
  }

  // The category a request asks for (?category=), checked.
  static std::string category_of(const detail::Target& t) {
    const std::string* c = t.param("category");
    if (!c) return {};
    if (c->empty() || c->size() > kMaxIdBytes)
      fail(422, "invalid_parameter",
           fmt::format("category must be 1 to {} bytes", kMaxIdBytes));
    return *c;
  }

  // The stored items the served model does not know, placed by their features; rebuilt when
  // the snapshot or the stored items change (PUT /items of a new item), not per request.
  std::atomic<std::uint64_t> overlay_version{0};
  mutable std::mutex new_items_mutex;
  mutable const Snapshot* new_items_snapshot = nullptr;
  mutable std::string new_items_snapshot_version;
  mutable std::uint64_t new_items_version = ~std::uint64_t{0};
  mutable std::shared_ptr<const detail::NewItems> new_items_cache;

  std::shared_ptr<const detail::NewItems> new_items(const Snapshot& snap) const {
    const std::uint64_t version = overlay_version.load(std::memory_order_acquire);
    std::lock_guard lock(new_items_mutex);
    if (new_items_cache && new_items_snapshot == &snap &&
        new_items_snapshot_version == snap.version() && new_items_version == version)
      return new_items_cache;
    std::vector<std::pair<std::string, std::string>> records;
    {
      std::shared_lock overlay_lock(overlay_mutex);
      for (const auto& [id, entry] : overlay)
        if (!snap.train().items.find(id) && !entry.flags.hidden)
          records.emplace_back(id, entry.json);
    }
    std::sort(records.begin(), records.end());  // the same numbering for the same items
    new_items_cache = detail::place_new_items(snap.model(), snap.train(), records);
    new_items_snapshot = &snap;
    new_items_snapshot_version = snap.version();
    new_items_version = version;
    return new_items_cache;
  }

  // New items into a model's list by their scores for `ctx`: each goes before the first
  // model-scored entry (not a similar-item one, whose scores are cosines) that scores less.
  void merge_new_items(const Snapshot& snap, const UserContext& ctx, std::size_t k,
                       Ranked& r) const {
    if (!r.model || overlay_size.load(std::memory_order_relaxed) == 0) return;
    const auto fresh = new_items(snap);
    if (fresh->empty()) return;
    std::vector<float> scores(fresh->vectors.size());
    snap.model().score_new_items(ctx, fresh->vectors, scores);
    std::vector<ScoredItem> best;
    top_k(scores, k, best);
    if (best.empty()) return;
    Ranked out;
    out.model = r.model;
    out.source = r.source;
    out.fresh = fresh;
    std::size_t b = 0;
    for (std::size_t i = 0; i < r.items.size() && out.items.size() < k; ++i) {
      const bool scored = std::strcmp(r.from[i], "similar") != 0;
      while (scored && b < best.size() && best[b].score > r.items[i].score &&
             out.items.size() < k) {
        out.items.push_back({snap.num_items() + best[b].item, best[b].score});
        out.from.push_back("new");
        ++b;
      }
      if (out.items.size() < k) {
        out.items.push_back(r.items[i]);
        out.from.push_back(r.from[i]);
      }
    }
    for (; b < best.size() && out.items.size() < k; ++b) {
      out.items.push_back({snap.num_items() + best[b].item, best[b].score});
      out.from.push_back("new");
    }
    r = std::move(out);
  }

  bool has_overlay(const std::string& item_id) const {
    std::shared_lock lock(overlay_mutex);
    return overlay.contains(item_id);
  }

  // The item's metadata now: the stored edit, else the training metadata, else {}.
  nlohmann::json current_metadata(const Snapshot& snap, const std::string& item_id) const {
    {
      std::shared_lock lock(overlay_mutex);
      if (auto it = overlay.find(item_id); it != overlay.end()) {
        auto j = parse_json(it->second.json);
        if (j && j->is_object()) return *j;
        return nlohmann::json::object();
      }
    }
    if (const auto item = snap.train().items.find(item_id)) {
      const std::string& fields = snap.metadata_fields(*item);  // ",\"title\":..."
      if (!fields.empty()) {
        auto j = parse_json("{" + fields.substr(1) + "}");
        if (j && j->is_object()) return *j;
      }
    }
    return nlohmann::json::object();
  }

  // {"item_id":"..","score":..,<metadata>
  void append_item(std::string& out, const Snapshot& snap, index_t item, float score,
                   const char* from, const detail::NewItems* fresh = nullptr,
                   std::string_view extra = {}) const {
    const bool is_new = item >= snap.num_items();
    RECKON_ASSERT(!is_new || (fresh && item - snap.num_items() <
                                           static_cast<index_t>(fresh->ids.size())));
    const std::string& id = is_new ? fresh->ids[static_cast<std::size_t>(item - snap.num_items())]
                                   : snap.train().items.id(item);
    out += "{\"item_id\":";
    append_json_string(out, id);
    out += ",\"score\":";
    append_json_number(out, score);
    if (from) {
      out += ",\"from\":\"";
      out += from;
      out += '"';
    }
    if (overlay_size.load(std::memory_order_relaxed) > 0) {
      std::shared_lock lock(overlay_mutex);
      if (auto it = overlay.find(id); it != overlay.end()) {
        out += it->second.fields;
        out += extra;
        out += '}';
        return;
      }
    }
    if (!is_new) out += snap.metadata_fields(item);
    out += extra;
    out += '}';
  }

  void append_items(std::string& out, const Snapshot& snap, const Ranked& r) const {
    out += "\"items\":[";
    for (std::size_t i = 0; i < r.items.size(); ++i) {
      if (i) out += ',';
      append_item(out, snap, r.items[i].item, r.items[i].score, r.from[i], r.fresh.get(),
                  i < r.explanations.size() ? std::string_view(r.explanations[i])
                                            : std::string_view());
    }
    out += "]";
  }

  // ---- recommendations ----------------------------------------------------------------------

  Profile profile(const Snapshot& snap, const std::string& user_id,
                  std::optional<std::int64_t> at_ms) {
    const Dataset& d = snap.train();
    Profile p;
    p.user = d.users.find(user_id);
    if (p.user) {
      // A sequence model reads the user's events, repeats included, where the data kept them.
      const bool events = !d.events.empty() && snap.model().reads_event_history();
      const auto items = events ? d.events.row(*p.user) : d.interactions.row_indices(*p.user);
      const auto weights = events ? d.events.row_values(*p.user) : d.interactions.row_values(*p.user);
      const auto times = events ? d.events.row_times(*p.user) : d.interactions.row_times(*p.user);
      for (std::size_t j = 0; j < items.size(); ++j) {
        if (at_ms && !times.empty() && times[j] != kNoTime && times[j] * 1000 > *at_ms) {
          p.train_cut = true;
          continue;
        }
        p.train_items.push_back(items[j]);
        p.train_weights.push_back(weights.empty() ? 1.0f : weights[j]);
        if (!times.empty()) p.train_times.push_back(times[j]);
      }
    }
    p.seen = p.train_items;
    std::sort(p.seen.begin(), p.seen.end());
    p.seen.erase(std::unique(p.seen.begin(), p.seen.end()), p.seen.end());  // (events repeat)
    const auto stored = events.get(user_id, snap);
    std::vector<col_t> event_items;
    std::vector<std::pair<col_t, float>> weighted;  // (item, weight) of each event
    for (const auto& e : stored->events) {
      if (at_ms && e.timestamp_ms > *at_ms) break;  // oldest first
      event_items.push_back(e.item);
      weighted.emplace_back(e.item, e.weight);
    }
    // Net weight per item (event_weights.hpp): positive items join the fold-in, negative ones
    // leave it.
    std::sort(weighted.begin(), weighted.end());
    std::vector<col_t> distinct;
    std::vector<float> net;
    for (const auto& [item, w] : weighted) {
      if (distinct.empty() || distinct.back() != item) {
        distinct.push_back(item);
        net.push_back(0.0f);
      }
      net.back() += w;
    }
    for (std::size_t j = 0; j < distinct.size(); ++j) {
      if (net[j] < 0) {
        p.negative.push_back(distinct[j]);
      } else if (net[j] > 0 && !sorted_contains(p.seen, distinct[j])) {
        p.new_items.push_back(distinct[j]);  // outside the training history
        p.new_weights.push_back(net[j]);
      }
    }
    for (auto it = event_items.rbegin();
         it != event_items.rend() && p.latest.size() < service.options_.online_similar_sources;
         ++it)
      if (!sorted_contains(p.negative, *it) &&
          std::find(p.latest.begin(), p.latest.end(), *it) == p.latest.end())
        p.latest.push_back(*it);
    // Seen: the training history and every event item (distinct is sorted).
    std::vector<col_t> event_seen;
    std::set_difference(distinct.begin(), distinct.end(), p.seen.begin(), p.seen.end(),
                        std::back_inserter(event_seen));
    std::vector<col_t> seen;
    seen.reserve(p.seen.size() + event_seen.size());
    std::merge(p.seen.begin(), p.seen.end(), event_seen.begin(), event_seen.end(),
               std::back_inserter(seen));
    p.seen = std::move(seen);
    if (!at_ms) p.events = stored;
    if (at_ms) p.at = *at_ms / 1000;
    if (!p.user) p.stranger = stored->features;
    return p;
  }

  // The features a model gets for the profile's user: a training user's row, the stored
  // record's of a user the model does not know, or none.
  static void add_features(UserContext& ctx, const Snapshot& snap, const Profile& p) {
    if (p.user) {
      ctx.features = &snap.train().user_features;
      ctx.feature_row = *p.user;
    } else if (p.stranger) {
      ctx.features = p.stranger.get();
      ctx.feature_row = 0;
    }
  }

  static std::vector<float>& scratch(std::size_t n) {
    thread_local std::vector<float> s;
    s.resize(n);
    return s;
  }

  Ranked popular(const Snapshot& snap, const Profile& p, std::size_t k) const {
    std::vector<ScoredItem> out;
    for (const ScoredItem& s : snap.popular()) {
      if (out.size() == k) break;
      if (!sorted_contains(p.seen, s.item)) out.push_back(s);
    }
    return labelled(std::move(out), "popular", false);
  }

  // A known user without history who has demographics: the most popular among training users
  // like them (Fallback), when there are any.
  Ranked fallback(const Snapshot& snap, const Profile& p, std::size_t k,
                  const Demographics& demo) const {
    auto& s = scratch(static_cast<std::size_t>(snap.num_items()));
    const std::string_view source = snap.fallback().score(demo, s);
    mask(s, p.seen);
    std::vector<ScoredItem> out;
    top_k(s, k, out);
    Ranked r = labelled(std::move(out), "popular", false);
    if (source == "demographic-popular") r.source = "demographic-popular";
    return r;
  }

  std::vector<ScoredItem> score_top(const Snapshot& snap, const UserContext& ctx, const Profile& p,
                                    std::size_t k) const {
    auto& s = scratch(static_cast<std::size_t>(snap.num_items()));
    snap.model().score(ctx, s);
    mask(s, p.seen);
    std::vector<ScoredItem> out;
    top_k(s, k, out);
    return out;
  }

  Ranked offline(const Snapshot& snap, const Profile& p, std::size_t k) const {
    // No history (an unknown user, one without training interactions, or at= before the
    // first): the model would score an empty history, so the fallback answers, said so.
    if (p.train_items.empty()) {
      if (p.user || p.stranger) {
        // A model that personalises from features (hybrid: demographics) still answers, for a
        // training user and for a new one with stored features (cold start).
        UserContext ctx;
        ctx.user = p.user;
        add_features(ctx, snap, p);
        ctx.at = p.at;
        if (snap.model().scores_without_history(ctx))
          return labelled(score_top(snap, ctx, p, k), "offline", true);
        const Demographics demo = Demographics::of(*ctx.features, ctx.feature_row);
        if (!demo.empty()) return fallback(snap, p, k, demo);
      }
      return popular(snap, p, k);
    }
    // The cached list was computed without a moment: stale for a model with time features.
    const bool timed = p.at && snap.model().uses_request_time();
    if (p.user && !p.train_cut && !timed && snap.offline_ready()) {
      const auto list = snap.offline_list(*p.user);
      std::vector<ScoredItem> out;
      for (const StoredItem& s : list) {
        if (out.size() == k) break;
        if (!sorted_contains(p.seen, s.item)) out.push_back(s.scored());
      }
      // The list covers the request unless new events used up part of it.
      if (out.size() == k || list.size() < snap.options().max_k)
        return labelled(std::move(out), "offline", true);
    }
    UserContext ctx;
    ctx.user = p.user;
    ctx.history = p.train_items;
    ctx.weights = p.train_weights;
    ctx.times = p.train_times;
    ctx.at = p.at;
    add_features(ctx, snap, p);
    return labelled(score_top(snap, ctx, p, k), "offline", true);
  }

  Ranked online(const Snapshot& snap, const Profile& p, std::size_t k) const {
    if (p.new_items.empty() && p.latest.empty() && p.negative.empty()) {
      Ranked r = offline(snap, p, k);
      std::fill(r.from.begin(), r.from.end(), r.model ? "online" : "popular");
      return r;
    }
    // Kept with the user's events until the next one (see UserEvents::online), at least
    // kKeptOnline long so that the next page is there too. The first k of a longer list are the
    // list for k: interleave() consumes at most k items of each input for k places, and the
    // inputs for k are the first k of the longer ones (top-k lists; similar items in rounds).
    std::shared_ptr<const detail::OnlineList> list;
    const bool keep = p.events && service.options_.keep_online_lists;
    if (keep) list = p.events->online.load(std::memory_order_acquire);
    if (!list || (list->items.size() < k && !list->complete)) {
      list = compact(online_list(snap, p, std::max(k, kKeptOnline)), std::max(k, kKeptOnline));
      if (keep) p.events->online.store(list, std::memory_order_release);
    }
    Ranked r;
    r.model = list->model;
    const std::size_t n = std::min(k, list->items.size());
    for (std::size_t i = 0; i < n; ++i) {
      r.items.push_back(list->items[i].scored());
      r.from.push_back(list->similar[i] ? "similar" : r.model ? "online" : "popular");
    }
    return r;
  }

  static constexpr std::size_t kKeptOnline = 20;
  static constexpr index_t kPrunedSearchItems = 8192;

  // `asked`: the length the list was computed for (a shorter one has every item there is).
  static std::shared_ptr<const detail::OnlineList> compact(const Ranked& r, std::size_t asked) {
    auto out = std::make_shared<detail::OnlineList>();
    out->model = r.model;
    out->complete = r.items.size() < asked;
    out->items.reserve(r.items.size());
    out->similar.reserve(r.items.size());
    for (std::size_t i = 0; i < r.items.size(); ++i) {
      out->items.push_back({static_cast<std::int32_t>(r.items[i].item), r.items[i].score});
      out->similar.push_back(std::strcmp(r.from[i], "similar") == 0);
    }
    return out;
  }

  // Fold-in scores of the training history plus the new events, two places in three, and items
  // similar to the latest events, one in three.
  Ranked online_list(const Snapshot& snap, const Profile& p, std::size_t k) const {
    std::vector<col_t> history;
    std::vector<float> weights;
    for (std::size_t j = 0; j < p.train_items.size(); ++j) {
      if (sorted_contains(p.negative, p.train_items[j])) continue;  // feedback against it
      history.push_back(p.train_items[j]);
      weights.push_back(p.train_weights[j]);
    }
    history.insert(history.end(), p.new_items.begin(), p.new_items.end());
    weights.insert(weights.end(), p.new_weights.begin(), p.new_weights.end());
    if (history.empty()) return popular(snap, p, k);
    UserContext ctx;
    ctx.user = p.user;
    ctx.history = history;
    ctx.weights = weights;
    ctx.at = p.at;
    add_features(ctx, snap, p);
    // The history is exactly what the user has seen, so the model's own top-k search (factor
    // models: a scan of the items by decreasing norm that stops early) gives the same list as
    // scoring every item. It pays on large catalogues, not on small ones where nearly every
    // item is scanned anyway (CPU per computed online request, ials 64: Gowalla's 41k items
    // 730-860 -> 350-450 us; ML-100K's 1.7k items 170-190 -> 200-260 us).
    std::vector<std::vector<ScoredItem>> found;
    Ranked model = snap.num_items() >= kPrunedSearchItems &&
                           snap.model().top_k_batch(std::span<const UserContext>(&ctx, 1), k, found)
                       ? labelled(std::move(found.front()), "online", true)
                       : labelled(score_top(snap, ctx, p, k), "online", true);
    // Items similar to the latest events, taken in turn from each event's list.
    Ranked similar;
    similar.model = true;
    std::vector<std::span<const StoredItem>> lists;
    for (index_t i : p.latest) lists.push_back(snap.similar(i));
    for (std::size_t depth = 0; similar.items.size() < k; ++depth) {
      bool any = false;
      for (const auto& l : lists) {
        if (depth >= l.size()) continue;
        any = true;
        const StoredItem& s = l[depth];
        if (sorted_contains(p.seen, s.item)) continue;
        similar.items.push_back(s.scored());
        similar.from.push_back("similar");
      }
      if (!any) break;
    }
    // Two places in three from the fold-in scores, one from the similar items.
    return interleave(model, similar, k, [](std::size_t pos) { return pos % 3 == 2; });
  }

  // Items no answer may contain join what the user has seen (every list masks those). A
  // category's list is not the user's kept online list, which covers the whole catalogue.
  static void exclude(Profile& p, const std::vector<index_t>& excluded, bool category) {
    if (excluded.empty()) return;
    std::vector<col_t> seen;
    seen.reserve(p.seen.size() + excluded.size());
    std::set_union(p.seen.begin(), p.seen.end(), excluded.begin(), excluded.end(),
                   std::back_inserter(seen));
    p.seen = std::move(seen);
    if (category) p.events = nullptr;
  }

  HttpResponse recommend(const Snapshot& snap, const detail::Target& t) {
    const std::string& user_id = t.segments[1];
    check_params(t, {"k", "n", "limit", "offset", "mode", "at", "time", "explain", "category"});
    const std::string category = category_of(t);
    bool explain = false;
    if (const auto* e = t.param("explain")) {
      if (*e == "true" || *e == "1") {
        explain = true;
      } else if (*e != "false" && *e != "0") {
        fail(422, "invalid_parameter",
             fmt::format("explain must be true or false, got \"{}\"", excerpt(*e)));
      }
    }
    const Page page = parse_page(t, service.options_.default_k, snap.options().max_k);
    const std::size_t k = page.end();  // the page is the tail of the list that long
    std::string mode = "blended";
    if (const auto* m = t.param("mode")) mode = *m;
    if (mode != "blended" && mode != "offline" && mode != "online")
      fail(422, "invalid_parameter",
           fmt::format("mode must be blended, offline or online, got \"{}\"", excerpt(mode)));
    std::optional<std::int64_t> at_ms;
    std::string_view at_name = "at";
    if (const auto* at = aliased(t, {"at", "time"}, at_name)) {
      const auto seconds = parse_timestamp(*at);
      if (!seconds)
        fail(422, "invalid_parameter",
             fmt::format("{} must be an ISO 8601 time or unix seconds, got \"{}\"", at_name,
                         excerpt(*at)));
      at_ms = *seconds * 1000;  // within +-1e13 s: fits
    }
    Profile p = profile(snap, user_id, at_ms);
    const auto excluded = exclusions(snap, category);
    exclude(p, *excluded, !category.empty());
    Ranked r;
    if (mode == "offline") {
      r = offline(snap, p, k);
    } else if (mode == "online") {
      r = online(snap, p, k);
    } else {
      r = interleave(offline(snap, p, k), online(snap, p, k), k,
                     [](std::size_t pos) { return pos % 2 == 1; });
    }
    if (r.model && overlay_size.load(std::memory_order_relaxed) > 0) {
      std::vector<col_t> history;
      std::vector<float> weights;
      merge_new_items(snap, list_context(snap, p, mode, history, weights), k, r);
    }
    keep_allowed(snap, r, *excluded, category);
    drop_front(r.items, page.offset);
    drop_front(r.from, page.offset);
    if (explain) explain_items(snap, p, mode, r);
    return recommendation(snap, &user_id, mode, r);
  }

  // The user as a /recommend list saw them: offline, the training history (with its times);
  // otherwise with the user's new events too. `history` and `weights` hold what it points to.
  UserContext list_context(const Snapshot& snap, const Profile& p, const std::string& mode,
                           std::vector<col_t>& history, std::vector<float>& weights) const {
    history = p.train_items;
    weights = p.train_weights;
    if (mode != "offline") {
      history.insert(history.end(), p.new_items.begin(), p.new_items.end());
      weights.insert(weights.end(), p.new_weights.begin(), p.new_weights.end());
    }
    UserContext ctx;
    ctx.user = p.user;
    ctx.history = history;
    ctx.weights = weights;
    if (mode == "offline") ctx.times = p.train_times;
    ctx.at = p.at;
    ctx.item_features = &snap.train().item_features;
    add_features(ctx, snap, p);
    return ctx;
  }

  // explain=true: each item's top feature contributions (the ranker, hybrid), or the history
  // items that added most to its score ("because you liked": itemknn, ease, ials, mf), from the history the
  // list was ranked on (offline: training; otherwise with the user's new events). Items the
  // model did not place (popular, new items) get an empty list.
  void explain_items(const Snapshot& snap, const Profile& p, const std::string& mode,
                     Ranked& r) const {
    r.explanations.assign(r.items.size(), ",\"explanation\":[]");
    if (!r.model) return;
    std::vector<col_t> history;
    std::vector<float> weights;
    const UserContext ctx = list_context(snap, p, mode, history, weights);
    std::vector<index_t> items;
    std::vector<std::size_t> where;
    for (std::size_t i = 0; i < r.items.size(); ++i)
      if (r.items[i].item < snap.num_items()) {
        items.push_back(r.items[i].item);
        where.push_back(i);
      }
    std::vector<std::vector<FeatureContribution>> why;
    std::vector<std::vector<HistoryContribution>> because;
    try {
      why = snap.model().explain(ctx, items, kExplainedFeatures);
    } catch (const NotSupported&) {
      try {
        because = snap.model().explain_history(ctx, items, kExplainedFeatures);
      } catch (const NotSupported&) {
        fail(422, "not_supported",
             fmt::format("model {} does not explain its scores (the ranker, hybrid, itemknn, "
                         "ease, ials, mf and svdpp do)",
                         snap.model().name()));
      }
    }
    for (std::size_t j = 0; j < where.size(); ++j) {
      std::string& out = r.explanations[where[j]];
      out = ",\"explanation\":[";
      if (j < why.size())
        for (std::size_t c = 0; c < why[j].size(); ++c) {
          if (c) out += ',';
          out += "{\"feature\":";
          append_json_string(out, why[j][c].feature);
          out += ",\"value\":";
          append_json_number(out, why[j][c].value);
          out += ",\"contribution\":";
          append_json_number(out, why[j][c].contribution);
          out += '}';
        }
      if (j < because.size())
        for (std::size_t c = 0; c < because[j].size(); ++c) {
          if (c) out += ',';
          out += "{\"item_id\":";
          append_json_string(out, snap.train().items.id(because[j][c].item));
          out += ",\"contribution\":";
          append_json_number(out, because[j][c].contribution);
          out += '}';
        }
      out += ']';
    }
  }
  static constexpr std::size_t kExplainedFeatures = 5;

  // A /recommend answer: who (null for a posted session), the mode, where the list came from,
  // the model and its version, the items.
  HttpResponse recommendation(const Snapshot& snap, const std::string* user_id,
                              const std::string& mode, const Ranked& r) const {
    HttpResponse out;
    out.route = Route::kRecommend;
    std::string& b = out.body;
    b.reserve(256 + r.items.size() * 160);
    b += "{\"user_id\":";
    if (user_id)
      append_json_string(b, *user_id);
    else
      b += "null";
    b += ",\"mode\":\"" + mode + "\",\"source\":\"";
    b += r.model ? "model" : r.source ? r.source : "popular";
    b += "\",\"model\":\"";
    b += snap.model().name();
    b += "\",\"version\":";
    append_json_string(b, snap.version());
    b += ',';
    append_items(b, snap, r);
    b += '}';
    return out;
  }

  // POST /recommend: an anonymous session or a stranger, {"items": [ids], "features": {name:
  // value}, "k": n} (Gorse's session recommend). The items are folded in; the features reach a
  // model that uses them (hybrid) and otherwise choose the demographic fallback.
  HttpResponse recommend_post(const Snapshot& snap, const std::string& body) {
    std::string why;
    auto parsed = parse_json(body, &why);
    if (!parsed) fail(400, "malformed_json", "the body is not valid JSON (UTF-8): " + why);
    const nlohmann::json& j = *parsed;
    if (!j.is_object())
      fail(422, "invalid_body", "expected {\"items\": [...], \"features\": {...}, \"k\": n}");
    for (const auto& [key, value] : j.items())
      if (key != "items" && key != "features" && key != "k")
        fail(422, "invalid_body",
             fmt::format("unknown field \"{}\" (known: items, features, k)", excerpt(key)));
    std::size_t k = std::min(service.options_.default_k, snap.options().max_k);
    if (j.contains("k")) {
      const auto& v = j["k"];
      if (!v.is_number_integer() || v.get<std::int64_t>() < 1 ||
          v.get<std::int64_t>() > static_cast<std::int64_t>(snap.options().max_k))
        fail(422, "invalid_parameter",
             fmt::format("k must be an integer from 1 to {}", snap.options().max_k));
      k = static_cast<std::size_t>(v.get<std::int64_t>());
    }
    std::vector<col_t> history;
    if (j.contains("items")) {
      const auto& items = j["items"];
      if (!items.is_array()) fail(422, "invalid_body", "items must be an array of item ids");
      if (items.size() > kMaxSessionItems)
        fail(422, "invalid_body", fmt::format("at most {} items", kMaxSessionItems));
      for (const auto& it : items) {
        if (!it.is_string()) fail(422, "invalid_body", "items must be an array of item ids");
        const auto i = snap.train().items.find(it.get<std::string>());
        if (!i)
          fail(422, "unknown_item",
               fmt::format("unknown item \"{}\"", excerpt(it.get<std::string>())));
        history.push_back(*i);
      }
    }
    FeatureTable features;
    try {
      if (j.contains("features"))
        features = stranger_features(snap.train().user_features,
                                     detail::feature_values(j["features"]));
    } catch (const InvalidInput& e) {
      fail(422, "invalid_feature", e.what());
    }
    UserContext ctx;
    ctx.history = history;
    if (features.rows() == 1) {
      ctx.features = &features;
      ctx.feature_row = 0;
    }
    Profile p;
    p.seen = history;
    std::sort(p.seen.begin(), p.seen.end());
    p.seen.erase(std::unique(p.seen.begin(), p.seen.end()), p.seen.end());
    const auto excluded = exclusions(snap, {});
    exclude(p, *excluded, false);
    Ranked r;
    if (!history.empty() || snap.model().scores_without_history(ctx)) {
      r = labelled(score_top(snap, ctx, p, k), "online", true);
      merge_new_items(snap, ctx, k, r);
    } else {
      const Demographics demo = Demographics::of(features, 0);
      r = demo.empty() ? popular(snap, p, k) : fallback(snap, p, k, demo);
    }
    keep_allowed(snap, r, *excluded, {});
    return recommendation(snap, nullptr, "session", r);
  }
  static constexpr std::size_t kMaxSessionItems = 1000;
  static constexpr std::size_t kMaxItemsPerBatch = 1000;

  // ---- other routes -------------------------------------------------------------------------

  // How far /similar looks when hidden or out-of-category items fill the cached list.
  static constexpr std::size_t kDeepSimilar = 2000;

  HttpResponse similar(const Snapshot& snap, const detail::Target& t) {
    const std::string& item_id = t.segments[1];
    check_params(t, {"k", "n", "limit", "offset", "category"});
    const std::string category = category_of(t);
    const Page page = parse_page(t, service.options_.default_k, snap.options().max_k);
    const auto excluded = exclusions(snap, category);
    const auto item = snap.train().items.find(item_id);
    if (!item) {
      // A new item placed by its features: similar training items by the model's own measure.
      const auto fresh = new_items(snap);
      const auto it = fresh->index.find(item_id);
      if (it == fresh->index.end())
        fail(404, "not_found",
             has_overlay(item_id)
                 ? fmt::format("item \"{}\" is not in the model, and model {} cannot place it "
                               "by its features",
                               item_id, snap.model().name())
                 : fmt::format("unknown item \"{}\"", item_id));
      const std::size_t want = excluded->empty() ? page.end() : kDeepSimilar;
      auto list = snap.model().similar_to_new_item(fresh->vectors[it->second], want);
      std::erase_if(list, [&](const ScoredItem& x) {
        return std::binary_search(excluded->begin(), excluded->end(), x.item);
      });
      if (list.size() > page.end()) list.resize(page.end());
      drop_front(list, page.offset);
      HttpResponse out;
      out.route = Route::kSimilar;
      out.body = "{\"item_id\":";
      append_json_string(out.body, item_id);
      out.body += ',';
      append_items(out.body, snap, labelled(std::move(list), nullptr, true));
      out.body += '}';
      return out;
    }
    if (!snap.similar_supported())
      fail(422, "not_supported",
           fmt::format("model {} has no notion of similar items", snap.model().name()));
    const auto cached = snap.similar(*item);  // max_k long: covers every allowed k
    std::vector<ScoredItem> list;
    const auto shown = [&](index_t i) {
      return !std::binary_search(excluded->begin(), excluded->end(), i);
    };
    for (const StoredItem& c : cached)
      if (list.size() < page.end() && shown(c.item)) list.push_back(c.scored());
    if (list.size() < page.end() && cached.size() >= snap.options().similar_cache &&
        !excluded->empty()) {
      // Hidden or out-of-category items used up the cached list: ask the model for more.
      list.clear();
      for (const ScoredItem& c : snap.model().similar_items(*item, kDeepSimilar))
        if (list.size() < page.end() && shown(c.item)) list.push_back(c);
    }
    drop_front(list, page.offset);
    HttpResponse out;
    out.route = Route::kSimilar;
    out.body = "{\"item_id\":";
    append_json_string(out.body, item_id);
    out.body += ',';
    append_items(out.body, snap, labelled(std::move(list), nullptr, true));
    out.body += '}';
    return out;
  }

  HttpResponse popular_route(const Snapshot& snap, const detail::Target& t) {
    check_params(t, {"k", "n", "limit", "offset", "category"});
    const std::string category = category_of(t);
    const Page page = parse_page(t, service.options_.default_k, snap.options().max_k);
    const auto excluded = exclusions(snap, category);
    std::vector<ScoredItem> list;
    for (const ScoredItem& x : snap.popular()) {
      if (list.size() == page.end()) break;
      if (!std::binary_search(excluded->begin(), excluded->end(), x.item)) list.push_back(x);
    }
    drop_front(list, page.offset);
    HttpResponse out;
    out.route = Route::kPopular;
    out.body = "{\"source\":\"popular\",";
    append_items(out.body, snap, labelled(std::move(list), nullptr, false));
    out.body += '}';
    return out;
  }

  HttpResponse health(const Snapshot& snap) {
    HttpResponse out;
    out.route = Route::kHealth;
    out.body = nlohmann::json{{"status", "ok"},
                              {"model", snap.model().name()},
                              {"version", snap.version()},
                              {"users", snap.train().num_users()},
                              {"items", snap.train().num_items()},
                              {"interactions", snap.train().interactions.nnz()},
                              {"explains", model_explains(snap.model(), snap.train())},
                              {"retrieval", snap.retrieval()},
                              {"offline_ready", snap.offline_ready()},
                              {"similar_ready", snap.similar_ready()},
                              {"events", stored_events()},
                              {"event_store", service.store_->describe()}}
                   .dump();
    return out;
  }

  // The record PUT (replace) or PATCH (merge, RFC 7386: null removes a field, from the stored
  // edit or the training metadata) stores. `added`: items unknown so far, in this request.
  ItemRecord item_record(const Snapshot& snap, const std::string& item_id, nlohmann::json json,
                         const std::string& method, std::size_t added) const {
    if (!json.is_object()) fail(422, "invalid_item", "expected a JSON object of metadata fields");
    if (item_id.empty() || item_id.size() > kMaxIdBytes)
      fail(422, "invalid_item", fmt::format("item ids have 1 to {} bytes", kMaxIdBytes));
    const bool known = snap.train().items.find(item_id).has_value();
    if (!known && !has_overlay(item_id) &&
        overlay_size.load() + added > service.options_.max_new_items)
      fail(422, "too_many_items",
           fmt::format("{} items unknown to the model are stored already, the most this "
                       "server keeps (--max-new-items)",
                       service.options_.max_new_items));
    if (method == "PATCH") {
      nlohmann::json base = current_metadata(snap, item_id);
      base.merge_patch(json);
      json = std::move(base);
    }
    json.erase("item_id");
    json.erase("score");
    json.erase("from");
    json.erase("in_model");
    json.erase("placed");
    json.erase("deleted");  // DELETE deletes; a PUT of a deleted item brings it back
    // A new item without a time keeps the one it had, else gets the moment it was added
    // (/latest).
    if (!known && !json.contains("timestamp")) {
      std::optional<std::int64_t> was;
      {
        std::shared_lock lock(overlay_mutex);
        if (const auto it = overlay.find(item_id); it != overlay.end()) was = it->second.flags.time;
      }
      json["timestamp"] = format_timestamp(was ? *was : now_ms() / 1000);
    }
    return ItemRecord{item_id, json.dump()};
  }

  // GET /items?offset=&k=&category=: the catalogue, training items in their order, then the
  // stored ones the model does not know (by id); deleted items are left out, hidden ones say so.
  HttpResponse item_list(const Snapshot& snap, const detail::Target& t) const {
    check_params(t, {"k", "n", "limit", "offset", "category", "q"});
    const std::string category = category_of(t);
    // q: the items whose id or title contains it (ASCII case-insensitive); a stored item by its
    // id or any of its stored fields.
    const std::string q = t.param("q") ? to_lower(*t.param("q")) : std::string();
    const FeatureColumn* titles = snap.train().item_features.find("title");
    if (titles && titles->kind() != FeatureKind::kText) titles = nullptr;
    const std::size_t k = detail::parse_k(t, 10, kMaxListedItems);
    const std::size_t offset = detail::parse_offset(t);
    std::vector<std::string> extra;  // stored items the model does not know
    std::shared_lock lock(overlay_mutex);
    for (const auto& [id, entry] : overlay)
      if (!snap.train().items.find(id)) extra.push_back(id);
    std::sort(extra.begin(), extra.end());
    const auto flags_of = [&](const std::string& id) -> const detail::ItemFlags* {
      const auto it = overlay.find(id);
      return it == overlay.end() ? nullptr : &it->second.flags;
    };
    const auto matches = [&](const std::string& id, index_t item) {
      if (q.empty() || to_lower(id).find(q) != std::string::npos) return true;
      if (const auto it = overlay.find(id); it != overlay.end())
        return to_lower(it->second.fields).find(q) != std::string::npos;
      return titles && item >= 0 && to_lower(titles->text(item)).find(q) != std::string::npos;
    };
    const auto listed = [&](const std::string& id, const detail::ItemFlags* f, index_t item) {
      if (f && f->deleted) return false;
      if (!matches(id, item)) return false;
      if (category.empty()) return true;
      const auto cats = f ? f->categories : item >= 0 ? detail::training_categories(snap.train(), item)
                                                      : std::vector<std::string>{};
      (void)id;
      return std::find(cats.begin(), cats.end(), category) != cats.end();
    };
    HttpResponse out;
    out.route = Route::kItems;
    std::string& b = out.body;
    b = "{\"items\":[";
    std::size_t seen = 0, shown = 0;
    const auto emit = [&](const std::string& id, index_t item) {
      const detail::ItemFlags* f = flags_of(id);
      if (!listed(id, f, item)) return;
      if (seen++ < offset || shown >= k) return;
      if (shown++) b += ',';
      b += "{\"item_id\":";
      append_json_string(b, id);
      b += ",\"in_model\":";
      b += item >= 0 ? "true" : "false";
      if (const auto it = overlay.find(id); it != overlay.end())
        b += it->second.fields;
      else if (item >= 0)
        b += snap.metadata_fields(item);
      b += '}';
    };
    for (index_t i = 0; i < snap.num_items(); ++i) emit(snap.train().items.id(i), i);
    for (const auto& id : extra) emit(id, -1);
    b += fmt::format("],\"offset\":{},\"total\":{}}}", offset, seen);
    return out;
  }
  static constexpr std::size_t kMaxListedItems = 1000;

  HttpResponse item_get(const Snapshot& snap, const std::string& item_id) {
    HttpResponse out;
    out.route = Route::kItems;
    out.body = "{\"item_id\":";
    append_json_string(out.body, item_id);
    const auto item = snap.train().items.find(item_id);
    out.body += ",\"in_model\":";
    out.body += item ? "true" : "false";
    if (!item) {
      // Whether the model places it by its features (recommended and similar without
      // retraining).
      out.body += ",\"placed\":";
      out.body += new_items(snap)->index.contains(item_id) ? "true" : "false";
    }
    {
      std::shared_lock lock(overlay_mutex);
      if (auto it = overlay.find(item_id); it != overlay.end()) {
        if (it->second.flags.deleted)
          fail(404, "not_found", fmt::format("item \"{}\" was deleted", item_id));
        out.body += it->second.fields + "}";
        return out;
      }
    }
    if (!item) fail(404, "not_found", fmt::format("unknown item \"{}\"", item_id));
    out.body += snap.metadata_fields(*item) + "}";
    return out;
  }

  // Users by the items they share with this one (cosine over the training histories), from an
  // item -> users index built once per snapshot.
  mutable std::mutex by_item_mutex;
  mutable std::uint64_t by_item_serial = 0;
  mutable std::shared_ptr<const CsrMatrix> by_item;

  std::shared_ptr<const CsrMatrix> users_by_item(const Snapshot& snap) const {
    std::lock_guard lock(by_item_mutex);
    if (!by_item || by_item_serial != snap.serial()) {
      const CsrMatrix& m = snap.train().interactions;
      std::vector<index_t> rows, cols;
      std::vector<float> vals;
      rows.reserve(m.indices().size());
      cols.reserve(m.indices().size());
      for (index_t u = 0; u < m.rows(); ++u)
        for (index_t i : m.row_indices(u)) {
          rows.push_back(i);
          cols.push_back(u);
        }
      vals.assign(rows.size(), 1.0f);
      by_item = std::make_shared<const CsrMatrix>(CsrMatrix::from_coordinates(
          m.cols(), m.rows(), std::move(rows), std::move(cols), std::move(vals), {},
          DedupPolicy::kLast));
      by_item_serial = snap.serial();
    }
    return by_item;
  }

  HttpResponse neighbors(const Snapshot& snap, const detail::Target& t) const {
    check_params(t, {"k", "n", "limit", "offset"});
    const Page page = parse_page(t, service.options_.default_k, snap.options().max_k);
    const std::string& user_id = t.segments[1];
    const Dataset& d = snap.train();
    const auto u = d.users.find(user_id);
    if (!u) fail(404, "not_found", fmt::format("unknown user \"{}\"", user_id));
    const auto index = users_by_item(snap);
    const CsrMatrix& m = d.interactions;
    std::vector<float> shared(static_cast<std::size_t>(d.num_users()), 0.0f);
    for (index_t i : m.row_indices(*u))
      for (index_t v : index->row_indices(i)) shared[static_cast<std::size_t>(v)] += 1.0f;
    shared[static_cast<std::size_t>(*u)] = 0;
    const double own = static_cast<double>(m.row_size(*u));
    for (index_t v = 0; v < d.num_users(); ++v) {
      float& x = shared[static_cast<std::size_t>(v)];
      if (x > 0) x = static_cast<float>(x / std::sqrt(own * static_cast<double>(m.row_size(v))));
    }
    std::vector<ScoredItem> best;
    top_k(shared, page.end(), best);
    std::erase_if(best, [](const ScoredItem& x) { return x.score <= 0; });
    drop_front(best, page.offset);
    HttpResponse out;
    out.route = Route::kNeighbors;
    std::string& b = out.body;
    b = "{\"user_id\":";
    append_json_string(b, user_id);
    b += ",\"neighbors\":[";
    for (std::size_t j = 0; j < best.size(); ++j) {
      if (j) b += ',';
      b += "{\"user_id\":";
      append_json_string(b, d.users.id(best[j].item));
      b += ",\"score\":";
      append_json_number(b, best[j].score);
      b += '}';
    }
    b += "]}";
    return out;
  }

  // One stored event as JSON: {"user_id"?, "item_id"?, "type", "value", "timestamp"}.
  static void append_event(std::string& b, const Event& e, bool with_user, bool with_item) {
    b += '{';
    if (with_user) {
      b += "\"user_id\":";
      append_json_string(b, e.user_id);
      b += ',';
    }
    if (with_item) {
      b += "\"item_id\":";
      append_json_string(b, e.item_id);
      b += ',';
    }
    b += "\"type\":";
    append_json_string(b, e.type);
    b += ",\"value\":";
    append_json_number(b, e.value);
    b += ",\"timestamp\":";
    const std::int64_t ms = e.timestamp_ms;
    std::string ts = format_timestamp(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    const auto frac = ((ms % 1000) + 1000) % 1000;
    if (frac) ts.insert(ts.size() - 1, fmt::format(".{:03}", frac));
    append_json_string(b, ts);
    b += '}';
  }

  static std::size_t events_limit(const detail::Target& t) {
    std::string_view which = "limit";
    return aliased(t, {"limit", "k", "n"}, which) ? parse_count(t, which, 20, kMaxEventsLimit)
                                                  : 20;
  }

  // GET /users/{id}/events (the user's) and GET /items/{id}/events (every user's on the item):
  // stored events, newest first, each without the id the path gives.
  HttpResponse event_list(const detail::Target& t, bool by_item) {
    check_params(t, {"limit", "k", "n"});
    const std::string& id = t.segments[1];
    const std::size_t limit = events_limit(t);
    const auto list =
        by_item ? service.store_->item_events(id, limit) : service.store_->latest(id, limit);
    HttpResponse out;
    out.route = by_item ? Route::kItemEvents : Route::kUserEvents;
    std::string& b = out.body;
    b = by_item ? "{\"item_id\":" : "{\"user_id\":";
    append_json_string(b, id);
    b += ",\"events\":[";
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (i) b += ',';
      append_event(b, list[i], by_item, !by_item);
    }
    b += "]}";
    return out;
  }

  // ---- users ---------------------------------------------------------------------------------

  // GET /users/{id}: the stored record's fields, and a training user's features from the data
  // when the record has none; 404 for a user neither trained on, stored nor with events.
  HttpResponse user_get(const Snapshot& snap, const std::string& user_id) const {
    const auto u = snap.train().users.find(user_id);
    const auto record = service.store_->user(user_id);
    nlohmann::json j = nlohmann::json::object();
    if (record)
      if (auto parsed = parse_json(*record); parsed && parsed->is_object()) j = std::move(*parsed);
    if (!u && !record && service.store_->latest(user_id, 1).empty())
      fail(404, "not_found", fmt::format("unknown user \"{}\"", user_id));
    if (u && !j.contains("features")) {
      nlohmann::json f = feature_row_json(snap.train().user_features, *u);
      if (!f.empty()) j["features"] = std::move(f);
    }
    nlohmann::json out = {{"user_id", user_id}, {"in_model", u.has_value()},
                          {"stored", record.has_value()}};
    for (auto& [key, value] : j.items())
      if (!out.contains(key)) out[key] = std::move(value);
    HttpResponse r;
    r.route = Route::kUsers;
    r.body = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
  }

  // PUT (replace) or PATCH (merge) of a user's record. Its features are checked against the
  // served model's user columns now, so that a typo is a 422 here rather than features that
  // silently do nothing.
  UserRecord user_record(const Snapshot& snap, const std::string& user_id, nlohmann::json json,
                         const std::string& method) const {
    if (!json.is_object()) fail(422, "invalid_user", "expected a JSON object of user fields");
    if (user_id.empty() || user_id.size() > kMaxIdBytes)
      fail(422, "invalid_user", fmt::format("user ids have 1 to {} bytes", kMaxIdBytes));
    if (method == "PATCH") {
      nlohmann::json base = nlohmann::json::object();
      if (const auto record = service.store_->user(user_id))
        if (auto parsed = parse_json(*record); parsed && parsed->is_object())
          base = std::move(*parsed);
      base.merge_patch(json);
      json = std::move(base);
    }
    for (const char* key : {"user_id", "in_model", "stored"}) json.erase(key);
    if (const auto f = json.find("features"); f != json.end()) {
      try {
        stranger_features(snap.train().user_features, detail::feature_values(*f));
      } catch (const InvalidInput& e) {
        fail(422, "invalid_feature", e.what());
      }
    }
    return UserRecord{user_id, json.dump()};
  }

  // Whether the store or the model knows the user at all (DELETE of a stranger is a 404).
  bool user_exists(const Snapshot& snap, const std::string& user_id) const {
    return snap.train().users.find(user_id) || service.store_->user(user_id) ||
           !service.store_->latest(user_id, 1).empty();
  }

  // Deletions change the store's event count by an amount only the store knows: /health and
  // /metrics count again once.
  std::atomic<bool> count_stale{false};
  std::int64_t stored_events() {
    if (count_stale.exchange(false)) events_in_store = service.store_->count();
    return events_in_store.load();
  }

  // ---- latest --------------------------------------------------------------------------------

  // Each training item's first interaction (unix seconds, kNoTime when the data has none),
  // once per snapshot.
  mutable std::mutex first_seen_mutex;
  mutable std::uint64_t first_seen_serial = 0;
  mutable std::shared_ptr<const std::vector<std::int64_t>> first_seen_cache;

  std::shared_ptr<const std::vector<std::int64_t>> first_seen(const Snapshot& snap) const {
    std::lock_guard lock(first_seen_mutex);
    if (!first_seen_cache || first_seen_serial != snap.serial()) {
      const CsrMatrix& m = snap.train().interactions;
      std::vector<std::int64_t> first(static_cast<std::size_t>(snap.num_items()), kNoTime);
      for (index_t u = 0; u < m.rows(); ++u) {
        const auto items = m.row_indices(u);
        const auto times = m.row_times(u);
        if (times.empty()) continue;
        for (std::size_t j = 0; j < items.size(); ++j) {
          auto& f = first[static_cast<std::size_t>(items[j])];
          if (times[j] != kNoTime && (f == kNoTime || times[j] < f)) f = times[j];
        }
      }
      first_seen_cache = std::make_shared<const std::vector<std::int64_t>>(std::move(first));
      first_seen_serial = snap.serial();
    }
    return first_seen_cache;
  }

  // GET /latest?k=&offset=&category=: the newest items by their time (catalogue.hpp), hidden
  // and deleted ones left out; items without a known time are not listed.
  HttpResponse latest(const Snapshot& snap, const detail::Target& t) const {
    check_params(t, {"k", "n", "limit", "offset", "category"});
    const std::string category = category_of(t);
    const Page page = parse_page(t, service.options_.default_k, kMaxListedItems);
    const auto first = first_seen(snap);
    const auto excluded = exclusions(snap, category);
    struct Entry {
      std::int64_t time;
      const std::string* id;
      index_t item;  // -1: a stored item the model does not know
    };
    std::vector<Entry> entries;
    std::shared_lock lock(overlay_mutex);
    for (index_t i = 0; i < snap.num_items(); ++i) {
      if (std::binary_search(excluded->begin(), excluded->end(), i)) continue;
      const std::string& id = snap.train().items.id(i);
      std::int64_t time = (*first)[static_cast<std::size_t>(i)];
      if (const auto it = overlay.find(id); it != overlay.end() && it->second.flags.time)
        time = *it->second.flags.time;
      if (time != kNoTime) entries.push_back({time, &id, i});
    }
    for (const auto& [id, entry] : overlay) {
      const detail::ItemFlags& f = entry.flags;
      if (f.hidden || !f.time || snap.train().items.find(id)) continue;
      if (!category.empty() &&
          std::find(f.categories.begin(), f.categories.end(), category) == f.categories.end())
        continue;
      entries.push_back({*f.time, &id, -1});
    }
    const auto newer = [](const Entry& a, const Entry& b) {
      return a.time != b.time ? a.time > b.time : *a.id < *b.id;
    };
    const std::size_t end = std::min(page.end(), entries.size());
    std::partial_sort(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(end),
                      entries.end(), newer);
    HttpResponse out;
    out.route = Route::kLatest;
    std::string& b = out.body;
    b = "{\"items\":[";
    for (std::size_t j = page.offset; j < end; ++j) {
      const Entry& e = entries[j];
      if (j > page.offset) b += ',';
      b += "{\"item_id\":";
      append_json_string(b, *e.id);
      b += ",\"in_model\":";
      b += e.item >= 0 ? "true" : "false";
      const auto it = overlay.find(*e.id);
      if (it == overlay.end() || !it->second.flags.time) {
        b += ",\"timestamp\":";
        append_json_string(b, format_timestamp(e.time));
      }
      if (it != overlay.end())
        b += it->second.fields;
      else
        b += snap.metadata_fields(e.item);
      b += '}';
    }
    b += "]}";
    return out;
  }

  // ---- reload -------------------------------------------------------------------------------

  // Takes in the item records the store has that differ from the ones held.
  void refresh_items() {
    try {
      for (auto& record : service.store_->items()) {
        {
          std::shared_lock lock(overlay_mutex);
          if (auto it = overlay.find(record.item_id);
              it != overlay.end() && it->second.json == record.json)
            continue;
        }
        set_overlay(record);
      }
    } catch (const std::exception& e) {
      spdlog::warn("item edits of other servers not read: {}", e.what());
    }
  }

  std::optional<FileStamp> model_stamp() const { return file_stamp(service.options_.model_file); }

  void reload_loop() {
    using Clock = std::chrono::steady_clock;
    const double refresh = service.options_.items_refresh_seconds;
    const double watch = service.options_.watch_model_seconds;
    auto next_refresh = Clock::now(), next_watch = Clock::now();
    const auto after = [](Clock::time_point t, double seconds) {
      return t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    };
    if (refresh > 0) next_refresh = after(Clock::now(), refresh);
    if (watch > 0) next_watch = after(Clock::now(), watch);
    while (true) {
      std::vector<std::function<void(std::exception_ptr)>> waiting;
      bool changed_on_disk = false;
      {
        std::unique_lock lock(reload_mutex);
        const auto ready = [this] { return stopping || !reload_waiting.empty(); };
        if (refresh > 0 || watch > 0) {
          // A shared store: item edits other servers stored arrive within `refresh` seconds;
          // a model file replaced under us is loaded within `watch` seconds.
          const auto wake = refresh > 0 && watch > 0 ? std::min(next_refresh, next_watch)
                            : refresh > 0             ? next_refresh
                                                      : next_watch;
          if (!reload_wake.wait_until(lock, wake, ready)) {
            lock.unlock();
            const auto now = Clock::now();
            if (refresh > 0 && now >= next_refresh) {
              refresh_items();
              next_refresh = after(now, refresh);
            }
            if (watch > 0 && now >= next_watch) {
              next_watch = after(now, watch);
              const auto stamp = model_stamp();
              changed_on_disk = stamp && stamp != loaded_stamp;
            }
            if (!changed_on_disk) continue;
            lock.lock();
          }
        } else {
          reload_wake.wait(lock, ready);
        }
        if (stopping) {
          waiting.swap(reload_waiting);
          lock.unlock();
          for (auto& w : waiting)
            w(std::make_exception_ptr(IoError("the server is shutting down")));
          return;
        }
        waiting.swap(reload_waiting);
      }
      std::exception_ptr error;
      try {
        const auto stamp = model_stamp();
        auto fresh = Snapshot::load(service.options_.model_file, service.options_.snapshot);
        loaded_stamp = stamp;
        // Item edits other servers stored (a shared PostgreSQL store) come with the reload.
        for (auto& record : service.store_->items()) set_overlay(record);
        service.snapshot_.store(std::move(fresh));
        ++reloads;
      } catch (...) {
        error = std::current_exception();
        ++reload_failures;
        // A file that does not load is not tried again until it changes once more.
        if (changed_on_disk) loaded_stamp = model_stamp();
      }
      for (auto& w : waiting) w(error);
    }
  }
};

Service::Service(ServiceOptions options, std::unique_ptr<EventStore> store)
    : options_(std::move(options)), store_(std::move(store)) {
  options_.snapshot.similar_cache =
      std::max(options_.snapshot.similar_cache, options_.snapshot.max_k);
  const auto stamp = file_stamp(options_.model_file);
  snapshot_.store(Snapshot::load(options_.model_file, options_.snapshot));
  impl_ = std::make_unique<Impl>(*this, stamp);
  stats_ = std::make_unique<StatsHistory>(
      metrics_, options_.stats_interval,
      static_cast<std::size_t>(std::chrono::minutes(10) / std::max(options_.stats_interval, std::chrono::milliseconds(100))));
  if (options_.events_retention_ms > 0) {
    Retention r;
    r.max_age_ms = options_.events_retention_ms;
    r.interval = options_.retention_interval;
    // On the store's writer thread, after each pruning chunk.
    r.pruned = [this](std::int64_t pruned, std::int64_t cutoff_ms) {
      impl_->events_in_store -= pruned;
      impl_->events.forget_older_than(cutoff_ms);
      metrics_.add_events_pruned(pruned);
    };
    store_->set_retention(std::move(r));
  }
}

Service::~Service() { close(); }

void Service::close() {
  if (stats_) stats_->stop();
  store_->close();
  impl_->close();
}

void Service::reload_async(std::function<void(std::exception_ptr)> done) {
  {
    std::lock_guard lock(impl_->reload_mutex);
    impl_->reload_waiting.push_back(std::move(done));
  }
  impl_->reload_wake.notify_one();
}

namespace {

// Parses the body of POST /events: one event object or an array of them.
std::vector<Event> parse_events(const std::string& body, std::size_t max_events) {
  std::string why;
  const auto parsed = parse_json(body, &why);
  if (!parsed) fail(400, "malformed_json", "the body is not valid JSON (UTF-8): " + why);
  const nlohmann::json& json = *parsed;
  if (!json.is_object() && !json.is_array())
    fail(422, "invalid_event", "expected an event object or an array of event objects");
  const std::size_t n = json.is_array() ? json.size() : 1;
  if (n > max_events)
    fail(413, "too_many_events",
         fmt::format("{} events in one request; at most {}", n, max_events));
  std::vector<Event> out;
  out.reserve(n);
  const std::int64_t now = now_ms();
  auto one = [&](const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) fail(422, "invalid_event", where + ": expected an object");
    Event e;
    auto id = [&](const char* key) {
      const auto it = j.find(key);
      if (it == j.end()) fail(422, "invalid_event", fmt::format("{}: missing \"{}\"", where, key));
      std::string v;
      if (it->is_string())
        v = it->get<std::string>();
      else if (it->is_number_integer())
        v = it->dump();
      else
        fail(422, "invalid_event",
             fmt::format("{}.{}: expected a string, got {}", where, key, it->type_name()));
      if (v.empty() || v.size() > kMaxIdBytes)
        fail(422, "invalid_event",
             fmt::format("{}.{}: expected 1 to {} bytes", where, key, kMaxIdBytes));
      return v;
    };
    e.user_id = id("user_id");
    e.item_id = id("item_id");
    if (const auto it = j.find("type"); it != j.end()) {
      if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
          it->get_ref<const std::string&>().size() > kMaxTypeBytes)
        fail(422, "invalid_event",
             fmt::format("{}.type: expected a string of 1 to {} bytes", where, kMaxTypeBytes));
      e.type = it->get<std::string>();
    }
    if (const auto it = j.find("value"); it != j.end()) {
      if (!it->is_number() || !std::isfinite(it->get<double>()))
        fail(422, "invalid_event", fmt::format("{}.value: expected a number", where));
      e.value = it->get<double>();
    }
    e.timestamp_ms = now;
    if (const auto it = j.find("timestamp"); it != j.end()) {
      if (it->is_number()) {
        const double s = it->get<double>();
        if (!std::isfinite(s) || std::abs(s) > 1e13)
          fail(422, "invalid_event", fmt::format("{}.timestamp: out of range", where));
        e.timestamp_ms = static_cast<std::int64_t>(std::llround(s * 1000));
      } else if (it->is_string()) {
        const auto s = parse_timestamp(it->get_ref<const std::string&>());
        if (!s)
          fail(422, "invalid_event",
               fmt::format("{}.timestamp: expected ISO 8601 or unix seconds, got \"{}\"", where,
                           excerpt(it->get_ref<const std::string&>())));
        e.timestamp_ms = *s * 1000;
      } else if (!it->is_null()) {
        fail(422, "invalid_event", fmt::format("{}.timestamp: expected a string or number", where));
      }
    }
    out.push_back(std::move(e));
  };
  if (json.is_array())
    for (std::size_t i = 0; i < json.size(); ++i) one(json[i], fmt::format("events[{}]", i));
  else
    one(json, "event");
  return out;
}

bool json_content_type(const std::string& ct) {
  // curl -d sends application/x-www-form-urlencoded unless told otherwise: accept it too.
  return ct.empty() || ct.find("json") != std::string::npos ||
         ct.starts_with("application/x-www-form-urlencoded") || ct.starts_with("text/plain");
}

struct RouteMatch {
  Route route = Route::kOther;
  const char* allow = nullptr;  // allowed methods
};

// `allow` is "GET" or "GET, PUT".
bool method_allowed(std::string_view allow, std::string_view method) {
  while (!allow.empty()) {
    const auto comma = allow.find(", ");
    if (allow.substr(0, comma) == method) return true;
    if (comma == std::string_view::npos) break;
    allow.remove_prefix(comma + 2);
  }
  return false;
}

RouteMatch match(const std::vector<std::string>& s) {
  const auto n = s.size();
  if (n == 0 || (n == 2 && s[0] == "assets")) return {Route::kDashboard, "GET"};
  if (n == 1 && s[0] == "users") return {Route::kUsers, "GET"};
  if (n == 3 && s[0] == "users" && s[2] == "history") return {Route::kUserHistory, "GET"};
  if (n == 3 && s[0] == "items" && s[2] == "popularity") return {Route::kItemPopularity, "GET"};
  if ((n == 1 || n == 2) && s[0] == "reports") return {Route::kReports, "GET"};
  if (n == 1 && s[0] == "stats") return {Route::kStats, "GET"};
  if (n == 1 && s[0] == "health") return {Route::kHealth, "GET"};
  if (n == 2 && s[0] == "recommend") return {Route::kRecommend, "GET"};
  if (n == 1 && s[0] == "recommend") return {Route::kRecommend, "POST"};
  if (n == 2 && s[0] == "similar") return {Route::kSimilar, "GET"};
  if (n == 1 && s[0] == "popular") return {Route::kPopular, "GET"};
  if (n == 1 && s[0] == "events") return {Route::kEvents, "POST"};
  if (n == 3 && s[0] == "users" && s[2] == "events")
    return {Route::kUserEvents, "GET, DELETE"};
  if (n == 2 && s[0] == "users") return {Route::kUsers, "GET, PUT, PATCH, DELETE"};
  if (n == 3 && s[0] == "items" && s[2] == "events") return {Route::kItemEvents, "GET"};
  if (n == 1 && s[0] == "latest") return {Route::kLatest, "GET"};
  if (n == 1 && s[0] == "items") return {Route::kItems, "GET, POST"};
  if (n == 2 && s[0] == "items") return {Route::kItems, "GET, PUT, PATCH, DELETE"};
  if (n == 3 && s[0] == "users" && s[2] == "neighbors") return {Route::kNeighbors, "GET"};
  if (n == 1 && s[0] == "metrics") return {Route::kMetrics, "GET"};
  if (n == 2 && s[0] == "admin" && s[1] == "reload") return {Route::kReload, "POST"};
  return {};
}

}  // namespace

// Commits a write with deletions; once durable, the user's cached events go (loaded again with
// the next request) and the answer is `body()`.
void Service::delete_and_reply(StoreWrite write, const std::string& user_id, Route route,
                               Respond respond, std::function<std::string()> body) {
  store_->write_async(std::move(write), [this, user_id, route, respond = std::move(respond),
                                         body = std::move(body)](std::exception_ptr e) {
    HttpResponse r;
    if (e) {
      r = error(503, "store_unavailable", "nothing was deleted; try again");
    } else {
      impl_->events.forget(user_id);
      impl_->count_stale = true;
      r.body = body();
    }
    r.route = route;
    respond(std::move(r));
  });
}

void Service::handle(HttpRequest req, Respond respond) {
  Route route = Route::kOther;
  auto reply = [&](HttpResponse r) {
    r.route = route;
    respond(std::move(r));
  };
  try {
    const auto target = detail::parse_target(req.target);
    if (!target)
      fail(400, "bad_request", "the request target is not a valid path (percent-escapes, UTF-8)");
    const RouteMatch m = match(target->segments);
    route = m.route;
    if (!m.allow) fail(404, "not_found", fmt::format("no route {}", excerpt(req.target, 100)));
    if (!method_allowed(m.allow, req.method)) {
      HttpResponse r =
          error(405, "method_not_allowed",
                fmt::format("{} does not take {}", route_label(route), excerpt(req.method, 20)));
      r.allow = m.allow;
      return reply(std::move(r));
    }
    // Every method but GET writes, except POST /recommend (a session's answer).
    const bool write = req.method != "GET" && route != Route::kRecommend;
    const AccessDecision access =
        check_access(options_.keys, {write, route == Route::kHealth || route == Route::kDashboard,
                                     req.authorization, req.origin,
                                     req.host, req.sec_fetch_site, req.peer_loopback});
    if (access.status) fail(access.status, access.code, access.message);
    const bool item_list = route == Route::kItems && target->segments.size() == 1;
    // The routes with parameters check their own.
    if (route != Route::kRecommend && route != Route::kSimilar && route != Route::kPopular &&
        route != Route::kUserEvents && route != Route::kNeighbors &&
        route != Route::kItemEvents && route != Route::kLatest && route != Route::kStats &&
        route != Route::kUserHistory && !(route == Route::kUsers && target->segments.size() == 1) &&
        !(item_list && req.method == "GET"))
      check_params(*target, {});
    const auto snap = snapshot_.load();
    switch (route) {
      case Route::kHealth:
        return reply(impl_->health(*snap));
      case Route::kRecommend:
        if (req.method == "POST") {
          check_params(*target, {});
          if (!json_content_type(req.content_type))
            fail(415, "unsupported_media_type", "expected a JSON body (application/json)");
          if (req.body.size() > options_.max_item_bytes)
            fail(413, "payload_too_large",
                 fmt::format("a session body has at most {} bytes", options_.max_item_bytes));
          return reply(impl_->recommend_post(*snap, req.body));
        }
        return reply(impl_->recommend(*snap, *target));
      case Route::kSimilar:
        return reply(impl_->similar(*snap, *target));
      case Route::kPopular:
        return reply(impl_->popular_route(*snap, *target));
      case Route::kUserEvents: {
        if (req.method == "GET") return reply(impl_->event_list(*target, false));
        // DELETE /users/{id}/events?item_id=&type=: the user's events (on one item, of one
        // type), gone from the store and from this server's answers.
        check_params(*target, {"item_id", "type"});
        const std::string* item = target->param("item_id");
        const std::string* type = target->param("type");
        if ((item && item->empty()) || (type && type->empty()))
          fail(422, "invalid_parameter", "item_id and type, when given, are not empty");
        const EventDeletion d{target->segments[1], item ? *item : "", type ? *type : ""};
        StoreWrite w;
        w.deletions.push_back(d);
        return delete_and_reply(std::move(w), d.user_id, Route::kUserEvents, std::move(respond),
                                [d] {
                                  nlohmann::json j = {{"user_id", d.user_id}, {"deleted", true}};
                                  if (!d.item_id.empty()) j["item_id"] = d.item_id;
                                  if (!d.type.empty()) j["type"] = d.type;
                                  return j.dump();
                                });
      }
      case Route::kItemEvents:
        return reply(impl_->event_list(*target, true));
      case Route::kLatest:
        return reply(impl_->latest(*snap, *target));
      case Route::kDashboard:
        return reply(detail::dashboard_asset(*target));
      case Route::kUserHistory:
        return reply(detail::user_history(*snap, *target));
      case Route::kItemPopularity:
        return reply(detail::item_popularity(*snap, *store_, *target));
      case Route::kReports:
        return reply(target->segments.size() == 1
                         ? detail::report_list(options_.reports_dir, *target)
                         : detail::report_get(options_.reports_dir, *target));
      case Route::kStats: {
        check_params(*target, {"minutes"});
        double minutes = 10;
        if (const std::string* v = target->param("minutes")) {
          const auto n = parse_int(*v);
          if (!n || *n < 1 || *n > 10)
            fail(422, "invalid_parameter",
                 fmt::format("minutes must be an integer from 1 to 10, got \"{}\"", excerpt(*v)));
          minutes = static_cast<double>(*n);
        }
        HttpResponse r;
        r.body = stats_->json(minutes * 60);
        return reply(std::move(r));
      }
      case Route::kUsers: {
        if (target->segments.size() == 1) return reply(detail::user_search(*snap, *target));
        const std::string& user_id = target->segments[1];
        if (req.method == "GET") return reply(impl_->user_get(*snap, user_id));
        if (req.method == "DELETE") {
          // The record and every stored event; a training user stays in the model (without
          // their new events) until it is retrained.
          if (!impl_->user_exists(*snap, user_id))
            fail(404, "not_found", fmt::format("unknown user \"{}\"", user_id));
          StoreWrite w;
          w.deletions.push_back({user_id, {}, {}});
          w.users.push_back({user_id, {}});
          return delete_and_reply(std::move(w), user_id, Route::kUsers, std::move(respond),
                                  [user_id] {
                                    std::string b = "{\"deleted\":";
                                    append_json_string(b, user_id);
                                    return b + '}';
                                  });
        }
        if (!json_content_type(req.content_type))
          fail(415, "unsupported_media_type", "expected a JSON body (application/json)");
        if (req.body.size() > options_.max_item_bytes)
          fail(413, "payload_too_large",
               fmt::format("a user record has at most {} bytes", options_.max_item_bytes));
        std::string why;
        auto parsed = parse_json(req.body, &why);
        if (!parsed) fail(400, "malformed_json", "the body is not valid JSON (UTF-8): " + why);
        StoreWrite w;
        w.users.push_back(impl_->user_record(*snap, user_id, std::move(*parsed), req.method));
        store_->write_async(std::move(w), [this, user_id, respond, snap](std::exception_ptr e) {
          HttpResponse r;
          if (e) {
            r = error(503, "store_unavailable", "the user could not be stored; try again");
          } else {
            impl_->events.forget(user_id);  // their features reach the next answer
            try {
              r = impl_->user_get(*snap, user_id);
            } catch (const HttpError& h) {
              r = error(h.status, h.code, h.message);
            }
          }
          r.route = Route::kUsers;
          respond(std::move(r));
        });
        return;
      }
      case Route::kMetrics: {
        ServiceGauges g{
            std::string(snap->model().name()),
            snap->version(),
            snap->train().num_users(),
            snap->train().num_items(),
            snap->offline_ready(),
            impl_->stored_events(),
            impl_->reloads.load(),
            impl_->reload_failures.load(),
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count()};
        HttpResponse r;
        r.body = metrics_.render(g);
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        return reply(std::move(r));
      }
      case Route::kNeighbors:
        return reply(impl_->neighbors(*snap, *target));
      case Route::kItems: {
        if (item_list && req.method == "GET") return reply(impl_->item_list(*snap, *target));
        const std::string& item_id = item_list ? std::string() : target->segments[1];
        if (req.method == "GET") return reply(impl_->item_get(*snap, item_id));
        if (req.method == "DELETE") {
          // The model keeps a trained item until it is retrained; until then the item is
          // hidden from every answer and gone from the catalogue.
          if (!snap->train().items.find(item_id) && !impl_->has_overlay(item_id))
            fail(404, "not_found", fmt::format("unknown item \"{}\"", item_id));
          ItemRecord record{item_id, "{\"deleted\":true}"};
          auto done = [this, record, respond](std::exception_ptr e) {
            HttpResponse r;
            if (e) {
              r = error(503, "store_unavailable", "the item could not be deleted; try again");
            } else {
              impl_->set_overlay(record);
              r.body = "{\"deleted\":";
              append_json_string(r.body, record.item_id);
              r.body += '}';
            }
            r.route = Route::kItems;
            respond(std::move(r));
          };
          store_->write_async({}, {record}, std::move(done));
          return;
        }
        if (!json_content_type(req.content_type))
          fail(415, "unsupported_media_type", "expected a JSON body (application/json)");
        const std::size_t limit =
            item_list ? options_.max_item_bytes * Impl::kMaxItemsPerBatch : options_.max_item_bytes;
        if (req.body.size() > limit)
          fail(413, "payload_too_large",
               fmt::format("{} has at most {} bytes", item_list ? "a batch" : "item metadata",
                           limit));
        std::string why;
        auto parsed = parse_json(req.body, &why);
        if (!parsed) fail(400, "malformed_json", "the body is not valid JSON (UTF-8): " + why);
        std::vector<ItemRecord> records;
        if (item_list) {
          // POST /items: a batch of {"item_id": .., fields...}, each stored as PUT would.
          if (!parsed->is_array())
            fail(422, "invalid_item", "expected an array of item objects with \"item_id\"");
          if (parsed->size() > Impl::kMaxItemsPerBatch)
            fail(413, "too_many_items",
                 fmt::format("{} items in one batch; at most {}", parsed->size(),
                             Impl::kMaxItemsPerBatch));
          std::size_t added = 0;
          for (std::size_t i = 0; i < parsed->size(); ++i) {
            nlohmann::json& j = (*parsed)[i];
            const auto id = j.is_object() ? j.find("item_id") : j.end();
            if (!j.is_object() || id == j.end() || !id->is_string())
              fail(422, "invalid_item",
                   fmt::format("items[{}]: expected an object with a string \"item_id\"", i));
            std::string item = id->get<std::string>();
            if (!snap->train().items.find(item) && !impl_->has_overlay(item)) ++added;
            records.push_back(impl_->item_record(*snap, item, std::move(j), "PUT", added));
          }
        } else {
          records.push_back(impl_->item_record(*snap, item_id, std::move(*parsed), req.method, 1));
        }
        auto done = [this, records, respond, snap, item_list](std::exception_ptr e) {
          HttpResponse r;
          r.route = Route::kItems;
          if (e) {
            r = error(503, "store_unavailable", "the item could not be stored; try again");
            r.route = Route::kItems;
            return respond(std::move(r));
          }
          for (const auto& record : records) impl_->set_overlay(record);
          if (item_list) {
            r.body = fmt::format("{{\"accepted\":{}}}", records.size());
          } else {
            try {
              r = impl_->item_get(*snap, records.front().item_id);
            } catch (const HttpError& h) {
              r = error(h.status, h.code, h.message);
            }
          }
          r.route = Route::kItems;
          respond(std::move(r));
        };
        store_->write_async({}, std::move(records), std::move(done));
        return;
      }
      case Route::kEvents: {
        if (!json_content_type(req.content_type))
          fail(415, "unsupported_media_type", "expected a JSON body (application/json)");
        auto events = parse_events(req.body, options_.max_events_per_request);
        const auto n = static_cast<std::int64_t>(events.size());
        if (n == 0) {
          HttpResponse r;
          r.body = "{\"accepted\":0}";
          return reply(std::move(r));
        }
        auto stored = std::make_shared<std::vector<Event>>(events);
        store_->write_async(
            std::move(events), {}, [this, n, stored, respond](std::exception_ptr e) {
              HttpResponse r;
              if (e) {
                r = error(503, "store_unavailable", "the events were not stored; send them again");
              } else {
                impl_->events.add(*stored, *snapshot_.load());
                metrics_.add_events_stored(n);
                impl_->events_in_store += n;
                r.body = fmt::format("{{\"accepted\":{}}}", n);
              }
              r.route = Route::kEvents;
              respond(std::move(r));
            });
        return;
      }
      case Route::kReload: {
        reload_async([this, respond](std::exception_ptr e) {
          HttpResponse r;
          if (e) {
            std::string what = "unknown error";
            try {
              std::rethrow_exception(e);
            } catch (const std::exception& x) {
              what = x.what();
            }
            // The reason (paths included) goes to the log, not to the client.
            spdlog::error("reload failed: {}", what);
            r = error(500, "reload_failed",
                      "the model could not be loaded (the server log says why); still serving "
                      "the previous one");
          } else {
            const auto now = snapshot_.load();
            r.body = nlohmann::json{{"status", "reloaded"},
                                    {"model", now->model().name()},
                                    {"version", now->version()}}
                         .dump();
          }
          r.route = Route::kReload;
          respond(std::move(r));
        });
        return;
      }
      case Route::kOther:
      case Route::kCount:
        break;
    }
    fail(404, "not_found", "no such route");
  } catch (const HttpError& e) {
    reply(error(e.status, e.code, e.message));
  } catch (const InvalidInput& e) {
    reply(error(422, "invalid_input", e.what()));
  } catch (const IoError& e) {
    reply(error(503, "unavailable", e.what()));
  } catch (const std::bad_alloc&) {
    reply(error(503, "overloaded", "out of memory"));
  } catch (const std::exception& e) {
    // Internals (source locations, paths) stay in the log.
    spdlog::error("{} {}: {}", excerpt(req.method, 20), excerpt(req.target, 200), e.what());
    reply(error(500, "internal", "internal error (the server log says more)"));
  }
}

}  // namespace reckon
