#pragma once
// The ranker's features of a (user, candidate) pair, in named groups that can be switched on
// and off (docs/RANKER.md lists every feature):
//   generators    each generator's score and rank (always on; NaN where it did not propose)
//   activity      the user's history: count, mean value (rating), days since the last
//                 interaction, days between first and last
//   popularity    the item's interactions up to the request's moment, in total and in recent
//                 windows (popularity_windows days), and its mean rating on rating data
//   age           days since the item's first and since its last interaction
//   genres        per label column of the items (genres, tags, language): the user's affinity
//                 (the share of their history carrying the candidate's labels) and, for
//                 columns with few labels, the candidate's labels one-hot
//   demographics  the user's own columns: numbers as they are, few-label columns one-hot
//   time          hour of day and weekday (UTC) of the request's moment
//   content       the content model's score of the candidate for the history
//   text_svd      the candidate's components in the content model's truncated SVD
// The request's moment is UserContext::at, or the training data's latest time without it.
// Everything is computed from what fit() saw, so the same object serves the held-back slice
// (fitted on the rest) and, refitted, the whole training data.
#include <absl/container/flat_hash_map.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "reckon/models/content.hpp"
#include "reckon/models/model.hpp"
#include "reckon/rank/candidates.hpp"

namespace reckon {

enum RankerGroup : unsigned {
  kGroupActivity = 1u << 0,
  kGroupPopularity = 1u << 1,
  kGroupAge = 1u << 2,
  kGroupGenres = 1u << 3,
  kGroupDemographics = 1u << 4,
  kGroupTime = 1u << 5,
  kGroupContent = 1u << 6,
  kGroupTextSvd = 1u << 7,
};

struct RankerFeatureOptions {
  // "all" (every group the data supports), "none" (generator features only) or a list
  // ("activity,genres"); a listed group the data cannot support is an error.
  std::string groups = "all";
  std::vector<double> windows_days = {7, 30};
  std::size_t max_onehot = 32;  // label columns with more labels get only an affinity
  std::int64_t text_svd = 0;    // components; > 0 turns text_svd on
  std::map<std::string, std::string> content_params;  // -p content.KEY=VALUE
};

class RankerFeatures {
 public:
  void fit(const Dataset& data, const RankerFeatureOptions& options,
           const std::vector<GeneratorSpec>& generators, FitContext& ctx);
  const std::vector<std::string>& names() const noexcept { return names_; }
  std::size_t size() const noexcept { return names_.size(); }
  std::size_t generators() const noexcept { return generator_names_.size(); }
  // The groups in use, by name (for info and the log).
  std::vector<std::string> group_names() const;
  // True when the request's moment changes the features (a list cached without it is stale).
  bool uses_time() const noexcept { return (groups_ & (kGroupPopularity | kGroupAge | kGroupTime |
                                                       kGroupActivity)) && has_times_; }
  // The features of each candidate: rows (candidates.items.size() x size(), row-major).
  // Thread-safe.
  void fill(const UserContext& user, const Candidates& candidates, std::span<float> rows) const;
  void save(BinaryWriter& out) const;
  void load(BinaryReader& in);
  void validate(const Dataset& train) const;

 private:
  struct LabelColumn {
    std::string name;
    std::vector<std::string> vocabulary;
    bool onehot = false;
    std::vector<index_t> ptr;          // items + 1
    std::vector<std::int32_t> codes;   // the items' label codes
  };
  struct UserColumn {
    std::string name;
    bool numeric = false;
    std::vector<std::string> vocabulary;                 // one-hot labels
    absl::flat_hash_map<std::string, std::int32_t> index;  // label -> position (not saved)
  };

  unsigned groups_ = 0;
  std::vector<std::string> generator_names_;
  index_t num_items_ = 0;
  bool has_times_ = false;
  bool ratings_ = false;  // explicit ratings: mean rating features
  std::int64_t reference_time_ = 0;
  std::vector<double> windows_days_;
  std::vector<float> untimed_count_;   // per item: interactions without a time
  std::vector<index_t> time_ptr_;      // items + 1
  std::vector<std::int64_t> times_;    // per item, ascending
  std::vector<float> mean_value_;      // per item (NaN without interactions)
  std::vector<LabelColumn> labels_;
  std::vector<UserColumn> users_;
  std::unique_ptr<ContentModel> content_;
  std::size_t svd_ = 0;
  std::vector<std::string> names_;

  void build_names();
  void rebuild_indexes();
};

// "all" / "none" / "activity,genres" -> group bits (all known groups for "all").
unsigned parse_ranker_groups(std::string_view text);
std::string_view ranker_group_name(unsigned bit);

}  // namespace reckon
