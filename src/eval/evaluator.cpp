#include "reckon/eval/evaluator.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "reckon/core/distributed.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/random.hpp"
#include "reckon/eval/metrics.hpp"
#include "reckon/retrieval/fallback.hpp"
#include "reckon/retrieval/topk.hpp"

namespace reckon {
namespace {

using RankingFn = double (*)(std::span<const index_t>, const Relevant&, std::size_t);

RankingFn ranking_fn(const std::string& name) {
  if (name == "precision") return precision_at;
  if (name == "recall") return recall_at;
  if (name == "f1") return f1_at;
  if (name == "ndcg") return ndcg_at;
  if (name == "map") return ap_at;
  if (name == "mrr") return reciprocal_rank_at;
  if (name == "hitrate") return hit_at;
  return nullptr;
}

// Per-thread sums, reduced at the end.
struct Accumulator {
  std::vector<double> ranking;                        // [metric][k]
  std::vector<double> novelty, diversity, cold_hits;  // [k]
  std::vector<std::vector<bool>> recommended;         // [k][item]
  double auc = 0, sq_err = 0, abs_err = 0;
  index_t rated = 0, users = 0, cold_users = 0, auc_users = 0;
};

// Every rank's sums added up, on every rank (distributed evaluation); an item counts as
// recommended when any rank recommended it.
void add_over_ranks(Communicator& comm, Accumulator& a, index_t n_items) {
  std::vector<double> flat;
  const auto put = [&](const std::vector<double>& v) { flat.insert(flat.end(), v.begin(), v.end()); };
  put(a.ranking);
  put(a.novelty);
  put(a.diversity);
  put(a.cold_hits);
  for (const double x : {a.auc, a.sq_err, a.abs_err, static_cast<double>(a.rated),
                         static_cast<double>(a.users), static_cast<double>(a.cold_users),
                         static_cast<double>(a.auc_users)})
    flat.push_back(x);
  for (const auto& rec : a.recommended)
    for (index_t i = 0; i < n_items; ++i) flat.push_back(rec[static_cast<std::size_t>(i)] ? 1 : 0);
  comm.sum(flat);
  std::size_t at = 0;
  const auto take = [&](std::vector<double>& v) {
    for (auto& x : v) x = flat[at++];
  };
  take(a.ranking);
  take(a.novelty);
  take(a.diversity);
  take(a.cold_hits);
  a.auc = flat[at++];
  a.sq_err = flat[at++];
  a.abs_err = flat[at++];
  a.rated = static_cast<index_t>(flat[at++]);
  a.users = static_cast<index_t>(flat[at++]);
  a.cold_users = static_cast<index_t>(flat[at++]);
  a.auc_users = static_cast<index_t>(flat[at++]);
  for (auto& rec : a.recommended)
    for (index_t i = 0; i < n_items; ++i) rec[static_cast<std::size_t>(i)] = flat[at++] > 0;
}

// Labels (sorted codes) of the first multi-categorical item column: genres, tags, ...
std::vector<std::vector<std::int32_t>> item_labels(const Dataset& d) {
  const FeatureColumn* col = d.item_features.find("genres");
  if (!col || col->kind() != FeatureKind::kMultiCategorical) col = d.item_features.find("tags");
  if (!col || col->kind() != FeatureKind::kMultiCategorical) {
    for (const auto& c : d.item_features.columns())
      if (c.kind() == FeatureKind::kMultiCategorical) {
        col = &c;
        break;
      }
  }
  if (!col || col->kind() != FeatureKind::kMultiCategorical) return {};
  std::vector<std::vector<std::int32_t>> labels(static_cast<std::size_t>(d.num_items()));
  for (index_t i = 0; i < d.num_items(); ++i) {
    auto c = col->codes(i);
    labels[i].assign(c.begin(), c.end());
    std::sort(labels[i].begin(), labels[i].end());
  }
  return labels;
}

}  // namespace

ModelReport report_row(const std::string& label, const TrainedModel& t, const EvalResult& r) {
  ModelReport m;
  m.name = label;
  m.params = t.params.to_json();
  m.fit_seconds = t.fit_seconds;
  m.evaluate_seconds = r.seconds;
  m.peak_rss_mb = peak_rss_mb();
  m.users = r.users;
  m.metrics = r.metrics;
  return m;
}

std::string candidates_label(const EvalOptions& o) {
  if (!o.sampled) return o.include_seen ? "all" : "all-unseen";
  return fmt::format("sampled-{}-{}", o.negatives,
                     o.popularity_negatives ? "popularity" : "uniform");
}

EvalResult evaluate(const Model& model, const Dataset& train, const CsrMatrix& test,
                    const CsrMatrix& foldin, const EvalOptions& o,
                    const EventLog* foldin_events) {
  const auto t0 = std::chrono::steady_clock::now();
  const CsrMatrix& hist = train.interactions;
  const index_t n_items = train.num_items();
  RECKON_CHECK(test.rows() == hist.rows() && test.cols() == n_items,
               "test matrix is {}x{}, training data {}x{}", test.rows(), test.cols(), hist.rows(),
               n_items);
  const bool has_foldin = foldin.nnz() > 0;
  RECKON_CHECK(!has_foldin || (foldin.rows() == hist.rows() && foldin.cols() == n_items),
               "fold-in matrix does not have the training data's shape");
  RECKON_CHECK(!o.ks.empty(), "no k given");
  for (auto k : o.ks) RECKON_CHECK(k >= 1 && k <= 10000, "k must be in [1, 10000], got {}", k);
  RECKON_CHECK(!o.sampled || o.negatives >= 1, "sampled ranking needs at least one negative");
  RECKON_CHECK(!o.sampled || !o.include_seen,
               "ranking the items a user has seen (--include-seen) is a full-ranking protocol; "
               "drop --sampled");
  // A model that reads sequences gets a known user's events, repeats included, when the data
  // kept them; every other model reads the merged matrix.
  const EventLog* events =
      !train.events.empty() && model.reads_event_history() ? &train.events : nullptr;
  if (!model.reads_event_history() || (foldin_events && foldin_events->empty()))
    foldin_events = nullptr;
  RECKON_CHECK(!foldin_events || (foldin_events->rows() == hist.rows() &&
                                  foldin_events->cols() == n_items),
               "fold-in events do not have the training data's shape");

  // Which metrics, split by kind.
  const std::vector<std::string> names = o.metrics.empty() ? default_metrics() : o.metrics;
  std::vector<std::string> ranking;
  bool want_cov = false, want_nov = false, want_div = false, want_cold = false, want_auc = false,
       want_rmse = false, want_mae = false;
  for (const auto& n : names) {
    const MetricInfo& info = find_metric(n);
    if (info.kind == MetricKind::kRanking) ranking.push_back(n);
    want_cov |= n == "coverage";
    want_nov |= n == "novelty";
    want_div |= n == "diversity";
    want_cold |= n == "coldcoverage";
    want_auc |= n == "auc";
    want_rmse |= n == "rmse";
    want_mae |= n == "mae";
  }
  const bool rating = (want_rmse || want_mae) && model.predicts_ratings();
  // Predicted ratings are clipped to the training range (as Surprise and LibRec do).
  float rating_lo = 0, rating_hi = 0;
  if (rating && hist.nnz() > 0) {
    const auto [lo, hi] = std::minmax_element(hist.values().begin(), hist.values().end());
    rating_lo = *lo;
    rating_hi = *hi;
  }
  std::vector<RankingFn> fns;
  for (const auto& n : ranking) fns.push_back(ranking_fn(n));
  const auto labels = want_div ? item_labels(train) : std::vector<std::vector<std::int32_t>>{};
  if (want_div && labels.empty()) want_div = false;

  // Popularity over training users: self-information for novelty, weights for sampled negatives.
  std::vector<double> item_users(static_cast<std::size_t>(n_items), 0.0);
  for (index_t c : hist.indices()) item_users[c] += 1;
  if (has_foldin)
    for (index_t c : foldin.indices()) item_users[c] += 1;
  const double n_users = static_cast<double>(std::max<index_t>(hist.rows(), 1));
  std::vector<double> self_info(item_users.size());
  for (std::size_t i = 0; i < self_info.size(); ++i)
    self_info[i] = -std::log2(std::max(item_users[i], 1.0) / n_users);
  std::vector<double> cumulative;
  if (o.sampled && o.popularity_negatives) {
    cumulative.resize(item_users.size());
    std::partial_sum(item_users.begin(), item_users.end(), cumulative.begin());
  }

  const std::size_t max_k = *std::max_element(o.ks.begin(), o.ks.end());
  std::vector<index_t> users;
  index_t test_in_history = 0;
  for (index_t u = 0; u < test.rows(); ++u) {
    if (test.row_size(u) == 0) continue;
    users.push_back(u);
    const auto t = test.row_indices(u);
    const auto h = (has_foldin && foldin.row_size(u) > 0 ? foldin : hist).row_indices(u);
    for (const index_t i : t) test_in_history += std::binary_search(h.begin(), h.end(), i);
  }

  // Distributed (evaluate --distributed): each rank scores every size()-th user, and the sums
  // are added over the ranks after the local reduction.
  Communicator* comm = distributed();
  if (comm && comm->size() < 2) comm = nullptr;
  if (comm) {
    std::vector<index_t> mine;
    for (auto j = static_cast<std::size_t>(comm->rank()); j < users.size();
         j += static_cast<std::size_t>(comm->size()))
      mine.push_back(users[j]);
    users = std::move(mine);
  }

  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  std::vector<Accumulator> acc(static_cast<std::size_t>(threads));
  for (auto& a : acc) {
    a.ranking.assign(fns.size() * o.ks.size(), 0.0);
    a.novelty.assign(o.ks.size(), 0.0);
    a.diversity.assign(o.ks.size(), 0.0);
    a.cold_hits.assign(o.ks.size(), 0.0);
    if (want_cov)
      a.recommended.assign(o.ks.size(),
                           std::vector<bool>(static_cast<std::size_t>(n_items), false));
  }
  Progress progress(fmt::format("evaluate {}", model.name()), static_cast<double>(users.size()),
                    "users");
  if (!o.progress) progress.finish();
  std::atomic<index_t> done{0};
  std::exception_ptr error;

  // Users are scored in blocks so that factor models can use one matrix product per block.
  // Full ranking with only list metrics can use the model's own top-k (tiled inner products for
  // factor models) in bigger blocks; everything else scores every item.
  // Users without any history are ranked by the fallback, as recommend and serve rank them.
  const Fallback fallback(train);
  std::vector<std::vector<ScoredItem>> probe;
  const bool fast = !o.sampled && !want_auc && !rating && !o.include_seen &&
                    model.top_k_batch({}, max_k, probe);
  const std::size_t kBlock = fast ? 256 : 32;
  const std::size_t n_blocks = (users.size() + kBlock - 1) / kBlock;
#pragma omp parallel num_threads(threads)
  {
    Accumulator& a = acc[static_cast<std::size_t>(omp_get_thread_num())];
    std::vector<float> block_scores(fast ? 0 : kBlock * static_cast<std::size_t>(n_items));
    std::vector<std::vector<ScoredItem>> lists;
    std::vector<UserContext> contexts;
    std::vector<ScoredItem> top;
    std::vector<index_t> ranked;
    std::vector<index_t> candidates;
    std::vector<float> candidate_scores;
    std::vector<float> pos, neg;
#pragma omp for schedule(dynamic, 1)
    for (std::size_t blk = 0; blk < n_blocks; ++blk) {
      if (error) continue;
      try {
        const std::size_t first = blk * kBlock;
        const std::size_t last = std::min(users.size(), first + kBlock);
        contexts.clear();
        for (std::size_t ui = first; ui < last; ++ui) {
          const index_t u = users[ui];
          const bool held_out = has_foldin && foldin.row_size(u) > 0;
          const CsrMatrix& h = held_out ? foldin : hist;
          UserContext ctx;
          if (!held_out) ctx.user = u;
          if (const EventLog* e = held_out ? foldin_events : events) {
            ctx.history = e->row(u);
            ctx.weights = e->row_values(u);
            ctx.times = e->row_times(u);
          } else {
            ctx.history = h.row_indices(u);
            ctx.weights = h.row_values(u);
            ctx.times = h.row_times(u);
          }
          ctx.features = &train.user_features;
          ctx.feature_row = u;
          // The request's moment: the user's first test interaction (time-aware models).
          for (std::int64_t t : test.row_times(u))
            if (t != kNoTime && (!ctx.at || t < *ctx.at)) ctx.at = t;
          contexts.push_back(ctx);
        }
        if (fast) {
          model.top_k_batch(contexts, max_k, lists);
          for (std::size_t b = 0; b < contexts.size(); ++b) {
            if (!contexts[b].history.empty() || model.scores_without_history(contexts[b]))
              continue;
            block_scores.resize(static_cast<std::size_t>(n_items));
            fallback.score(Demographics::of(train.user_features, users[first + b]), block_scores);
            top_k(block_scores, max_k, lists[b]);
          }
        } else {
          model.score_batch(contexts,
                            std::span<float>(block_scores.data(),
                                             contexts.size() * static_cast<std::size_t>(n_items)));
        }
        for (std::size_t b = 0; b < contexts.size(); ++b) {
          const index_t u = users[first + b];
          const UserContext& ctx = contexts[b];
          const auto test_items = test.row_indices(u);
          const auto test_values = test.row_values(u);
          Relevant rel{test_items, o.graded ? test_values : std::span<const float>{}};
          ranked.clear();
          if (fast) {
            for (const auto& s : lists[b]) ranked.push_back(s.item);
          } else {
            std::span<float> scores(block_scores.data() + b * static_cast<std::size_t>(n_items),
                                    static_cast<std::size_t>(n_items));
            if (rating) {
              for (std::size_t j = 0; j < test_items.size(); ++j) {
                const double e =
                    static_cast<double>(std::clamp(scores[test_items[j]], rating_lo, rating_hi)) -
                    test_values[j];
                a.sq_err += e * e;
                a.abs_err += std::abs(e);
              }
              a.rated += static_cast<index_t>(test_items.size());
            }
            // Ratings above come from the model (biases predict a rating for anyone); the
            // ranking of a user without history comes from the fallback.
            if (ctx.history.empty() && !model.scores_without_history(ctx))
              fallback.score(Demographics::of(train.user_features, u), scores);
            if (!o.include_seen) mask(scores, ctx.history);

            if (want_auc) {
              pos.clear();
              neg.clear();
              for (index_t i : test_items) pos.push_back(scores[i]);
              const float neg_inf = -std::numeric_limits<float>::infinity();
              for (index_t i = 0; i < n_items; ++i)
                if (scores[i] > neg_inf && !rel.contains(i)) neg.push_back(scores[i]);
              a.auc += auc(pos, neg);
              ++a.auc_users;
            }

            if (!o.sampled) {
              top_k(scores, max_k, top);
              for (const auto& s : top) ranked.push_back(s.item);
            } else {
              // Candidates: the test items plus `negatives` unseen, non-test items per user.
              Rng rng(o.seed ^ (static_cast<std::uint64_t>(u) * 0x9E3779B97F4A7C15ull));
              candidates.assign(test_items.begin(), test_items.end());
              const index_t available = n_items - static_cast<index_t>(ctx.history.size()) -
                                        static_cast<index_t>(test_items.size());
              const index_t want = std::min<index_t>(o.negatives, std::max<index_t>(available, 0));
              index_t got = 0, tries = 0;
              while (got < want && tries < want * 50) {
                ++tries;
                index_t i;
                if (cumulative.empty()) {
                  i = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(n_items)));
                } else {
                  const double x = rng.uniform() * cumulative.back();
                  i = static_cast<index_t>(
                      std::upper_bound(cumulative.begin(), cumulative.end(), x) -
                      cumulative.begin());
                  i = std::min(i, n_items - 1);
                }
                if (!(scores[i] > -std::numeric_limits<float>::infinity()) || rel.contains(i))
                  continue;
                if (std::find(candidates.begin() + static_cast<std::ptrdiff_t>(test_items.size()),
                              candidates.end(), i) != candidates.end())
                  continue;
                candidates.push_back(i);
                ++got;
              }
              candidate_scores.clear();
              for (index_t i : candidates) candidate_scores.push_back(scores[i]);
              top_k(candidate_scores, max_k, top);
              // Ties between candidates break by candidate position; map back to items.
              for (const auto& s : top) ranked.push_back(candidates[s.item]);
            }
          }
          const bool cold = static_cast<index_t>(ctx.history.size()) <= o.cold_threshold;
          a.cold_users += cold;
          ++a.users;
          for (std::size_t ki = 0; ki < o.ks.size(); ++ki) {
            const std::size_t k = o.ks[ki];
            for (std::size_t m = 0; m < fns.size(); ++m)
              a.ranking[m * o.ks.size() + ki] += fns[m](ranked, rel, k);
            if (want_nov) a.novelty[ki] += novelty_at(ranked, self_info, k);
            if (want_div) a.diversity[ki] += diversity_at(ranked, labels, k);
            if (want_cold && cold) a.cold_hits[ki] += hit_at(ranked, rel, k);
            if (want_cov)
              for (std::size_t j = 0; j < std::min(k, ranked.size()); ++j)
                a.recommended[ki][ranked[j]] = true;
          }
        }
      } catch (...) {
#pragma omp critical
        error = std::current_exception();
      }
      const index_t d =
          (done += static_cast<index_t>(std::min(users.size(), (blk + 1) * kBlock) - blk * kBlock));
      if (o.progress && omp_get_thread_num() == 0) progress.update(static_cast<double>(d));
    }
  }
  if (error) std::rethrow_exception(error);
  progress.finish();

  // Reduce.
  Accumulator total = acc[0];
  for (std::size_t t = 1; t < acc.size(); ++t) {
    const auto& a = acc[t];
    for (std::size_t j = 0; j < total.ranking.size(); ++j) total.ranking[j] += a.ranking[j];
    for (std::size_t j = 0; j < o.ks.size(); ++j) {
      total.novelty[j] += a.novelty[j];
      total.diversity[j] += a.diversity[j];
      total.cold_hits[j] += a.cold_hits[j];
      if (want_cov)
        for (index_t i = 0; i < n_items; ++i)
          if (a.recommended[j][i]) total.recommended[j][i] = true;
    }
    total.auc += a.auc;
    total.sq_err += a.sq_err;
    total.abs_err += a.abs_err;
    total.rated += a.rated;
    total.users += a.users;
    total.cold_users += a.cold_users;
    total.auc_users += a.auc_users;
  }
  if (comm) add_over_ranks(*comm, total, n_items);
  EvalResult r;
  r.users = total.users;
  r.cold_users = total.cold_users;
  r.test_in_history = test_in_history;
  const double nu = std::max<double>(1.0, static_cast<double>(total.users));
  for (std::size_t ki = 0; ki < o.ks.size(); ++ki) {
    const std::string at = fmt::format("@{}", o.ks[ki]);
    for (std::size_t m = 0; m < fns.size(); ++m)
      r.metrics[ranking[m] + at] = total.ranking[m * o.ks.size() + ki] / nu;
    if (want_nov) r.metrics["novelty" + at] = total.novelty[ki] / nu;
    if (want_div) r.metrics["diversity" + at] = total.diversity[ki] / nu;
    // Without cold users the share is undefined: leave the metric out rather than print 0.
    if (want_cold && total.cold_users > 0)
      r.metrics["coldcoverage" + at] = total.cold_hits[ki] / static_cast<double>(total.cold_users);
    if (want_cov) {
      const auto& rec = total.recommended[ki];
      r.metrics["coverage" + at] = static_cast<double>(std::count(rec.begin(), rec.end(), true)) /
                                   static_cast<double>(std::max<index_t>(n_items, 1));
    }
  }
  if (want_auc)
    r.metrics["auc"] = total.auc_users > 0 ? total.auc / static_cast<double>(total.auc_users) : 0.0;
  if (rating && total.rated > 0) {
    if (want_rmse) r.metrics["rmse"] = std::sqrt(total.sq_err / static_cast<double>(total.rated));
    if (want_mae) r.metrics["mae"] = total.abs_err / static_cast<double>(total.rated);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace reckon
