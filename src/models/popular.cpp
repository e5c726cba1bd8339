#include "reckon/models/popular.hpp"

#include <algorithm>
#include <limits>

#include "reckon/core/error.hpp"

namespace reckon {

std::vector<ParamSpec> PopularModel::param_specs() {
  return {
      {"window_days", ParamType::kFloat, "0", 0, 1e6,
       "count only interactions in the last N days of the training data (0: all; needs times)"},
      {"weighted", ParamType::kBool, "false", 1, 0,
       "sum interaction weights instead of counting interactions"},
  };
}

void PopularModel::fit(const Dataset& train, const Params& params, FitContext&) {
  const CsrMatrix& m = train.interactions;
  const double window = params.get_float("window_days");
  const bool weighted = params.get_bool("weighted");
  std::int64_t since = std::numeric_limits<std::int64_t>::min();
  if (window > 0) {
    RECKON_CHECK(m.has_times(), "popular: window_days needs timestamps, and this data has none");
    std::int64_t latest = std::numeric_limits<std::int64_t>::min();
    for (auto t : m.times()) latest = std::max(latest, t);
    since = latest - static_cast<std::int64_t>(window * 86400.0);
  }
  popularity_.assign(static_cast<std::size_t>(m.cols()), 0.0f);
  for (index_t k = 0; k < m.nnz(); ++k) {
    if (m.has_times() && m.times()[k] < since) continue;
    popularity_[m.indices()[k]] += weighted ? m.values()[k] : 1.0f;
  }
}

void PopularModel::score(const UserContext&, std::span<float> out) const {
  RECKON_ASSERT(out.size() == popularity_.size());
  std::copy(popularity_.begin(), popularity_.end(), out.begin());
}

void PopularModel::save(BinaryWriter& out) const { out.put_vector(popularity_); }
void PopularModel::load(BinaryReader& in) { popularity_ = in.get_vector<float>(); }

void PopularModel::validate(const Dataset& train) const {
  RECKON_CHECK(static_cast<index_t>(popularity_.size()) == train.num_items(),
               "popular model has {} item scores, the data has {} items", popularity_.size(),
               train.num_items());
}

}  // namespace reckon
