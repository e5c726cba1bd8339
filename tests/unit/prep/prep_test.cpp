#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "reckon/core/random.hpp"
#include "reckon/prep/filters.hpp"
#include "reckon/prep/split.hpp"
#include "reckon/prep/weights.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

// Random but seeded: `users` users with 3..30 timed interactions over `items` items.
Dataset synthetic(index_t users, index_t items, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<index_t> u, i;
  std::vector<float> v;
  std::vector<std::int64_t> t;
  for (index_t a = 0; a < users; ++a) {
    const auto n = 3 + static_cast<index_t>(rng.below(28));
    for (index_t k = 0; k < n; ++k) {
      u.push_back(a);
      i.push_back(static_cast<index_t>(rng.below(static_cast<std::uint64_t>(items))));
      v.push_back(static_cast<float>(1 + rng.below(5)));
      t.push_back(static_cast<std::int64_t>(1000 + rng.below(100000)));
    }
  }
  Dataset d =
      test::make_dataset(CsrMatrix::from_coordinates(users, items, u, i, v, t, DedupPolicy::kLast));
  d.explicit_ratings = true;
  return d;
}

using Triple = std::tuple<index_t, index_t, std::int64_t>;
std::multiset<Triple> entries(const CsrMatrix& m) {
  std::multiset<Triple> s;
  for (index_t r = 0; r < m.rows(); ++r)
    for (index_t k = 0; k < m.row_size(r); ++k)
      s.emplace(r, m.row_indices(r)[k], m.row_times(r)[k]);
  return s;
}

void expect_partition(const Dataset& d, const Split& s) {
  auto all = entries(d.interactions);
  auto train = entries(s.train.interactions), test = entries(s.test), fold = entries(s.foldin);
  EXPECT_EQ(train.size() + test.size() + fold.size(), all.size());
  std::multiset<Triple> joined = train;
  joined.insert(test.begin(), test.end());
  joined.insert(fold.begin(), fold.end());
  EXPECT_EQ(joined, all);  // complete and disjoint
}

TEST(Split, RandomIsCompleteDisjointAndSeeded) {
  const Dataset d = synthetic(200, 50, 1);
  SplitOptions o;
  o.kind = SplitKind::kRandom;
  const Split a = split_dataset(d, o);
  expect_partition(d, a);
  EXPECT_EQ(a.test.nnz(), std::llround(0.2 * static_cast<double>(d.num_interactions())));
  const Split b = split_dataset(d, o);
  EXPECT_EQ(a.test, b.test);
  o.seed = 7;
  EXPECT_NE(split_dataset(d, o).test, a.test);
}

TEST(Split, UserTimeKeepsEachUsersLatestInTest) {
  const Dataset d = synthetic(100, 60, 2);
  SplitOptions o;
  o.kind = SplitKind::kUserTime;
  o.test_fraction = 0.25;
  const Split s = split_dataset(d, o);
  expect_partition(d, s);
  for (index_t u = 0; u < d.num_users(); ++u) {
    auto tr = s.train.interactions.row_times(u);
    auto te = s.test.row_times(u);
    ASSERT_GE(tr.size(), 1u);
    if (te.empty()) continue;
    EXPECT_LE(*std::max_element(tr.begin(), tr.end()), *std::min_element(te.begin(), te.end()));
  }
}

TEST(Split, LeaveLastN) {
  const Dataset d = synthetic(80, 40, 3);
  SplitOptions o;
  o.kind = SplitKind::kLeaveLastN;
  o.last_n = 2;
  const Split s = split_dataset(d, o);
  expect_partition(d, s);
  for (index_t u = 0; u < d.num_users(); ++u) {
    const index_t n = d.interactions.row_size(u);
    EXPECT_EQ(s.test.row_size(u), n > 2 ? 2 : 0);
    auto tr = s.train.interactions.row_times(u);
    auto te = s.test.row_times(u);
    if (!te.empty()) {
      EXPECT_LE(*std::max_element(tr.begin(), tr.end()), *std::min_element(te.begin(), te.end()));
    }
  }
}

TEST(Split, GlobalTimeCutoff) {
  const Dataset d = synthetic(80, 40, 4);
  SplitOptions o;
  o.kind = SplitKind::kGlobalTime;
  o.cutoff_time = 60000;
  const Split s = split_dataset(d, o);
  expect_partition(d, s);
  for (auto t : s.train.interactions.times()) EXPECT_LT(t, 60000);
  for (auto t : s.test.times()) EXPECT_GE(t, 60000);
  o.cutoff_time.reset();
  o.test_fraction = 0.3;
  const Split q = split_dataset(d, o);
  EXPECT_NEAR(static_cast<double>(q.test.nnz()) / static_cast<double>(d.num_interactions()), 0.3,
              0.02);
}

TEST(Split, HeldOutUsersAreDisjointFromTraining) {
  const Dataset d = synthetic(300, 50, 5);
  SplitOptions o;
  o.kind = SplitKind::kUsers;
  o.test_fraction = 0.1;
  o.foldin_fraction = 0.5;
  const Split s = split_dataset(d, o);
  expect_partition(d, s);
  index_t held = 0;
  for (index_t u = 0; u < d.num_users(); ++u) {
    const bool in_test = s.test.row_size(u) > 0 || s.foldin.row_size(u) > 0;
    if (!in_test) continue;
    ++held;
    EXPECT_EQ(s.train.interactions.row_size(u), 0) << "held-out user " << u << " leaked into train";
    EXPECT_GE(s.foldin.row_size(u), 1);
    EXPECT_GE(s.test.row_size(u), 1);
    // Fold-in is the earlier part of the history.
    auto f = s.foldin.row_times(u);
    auto t = s.test.row_times(u);
    EXPECT_LE(*std::max_element(f.begin(), f.end()), *std::min_element(t.begin(), t.end()));
  }
  EXPECT_EQ(held, 30);
}

