#include "reckon/models/neural/sequence.hpp"

#include <algorithm>
#include <numeric>

#include <spdlog/spdlog.h>

#include "reckon/core/random.hpp"

namespace reckon::neural {
namespace {

// Positions 0..n-1 of a row ordered by time (stable: ties keep their order).
void order_by_time(std::span<const std::int64_t> times, std::size_t n,
                   std::vector<std::size_t>& order) {
  order.resize(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (times.size() == n)
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return times[a] < times[b]; });
}

}  // namespace

std::vector<index_t> history_sequence(const UserContext& user, index_t items, std::size_t max_len) {
  std::vector<std::size_t> order;
  order_by_time(user.times, user.history.size(), order);
  std::vector<index_t> out;
  out.reserve(std::min(order.size(), max_len));
  // Newest first while collecting, so that skipped items do not shorten the window.
  for (auto it = order.rbegin(); it != order.rend() && out.size() < max_len; ++it) {
    const index_t i = user.history[*it];
    if (i >= 0 && i < items) out.push_back(i);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

Sequences time_ordered_rows(const CsrMatrix& m) {
  Sequences s;
  s.indptr.reserve(static_cast<std::size_t>(m.rows()) + 1);
  s.items.reserve(static_cast<std::size_t>(m.nnz()));
  std::vector<std::size_t> order;
  for (index_t u = 0; u < m.rows(); ++u) {
    const auto idx = m.row_indices(u);
    order_by_time(m.row_times(u), idx.size(), order);
    for (std::size_t k : order) s.items.push_back(idx[k]);
    s.indptr.push_back(static_cast<index_t>(s.items.size()));
  }
  return s;
}

void split_newest(const CsrMatrix& m, std::span<const index_t> users, index_t min_left,
                  CsrMatrix& rest, CsrMatrix& last) {
  std::vector<bool> held(static_cast<std::size_t>(m.nnz()), false);
  std::vector<std::size_t> order;
  for (index_t u : users) {
    if (u < 0 || u >= m.rows() || m.row_size(u) < min_left + 1) continue;
    const auto n = static_cast<std::size_t>(m.row_size(u));
    order_by_time(m.row_times(u), n, order);
    held[static_cast<std::size_t>(m.indptr()[static_cast<std::size_t>(u)]) + order.back()] = true;
  }
  std::vector<bool> keep(held.size());
  for (std::size_t k = 0; k < held.size(); ++k) keep[k] = !held[k];
  rest = m.filtered(keep);
  last = m.filtered(held);
}

std::vector<ParamSpec> sequence_training_params(const char* epochs, const char* patience,
                                                const char* batch_size, const char* batch_doc) {
  return {
      {"epochs", ParamType::kInt, epochs, 1, 100000, "the most passes over the sequences"},
      {"patience", ParamType::kInt, patience, 0, 100000,
       "stop after this many epochs without a better validation score (0: run every epoch)"},
      {"batch_size", ParamType::kInt, batch_size, 1, 1 << 20, batch_doc},
      {"learning_rate", ParamType::kFloat, "0.001", 1e-7, 1, "Adam's step size"},
      {"l2", ParamType::kFloat, "0", 0, 10, "weight decay (L2) of every weight"},
      {"validation", ParamType::kFloat, "1", 0, 1,
       "share of the users (with 3 or more interactions) whose newest training interaction is "
       "held out to stop on, by ndcg@validation_k of it given the rest (0: no early stopping)"},
      {"max_validation_users", ParamType::kInt, "5000", 1, 1 << 30,
       "the most users held out for validation"},
      {"validation_k", ParamType::kInt, "10", 1, 100000, "the cut-off of validation ndcg"},
  };
}

std::vector<index_t> SequenceData::item_counts() const {
  std::vector<index_t> counts(static_cast<std::size_t>(items), 0);
  for (const index_t i : fit.items) ++counts[static_cast<std::size_t>(i)];
  return counts;
}

SequenceData sequence_training_data(const Dataset& train, const Params& params,
                                    const FitContext& ctx, std::string_view model) {
  const CsrMatrix& x = train.interactions;
  const EventLog& log = train.events;
  const bool events = !log.empty();
  if (!events && !x.has_times() && ctx.verbose)
    spdlog::warn("{}: the data has no timestamps, so item order stands in for time: import it "
                 "with --time-col for a real sequence",
                 model);
  auto length = [&](index_t u) { return events ? log.row_size(u) : x.row_size(u); };
  const double share = params.get_float("validation");
  const index_t max_users = params.get_int("max_validation_users");
  std::vector<index_t> users;
  for (index_t u = 0; u < x.rows(); ++u)
    if (length(u) >= 3) users.push_back(u);
  Rng rng(ctx.seed ^ 0x5a5ecULL);
  rng.shuffle(std::span<index_t>(users));
  const auto wanted = std::min(static_cast<std::size_t>(share * static_cast<double>(users.size())),
                               static_cast<std::size_t>(std::max<index_t>(max_users, 0)));
  users.resize(std::min(users.size(), wanted));

  SequenceData d;
  d.items = train.num_items();
  if (!events) {
    CsrMatrix fit;
    split_newest(x, users, 2, fit, d.valid);
    d.fit = time_ordered_rows(fit);
    d.fit_items = fit;
    d.seen = std::move(fit);
  } else {
    // The log is in time order: a user's last event is the newest.
    std::vector<bool> keep(static_cast<std::size_t>(log.size()), true);
    for (const index_t u : users) keep[static_cast<std::size_t>(log.indptr()[u + 1] - 1)] = false;
    std::vector<bool> held(keep.size());
    for (std::size_t k = 0; k < keep.size(); ++k) held[k] = !keep[k];
    const EventLog fit = log.filtered(keep);
    d.valid = log.filtered(held).merged();
    d.fit.indptr = fit.indptr();
    d.fit.items.assign(fit.items().begin(), fit.items().end());
    d.fit_items = fit.merged();
    d.seen = CsrMatrix(x.rows(), x.cols(), std::vector<index_t>(static_cast<std::size_t>(x.rows()) + 1, 0),
                       {}, {});
  }
  if (ctx.verbose && d.valid.nnz() > 0)
    spdlog::info("{}: the newest {} of {} users kept for early stopping", model,
                 events ? "event" : "interaction", d.valid.nnz());
  return d;
}

}  // namespace reckon::neural
