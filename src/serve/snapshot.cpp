#include "reckon/serve/snapshot.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "reckon/core/error.hpp"
#include "reckon/retrieval/ann_options.hpp"
#include "reckon/models/user_context.hpp"
#include "reckon/retrieval/topk.hpp"

namespace reckon {

namespace {

// `{"a":1,"b":2}` -> `,"a":1,"b":2`; `{}` -> empty.
std::string inner_fields(const nlohmann::json& object) {
  if (object.empty()) return {};
  std::string s = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  s.front() = ',';
  s.pop_back();
  return s;
}

}  // namespace

std::shared_ptr<Snapshot> Snapshot::load(const std::filesystem::path& model_file,
                                         const SnapshotOptions& options) {
  // Copied, not viewed in the file's map: an operator may overwrite the served file in place
  // (`cp new.rkm served.rkm`), and a truncation under a map is a bus error in a running
  // service. A reload then reads the new file; the old snapshot keeps its own copy.
  TrainedModel t = load_model_file(model_file, FileAccess::copy);
  // The model name, the file's modification time (UTC) and size: changes when the file does.
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(model_file, ec);
  std::string stamp = "unknown";
  if (!ec) {
    const auto sys = std::chrono::file_clock::to_sys(mtime);
    stamp = fmt::format("{:%Y%m%dT%H%M%S}", std::chrono::floor<std::chrono::seconds>(sys));
  }
  const std::string version =
      fmt::format("{}-{}-{}", t.model->name(), stamp, std::filesystem::file_size(model_file));
  return std::make_shared<Snapshot>(std::move(t), version, options);
}

namespace {

std::atomic<std::uint64_t> next_serial{1};

StoredItem stored(const ScoredItem& s) { return {static_cast<std::int32_t>(s.item), s.score}; }

std::vector<StoredItem> stored(const std::vector<ScoredItem>& list) {
  std::vector<StoredItem> out;
  out.reserve(list.size());
  for (const ScoredItem& s : list) out.push_back(stored(s));
  return out;
}

}  // namespace

Snapshot::Snapshot(TrainedModel trained, std::string version, const SnapshotOptions& options)
    : trained_(std::move(trained)),
      version_(std::move(version)),
      options_(options),
      serial_(next_serial.fetch_add(1)) {
  const Dataset& d = train();
  const index_t n = d.num_items();
  RECKON_CHECK(n < std::numeric_limits<std::int32_t>::max(),
               "{} items: the service keeps item indexes in 32 bits", n);
  fallback_ = std::make_unique<Fallback>(d);  // holds the training interactions per item
  top_k(fallback_->popularity(), static_cast<std::size_t>(n), popular_);

  metadata_fields_.reserve(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i)
    metadata_fields_.push_back(inner_fields(feature_row_json(d.item_features, i)));

  // A factor model's search index, approximate for a big catalogue: built now, before the
  // snapshot answers anything.
  retrieval_ = use_ann(*trained_.model, options_.ann).value_or("the model's own");
  similar_ = std::make_unique<SimilarSlot[]>(static_cast<std::size_t>(n));
  if (n > 0) {
    try {
      (void)model().similar_items(0, 1);
    } catch (const NotSupported&) {
      similar_supported_ = false;
    }
  }
  if (options_.precompute_offline && d.num_users() > 0) {
    lists_state_ = kComputing;
    precompute_ = std::thread([this] {
      try {
        compute_offline_lists();
        compute_similar_lists();
      } catch (const std::exception& e) {
        // Offline answers stay on demand; nothing is lost but speed.
        fmt::print(stderr, "offline lists not computed: {}\n", e.what());
        lists_state_.store(kFailed, std::memory_order_release);
        lists_state_.notify_all();
      }
    });
  }
}

Snapshot::~Snapshot() {
  stopping_ = true;
  if (precompute_.joinable()) precompute_.join();
}

void Snapshot::compute_offline_lists() {
  const Dataset& d = train();
  const index_t users = d.num_users();
  const std::size_t k =
      std::min<std::size_t>(options_.max_k, static_cast<std::size_t>(num_items()));
  std::vector<StoredItem> lists;
  std::vector<std::size_t> offsets{0};
  lists.reserve(static_cast<std::size_t>(users) * k);
  offsets.reserve(static_cast<std::size_t>(users) + 1);
  constexpr index_t kBlock = 64;
  std::vector<UserContext> ctx;
  std::vector<std::vector<ScoredItem>> out;
  std::vector<float> scores;
  for (index_t begin = 0; begin < users; begin += kBlock) {
    if (stopping_.load(std::memory_order_relaxed)) {
      lists_state_.store(kFailed, std::memory_order_release);
      lists_state_.notify_all();
      return;
    }
    const index_t end = std::min(users, begin + kBlock);
    ctx.clear();
    for (index_t u = begin; u < end; ++u) {
      ctx.push_back(training_context(d, u, model().reads_event_history()));
    }
    if (!model().top_k_batch(ctx, k, out)) {
      const std::size_t n = static_cast<std::size_t>(num_items());
      scores.resize(ctx.size() * n);
      model().score_batch(ctx, scores);
      out.resize(ctx.size());
      for (std::size_t b = 0; b < ctx.size(); ++b) {
        std::span<float> row(scores.data() + b * n, n);
        mask(row, ctx[b].history);
        top_k(row, k, out[b]);
      }
    }
    for (const auto& list : out) {
      for (const ScoredItem& s : list) lists.push_back(stored(s));
      offsets.push_back(lists.size());
    }
  }
  lists_ = std::move(lists);
  offsets_ = std::move(offsets);
  lists_state_.store(kReady, std::memory_order_release);
  lists_state_.notify_all();
}

// Every item's similar list, in blocks (factor models: one tiled product per block). Requests
// that come first fill their own slots; those are kept.
void Snapshot::compute_similar_lists() {
  if (!similar_supported_) {
    similar_done_.store(true, std::memory_order_release);
    return;
  }
  const index_t n = num_items();
  constexpr index_t kBlock = 256;
  std::vector<index_t> block;
  std::vector<std::vector<ScoredItem>> out;
  for (index_t begin = 0; begin < n; begin += kBlock) {
    if (stopping_.load(std::memory_order_relaxed)) return;
    block.clear();
    for (index_t i = begin; i < std::min(n, begin + kBlock); ++i)
      if (!similar_[static_cast<std::size_t>(i)].ready.load(std::memory_order_acquire))
        block.push_back(i);
    if (block.empty()) continue;
    model().similar_items_batch(block, options_.similar_cache, out);
    for (std::size_t b = 0; b < block.size(); ++b) {
      const auto i = static_cast<std::size_t>(block[b]);
      SimilarSlot& slot = similar_[i];
      std::lock_guard lock(similar_locks_[i % similar_locks_.size()]);
      if (slot.ready.load(std::memory_order_relaxed)) continue;
      slot.items = stored(out[b]);
      slot.ready.store(true, std::memory_order_release);
    }
  }
  similar_done_.store(true, std::memory_order_release);
}

void Snapshot::wait_offline_ready() const {
  for (int s = lists_state_.load(std::memory_order_acquire); s == kComputing;
       s = lists_state_.load(std::memory_order_acquire))
    lists_state_.wait(s, std::memory_order_acquire);
}

std::span<const StoredItem> Snapshot::offline_list(index_t user) const {
  if (!offline_ready()) return {};
  const auto u = static_cast<std::size_t>(user);
  return {lists_.data() + offsets_[u], offsets_[u + 1] - offsets_[u]};
}

std::span<const StoredItem> Snapshot::similar(index_t item) const {
  if (!similar_supported_) return {};
  SimilarSlot& slot = similar_[static_cast<std::size_t>(item)];
  if (!slot.ready.load(std::memory_order_acquire)) {
    auto items = stored(model().similar_items(item, options_.similar_cache));  // outside the lock
    std::lock_guard lock(similar_locks_[static_cast<std::size_t>(item) % similar_locks_.size()]);
    if (!slot.ready.load(std::memory_order_relaxed)) {
      slot.items = std::move(items);
      slot.ready.store(true, std::memory_order_release);
    }
  }
  return slot.items;
}

}  // namespace reckon
