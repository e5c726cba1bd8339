#include "reckon/rank/ranker_features.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "reckon/core/error.hpp"
#include "reckon/io/text.hpp"

namespace reckon {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr double kDay = 86400.0;

struct GroupName {
  unsigned bit;
  std::string_view name;
};
constexpr GroupName kGroups[] = {
    {kGroupActivity, "activity"}, {kGroupPopularity, "popularity"},
    {kGroupAge, "age"},           {kGroupGenres, "genres"},
    {kGroupDemographics, "demographics"}, {kGroupTime, "time"},
    {kGroupContent, "content"},   {kGroupTextSvd, "text_svd"},
};
constexpr unsigned kAllGroups = (1u << 8) - 1;

constexpr std::size_t kMaxColumns = 256;
constexpr std::size_t kMaxVocabulary = 1u << 24;
constexpr std::size_t kMaxWindows = 16;

bool is_label(const FeatureColumn& c) {
  return c.kind() == FeatureKind::kCategorical || c.kind() == FeatureKind::kMultiCategorical;
}

// Checks a CSR-style pointer array: n + 1 entries from 0, ascending, ending at `size`.
void check_ptr(const std::vector<index_t>& ptr, index_t n, std::size_t size, const std::string& what,
               std::string_view name) {
  RECKON_CHECK(ptr.size() == static_cast<std::size_t>(n) + 1 && ptr.front() == 0 &&
                   static_cast<std::size_t>(ptr.back()) == size,
               "{}: corrupt ranker: the {} offsets do not cover the items", what, name);
  for (std::size_t i = 1; i < ptr.size(); ++i)
    RECKON_CHECK(ptr[i] >= ptr[i - 1], "{}: corrupt ranker: the {} offsets go backwards", what,
                 name);
}

}  // namespace

std::string_view ranker_group_name(unsigned bit) {
  for (const auto& g : kGroups)
    if (g.bit == bit) return g.name;
  return "?";
}

unsigned parse_ranker_groups(std::string_view text) {
  text = trim(text);
  if (text == "all") return kAllGroups;
  if (text == "none" || text.empty()) return 0;
  std::vector<std::string_view> parts;
  split_plain(text, ",", parts);
  unsigned out = 0;
  for (auto part : parts) {
    part = trim(part);
    if (part.empty()) continue;
    bool found = false;
    for (const auto& g : kGroups)
      if (g.name == part) {
        out |= g.bit;
        found = true;
      }
    if (!found) {
      std::vector<std::string_view> names;
      for (const auto& g : kGroups) names.push_back(g.name);
      throw InvalidInput(fmt::format(
          "ranker: unknown feature group \"{}\" (known: {}; or all, none)", excerpt(part),
          fmt::join(names, ", ")));
    }
  }
  return out;
}

std::vector<std::string> RankerFeatures::group_names() const {
  std::vector<std::string> out = {"generators"};
  for (const auto& g : kGroups)
    if (groups_ & g.bit) out.emplace_back(g.name);
  return out;
}

