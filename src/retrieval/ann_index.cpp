#include "reckon/retrieval/ann_index.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <numeric>

#include "reckon/core/error.hpp"
#include "reckon/core/random.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/retrieval/topk.hpp"

#if RECKON_HAVE_FAISS
#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/impl/FaissException.h>
#endif

namespace reckon {

AnnMode parse_ann_mode(std::string_view text) {
  if (text == "off") return AnnMode::kOff;
  if (text == "auto") return AnnMode::kAuto;
  if (text == "on") return AnnMode::kOn;
  throw Error(fmt::format("--ann: expected off, auto or on, got \"{}\"", text));
}

std::string_view to_string(AnnMode mode) {
  switch (mode) {
    case AnnMode::kOff: return "off";
    case AnnMode::kAuto: return "auto";
    case AnnMode::kOn: return "on";
  }
  return "off";
}

bool ann_available() { return RECKON_HAVE_FAISS != 0; }

bool ann_applies(const AnnOptions& options, index_t items) {
  if (options.mode == AnnMode::kOff || items <= 0) return false;
  if (options.mode == AnnMode::kOn)
    RECKON_CHECK(ann_available(),
                 "approximate search (--ann on) needs a build with FAISS (libfaiss-dev; "
                 "scripts/install-deps), and this one has none");
  if (!ann_available()) return false;  // auto: exact search, as without the option
  return options.mode == AnnMode::kOn || items >= options.min_items;
}

int AnnIndex::default_nlist(index_t items) {
  const auto root = static_cast<index_t>(std::lround(2 * std::sqrt(static_cast<double>(items))));
  return static_cast<int>(std::clamp<index_t>(root, 1, std::max<index_t>(1, items / 39)));
}

int AnnIndex::default_nprobe(int nlist) { return std::min(nlist, std::max(16, nlist / 32)); }

#if RECKON_HAVE_FAISS

AnnIndex::AnnIndex(const RowMatrix& items, std::span<const float> item_bias,
                   const AnnOptions& options) {
  const Eigen::Index n = items.rows(), f = items.cols();
  RECKON_CHECK(n > 0 && f > 0, "approximate search needs items with factors");
  RECKON_ASSERT(item_bias.empty() || static_cast<Eigen::Index>(item_bias.size()) == n);
  RECKON_CHECK(options.nlist >= 0 && options.nprobe >= 0, "ann: nlist and nprobe must be >= 0");

  // Items with a non-finite factor or bias (a diverged model) are left out: they never score.
  std::vector<index_t> kept;
  kept.reserve(static_cast<std::size_t>(n));
  double m2 = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double b = item_bias.empty() ? 0.0 : item_bias[static_cast<std::size_t>(i)];
    const double s = static_cast<double>(items.row(i).squaredNorm()) + b * b;
    if (!std::isfinite(s)) continue;
    kept.push_back(i);
    m2 = std::max(m2, s);
  }
  RECKON_CHECK(!kept.empty(), "approximate search: every item's factors are non-finite");
  const auto m = static_cast<index_t>(kept.size());
  nlist_ = options.nlist > 0 ? static_cast<int>(std::min<index_t>(options.nlist, m))
                             : default_nlist(m);
  nprobe_ = std::min(nlist_, options.nprobe > 0 ? options.nprobe : default_nprobe(nlist_));

  const int d = static_cast<int>(f) + 2;
  const auto augment = [&](index_t i, float* out) {
    const auto row = items.row(static_cast<Eigen::Index>(i));
    std::copy(row.data(), row.data() + f, out);
    const double b = item_bias.empty() ? 0.0 : item_bias[static_cast<std::size_t>(i)];
    out[f] = static_cast<float>(b);
    const double s = static_cast<double>(row.squaredNorm()) + b * b;
    out[f + 1] = static_cast<float>(std::sqrt(std::max(0.0, m2 - s)));
  };

  std::vector<faiss::Index::idx_t> labels(kept.size());
  try {
    // k-means on a fixed random sample of at most 64 items a list (FAISS asks for 39 to 256):
    // at 10M items and 6,325 lists that is 0.4M vectors, 40 s of the 2-core build.
    std::vector<index_t> sample = kept;
    const std::size_t want = std::min(sample.size(), static_cast<std::size_t>(nlist_) * 64);
    if (want < sample.size()) {
      Rng rng(0x616e6eULL);
      for (std::size_t a = 0; a < want; ++a)
        std::swap(sample[a], sample[a + rng.below(sample.size() - a)]);
      sample.resize(want);
    }
    std::vector<float> buf(sample.size() * static_cast<std::size_t>(d));
    for (std::size_t a = 0; a < sample.size(); ++a)
      augment(sample[a], buf.data() + a * static_cast<std::size_t>(d));
    faiss::ClusteringParameters cp;
    cp.niter = 10;  // FAISS's 25 cost 2.5x for no measurable recall
    cp.seed = 1234;
    cp.verbose = false;
    cp.min_points_per_centroid = 1;  // small catalogues: no warning on stderr
    faiss::Clustering kmeans(d, nlist_, cp);
    faiss::IndexFlatL2 quantizer(d);
    kmeans.train(static_cast<faiss::Index::idx_t>(sample.size()), buf.data(), quantizer);
    // Every item to its nearest centroid, a million at a time (the augmented copy never holds
    // the whole catalogue).
    constexpr std::size_t kChunk = 1 << 20;
    for (std::size_t start = 0; start < kept.size(); start += kChunk) {
      const std::size_t len = std::min(kChunk, kept.size() - start);
      buf.resize(len * static_cast<std::size_t>(d));
      for (std::size_t a = 0; a < len; ++a)
        augment(kept[start + a], buf.data() + a * static_cast<std::size_t>(d));
      quantizer.assign(static_cast<faiss::Index::idx_t>(len), buf.data(), labels.data() + start);
    }
    centroids_.resize(nlist_, f + 1);
    centroid_bias_.resize(static_cast<std::size_t>(nlist_));
    for (int l = 0; l < nlist_; ++l) {
      const float* c = kmeans.centroids.data() + static_cast<std::size_t>(l) * d;
      std::copy(c, c + f + 1, centroids_.row(l).data());
      double sq = 0;
      for (int j = 0; j < d; ++j) sq += static_cast<double>(c[j]) * c[j];
      centroid_bias_[static_cast<std::size_t>(l)] = static_cast<float>(-0.5 * sq);
    }
  } catch (const faiss::FaissException& e) {
    throw Error(fmt::format("building the approximate index failed: {}", e.what()));
  }

