#pragma once
// Evaluation protocols: full ranking over all unseen items (default), sampled ranking, rating
// prediction, held-out users with fold-in, several k at once. Multi-threaded over users; memory
// O(threads x items), never a users x items matrix.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "reckon/core/dataset.hpp"
#include "reckon/eval/report.hpp"
#include "reckon/models/model.hpp"

namespace reckon {

struct EvalOptions {
  std::vector<std::size_t> ks = {20};
  std::vector<std::string> metrics;  // empty = default_metrics()
  // Sampled ranking: each test item competes with `negatives` items the user has not seen,
  // drawn uniformly or by popularity. Labelled "sampled" wherever printed.
  bool sampled = false;
  index_t negatives = 100;
  bool popularity_negatives = false;
  std::uint64_t seed = 42;
  bool graded = false;         // NDCG gains from test ratings instead of 1
  index_t cold_threshold = 5;  // coldcoverage: users with at most this many training items
  // Full ranking over every item, the user's history included (a re-listen, a re-click: the
  // protocol of session logs with repeats); by default the items a user has seen are not ranked.
  bool include_seen = false;
  int threads = 0;             // 0 = all cores
  bool progress = true;
};

struct EvalResult {
  std::map<std::string, double> metrics;  // "recall@20", "rmse", ...
  index_t users = 0;                      // users evaluated (with test items)
  index_t cold_users = 0;
  // Test interactions whose item is already in the user's history: never ranked (so never hit)
  // unless include_seen.
  index_t test_in_history = 0;
  double seconds = 0;
};

// `test` and `foldin` have the shape of train.interactions. Users with a fold-in row are
// held-out users: their fold-in history is given to the model as a stranger's; everyone else is
// scored from their training history. Users without test items are skipped.
// `foldin_events`: the held-out users' fold-in as events with their repeats (a split of a
// dataset with an event log), read by the sequence models instead of `foldin`'s rows.
EvalResult evaluate(const Model& model, const Dataset& train, const CsrMatrix& test,
                    const CsrMatrix& foldin, const EvalOptions& options,
                    const EventLog* foldin_events = nullptr);

// A report row: the model's label, parameters and fit time, the evaluation's figures, the
// process's peak memory since the last reset_peak_rss().
ModelReport report_row(const std::string& label, const TrainedModel& trained,
                       const EvalResult& result);

// "candidates" label of a protocol, for reports: "all-unseen" or "sampled-100-uniform".
std::string candidates_label(const EvalOptions& options);

}  // namespace reckon