void RankerFeatures::fit(const Dataset& data, const RankerFeatureOptions& o,
                         const std::vector<GeneratorSpec>& generators, FitContext& ctx) {
  const bool all = trim(o.groups) == "all";
  const unsigned asked = parse_ranker_groups(o.groups);
  generator_names_.clear();
  for (const auto& g : generators) generator_names_.push_back(g.model);
  num_items_ = data.num_items();
  const CsrMatrix& m = data.interactions;
  ratings_ = data.explicit_ratings;
  RECKON_CHECK(o.windows_days.size() <= kMaxWindows, "ranker: at most {} popularity windows",
               kMaxWindows);
  windows_days_ = o.windows_days;

  // Item statistics, item-major.
  const CsrMatrix t = m.transposed();
  has_times_ = false;
  reference_time_ = 0;
  std::int64_t latest = std::numeric_limits<std::int64_t>::min();
  for (auto x : m.times())
    if (x != kNoTime) {
      has_times_ = true;
      latest = std::max(latest, x);
    }
  if (has_times_) reference_time_ = latest;
  const auto n = static_cast<std::size_t>(num_items_);
  untimed_count_.assign(n, 0.0f);
  mean_value_.assign(n, kNaN);
  time_ptr_.assign(n + 1, 0);
  times_.clear();
  for (index_t i = 0; i < num_items_; ++i) {
    const auto values = t.row_values(i);
    const auto ts = t.row_times(i);
    double sum = 0;
    for (std::size_t k = 0; k < values.size(); ++k) {
      sum += values[k];
      if (ts.empty() || ts[k] == kNoTime)
        untimed_count_[static_cast<std::size_t>(i)] += 1;
      else
        times_.push_back(ts[k]);
    }
    std::sort(times_.begin() + time_ptr_[static_cast<std::size_t>(i)], times_.end());
    time_ptr_[static_cast<std::size_t>(i) + 1] = static_cast<index_t>(times_.size());
    if (!values.empty())
      mean_value_[static_cast<std::size_t>(i)] = static_cast<float>(sum / values.size());
  }

  // Which groups the data supports; a group asked for by name that it cannot support is an
  // error, one implied by "all" is left out.
  auto need = [&](unsigned bit, bool supported, std::string_view why) {
    if (!(asked & bit)) return false;
    RECKON_CHECK(supported || all, "ranker: feature group {} {}", ranker_group_name(bit), why);
    return supported;
  };
  groups_ = 0;
  bool has_labels = false, has_item_features = !data.item_features.empty();
  for (const auto& c : data.item_features.columns()) has_labels |= is_label(c);
  bool has_users = false;
  for (const auto& c : data.user_features.columns())
    has_users |= c.kind() == FeatureKind::kNumeric || is_label(c);
  if (need(kGroupActivity, true, "")) groups_ |= kGroupActivity;
  if (need(kGroupPopularity, true, "")) groups_ |= kGroupPopularity;
  if (need(kGroupAge, has_times_, "needs timestamps, and this data has none"))
    groups_ |= kGroupAge;
  if (need(kGroupGenres, has_labels, "needs item label columns (genres, tags), and this data has none"))
    groups_ |= kGroupGenres;
  if (need(kGroupDemographics, has_users,
           "needs user columns (age, gender, occupation), and this data has none"))
    groups_ |= kGroupDemographics;
  if (need(kGroupTime, has_times_, "needs timestamps, and this data has none"))
    groups_ |= kGroupTime;
  if (need(kGroupContent, has_item_features, "needs item features, and this data has none"))
    groups_ |= kGroupContent;
  if ((asked & kGroupTextSvd) && (o.text_svd > 0 || !all)) {
    RECKON_CHECK(o.text_svd > 0, "ranker: feature group text_svd needs text_svd=K components");
    if (need(kGroupTextSvd, has_item_features, "needs item features, and this data has none"))
      groups_ |= kGroupTextSvd;
  }

  labels_.clear();
  if (groups_ & kGroupGenres) {
    for (const auto& c : data.item_features.columns()) {
      if (!is_label(c) || c.vocabulary().empty() || labels_.size() == kMaxColumns) continue;
      LabelColumn l;
      l.name = c.name();
      l.vocabulary = c.vocabulary();
      l.onehot = l.vocabulary.size() <= o.max_onehot;
      l.ptr.assign(n + 1, 0);
      for (index_t i = 0; i < num_items_; ++i) {
        for (auto code : c.codes(i)) l.codes.push_back(code);
        l.ptr[static_cast<std::size_t>(i) + 1] = static_cast<index_t>(l.codes.size());
      }
      labels_.push_back(std::move(l));
    }
  }
  users_.clear();
  if (groups_ & kGroupDemographics) {
    for (const auto& c : data.user_features.columns()) {
      if (users_.size() == kMaxColumns) break;
      UserColumn u;
      u.name = c.name();
      if (c.kind() == FeatureKind::kNumeric) {
        u.numeric = true;
      } else if (is_label(c) && !c.vocabulary().empty() && c.vocabulary().size() <= o.max_onehot) {
        u.vocabulary = c.vocabulary();
      } else {
        continue;  // free text, vectors and many-label columns say little to a tree
      }
      users_.push_back(std::move(u));
    }
  }
  content_.reset();
  svd_ = 0;
  if (groups_ & (kGroupContent | kGroupTextSvd)) {
    std::map<std::string, std::string> cp = o.content_params;
    if (groups_ & kGroupTextSvd) {
      cp["svd"] = std::to_string(o.text_svd);
      svd_ = static_cast<std::size_t>(o.text_svd);
    }
    content_ = std::make_unique<ContentModel>();
    content_->fit(data, Params::resolve("content", ContentModel::param_specs(), cp), ctx);
    if (svd_ > 0) svd_ = static_cast<std::size_t>(content_->item_components().cols());
  }
  rebuild_indexes();
  build_names();
}