  // The items list by list (a counting sort by label).
  list_start_.assign(static_cast<std::size_t>(nlist_) + 1, 0);
  for (const auto l : labels) {
    RECKON_ASSERT(l >= 0 && l < nlist_);
    ++list_start_[static_cast<std::size_t>(l) + 1];
  }
  for (int l = 0; l < nlist_; ++l)
    list_start_[static_cast<std::size_t>(l) + 1] += list_start_[static_cast<std::size_t>(l)];
  std::vector<std::int64_t> next(list_start_.begin(), list_start_.end() - 1);
  items_.resize(m, f);
  ids_.resize(static_cast<std::size_t>(m));
  if (!item_bias.empty()) bias_.resize(static_cast<std::size_t>(m));
  for (std::size_t a = 0; a < kept.size(); ++a) {
    const auto row = next[static_cast<std::size_t>(labels[a])]++;
    items_.row(row) = items.row(static_cast<Eigen::Index>(kept[a]));
    ids_[static_cast<std::size_t>(row)] = kept[a];
    if (!bias_.empty()) bias_[static_cast<std::size_t>(row)] = item_bias[kept[a]];
  }
}

AnnIndex::~AnnIndex() = default;

std::string AnnIndex::describe() const {
  return fmt::format("ivf (FAISS k-means, {} lists, {} probed)", nlist_, nprobe_);
}

void AnnIndex::top_k(const RowMatrix& users, std::span<const InnerProductQuery> queries,
                     std::size_t k, std::vector<std::vector<ScoredItem>>& out) const {
  const Eigen::Index b = users.rows(), f = items_.cols();
  RECKON_ASSERT(static_cast<std::size_t>(b) == queries.size() && users.cols() == f);
  out.resize(static_cast<std::size_t>(b));
  for (auto& o : out) o.clear();
  if (k == 0) return;
  const int threads = omp_in_parallel() ? 1 : std::max(1, thread_budget());
  const auto worse_first = [](const ScoredItem& x, const ScoredItem& y) {
    return ranks_before(x, y);
  };
#pragma omp parallel num_threads(threads) if (b > 1 && threads > 1)
  {
    Eigen::VectorXf list_score(nlist_), s;
    std::vector<int> lists(static_cast<std::size_t>(nlist_));
#pragma omp for schedule(dynamic, 4)
    for (Eigen::Index u = 0; u < b; ++u) {
      const auto& query = queries[static_cast<std::size_t>(u)];
      const auto user = users.row(u).transpose();
      // The nearest centroids to [u, 1, 0]: the largest u.c_x + c_b - |c|^2 / 2.
      list_score.noalias() = centroids_.leftCols(f) * user;
      list_score += centroids_.col(f);
      list_score += Eigen::Map<const Eigen::VectorXf>(centroid_bias_.data(), nlist_);
      std::iota(lists.begin(), lists.end(), 0);
      std::nth_element(lists.begin(), lists.begin() + (nprobe_ - 1), lists.end(),
                       [&](int x, int y) { return list_score[x] > list_score[y]; });
      auto& heap = out[static_cast<std::size_t>(u)];  // a min-heap under ranks_before()
      for (int p = 0; p < nprobe_; ++p) {
        const auto l = static_cast<std::size_t>(lists[static_cast<std::size_t>(p)]);
        const std::int64_t start = list_start_[l], len = list_start_[l + 1] - start;
        if (len == 0) continue;
        s.resize(len);
        s.noalias() = items_.middleRows(start, len) * user;
        for (std::int64_t j = 0; j < len; ++j) {
          const float score = s[j] + (bias_.empty() ? 0.0f : bias_[start + j]);
          const ScoredItem candidate{ids_[static_cast<std::size_t>(start + j)], score};
          if (!(score > -std::numeric_limits<float>::infinity())) continue;
          if (heap.size() == k && !ranks_before(candidate, heap.front())) continue;
          if (std::binary_search(query.exclude.begin(), query.exclude.end(), candidate.item))
            continue;
          if (heap.size() == k) {
            std::pop_heap(heap.begin(), heap.end(), worse_first);
            heap.back() = candidate;
          } else {
            heap.push_back(candidate);
          }
          std::push_heap(heap.begin(), heap.end(), worse_first);
        }
      }
      std::sort(heap.begin(), heap.end(), ranks_before);
      for (auto& e : heap) e.score += query.offset;
    }
  }
}

#else  // no FAISS: ann_applies() never lets a model build one

AnnIndex::AnnIndex(const RowMatrix&, std::span<const float>, const AnnOptions&) {
  throw Error("approximate search needs a build with FAISS (libfaiss-dev)");
}
AnnIndex::~AnnIndex() = default;
std::string AnnIndex::describe() const { return "exact"; }
void AnnIndex::top_k(const RowMatrix&, std::span<const InnerProductQuery>, std::size_t,
                     std::vector<std::vector<ScoredItem>>&) const {}

#endif

}  // namespace reckon
