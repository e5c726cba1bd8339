#pragma once
// Approximate maximum-inner-product search over a factor model's items: an inverted-file index
// for catalogues where scoring every item per request costs too much.
//
// Inner products are not distances, so for clustering each item is the vector
// [x, b, sqrt(M^2 - |x|^2 - b^2)] (M the largest |[x, b]|) and each user [u, 1, 0]: then
// |user - item|^2 = |u|^2 + 1 + M^2 - 2 (u.x + b), and the nearest items by L2 are exactly the
// best by u.x + b. FAISS's k-means clusters these vectors into `nlist` lists and assigns every
// item to its nearest centroid. The items are then stored list by list; a query scores the
// centroids, takes the `nprobe` nearest lists and scores their items exactly (u.x + b, an Eigen
// product per list), so the scores are the model's own and only the recall is approximate
// (bench/bench_ann measures it). FAISS does the clustering only: Debian's build of its list
// scans runs scalar code, 3x slower than the product.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "reckon/retrieval/item_search.hpp"

namespace reckon {

class AnnIndex final : public ItemSearch {
 public:
  // Builds the index (k-means on up to 256 items a list, then every item assigned) on the
  // thread budget. It keeps its own copy of the factors, in list order.
  AnnIndex(const RowMatrix& items, std::span<const float> item_bias, const AnnOptions& options);
  ~AnnIndex() override;

  // Each query is answered on its own (its exclusions are its own), on up to the thread budget
  // across queries; inside an OpenMP region, on the calling thread.
  void top_k(const RowMatrix& users, std::span<const InnerProductQuery> queries, std::size_t k,
             std::vector<std::vector<ScoredItem>>& out) const override;
  std::string describe() const override;

  int nlist() const noexcept { return nlist_; }
  int nprobe() const noexcept { return nprobe_; }
  // Lists scanned per query from now on (1..nlist); not while another thread searches.
  void set_nprobe(int nprobe) { nprobe_ = std::clamp(nprobe, 1, nlist_); }

  // The defaults for `items` items: nlist 2 sqrt(items) (at least 1, at most items / 39, FAISS's
  // least points per centroid), nprobe a 32nd of it, at least 16: recall@20 0.968 on Gowalla's
  // ials (16 of 405 lists), 0.978 at 1M synthetic items at 2x the exact search's speed
  // (BENCHMARKS.md).
  static int default_nlist(index_t items);
  static int default_nprobe(int nlist);

 private:
  RowMatrix items_;                     // the items, list by list
  std::vector<float> bias_;             // per row of items_ (empty: no biases)
  std::vector<index_t> ids_;            // the item of each row
  std::vector<std::int64_t> list_start_;  // list l is rows [list_start_[l], list_start_[l + 1])
  RowMatrix centroids_;                 // nlist x (factors + 1): the [x, b] part of each centroid
  std::vector<float> centroid_bias_;    // -|centroid|^2 / 2 over every augmented coordinate
  int nlist_ = 0, nprobe_ = 0;
};

}  // namespace reckon