void RankerFeatures::rebuild_indexes() {
  for (auto& u : users_) {
    u.index.clear();
    for (std::size_t j = 0; j < u.vocabulary.size(); ++j)
      u.index.emplace(u.vocabulary[j], static_cast<std::int32_t>(j));
  }
}

void RankerFeatures::build_names() {
  names_.clear();
  for (const auto& g : generator_names_) {
    names_.push_back(g + ".score");
    names_.push_back(g + ".rank");
  }
  if (groups_ & kGroupActivity)
    for (const char* f :
         {"user.count", "user.mean_value", "user.days_since_last", "user.active_days"})
      names_.emplace_back(f);
  if (groups_ & kGroupPopularity) {
    names_.emplace_back("item.count");
    for (double w : windows_days_) names_.push_back(fmt::format("item.count_{}d", w));
    if (ratings_) names_.emplace_back("item.mean_rating");
  }
  if (groups_ & kGroupAge) {
    names_.emplace_back("item.age_days");
    names_.emplace_back("item.days_since_last");
  }
  for (const auto& l : labels_) {
    names_.push_back("affinity." + l.name);
    if (l.onehot)
      for (const auto& v : l.vocabulary) names_.push_back("item." + l.name + "=" + v);
  }
  for (const auto& u : users_) {
    if (u.numeric)
      names_.push_back("user." + u.name);
    else
      for (const auto& v : u.vocabulary) names_.push_back("user." + u.name + "=" + v);
  }
  if (groups_ & kGroupTime) {
    names_.emplace_back("time.hour");
    names_.emplace_back("time.weekday");
  }
  if (groups_ & kGroupContent) names_.emplace_back("content.score");
  for (std::size_t c = 0; c < svd_; ++c) names_.push_back(fmt::format("text_svd.{}", c));
}

