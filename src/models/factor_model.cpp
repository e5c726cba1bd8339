#include "reckon/models/factor_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "reckon/core/error.hpp"
#include "reckon/core/random.hpp"
#include "reckon/retrieval/ann_index.hpp"
#include "reckon/retrieval/topk.hpp"

namespace reckon {

Eigen::MatrixXf gram_matrix(Eigen::Ref<const FactorMatrix> y, int threads) {
  const Eigen::Index f = y.cols(), n = y.rows();
  constexpr Eigen::Index kChunk = 2048;  // rows per task: 0.5 MB at 64 factors
  const Eigen::Index chunks = (n + kChunk - 1) / kChunk;
  Eigen::MatrixXf sum = Eigen::MatrixXf::Zero(f, f);
  if (f == 0 || n == 0) return sum;  // Eigen's product of an empty block reads a null pointer
#pragma omp parallel num_threads(std::max(1, threads)) if (chunks > 1)
  {
    // Lower triangles only (a rank-k update: half the flops of a full product), mirrored at
    // the end. Eigen runs single-threaded inside our region.
    Eigen::MatrixXf part = Eigen::MatrixXf::Zero(f, f);
#pragma omp for schedule(dynamic, 1) nowait
    for (Eigen::Index c = 0; c < chunks; ++c) {
      const Eigen::Index first = c * kChunk, rows = std::min(kChunk, n - first);
      part.selfadjointView<Eigen::Lower>().rankUpdate(y.middleRows(first, rows).transpose());
    }
#pragma omp critical(reckon_gram_matrix)
    sum.triangularView<Eigen::Lower>() += part;
  }
  sum.triangularView<Eigen::StrictlyUpper>() = sum.transpose();
  return sum;
}

void random_init(FactorMatrix& m, float scale, std::uint64_t seed) {
  Rng rng(seed);
  float* p = m.data();
  const Eigen::Index n = m.size();
  for (Eigen::Index i = 0; i < n; i += 2) {
    const double u1 = std::max(rng.uniform(), 1e-12), u2 = rng.uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    p[i] = static_cast<float>(scale * r * std::cos(2 * M_PI * u2));
    if (i + 1 < n) p[i + 1] = static_cast<float>(scale * r * std::sin(2 * M_PI * u2));
  }
}

namespace {

// Cosine as the inner product of unit vectors (zero vectors stay zero: they score 0).
void normalize_rows(RowMatrix& m) {
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    const float norm = m.row(i).norm();
    if (norm > 0) m.row(i) /= norm;
  }
}

RowMatrix unit_rows(const FactorMatrix& m) {
  RowMatrix unit = m;
  normalize_rows(unit);
  return unit;
}

}  // namespace

const ItemSearch& FactorModel::search_index() const {
  std::lock_guard lock(index_mutex_);
  if (!index_) {
    if (ann_applies(ann_, item_factors_.rows()))
      index_ = std::make_shared<const AnnIndex>(item_factors_, item_biases(), ann_);
    else
      index_ = std::make_shared<const InnerProductIndex>(item_factors_, item_biases());
  }
  return *index_;
}

const ItemSearch* FactorModel::similar_index() const {
  if (!ann_applies(ann_, item_factors_.rows())) return nullptr;
  std::lock_guard lock(index_mutex_);
  if (!similar_index_)  // the index keeps its own copy: the unit vectors are not kept here
    similar_index_ =
        std::make_shared<const AnnIndex>(unit_rows(item_factors_), std::span<const float>{}, ann_);
  return similar_index_.get();
}

void FactorModel::set_ann(const AnnOptions& options) {
  (void)ann_applies(options, item_factors_.rows());  // on without FAISS: the error now
  {
    std::lock_guard lock(index_mutex_);
    ann_ = options;
    index_.reset();
    similar_index_.reset();
  }
  if (item_factors_.rows() > 0) (void)search_index();  // built now, on the caller's threads
}

std::string FactorModel::retrieval() const { return search_index().describe(); }

std::optional<std::string> use_ann(Model& model, const AnnOptions& options) {
  auto* factors = dynamic_cast<FactorModel*>(&model);
  if (!factors) return std::nullopt;
  factors->set_ann(options);
  return factors->retrieval();
}

void FactorModel::factors_changed() {
  std::lock_guard lock(index_mutex_);
  index_.reset();
  similar_index_.reset();
}

void FactorModel::remember_history_sizes(const CsrMatrix& train) {
  // Every fit starts here: an index of earlier factors is stale.
  factors_changed();
  history_sizes_.resize(static_cast<std::size_t>(train.rows()));
  for (index_t u = 0; u < train.rows(); ++u)
    history_sizes_[u] = static_cast<std::int32_t>(train.row_size(u));
}

