#include "reckon/tune/tuner.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "reckon/models/model.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

// Two taste groups: users 0..n/2 like items 0..m/2, the others the rest; every user has a few
// items of their group, so a neighbourhood or factor model recovers the groups.
Dataset two_groups(index_t users, index_t items, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<index_t> rows, cols;
  std::vector<float> vals;
  for (index_t u = 0; u < users; ++u) {
    const index_t base = u < users / 2 ? 0 : items / 2;
    for (int k = 0; k < 8; ++k) {
      rows.push_back(u);
      cols.push_back(base + static_cast<index_t>(rng() % static_cast<std::uint64_t>(items / 2)));
      vals.push_back(1);
    }
  }
  return test::make_dataset(CsrMatrix::from_coordinates(users, items, rows, cols, vals, {},
                                                        DedupPolicy::kLast));
}

TuneInputs inputs(const Dataset& train, const CsrMatrix& test, int* opened) {
  TuneInputs in;
  in.train = train;
  in.validation.kind = SplitKind::kRandom;
  in.validation.test_fraction = 0.2;
  in.prepare = [](Dataset d) { return std::make_shared<const Dataset>(std::move(d)); };
  in.open_test = [test, opened](const Dataset&) {
    ++*opened;
    return std::pair<CsrMatrix, CsrMatrix>{test, CsrMatrix()};
  };
  in.test_eval.ks = {10};
  in.test_eval.metrics = {"recall", "ndcg"};
  in.test_eval.progress = false;
  return in;
}

TEST(Tune, OpensTheTestPartOnceAndOnlyAfterEveryTrial) {
  const Dataset all = two_groups(60, 40, 1);
  SplitOptions so;
  so.test_fraction = 0.2;
  Split s = split_dataset(all, so);
  int opened = 0;
  std::size_t trials_seen = 0, trials_when_opened = 0;
  TuneInputs in = inputs(s.train, s.test, &opened);
  auto open = in.open_test;
  in.open_test = [&, open](const Dataset& d) {
    trials_when_opened = trials_seen;
    return open(d);
  };
  TuneOptions o;
  o.model = "itemknn";
  o.space = default_search_space("itemknn");
  o.max_trials = 6;
  o.progress = false;
  o.on_trial = [&](const Trial&) {
    EXPECT_EQ(opened, 0) << "the test part was opened during the search";
    ++trials_seen;
  };
  TuneOutcome out = tune(std::move(in), o);
  EXPECT_EQ(opened, 1);
  EXPECT_EQ(trials_when_opened, 6u);
  ASSERT_EQ(out.search.trials.size(), 6u);
  ASSERT_EQ(out.test.models.size(), 2u);
  EXPECT_EQ(out.test.models[0].name, "itemknn (tuned)");
  EXPECT_EQ(out.test.models[1].name, "itemknn (default)");
  EXPECT_TRUE(out.test.models[0].metrics.contains("recall@10"));
  // The validation part came from train: it is smaller than train and names its source.
  EXPECT_EQ(out.validation_protocol["carved_from"], "train");
  EXPECT_LT(out.validation_protocol["interactions"].get<index_t>(), s.train.num_interactions());
}

TEST(Tune, BestTrialIsTheBestScoreAndSeedsRepeat) {
  const Dataset all = two_groups(60, 40, 2);
  Split s = split_dataset(all, SplitOptions{});
  const auto train = std::make_shared<const Dataset>(s.train);
  TuneOptions o;
  o.model = "ials";
  o.fixed = {{"iterations", "8"}};
  o.space = default_search_space("ials");
  o.max_trials = 10;
  o.startup_trials = 4;
  o.progress = false;
  o.threads = 1;
  SearchResult a = search_parameters(train, s.test, CsrMatrix(), o);
  SearchResult b = search_parameters(train, s.test, CsrMatrix(), o);
  ASSERT_EQ(a.trials.size(), 10u);
  ASSERT_TRUE(a.best.has_value());
  EXPECT_EQ(a.metric, "ndcg@20");
  EXPECT_EQ(a.budget_param, "iterations");
  for (std::size_t i = 0; i < a.trials.size(); ++i) {
    EXPECT_EQ(a.trials[i].params, b.trials[i].params) << "trial " << i + 1;
    const Trial& t = a.trials[i];
    if (t.stopped) {
      EXPECT_TRUE(t.early_score.has_value());
      EXPECT_TRUE(std::isnan(t.score));
    } else {
      EXPECT_TRUE(std::isfinite(t.score));
      EXPECT_LE(t.score, a.trials[*a.best].score);
    }
    // Every sampled value is inside the declared range.
    const double f = std::stod(t.params.at("factors"));
    EXPECT_GE(f, 16);
    EXPECT_LE(f, 256);
  }
}