void RankerFeatures::fill(const UserContext& user, const Candidates& cand,
                          std::span<float> rows) const {
  const std::size_t F = names_.size();
  const std::size_t C = cand.items.size();
  const std::size_t G = generator_names_.size();
  RECKON_ASSERT(rows.size() == C * F && cand.scores.size() == C * G);
  const std::int64_t at = user.at.value_or(reference_time_);
  const auto n = static_cast<std::size_t>(num_items_);
  auto in_range = [&](index_t i) { return i >= 0 && static_cast<std::size_t>(i) < n; };

  // Per-user values, the same for every candidate.
  std::vector<float> user_values;
  if (groups_ & kGroupActivity) {
    double sum = 0;
    std::int64_t first = std::numeric_limits<std::int64_t>::max(), last = kNoTime;
    for (std::size_t j = 0; j < user.history.size(); ++j) {
      sum += user.weights.empty() ? 1.0 : user.weights[j];
      if (j < user.times.size() && user.times[j] != kNoTime && user.times[j] <= at) {
        first = std::min(first, user.times[j]);
        last = std::max(last, user.times[j]);
      }
    }
    const auto h = static_cast<double>(user.history.size());
    user_values.push_back(static_cast<float>(h));
    user_values.push_back(h > 0 ? static_cast<float>(sum / h) : kNaN);
    user_values.push_back(last != kNoTime ? static_cast<float>((at - last) / kDay) : kNaN);
    user_values.push_back(last != kNoTime ? static_cast<float>((last - first) / kDay) : kNaN);
  }
  std::vector<float> demo;
  for (const auto& u : users_) {
    const FeatureColumn* c =
        user.features && user.feature_row >= 0 && user.feature_row < user.features->rows()
            ? user.features->find(u.name)
            : nullptr;
    if (u.numeric) {
      demo.push_back(c && c->kind() == FeatureKind::kNumeric ? c->number(user.feature_row) : kNaN);
      continue;
    }
    const std::size_t base = demo.size();
    const bool known = c && is_label(*c) && c->has_value(user.feature_row);
    demo.resize(base + u.vocabulary.size(), known ? 0.0f : kNaN);
    if (known)
      for (auto code : c->codes(user.feature_row)) {
        const auto it = u.index.find(c->label(code));
        if (it != u.index.end()) demo[base + static_cast<std::size_t>(it->second)] = 1.0f;
      }
  }
  // Label shares of the history, per column (dense over the vocabulary, reset after use).
  thread_local std::vector<std::vector<float>> shares;
  if (shares.size() < labels_.size()) shares.resize(labels_.size());
  std::size_t history_items = 0;
  for (index_t i : user.history) history_items += in_range(i);
  for (std::size_t c = 0; c < labels_.size(); ++c) {
    auto& s = shares[c];
    s.assign(labels_[c].vocabulary.size(), 0.0f);
    if (history_items == 0) continue;
    const float w = 1.0f / static_cast<float>(history_items);
    for (index_t i : user.history)
      if (in_range(i))
        for (index_t k = labels_[c].ptr[static_cast<std::size_t>(i)];
             k < labels_[c].ptr[static_cast<std::size_t>(i) + 1]; ++k)
          s[static_cast<std::size_t>(labels_[c].codes[static_cast<std::size_t>(k)])] += w;
  }
  thread_local std::vector<float> content_scores;
  if (content_) {
    content_scores.resize(n);
    content_->score(user, content_scores);
  }
  float hour = kNaN, weekday = kNaN;
  if (groups_ & kGroupTime) {
    const std::int64_t day = (at >= 0 ? at : at - 86399) / 86400;  // floor division
    hour = static_cast<float>((at - day * 86400) / 3600);
    weekday = static_cast<float>(((day + 3) % 7 + 7) % 7);  // 1970-01-01 was a Thursday; Monday 0
  }

  for (std::size_t r = 0; r < C; ++r) {
    float* row = rows.data() + r * F;
    const auto i = static_cast<std::size_t>(cand.items[r]);
    std::size_t f = 0;
    for (std::size_t g = 0; g < G; ++g) {
      row[f++] = cand.scores[r * G + g];
      row[f++] = cand.ranks[r * G + g];
    }
    for (float v : user_values) row[f++] = v;
    const auto tb = times_.begin() + time_ptr_[i], te = times_.begin() + time_ptr_[i + 1];
    const auto upto = std::upper_bound(tb, te, at);  // interactions up to the moment
    if (groups_ & kGroupPopularity) {
      row[f++] = untimed_count_[i] + static_cast<float>(upto - tb);
      for (double w : windows_days_) {
        const auto from = std::upper_bound(tb, upto, at - static_cast<std::int64_t>(w * kDay));
        row[f++] = static_cast<float>(upto - from);
      }
      if (ratings_) row[f++] = mean_value_[i];
    }
    if (groups_ & kGroupAge) {
      const bool any = upto != tb;
      row[f++] = any ? static_cast<float>((at - *tb) / kDay) : kNaN;
      row[f++] = any ? static_cast<float>((at - *(upto - 1)) / kDay) : kNaN;
    }
    for (std::size_t c = 0; c < labels_.size(); ++c) {
      const LabelColumn& l = labels_[c];
      const index_t b = l.ptr[i], e = l.ptr[i + 1];
      double a = 0;
      for (index_t k = b; k < e; ++k) a += shares[c][static_cast<std::size_t>(l.codes[k])];
      row[f++] = e > b && history_items > 0 ? static_cast<float>(a / (e - b)) : kNaN;
      if (l.onehot) {
        float* hot = row + f;
        std::fill(hot, hot + l.vocabulary.size(), 0.0f);
        for (index_t k = b; k < e; ++k) hot[l.codes[k]] = 1.0f;
        f += l.vocabulary.size();
      }
    }
    for (float v : demo) row[f++] = v;
    if (groups_ & kGroupTime) {
      row[f++] = hour;
      row[f++] = weekday;
    }
    if (groups_ & kGroupContent) row[f++] = content_scores[i];
    if (svd_ > 0) {
      const auto& comps = content_->item_components();
      for (std::size_t c = 0; c < svd_; ++c)
        row[f++] = comps(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(c));
    }
    RECKON_ASSERT(f == F);
  }
}

