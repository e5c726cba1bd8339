#include "reckon/models/ease.hpp"

#include <omp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <limits>

#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/retrieval/topk.hpp"

extern "C" {
// LAPACK and BLAS (OpenBLAS), column-major: Cholesky factorisation of a block, the triangular
// solve and symmetric rank-k update of a blocked factorisation, and the inverse from the factor
// in its two halves (spotri = strtri + slauum).
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info);
void strsm_(const char* side, const char* uplo, const char* transa, const char* diag, const int* m,
            const int* n, const float* alpha, const float* a, const int* lda, float* b,
            const int* ldb);
void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha,
            const float* a, const int* lda, const float* beta, float* c, const int* ldc);
void strtri_(const char* uplo, const char* diag, const int* n, float* a, const int* lda, int* info);
void slauum_(const char* uplo, const int* n, float* a, const int* lda, int* info);
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

// G = L L^T in place (lower triangle, column-major, n x n), right-looking by panels of
// columns so that it can show progress: each panel is factorised (spotrf), the column below it
// solved (strsm) and the trailing matrix updated (ssyrk, where nearly all the n^3/3 flops are).
// Returns 0, or the column where G turned out not to be positive definite (1-based).
int blocked_cholesky(float* a, int n, Progress& progress) {
  constexpr int kPanel = 512;
  const char lower = 'L', right = 'R', trans = 'T', no_trans = 'N', non_unit = 'N';
  const float one = 1.0f, minus_one = -1.0f;
  const double total = static_cast<double>(n) * n * n / 3.0;
  for (int k = 0; k < n; k += kPanel) {
    const int kb = std::min(kPanel, n - k), rest = n - k - kb;
    float* akk = a + k + static_cast<std::size_t>(k) * n;
    int info = 0;
    spotrf_(&lower, &kb, akk, &n, &info);
    if (info != 0) return k + info;
    if (rest > 0) {
      float* below = akk + kb;
      float* trailing = below + static_cast<std::size_t>(kb) * n;
      strsm_(&right, &lower, &trans, &non_unit, &rest, &kb, &one, akk, &n, below, &n);
      ssyrk_(&lower, &no_trans, &rest, &kb, &minus_one, below, &n, &one, trailing, &n);
    }
    progress.update(total - static_cast<double>(rest) * rest * rest / 3.0);
  }
  progress.finish();
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

  // The inverse is what bounds the fit: ~n^3 flops (a third factorising, two thirds inverting)
  // on an n x n matrix, against the Gram matrix's sum of squared user history lengths.
  const double flops = static_cast<double>(n_) * static_cast<double>(n_) * static_cast<double>(n_);
  if (ctx.verbose)
    spdlog::info("ease: {} items: a {:.1f} GB item-item matrix and ~n^3 = {:.1e} flops to invert",
                 n_, need / 1e9, flops);

  // G = X^T X + lambda I, one row per item (rows are owned by one thread each: no races).
  b_.assign(static_cast<std::size_t>(n_) * static_cast<std::size_t>(n_), 0.0f);
  const CsrMatrix iu = ui.transposed();
  {
    Progress progress("ease: Gram matrix", static_cast<double>(n_), "items");
    std::atomic<index_t> done{0};
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
      const index_t d = ++done;
      if ((d & 255) == 0 && omp_get_thread_num() == 0) progress.update(static_cast<double>(d));
    }
    progress.finish();
  }
  // P = G^-1 in place. The matrix is symmetric, so row- and column-major agree; LAPACK fills one
  // triangle, which is mirrored afterwards. The factorisation shows its progress; the two
  // halves of the inverse (as many flops each as the factorisation) are LAPACK calls that
  // cannot, so each gets a line with its ETA from the factorisation's measured speed.
  const int n = static_cast<int>(n_);
  const auto t0 = std::chrono::steady_clock::now();
  {
    Progress progress("ease: Cholesky factor", flops / 3.0, "Gflop", 1e9);
    const int failed = blocked_cholesky(b_.data(), n, progress);
    RECKON_CHECK(failed == 0,
                 "ease: the Gram matrix is not positive definite (at column {}); raise lambda",
                 failed);
  }
  const double rate =
      flops / 3.0 /
      std::max(1e-3, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  const char lower = 'L', non_unit = 'N';
  int info = 0;
  auto phase = [&](const char* what) {
    if (ctx.verbose && flops > 1e11)  // under a second or so: not worth a line
      spdlog::info("ease: {} ({:.1e} flops): about {:.0f} s at the factorisation's {:.0f} GFlop/s",
                   what, flops / 3.0, flops / 3.0 / rate, rate / 1e9);
  };
  phase("inverting the factor");
  strtri_(&lower, &non_unit, &n, b_.data(), &n, &info);
  RECKON_CHECK(info == 0, "ease: inverting the Cholesky factor failed (LAPACK info {})", info);
  phase("multiplying the inverse factors");
  slauum_(&lower, &n, b_.data(), &n, &info);
  RECKON_CHECK(info == 0, "ease: forming the inverse failed (LAPACK info {})", info);
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

std::vector<std::vector<HistoryContribution>> EaseModel::explain_history(
    const UserContext& user, std::span<const index_t> items, std::size_t top) const {
  // score(j) = sum over the history of weight(h) * B[h][j].
  return history_contributions(user, items, top, [&](std::size_t h, std::size_t k) {
    const index_t from = user.history[h], to = items[k];
    if (from < 0 || from >= n_ || to < 0 || to >= n_) return 0.0f;
    const float w = user.weights.empty() ? 1.0f : user.weights[h];
    return w * b_[static_cast<std::size_t>(from) * static_cast<std::size_t>(n_) +
                  static_cast<std::size_t>(to)];
  });
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