TEST(Tune, RatingModelsMinimiseRmse) {
  // Ratings 1..5 with a user bias: the search must pick the lowest RMSE as best.
  std::vector<index_t> rows, cols;
  std::vector<float> vals;
  for (index_t u = 0; u < 40; ++u)
    for (index_t i = 0; i < 30; i += 1 + (u % 3)) {
      rows.push_back(u);
      cols.push_back(i);
      vals.push_back(static_cast<float>(1 + (u + i) % 5));
    }
  Dataset d = test::make_dataset(CsrMatrix::from_coordinates(40, 30, rows, cols, vals, {},
                                                             DedupPolicy::kLast));
  d.explicit_ratings = true;
  Split s = split_dataset(d, SplitOptions{});
  TuneOptions o;
  o.model = "mf";
  o.fixed = {{"epochs", "8"}};
  o.space = default_search_space("mf");
  o.max_trials = 5;
  o.progress = false;
  o.early_stopping = false;
  SearchResult r = search_parameters(std::make_shared<const Dataset>(s.train), s.test,
                                     CsrMatrix(), o);
  EXPECT_EQ(r.metric, "rmse");
  EXPECT_FALSE(r.maximize);
  for (const auto& t : r.trials) EXPECT_GE(t.score, r.trials[*r.best].score);
}

TEST(Tune, TimeBudgetStopsTheSearch) {
  const Dataset all = two_groups(40, 30, 3);
  Split s = split_dataset(all, SplitOptions{});
  TuneOptions o;
  o.model = "ease";
  o.space = default_search_space("ease");
  o.max_seconds = 0.5;
  o.progress = false;
  SearchResult r = search_parameters(std::make_shared<const Dataset>(s.train), s.test,
                                     CsrMatrix(), o);
  EXPECT_GE(r.trials.size(), 1u);
  EXPECT_LT(r.seconds, 5.0);
}

TEST(SearchSpace, ParsesChecksAndMapsValues) {
  SearchSpace s = parse_search_space("factors=8:64:log,alpha=1:10", "ials",
                                     default_search_space("ials"));
  const auto factors = std::find_if(s.begin(), s.end(), [](auto& d) { return d.param == "factors"; });
  ASSERT_NE(factors, s.end());
  EXPECT_TRUE(factors->log);
  EXPECT_EQ(from_unit(*factors, 0), "8");
  EXPECT_EQ(from_unit(*factors, 1), "64");
  EXPECT_EQ(from_unit(*factors, 0.5), "23");  // the geometric middle of 8 and 64 (22.6)
  EXPECT_NEAR(to_unit(*factors, "23"), 0.5, 0.02);
  const SearchDim sim{"similarity", ParamType::kString, 0, 0, false, {"cosine", "jaccard"}};
  EXPECT_EQ(from_unit(sim, 0.2), "cosine");
  EXPECT_EQ(from_unit(sim, 0.9), "jaccard");
  EXPECT_NE(test::error_of([] { parse_search_space("nope=1:2", "ials", {}); }).find("no parameter"),
            std::string::npos);
  EXPECT_NE(test::error_of([] { parse_search_space("factors=0:99999", "ials", {}); })
                .find("accepts [1, 4096]"),
            std::string::npos);
  EXPECT_NE(test::error_of([] { parse_search_space("alpha=0:10:log", "ials", {}); })
                .find("LO > 0"),
            std::string::npos);
  EXPECT_NE(test::error_of([] { parse_search_space("similarity=cosine|magic", "itemknn", {}); })
                .find("does not accept \"magic\""),
            std::string::npos);
  EXPECT_NE(test::error_of([] { parse_search_space("factors", "ials", {}); }).find("expected NAME"),
            std::string::npos);
  // Every declared space agrees with its model's parameters.
  for (const auto& m : registered_models())
    EXPECT_NO_THROW(validate_search_space(default_search_space(m.name), m.name)) << m.name;
}

}  // namespace
}  // namespace reckon