Eigen::VectorXf FactorModel::user_vector(const UserContext& user) const {
  if (user.user && *user.user >= 0 && *user.user < user_factors_.rows() &&
      static_cast<std::size_t>(*user.user) < history_sizes_.size() &&
      static_cast<std::size_t>(history_sizes_[*user.user]) == user.history.size())
    return user_factors_.row(*user.user).transpose();
  return fold_in(user);
}

void FactorModel::score(const UserContext& user, std::span<float> out) const {
  RECKON_ASSERT(static_cast<Eigen::Index>(out.size()) == item_factors_.rows());
  const Eigen::VectorXf u = user_vector(user);
  Eigen::Map<Eigen::VectorXf> s(out.data(), static_cast<Eigen::Index>(out.size()));
  s.noalias() = item_factors_ * u;
  add_biases(user, out);
}

void FactorModel::add_biases(const UserContext& user, std::span<float> out) const {
  const auto bias = item_biases();
  const float offset = user_offset(user);
  if (bias.empty() && offset == 0.0f) return;
  for (std::size_t i = 0; i < out.size(); ++i) out[i] += offset + (bias.empty() ? 0.0f : bias[i]);
}

bool FactorModel::top_k_batch(std::span<const UserContext> users, std::size_t k,
                              std::vector<std::vector<ScoredItem>>& out) const {
  const auto b = static_cast<Eigen::Index>(users.size());
  FactorMatrix u(b, item_factors_.cols());
  std::vector<InnerProductQuery> queries(users.size());
  std::vector<std::vector<col_t>> sorted;  // only for histories that are not sorted already
  for (Eigen::Index r = 0; r < b; ++r) {
    const UserContext& ctx = users[static_cast<std::size_t>(r)];
    u.row(r) = user_vector(ctx).transpose();
    queries[static_cast<std::size_t>(r)].offset = user_offset(ctx);
    if (std::is_sorted(ctx.history.begin(), ctx.history.end())) {
      queries[static_cast<std::size_t>(r)].exclude = ctx.history;
    } else {
      sorted.emplace_back(ctx.history.begin(), ctx.history.end());
      std::sort(sorted.back().begin(), sorted.back().end());
    }
  }
  // Point the unsorted ones at their sorted copies (after `sorted` stopped growing).
  std::size_t next = 0;
  for (Eigen::Index r = 0; r < b; ++r) {
    const UserContext& ctx = users[static_cast<std::size_t>(r)];
    if (!std::is_sorted(ctx.history.begin(), ctx.history.end()))
      queries[static_cast<std::size_t>(r)].exclude = sorted[next++];
  }
  search_index().top_k(u, queries, k, out);
  return true;
}

void FactorModel::score_batch(std::span<const UserContext> users, std::span<float> out) const {
  const auto b = static_cast<Eigen::Index>(users.size());
  const Eigen::Index n = item_factors_.rows();
  RECKON_ASSERT(static_cast<Eigen::Index>(out.size()) == b * n);
  FactorMatrix u(b, item_factors_.cols());
  for (Eigen::Index r = 0; r < b; ++r)
    u.row(r) = user_vector(users[static_cast<std::size_t>(r)]).transpose();
  Eigen::Map<FactorMatrix> o(out.data(), b, n);
  o.noalias() = u * item_factors_.transpose();
  for (Eigen::Index r = 0; r < b; ++r)
    add_biases(users[static_cast<std::size_t>(r)],
               out.subspan(static_cast<std::size_t>(r * n), static_cast<std::size_t>(n)));
}

std::vector<ScoredItem> FactorModel::similar_items(index_t item, std::size_t k) const {
  RECKON_CHECK(item >= 0 && item < item_factors_.rows(), "item index {} out of range", item);
  if (similar_index()) {
    std::vector<std::vector<ScoredItem>> out;
    similar_items_batch(std::span<const index_t>(&item, 1), k, out);
    return std::move(out.front());
  }
  const Eigen::VectorXf norms = item_factors_.rowwise().norm();
  Eigen::VectorXf s = item_factors_ * item_factors_.row(item).transpose();
  for (Eigen::Index i = 0; i < s.size(); ++i)
    s[i] = norms[i] > 0 && norms[item] > 0 ? s[i] / (norms[i] * norms[item]) : 0.0f;
  s[item] = -std::numeric_limits<float>::infinity();
  std::vector<ScoredItem> out;
  top_k(std::span<const float>(s.data(), static_cast<std::size_t>(s.size())), k, out);
  return out;
}