TEST(Split, MasksHidesAShareOfEveryUsersHistoryAtRandom) {
  const Dataset d = synthetic(120, 60, 7);
  SplitOptions o;
  o.kind = SplitKind::kMasks;
  o.test_fraction = 0.25;
  const Split s = split_dataset(d, o);
  expect_partition(d, s);
  EXPECT_EQ(s.foldin.nnz(), 0);
  o.kind = SplitKind::kUserTime;
  const Split by_time = split_dataset(d, o);
  for (index_t u = 0; u < d.num_users(); ++u) {
    const index_t n = d.interactions.row_size(u);
    // Per user, not overall: the count is the user's own share, whatever the others have.
    EXPECT_EQ(s.test.row_size(u),
              std::clamp<index_t>(std::llround(0.25 * static_cast<double>(n)), 1, n - 1));
    EXPECT_GE(s.train.interactions.row_size(u), 1);
  }
  // Chosen without regard to time: not the users' latest interactions.
  EXPECT_NE(s.test, by_time.test);
  o.kind = SplitKind::kMasks;
  EXPECT_EQ(split_dataset(d, o).test, s.test);  // seeded
  o.seed = 9;
  EXPECT_NE(split_dataset(d, o).test, s.test);
  EXPECT_EQ(parse_split_kind("masks"), SplitKind::kMasks);
}

TEST(Split, TimeSplitsNeedTimestamps) {
  Dataset d = synthetic(10, 10, 6);
  d.interactions = d.interactions.without_times();
  SplitOptions o;
  o.kind = SplitKind::kLeaveLastN;
  EXPECT_NE(test::error_of([&] { split_dataset(d, o); }).find("no timestamps"), std::string::npos);
}

TEST(Filters, KCoreIsIterative) {
  // A chain where removing one user makes an item fall below the threshold, and so on.
  Dataset d;
  d.users = IdMap::from_ids({"a", "b", "c", "d"});
  d.items = IdMap::from_ids({"x", "y", "z"});
  // a: x y ; b: x y ; c: y z ; d: z
  d.interactions = CsrMatrix(4, 3, {0, 2, 4, 6, 7}, {0, 1, 0, 1, 1, 2, 2}, {1, 1, 1, 1, 1, 1, 1});
  d.user_features = FeatureTable(4);
  d.item_features = FeatureTable(3);
  FilterOptions o;
  o.kcore = 2;
  const Dataset f = apply_filters(d, o);
  // d has 1 -> removed; z then has 1 (c) -> removed; c then has 1 -> removed.
  EXPECT_EQ(f.users.ids(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(f.items.ids(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(f.num_interactions(), 4);
}

TEST(Filters, MinRatingAndMinimums) {
  const Dataset d = synthetic(50, 30, 8);
  FilterOptions o;
  o.min_rating = 4.0f;
  const Dataset f = apply_filters(d, o);
  for (float v : f.interactions.values()) EXPECT_GE(v, 4.0f);
  o.min_rating.reset();
  o.min_user_interactions = 20;
  const Dataset g = apply_filters(d, o);
  for (index_t u = 0; u < g.num_users(); ++u) EXPECT_GE(g.interactions.row_size(u), 1);
  EXPECT_LT(g.num_users(), d.num_users());
}

TEST(Weights, HandComputedValues) {
  // 2 users; user 0 rated items 0 and 1 with 4 and 1; user 1 rated item 0 with 2.
  const CsrMatrix m(2, 2, {0, 2, 3}, {0, 1, 0}, {4, 1, 2}, {0, 86400, 86400});
  WeightOptions o = parse_weight_scheme("confidence:2");
  auto w = compute_weights(m, o);
  EXPECT_FLOAT_EQ(w[0], 9.0f);
  EXPECT_FLOAT_EQ(w[1], 3.0f);
  w = compute_weights(m, parse_weight_scheme("log:2"));
  EXPECT_FLOAT_EQ(w[0], static_cast<float>(std::log(3.0)));
  w = compute_weights(m, parse_weight_scheme("binary"));
  EXPECT_FLOAT_EQ(w[0], 1.0f);
  // TF-IDF: idf(item0) = log 2 - log 3, idf(item1) = log 2 - log 2 = 0.
  w = compute_weights(m, parse_weight_scheme("tfidf"));
  EXPECT_NEAR(w[0], 2.0 * (std::log(2.0) - std::log(3.0)), 1e-6);
  EXPECT_NEAR(w[1], 0.0, 1e-6);
  // BM25 with k1=1, b=0: x*(2)/(1+x) * idf.
  w = compute_weights(m, parse_weight_scheme("bm25:1,0"));
  EXPECT_NEAR(w[0], 4.0 * 2.0 / 5.0 * (std::log(2.0) - std::log(3.0)), 1e-6);
  // Time decay with a 1-day half-life: the oldest event (1 day before the latest) halves.
  o = parse_weight_scheme("rating");
  o.half_life_days = 1.0;
  w = compute_weights(m, o);
  EXPECT_FLOAT_EQ(w[0], 2.0f);
  EXPECT_FLOAT_EQ(w[1], 1.0f);
  EXPECT_NE(test::error_of([] { parse_weight_scheme("magic"); }).find("unknown weight scheme"),
            std::string::npos);
}

}  // namespace
}  // namespace reckon
