#include "reckon/models/ease.hpp"

#include <omp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <limits>

#include "reckon/core/error.hpp"
#include "reckon/retrieval/topk.hpp"

extern "C" {
// LAPACK (OpenBLAS): Cholesky factorisation and inverse from it, in place.
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info);
void spotri_(const char* uplo, const int* n, float* a, const int* lda, int* info);
}

namespace reckon {
namespace {

// MemAvailable from /proc/meminfo, in bytes (0 when unknown).
double available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024.0;
  return 0;
}

}  // namespace

std::vector<ParamSpec> EaseModel::param_specs() {
  return {
      {"lambda", ParamType::kFloat, "500", 0, 1e9,
       "L2 penalty (added to the Gram matrix diagonal)"},
      {"max_memory_gb", ParamType::kFloat, "0", 0, 1e6,
       "refuse when the item-item matrix needs more (0: 90% of the memory available now)"},
  };
}

void EaseModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  const CsrMatrix& ui = train.interactions;
  n_ = ui.cols();
  const double need = memory_needed(n_);
  double limit = params.get_float("max_memory_gb") * 1e9;
  if (limit <= 0) limit = 0.9 * available_memory();
  RECKON_CHECK(limit <= 0 || need <= limit,
               "ease: {} items need a {:.1f} GB item-item matrix, more than the {:.1f} GB allowed; "
               "filter rare items first (e.g. --min-item 5) or use itemknn",
               n_, need / 1e9, limit / 1e9);
  RECKON_CHECK(n_ < std::numeric_limits<int>::max() / 2, "ease: too many items");
  const float lambda = static_cast<float>(params.get_float("lambda"));
  const int threads = ctx.threads > 0 ? ctx.threads : omp_get_max_threads();

  // G = X^T X + lambda I, one row per item (rows are owned by one thread each: no races).
  b_.assign(static_cast<std::size_t>(n_) * static_cast<std::size_t>(n_), 0.0f);
  const CsrMatrix iu = ui.transposed();
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads)
  for (index_t i = 0; i < n_; ++i) {
    float* row = b_.data() + static_cast<std::size_t>(i) * static_cast<std::size_t>(n_);
    const auto users = iu.row_indices(i);
    const auto wi = iu.row_values(i);
    for (std::size_t k = 0; k < users.size(); ++k) {
      const auto items = ui.row_indices(users[k]);
      const auto wj = ui.row_values(users[k]);
      for (std::size_t t = 0; t < items.size(); ++t) row[items[t]] += wi[k] * wj[t];
    }
    row[i] += lambda;
  }
  // P = G^-1 in place. The matrix is symmetric, so row- and column-major agree; LAPACK fills one
  // triangle, which is mirrored afterwards.
  const int n = static_cast<int>(n_);
  int info = 0;
  const char uplo = 'L';
  spotrf_(&uplo, &n, b_.data(), &n, &info);
  RECKON_CHECK(info == 0,
               "ease: the Gram matrix is not positive definite (LAPACK info {}); raise lambda",
               info);
  spotri_(&uplo, &n, b_.data(), &n, &info);
  RECKON_CHECK(info == 0, "ease: inverting the Gram matrix failed (LAPACK info {})", info);
  // Column-major lower triangle = row-major upper triangle: P[i][j] valid for j >= i.
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads)
  for (index_t i = 0; i < n_; ++i)
    for (index_t j = 0; j < i; ++j)
      b_[static_cast<std::size_t>(i) * n_ + j] = b_[static_cast<std::size_t>(j) * n_ + i];
  // B_ij = -P_ij / P_jj, zero diagonal.
  std::vector<float> diag(static_cast<std::size_t>(n_));
  for (index_t j = 0; j < n_; ++j) diag[j] = b_[static_cast<std::size_t>(j) * n_ + j];
#pragma omp parallel for schedule(static) num_threads(threads)
  for (index_t i = 0; i < n_; ++i) {
    float* row = b_.data() + static_cast<std::size_t>(i) * static_cast<std::size_t>(n_);
    for (index_t j = 0; j < n_; ++j) row[j] = -row[j] / diag[j];
    row[i] = 0.0f;
  }
}

void EaseModel::score(const UserContext& user, std::span<float> out) const {
  RECKON_ASSERT(static_cast<index_t>(out.size()) == n_);
  std::fill(out.begin(), out.end(), 0.0f);
  for (std::size_t h = 0; h < user.history.size(); ++h) {
    const index_t i = user.history[h];
    if (i < 0 || i >= n_) continue;
    const float w = user.weights.empty() ? 1.0f : user.weights[h];
    const float* row = b_.data() + static_cast<std::size_t>(i) * static_cast<std::size_t>(n_);
    for (index_t j = 0; j < n_; ++j) out[j] += w * row[j];
  }
}

std::vector<ScoredItem> EaseModel::similar_items(index_t item, std::size_t k) const {
  RECKON_CHECK(item >= 0 && item < n_, "item index {} out of range", item);
  std::vector<float> s(b_.begin() + item * n_, b_.begin() + (item + 1) * n_);
  s[item] = -std::numeric_limits<float>::infinity();
  std::vector<ScoredItem> out;
  top_k(s, k, out);
  return out;
}

void EaseModel::save(BinaryWriter& w) const {
  w.put<index_t>(n_);
  w.put_vector(b_);
}

void EaseModel::load(BinaryReader& r) {
  n_ = r.get<index_t>();
  b_ = r.get_vector<float>();
  // n_ is bounded before the product so that it cannot overflow.
  RECKON_CHECK(n_ >= 0 && n_ <= (1 << 24) &&
                   b_.size() == static_cast<std::size_t>(n_) * static_cast<std::size_t>(n_),
               "{}: corrupt ease model", r.what());
}

void EaseModel::validate(const Dataset& train) const {
  RECKON_CHECK(n_ == train.num_items(), "ease model has {} items, the data has {}", n_,
               train.num_items());
}

}  // namespace reckon