void RankerFeatures::save(BinaryWriter& out) const {
  out.put<std::uint32_t>(groups_);
  out.put_strings(generator_names_);
  out.put<std::int64_t>(num_items_);
  out.put<std::uint8_t>(has_times_);
  out.put<std::uint8_t>(ratings_);
  out.put<std::int64_t>(reference_time_);
  out.put_vector(windows_days_);
  out.put_vector(untimed_count_);
  out.put_vector(time_ptr_);
  out.put_vector(times_);
  out.put_vector(mean_value_);
  out.put<std::uint64_t>(labels_.size());
  for (const auto& l : labels_) {
    out.put_string(l.name);
    out.put_strings(l.vocabulary);
    out.put<std::uint8_t>(l.onehot);
    out.put_vector(l.ptr);
    out.put_vector(l.codes);
  }
  out.put<std::uint64_t>(users_.size());
  for (const auto& u : users_) {
    out.put_string(u.name);
    out.put<std::uint8_t>(u.numeric);
    out.put_strings(u.vocabulary);
  }
  out.put<std::uint8_t>(content_ != nullptr);
  if (content_) {
    BinaryWriter body;
    content_->save(body);
    out.put_string(body.bytes());
  }
  out.put<std::uint64_t>(svd_);
}

void RankerFeatures::load(BinaryReader& in) {
  const std::string& what = in.what();
  groups_ = in.get<std::uint32_t>();
  RECKON_CHECK((groups_ & ~kAllGroups) == 0, "{}: corrupt ranker: unknown feature groups",
               what);
  generator_names_ = in.get_strings();
  num_items_ = in.get<std::int64_t>();
  RECKON_CHECK(num_items_ >= 0 && num_items_ < std::numeric_limits<index_t>::max(),
               "{}: corrupt ranker: {} items", what, num_items_);
  has_times_ = in.get<std::uint8_t>() != 0;
  ratings_ = in.get<std::uint8_t>() != 0;
  reference_time_ = in.get<std::int64_t>();
  RECKON_CHECK(std::abs(reference_time_) <= kMaxTimestamp, "{}: corrupt ranker: time {}", what,
               reference_time_);
  windows_days_ = in.get_vector<double>();
  RECKON_CHECK(windows_days_.size() <= kMaxWindows, "{}: corrupt ranker: {} windows", what,
               windows_days_.size());
  for (double w : windows_days_)
    RECKON_CHECK(std::isfinite(w) && w > 0 && w <= 1e6, "{}: corrupt ranker: a window of {} days",
                 what, w);
  const auto n = static_cast<std::size_t>(num_items_);
  untimed_count_ = in.get_vector<float>();
  time_ptr_ = in.get_vector<index_t>();
  times_ = in.get_vector<std::int64_t>();
  mean_value_ = in.get_vector<float>();
  RECKON_CHECK(untimed_count_.size() == n && mean_value_.size() == n,
               "{}: corrupt ranker: item statistics for {} items", what, n);
  check_ptr(time_ptr_, num_items_, times_.size(), what, "time");
  for (std::size_t i = 0; i < n; ++i)
    RECKON_CHECK(std::is_sorted(times_.begin() + time_ptr_[i], times_.begin() + time_ptr_[i + 1]),
                 "{}: corrupt ranker: item times out of order", what);
  const auto n_labels = in.get<std::uint64_t>();
  RECKON_CHECK(n_labels <= kMaxColumns, "{}: corrupt ranker: {} label columns", what, n_labels);
  labels_.assign(n_labels, {});
  for (auto& l : labels_) {
    l.name = in.get_string();
    l.vocabulary = in.get_strings();
    RECKON_CHECK(!l.vocabulary.empty() && l.vocabulary.size() <= kMaxVocabulary,
                 "{}: corrupt ranker: {} labels in {}", what, l.vocabulary.size(),
                 excerpt(l.name));
    l.onehot = in.get<std::uint8_t>() != 0;
    RECKON_CHECK(!l.onehot || l.vocabulary.size() <= 4096, "{}: corrupt ranker: {} one-hot labels",
                 what, l.vocabulary.size());
    l.ptr = in.get_vector<index_t>();
    l.codes = in.get_vector<std::int32_t>();
    check_ptr(l.ptr, num_items_, l.codes.size(), what, "label");
    for (auto c : l.codes)
      RECKON_CHECK(c >= 0 && static_cast<std::size_t>(c) < l.vocabulary.size(),
                   "{}: corrupt ranker: label code {} of {}", what, c, l.vocabulary.size());
  }
  const auto n_users = in.get<std::uint64_t>();
  RECKON_CHECK(n_users <= kMaxColumns, "{}: corrupt ranker: {} user columns", what, n_users);
  users_.assign(n_users, {});
  for (auto& u : users_) {
    u.name = in.get_string();
    u.numeric = in.get<std::uint8_t>() != 0;
    u.vocabulary = in.get_strings();
    RECKON_CHECK(u.numeric ? u.vocabulary.empty() : !u.vocabulary.empty() && u.vocabulary.size() <= 4096,
                 "{}: corrupt ranker: user column {} with {} labels", what, excerpt(u.name),
                 u.vocabulary.size());
  }
  RECKON_CHECK((groups_ & kGroupGenres) || labels_.empty(), "{}: corrupt ranker: label columns "
               "without the genres group", what);
  RECKON_CHECK((groups_ & kGroupDemographics) || users_.empty(),
               "{}: corrupt ranker: user columns without the demographics group", what);
  content_.reset();
  if (in.get<std::uint8_t>() != 0) {
    const std::string body = in.get_string();
    BinaryReader r(body, what + " (ranker content model)");
    content_ = std::make_unique<ContentModel>();
    content_->load(r);
    RECKON_CHECK(r.at_end(), "{}: corrupt ranker: trailing bytes after its content model", what);
  }
  RECKON_CHECK(static_cast<bool>(content_) == static_cast<bool>(groups_ & (kGroupContent | kGroupTextSvd)),
               "{}: corrupt ranker: content features without a content model", what);
  svd_ = in.get<std::uint64_t>();
  RECKON_CHECK(svd_ == 0 || (content_ && (groups_ & kGroupTextSvd) &&
                             svd_ == static_cast<std::size_t>(content_->item_components().cols()) &&
                             content_->item_components().rows() == num_items_),
               "{}: corrupt ranker: {} text components", what, svd_);
  rebuild_indexes();
  build_names();
}

void RankerFeatures::validate(const Dataset& train) const {
  RECKON_CHECK(num_items_ == train.num_items(), "the ranker's features know {} items, the data {}",
               num_items_, train.num_items());
  if (content_) content_->validate(train);
}

}  // namespace reckon