std::vector<ScoredItem> FactorModel::similar_to_vector(Eigen::Ref<const Eigen::VectorXf> v,
                                                      std::size_t k) const {
  const float norm = v.norm();
  Eigen::VectorXf s = item_factors_ * v;
  const Eigen::VectorXf norms = item_factors_.rowwise().norm();
  for (Eigen::Index i = 0; i < s.size(); ++i)
    s[i] = norms[i] > 0 && norm > 0 ? s[i] / (norms[i] * norm) : 0.0f;
  std::vector<ScoredItem> out;
  top_k(std::span<const float>(s.data(), static_cast<std::size_t>(s.size())), k, out);
  return out;
}

// Cosine similarity as inner products of normalised factors, a block of items at a time: exactly
// similar_items()'s lists (zero vectors score 0 against everything in both).
void FactorModel::similar_items_batch(std::span<const index_t> items, std::size_t k,
                                      std::vector<std::vector<ScoredItem>>& out) const {
  const Eigen::Index n = item_factors_.rows();
  RowMatrix queries(static_cast<Eigen::Index>(items.size()), item_factors_.cols());
  std::vector<InnerProductQuery> q(items.size());
  std::vector<col_t> self(items.size());  // each query excludes its own item
  for (std::size_t b = 0; b < items.size(); ++b) {
    RECKON_CHECK(items[b] >= 0 && items[b] < n, "item index {} out of range", items[b]);
    queries.row(static_cast<Eigen::Index>(b)) = item_factors_.row(items[b]);
    self[b] = static_cast<col_t>(items[b]);
    q[b].exclude = std::span<const col_t>(self).subspan(b, 1);
  }
  normalize_rows(queries);
  if (const ItemSearch* ann = similar_index())
    ann->top_k(queries, q, k, out);
  else
    inner_product_top_k(queries, unit_rows(item_factors_), {}, q, k, out);
}

// Written and read straight from and into the matrix: a copy on the way held the largest array of
// a model twice (1.3 GB more at save and at load for 5M users x 64 factors).
void write_factor_matrix(BinaryWriter& w, const FactorMatrix& m) {
  w.put<std::int64_t>(m.rows());
  w.put<std::int64_t>(m.cols());
  w.put_vector(std::span<const float>(m.data(), static_cast<std::size_t>(m.size())));
}
FactorMatrix read_factor_matrix(BinaryReader& r) {
  const auto rows = r.get<std::int64_t>(), cols = r.get<std::int64_t>();
  const auto n = r.get<std::uint64_t>();  // put_vector's count, then the floats
  // Both bounded before the product so that it cannot overflow, and the floats must be there
  // before the matrix is allocated.
  RECKON_CHECK(rows >= 0 && cols >= 0 && rows <= (std::int64_t{1} << 40) && cols <= (1 << 20) &&
                   n == static_cast<std::uint64_t>(rows * cols),
               "{}: corrupt factor matrix", r.what());
  const std::string_view floats = r.get_bytes(n * sizeof(float));
  FactorMatrix m(rows, cols);
  if (n > 0) std::memcpy(m.data(), floats.data(), floats.size());
  return m;
}

void FactorModel::save(BinaryWriter& w) const {
  write_factor_matrix(w, user_factors_);
  write_factor_matrix(w, item_factors_);
  w.put_vector(history_sizes_);
  save_extra(w);
}

void FactorModel::load(BinaryReader& r) {
  user_factors_ = read_factor_matrix(r);
  item_factors_ = read_factor_matrix(r);
  history_sizes_ = r.get_vector<std::int32_t>();
  factors_changed();
  RECKON_CHECK(user_factors_.cols() == item_factors_.cols(),
               "{}: corrupt model (factor sizes differ)", r.what());
  RECKON_CHECK(item_factors_.cols() >= 1 || (item_factors_.rows() == 0 && user_factors_.rows() == 0),
               "{}: corrupt model (no factors)", r.what());
  load_extra(r);
}

void FactorModel::validate(const Dataset& train) const {
  RECKON_CHECK(user_factors_.rows() == train.num_users() &&
                   item_factors_.rows() == train.num_items() &&
                   history_sizes_.size() == static_cast<std::size_t>(train.num_users()),
               "{} has factors for {} users and {} items, the data has {} and {}", name(),
               user_factors_.rows(), item_factors_.rows(), train.num_users(), train.num_items());
  validate_extra(train);
}

}  // namespace reckon
