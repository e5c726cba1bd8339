#pragma once
// What the service answers from: a trained model with its training data (id maps, histories,
// item metadata), loaded once and never changed. The service holds the current snapshot behind
// an atomic shared pointer; a reload builds a new one and swaps it, and requests in flight finish
// on the one they started with.
//
// Per snapshot, a background thread computes every training user's offline top list once, so an
// offline request is a lookup; until it is done (or for lists cut short by new events), offline
// answers are computed on demand. Then it computes every item's similar-item list (a request that
// needs one before then computes and caches it).
#include <array>
#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "reckon/models/model.hpp"
#include "reckon/retrieval/fallback.hpp"
#include "reckon/retrieval/ann_options.hpp"

namespace reckon {

// A ranked item as the snapshot keeps it: 8 bytes rather than ScoredItem's 16, since it holds
// a list per user and per item (for Gowalla 29,858 x 100 and 40,981 x 100 of them).
struct StoredItem {
  std::int32_t item;
  float score;
  ScoredItem scored() const noexcept { return {item, score}; }
};

struct SnapshotOptions {
  std::size_t max_k = 100;          // the largest k a request may ask for
  bool precompute_offline = true;   // background top lists for every training user
  std::size_t similar_cache = 100;  // length of the cached similar-item lists (>= max_k)
  AnnOptions ann;                   // approximate search for factor models (off: exact)
};

class Snapshot {
 public:
  // Loads a .rkm model file; `version` names this snapshot in /health and /metrics.
  static std::shared_ptr<Snapshot> load(const std::filesystem::path& model_file,
                                        const SnapshotOptions& options);
  Snapshot(TrainedModel trained, std::string version, const SnapshotOptions& options);
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  const Model& model() const noexcept { return *trained_.model; }
  const Dataset& train() const noexcept { return *trained_.train; }
  const std::string& version() const noexcept { return version_; }
  // How the model searches its lists: "exact", the approximate index, or "the model's own".
  const std::string& retrieval() const noexcept { return retrieval_; }
  // Unique per snapshot of this process (what caches keyed on item indexes check).
  std::uint64_t serial() const noexcept { return serial_; }
  const SnapshotOptions& options() const noexcept { return options_; }
  index_t num_items() const noexcept { return train().num_items(); }

  // The precomputed offline list of a training user (best first, training items excluded), or an
  // empty span while the lists are not ready.
  std::span<const StoredItem> offline_list(index_t user) const;
  bool offline_ready() const noexcept {
    return lists_state_.load(std::memory_order_acquire) == kReady;
  }
  // Blocks until the background lists are done (tests and benchmarks).
  void wait_offline_ready() const;
  // Every item's similar list is cached too: the background work of this snapshot is over (until
  // then it shares the cores with the requests).
  bool similar_ready() const noexcept { return similar_done_.load(std::memory_order_acquire); }

  // Items by training interactions, most first (the whole catalogue).
  std::span<const ScoredItem> popular() const noexcept { return popular_; }
  // What a training user without history gets (popular or demographic popular), as in
  // `reckon recommend` and `reckon evaluate`.
  const Fallback& fallback() const noexcept { return *fallback_; }
  bool similar_supported() const noexcept { return similar_supported_; }
  // Cached similar items of `item` (empty when the model has no notion of similarity).
  std::span<const StoredItem> similar(index_t item) const;

  // The item's metadata from the training data as the inside of a JSON object: `,"title":"..",
  // "genres":[..]` (empty when it has none), ready to append to `{"item_id":..,"score":..`.
  const std::string& metadata_fields(index_t item) const { return metadata_fields_[item]; }

 private:
  void compute_offline_lists();
  void compute_similar_lists();

  TrainedModel trained_;
  std::string version_;
  std::string retrieval_;
  SnapshotOptions options_;
  std::uint64_t serial_;
  std::vector<ScoredItem> popular_;
  std::unique_ptr<Fallback> fallback_;
  std::vector<std::string> metadata_fields_;

  // Offline lists: user u's list is lists_[offsets_[u] .. offsets_[u + 1]).
  std::vector<StoredItem> lists_;
  std::vector<std::size_t> offsets_;
  enum : int { kNone = 0, kComputing = 1, kReady = 2, kFailed = 3 };
  std::atomic<int> lists_state_{kNone};
  std::atomic<bool> stopping_{false};
  std::thread precompute_;

  // Similar-item cache: filled once per item under a striped lock, read lock-free after.
  struct SimilarSlot {
    std::atomic<bool> ready{false};
    std::vector<StoredItem> items;
  };
  mutable std::unique_ptr<SimilarSlot[]> similar_;
  mutable std::array<std::mutex, 64> similar_locks_;
  bool similar_supported_ = true;
  std::atomic<bool> similar_done_{false};
};

}  // namespace reckon
