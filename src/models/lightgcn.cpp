#include "reckon/models/lightgcn.hpp"

#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/random.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/eval/metrics.hpp"
#include "reckon/io/json.hpp"
#include "reckon/prep/split.hpp"
#include "reckon/retrieval/topk.hpp"

namespace reckon {
namespace lightgcn {

Graph Graph::of(const CsrMatrix& r) {
  Graph g;
  g.users = r.rows();
  g.items = r.cols();
  const std::vector<index_t> item_degree = r.column_counts();
  const CsrMatrix t = r.transposed();
  g.indptr.reserve(static_cast<std::size_t>(g.nodes()) + 1);
  g.indptr.push_back(0);
  g.indices.reserve(2 * static_cast<std::size_t>(r.nnz()));
  g.values.reserve(2 * static_cast<std::size_t>(r.nnz()));
  const auto weight = [](index_t a, index_t b) {
    return static_cast<float>(1.0 / std::sqrt(static_cast<double>(a) * static_cast<double>(b)));
  };
  for (index_t u = 0; u < g.users; ++u) {
    for (index_t i : r.row_indices(u)) {
      g.indices.push_back(g.users + i);
      g.values.push_back(weight(r.row_size(u), item_degree[static_cast<std::size_t>(i)]));
    }
    g.indptr.push_back(static_cast<index_t>(g.indices.size()));
  }
  for (index_t i = 0; i < g.items; ++i) {
    for (index_t u : t.row_indices(i)) {
      g.indices.push_back(u);
      g.values.push_back(weight(r.row_size(u), t.row_size(i)));
    }
    g.indptr.push_back(static_cast<index_t>(g.indices.size()));
  }
  return g;
}

void Graph::multiply(const RowMatrix& in, RowMatrix& out, int threads) const {
  RECKON_ASSERT(in.rows() == nodes());
  out.resize(in.rows(), in.cols());
#pragma omp parallel for num_threads(threads) schedule(dynamic, 512)
  for (index_t r = 0; r < nodes(); ++r) {
    auto row = out.row(r);
    row.setZero();
    for (index_t k = indptr[static_cast<std::size_t>(r)]; k < indptr[static_cast<std::size_t>(r) + 1]; ++k)
      row += values[static_cast<std::size_t>(k)] * in.row(indices[static_cast<std::size_t>(k)]);
  }
}

RowMatrix propagate(const Graph& g, const RowMatrix& e0, int layers, int threads) {
  RowMatrix sum = e0, cur = e0, next;
  for (int k = 0; k < layers; ++k) {
    g.multiply(cur, next, threads);
    sum += next;
    std::swap(cur, next);
  }
  sum /= static_cast<float>(layers + 1);
  return sum;
}

double bpr_loss_and_gradient(const Graph& g, const RowMatrix& e0, int layers,
                             std::span<const Triple> triples, float l2, int threads,
                             RowMatrix& grad) {
  const RowMatrix f = propagate(g, e0, layers, threads);
  RowMatrix d = RowMatrix::Zero(e0.rows(), e0.cols());  // d loss / d final embeddings
  const auto n = static_cast<double>(std::max<std::size_t>(triples.size(), 1));
  double loss = 0, reg = 0;
  for (const Triple& t : triples) {
    const index_t u = t.user, i = g.users + t.positive, j = g.users + t.negative;
    const float x = f.row(u).dot(f.row(i) - f.row(j));
    loss += x > 0 ? std::log1p(std::exp(-x)) : -x + std::log1p(std::exp(x));
    const auto s = static_cast<float>(-1.0 / (1.0 + std::exp(static_cast<double>(x))) / n);
    d.row(u) += s * (f.row(i) - f.row(j));
    d.row(i) += s * f.row(u);
    d.row(j) -= s * f.row(u);
    reg += e0.row(u).squaredNorm() + e0.row(i).squaredNorm() + e0.row(j).squaredNorm();
  }
  // The final embeddings are (1/(K+1)) sum_k A^k e0 and A is symmetric: the gradient is the
  // same propagation of d.
  grad = propagate(g, d, layers, threads);
  const auto scale = static_cast<float>(l2 / n);
  for (const Triple& t : triples)
    for (index_t node : {t.user, g.users + t.positive, g.users + t.negative})
      grad.row(node) += scale * e0.row(node);
  return loss / n + 0.5 * l2 * reg / n;
}

}  // namespace lightgcn

namespace {

// Adam on a dense parameter matrix.
struct Adam {
  RowMatrix m, v;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  long step = 0;
  void update(RowMatrix& w, const RowMatrix& g, double lr, int threads) {
    if (m.size() == 0) m = RowMatrix::Zero(w.rows(), w.cols()), v = m;
    ++step;
    const double c1 = 1 - std::pow(beta1, static_cast<double>(step));
    const double c2 = 1 - std::pow(beta2, static_cast<double>(step));
    const auto a = static_cast<float>(lr * std::sqrt(c2) / c1);
    const auto b1 = static_cast<float>(beta1), b2 = static_cast<float>(beta2);
    const auto e = static_cast<float>(eps * std::sqrt(c2));
    float* wp = w.data();
    float* mp = m.data();
    float* vp = v.data();
    const float* gp = g.data();
    const Eigen::Index size = w.size();
#pragma omp parallel for num_threads(threads) schedule(static)
    for (Eigen::Index k = 0; k < size; ++k) {
      mp[k] = b1 * mp[k] + (1 - b1) * gp[k];
      vp[k] = b2 * vp[k] + (1 - b2) * gp[k] * gp[k];
      wp[k] -= a * mp[k] / (std::sqrt(vp[k]) + e);
    }
  }
};

// Mean recall@k of `valid`'s rows over `users`, ranked by the final embeddings `f` (users
// first) without the items of the same rows of `seen`.
double validation_recall(const RowMatrix& f, index_t n_users, const CsrMatrix& seen,
                         const CsrMatrix& valid, std::span<const index_t> users, std::size_t k,
                         int threads) {
  const auto items = f.bottomRows(f.rows() - n_users);
  double sum = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sum)
  {
    Eigen::VectorXf s;
    std::vector<ScoredItem> top;
    std::vector<index_t> ranked;
#pragma omp for schedule(dynamic, 16)
    for (std::size_t b = 0; b < users.size(); ++b) {
      const index_t u = users[b];
      s.noalias() = items * f.row(u).transpose();
      for (index_t i : seen.row_indices(u)) s[i] = -std::numeric_limits<float>::infinity();
      top_k(std::span<const float>(s.data(), static_cast<std::size_t>(s.size())), k, top);
      ranked.clear();
      for (const auto& t : top) ranked.push_back(t.item);
      sum += recall_at(ranked, Relevant{valid.row_indices(u), {}}, k);
    }
  }
  return users.empty() ? std::numeric_limits<double>::quiet_NaN()
                       : sum / static_cast<double>(users.size());
}

}  // namespace

