#pragma once
// A known user as a dataset has them: their row's items, weights and times, and their feature
// row. The one place that builds such a context (serving's precomputed lists, the ranker's
// training groups, explanations on the command line).
#include "reckon/core/dataset.hpp"
#include "reckon/models/model.hpp"

namespace reckon {

// `events`: the model reads sequences with repeats (Model::reads_event_history), so the user's
// events are the history where the data kept them.
inline UserContext training_context(const Dataset& d, index_t u, bool events = false) {
  UserContext c;
  c.user = u;
  if (events && !d.events.empty()) {
    c.history = d.events.row(u);
    c.weights = d.events.row_values(u);
    c.times = d.events.row_times(u);
  } else {
    c.history = d.interactions.row_indices(u);
    c.weights = d.interactions.row_values(u);
    c.times = d.interactions.row_times(u);
  }
  c.features = &d.user_features;
  c.feature_row = u;
  return c;
}

}  // namespace reckon