std::vector<ParamSpec> LightGcnModel::param_specs() {
  return {
      {"factors", ParamType::kInt, "64", 1, 4096, "embedding size"},
      {"layers", ParamType::kInt, "3", 0, 8, "propagation layers (0: plain BPR-MF)"},
      {"epochs", ParamType::kInt, "1000", 1, 1000000,
       "the most passes, each drawing as many triples as interactions"},
      {"batch_size", ParamType::kInt, "2048", 1, 1 << 24,
       "triples per update (each update propagates over the whole graph: larger batches are "
       "cheaper per epoch)"},
      {"learning_rate", ParamType::kFloat, "0.001", 1e-7, 1, "Adam's step size"},
      {"l2", ParamType::kFloat, "0.0001", 0, 100,
       "L2 weight on the layer-0 embeddings of each batch (the published 1e-4)"},
      {"init_scale", ParamType::kFloat, "0.1", 0, 10,
       "standard deviation of the initial embeddings (the published 0.1)"},
      {"max_minutes", ParamType::kFloat, "0", 0, 1e6,
       "stop after this many minutes of training (0: no limit); the best epoch is kept"},
      {"patience", ParamType::kInt, "20", 0, 1000000,
       "stop after this many epochs without a better validation recall (0: never)"},
      {"validation", ParamType::kFloat, "0.05", 0, 0.5,
       "share of the training interactions held out to stop on (0: none); the final "
       "embeddings are propagated over all of them"},
      {"max_validation_users", ParamType::kInt, "5000", 1, 1 << 30,
       "the most users whose held-out interactions are scored"},
      {"validation_k", ParamType::kInt, "20", 1, 100000, "the cut-off of validation recall"},
      {"decay_patience", ParamType::kInt, "0", 0, 1000000,
       "multiply the learning rate by decay_factor after this many epochs without a better "
       "validation recall (0: a constant rate, as published)"},
      {"decay_factor", ParamType::kFloat, "0.5", 0.001, 1, "see decay_patience"},
      {"sampling",
       ParamType::kString,
       "interaction",
       0,
       -1,
       "how each triple's (user, seen item) is drawn: interaction (every fit interaction once "
       "an epoch) or user (a uniform user, then one of its items, as the published code: every "
       "user weighs the same, as in the per-user mean of recall)",
       {"interaction", "user"}},
  };
}

void LightGcnModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  const index_t factors = params.get_int("factors");
  const int layers = static_cast<int>(params.get_int("layers"));
  const int epochs = static_cast<int>(params.get_int("epochs"));
  const index_t batch = params.get_int("batch_size");
  double lr = params.get_float("learning_rate");
  const int decay_patience = static_cast<int>(params.get_int("decay_patience"));
  const double decay_factor = params.get_float("decay_factor");
  const auto l2 = static_cast<float>(params.get_float("l2"));
  const bool by_user = params.get_string("sampling") == "user";
  const double max_minutes = params.get_float("max_minutes");
  const int patience = static_cast<int>(params.get_int("patience"));
  const auto k = static_cast<std::size_t>(params.get_int("validation_k"));
  const int threads = std::max(1, ctx.threads > 0 ? ctx.threads : thread_budget());
  const CsrMatrix& x = train.interactions;
  const index_t users = x.rows(), items = x.cols();
  RECKON_CHECK(items > 0 && x.nnz() > 0, "lightgcn: the training data has no interactions");

  // The validation part: a random share of the interactions (never the test set).
  CsrMatrix fit_part = x, valid;
  std::vector<index_t> valid_users;
  if (params.get_float("validation") > 0) {
    SplitOptions so;
    so.kind = SplitKind::kRandom;
    so.test_fraction = params.get_float("validation");
    so.seed = ctx.seed ^ 0x6c67ULL;
    Split s = split_dataset(train, so);
    fit_part = std::move(s.train.interactions);
    valid = std::move(s.test);
    for (index_t u = 0; u < users; ++u)
      if (valid.row_size(u) > 0) valid_users.push_back(u);
    Rng pick(ctx.seed ^ 0x7661ULL);
    pick.shuffle(std::span<index_t>(valid_users));
    valid_users.resize(std::min<std::size_t>(
        valid_users.size(), static_cast<std::size_t>(params.get_int("max_validation_users"))));
    std::sort(valid_users.begin(), valid_users.end());
  }
  const bool validate = !valid_users.empty();
  const std::vector<index_t> degree = x.column_counts();
  item_degree_.assign(degree.begin(), degree.end());
  remember_history_sizes(x);
  const lightgcn::Graph graph = lightgcn::Graph::of(fit_part);
  RowMatrix e0(graph.nodes(), factors);
  random_init(e0, static_cast<float>(params.get_float("init_scale")), ctx.seed);

  // Every epoch draws as many triples as fit interactions: an interaction (each once, or a
  // uniform user's random one with sampling=user), and an item the user has not interacted
  // with (uniform, rejected against the sorted row).
  const std::vector<index_t> row_of = fit_part.row_ids();
  std::vector<index_t> active;  // users with a fit interaction
  for (index_t u = 0; u < users; ++u)
    if (fit_part.row_size(u) > 0) active.push_back(u);
  std::vector<lightgcn::Triple> triples(static_cast<std::size_t>(fit_part.nnz()));
  Rng rng(ctx.seed);
  Adam adam;
  RowMatrix grad, best;
  epochs_run_ = best_epoch_ = 0;
  best_validation_ = std::numeric_limits<double>::quiet_NaN();
  const auto t0 = std::chrono::steady_clock::now();
  double probe_seconds = 0;  // time in ctx.on_epoch, not training
  const auto minutes = [&] {
    return (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() -
            probe_seconds) /
           60;
  };
  int last_change = 0;  // the epoch of the last better validation or learning-rate decay
  Progress progress("fit lightgcn", static_cast<double>(epochs) * static_cast<double>(triples.size()),
                    "triples");
  double done = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    for (std::size_t n = 0; n < triples.size(); ++n) {
      const index_t u =
          by_user ? active[rng.below(static_cast<std::uint64_t>(active.size()))] : row_of[n];
      const auto seen = fit_part.row_indices(u);
      const index_t i =
          by_user ? seen[rng.below(static_cast<std::uint64_t>(seen.size()))] : fit_part.indices()[n];
      index_t j = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(items)));
      for (int tries = 0; tries < 32 && std::binary_search(seen.begin(), seen.end(), j); ++tries)
        j = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(items)));
      triples[n] = {u, i, j};
    }
    rng.shuffle(std::span<lightgcn::Triple>(triples));
    double loss_sum = 0;
    std::size_t steps = 0;
    for (std::size_t start = 0; start < triples.size(); start += static_cast<std::size_t>(batch)) {
      const auto part = std::span<const lightgcn::Triple>(triples).subspan(
          start, std::min(triples.size() - start, static_cast<std::size_t>(batch)));
      loss_sum += lightgcn::bpr_loss_and_gradient(graph, e0, layers, part, l2, threads, grad);
      adam.update(e0, grad, lr, threads);
      ++steps;
      done += static_cast<double>(part.size());
      progress.update(done);
    }
    epochs_run_ = epoch;
    const double loss = loss_sum / static_cast<double>(std::max<std::size_t>(steps, 1));
    RECKON_CHECK(std::isfinite(loss),
                 "lightgcn: the loss became {} in epoch {} (try a smaller learning_rate)", loss,
                 epoch);
    std::string note = fmt::format("epoch {}/{}, loss {:.4g}", epoch, epochs, loss);
    if (validate) {
      const RowMatrix f = lightgcn::propagate(graph, e0, layers, threads);
      const double v = validation_recall(f, users, fit_part, valid, valid_users, k, threads);
      if (std::isnan(best_validation_) || v > best_validation_) {
        best_validation_ = v, best_epoch_ = epoch, best = e0;
        last_change = epoch;
      } else if (decay_patience > 0 && epoch - last_change >= decay_patience) {
        lr *= decay_factor;  // a plateau: smaller steps settle Adam's noise
        last_change = epoch;
        if (ctx.verbose) spdlog::info("lightgcn: epoch {}, learning rate now {:.3g}", epoch, lr);
      }
      note += fmt::format(", validation recall@{} {:.4f} (best {:.4f}, epoch {}), {:.1f} min", k,
                          v, best_validation_, best_epoch_, minutes());
    } else {
      best_epoch_ = epoch;
    }
    if (ctx.on_epoch) {
      const auto p0 = std::chrono::steady_clock::now();
      const double trained = minutes();
      set_final_factors(x, validate ? best : e0, layers, threads);
      ctx.on_epoch(*this, epoch, trained);
      probe_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - p0).count();
    }
    progress.set_note(note);
    if (ctx.verbose && (epoch % 10 == 0 || epoch == 1)) spdlog::debug("lightgcn: {}", note);
    if (validate && patience > 0 && epoch - best_epoch_ >= patience) break;
    if (max_minutes > 0 && minutes() >= max_minutes) break;
  }
  progress.finish();
  seconds_per_epoch_ = minutes() * 60 / std::max(1, epochs_run_);
  if (validate) e0 = std::move(best);
  if (ctx.verbose)
    spdlog::info("lightgcn: {} epochs ({:.1f} s each), best epoch {}{}", epochs_run_,
                 seconds_per_epoch_, best_epoch_,
                 validate ? fmt::format(" (validation recall@{} {:.4f})", k, best_validation_) : "");

  set_final_factors(x, e0, layers, threads);
}

void LightGcnModel::set_final_factors(const CsrMatrix& train, const RowMatrix& e0, int layers,
                                      int threads) {
  // The final embeddings over the whole training graph (the held-out edges included).
  const lightgcn::Graph full = lightgcn::Graph::of(train);
  const RowMatrix f = lightgcn::propagate(full, e0, layers, threads);
  user_factors_ = f.topRows(train.rows());
  item_factors_ = f.bottomRows(train.cols());
  factors_changed();
}

// One propagation step from the history's items: sum of their final embeddings, each over
// sqrt(its degree), over sqrt(the history's length), as the graph would give a user with them.
Eigen::VectorXf LightGcnModel::fold_in(const UserContext& user) const {
  Eigen::VectorXf v = Eigen::VectorXf::Zero(item_factors_.cols());
  std::size_t n = 0;
  for (index_t i : user.history) {
    if (i < 0 || i >= item_factors_.rows()) continue;
    v += item_factors_.row(i).transpose() /
         std::sqrt(std::max(item_degree_[static_cast<std::size_t>(i)], 1.0f));
    ++n;
  }
  if (n > 0) v /= std::sqrt(static_cast<float>(n));
  return v;
}

nlohmann::json LightGcnModel::describe() const {
  nlohmann::json training = {{"epochs_run", epochs_run_},
                             {"best_epoch", best_epoch_},
                             {"seconds_per_epoch", seconds_per_epoch_}};
  if (std::isfinite(best_validation_)) training["validation_recall"] = best_validation_;
  return {{"training", training}};
}

void LightGcnModel::save_extra(BinaryWriter& w) const {
  w.put_vector(item_degree_);
  w.put(epochs_run_);
  w.put(best_epoch_);
  w.put(best_validation_);
  w.put(seconds_per_epoch_);
}

void LightGcnModel::load_extra(BinaryReader& r) {
  item_degree_ = r.get_vector<float>();
  for (float d : item_degree_)
    RECKON_CHECK(std::isfinite(d) && d >= 0, "{}: corrupt lightgcn item degree {}", r.what(), d);
  epochs_run_ = r.get<std::int32_t>();
  best_epoch_ = r.get<std::int32_t>();
  best_validation_ = r.get<double>();
  seconds_per_epoch_ = r.get<double>();
}

void LightGcnModel::validate_extra(const Dataset& train) const {
  RECKON_CHECK(item_degree_.size() == static_cast<std::size_t>(train.num_items()),
               "lightgcn model has {} item degrees, the data has {} items", item_degree_.size(),
               train.num_items());
}

}  // namespace reckon
