#include "reckon/eval/evaluator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "reckon/io/import.hpp"
#include "reckon/models/popular.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

TrainedModel fit(const std::string& name, const Dataset& d) {
  FitContext ctx;
  return train_model(name, std::make_shared<const Dataset>(d), {}, ctx);
}

// Popularity: item 0 (3 users), item 1 (2), item 2 (1), items 3, 4 (0).
// user 0 saw {0}; user 1 saw {0, 1}; user 2 saw {0, 1, 2}.
const CsrMatrix kTrain(3, 5, {0, 1, 3, 6}, {0, 0, 1, 0, 1, 2}, {1, 1, 1, 1, 1, 1});
// Tests: user 0 -> {1, 4}; user 1 -> {3}; user 2 -> none (skipped).
const CsrMatrix kTest(3, 5, {0, 2, 3, 3}, {1, 4, 3}, {1, 1, 1});

TEST(Evaluator, PopularOnATinyCaseByHand) {
  const Dataset d = test::make_dataset(kTrain);
  const TrainedModel t = fit("popular", d);
  EvalOptions o;
  o.ks = {1, 2};
  o.metrics = {"recall", "precision", "hitrate", "ndcg", "coverage", "coldcoverage"};
  o.progress = false;
  o.cold_threshold = 1;  // only user 0 (one training item) is cold
  const EvalResult r = evaluate(*t.model, d, kTest, CsrMatrix(), o);
  EXPECT_EQ(r.users, 2);
  EXPECT_EQ(r.cold_users, 1);
  EXPECT_DOUBLE_EQ(r.metrics.at("coldcoverage@1"), 1.0);
  // user 0 ranking (seen 0 masked): 1, 2, 3, 4 -> @1 hit (1), @2 hits {1} -> recall 1/2.
  // user 1 ranking (seen 0, 1 masked): 2, 3, 4 -> @1 miss, @2 hit 3 -> recall 1.
  EXPECT_DOUBLE_EQ(r.metrics.at("recall@1"), (0.5 + 0.0) / 2);
  EXPECT_DOUBLE_EQ(r.metrics.at("recall@2"), (0.5 + 1.0) / 2);
  EXPECT_DOUBLE_EQ(r.metrics.at("precision@2"), (0.5 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(r.metrics.at("hitrate@1"), 0.5);
  // Items recommended @2: user 0 {1, 2}, user 1 {2, 3} -> 3 of 5.
  EXPECT_DOUBLE_EQ(r.metrics.at("coverage@2"), 3.0 / 5);
  const double ndcg_u1 = (1 / std::log2(3.0)) / 1.0;
  EXPECT_NEAR(r.metrics.at("ndcg@2"), (1.0 / (1 + 1 / std::log2(3.0)) + ndcg_u1) / 2, 1e-12);
}

// Scores: strangers (held-out users) prefer item 0, known users item 1; everything else 0.
class SpyModel final : public Model {
 public:
  std::string_view name() const noexcept override { return "spy"; }
  void fit(const Dataset& d, const Params&, FitContext&) override { items_ = d.num_items(); }
  void score(const UserContext& u, std::span<float> out) const override {
    std::fill(out.begin(), out.end(), 0.0f);
    out[u.user ? 1 : 0] = 1.0f;
  }
  bool predicts_ratings() const noexcept override { return true; }
  void save(BinaryWriter&) const override {}
  void load(BinaryReader&) override {}
  void validate(const Dataset&) const override {}

 private:
  index_t items_ = 0;
};

TEST(Evaluator, HeldOutUsersAreScoredAsStrangersFromTheirFoldIn) {
  // user 0 known (train {2}), test {1}; user 1 held out: fold-in {3}, test {0}.
  const Dataset d = test::make_dataset(CsrMatrix(2, 4, {0, 1, 1}, {2}, {1}));
  const CsrMatrix test(2, 4, {0, 1, 2}, {1, 0}, {1, 1});
  const CsrMatrix foldin(2, 4, {0, 0, 1}, {3}, {1});
  SpyModel spy;
  FitContext ctx;
  spy.fit(d, Params(), ctx);
  EvalOptions o;
  o.ks = {1};
  o.metrics = {"recall"};
  o.progress = false;
  EXPECT_DOUBLE_EQ(evaluate(spy, d, test, foldin, o).metrics.at("recall@1"), 1.0);
}

TEST(Evaluator, RatingErrorsClipPredictionsToTheTrainingRange) {
  // Training ratings span [1, 5]. The spy predicts 0 everywhere but item 1 (1.0) for known
  // users; 0 is clipped to 1.
  const Dataset d = test::make_dataset(CsrMatrix(2, 3, {0, 1, 2}, {2, 2}, {5, 1}));
  const CsrMatrix test(2, 3, {0, 2, 2}, {0, 1}, {3, 5});
  SpyModel spy;
  FitContext ctx;
  spy.fit(d, Params(), ctx);
  EvalOptions o;
  o.metrics = {"rmse", "mae"};
  o.progress = false;
  const EvalResult r = evaluate(spy, d, test, CsrMatrix(), o);
  // errors: item 0: 1 - 3 = -2; item 1: 1 - 5 = -4.
  EXPECT_DOUBLE_EQ(r.metrics.at("rmse"), std::sqrt((4.0 + 16.0) / 2));
  EXPECT_DOUBLE_EQ(r.metrics.at("mae"), 3.0);
}

TEST(Evaluator, SampledProtocolIsLabelledAndDeterministic) {
  const Dataset d = test::make_dataset(kTrain);
  const TrainedModel t = fit("random", d);
  EvalOptions o;
  o.sampled = true;
  o.negatives = 2;
  o.progress = false;
  o.metrics = {"hitrate", "auc"};
  EXPECT_EQ(candidates_label(o), "sampled-2-uniform");
  const EvalResult a = evaluate(*t.model, d, kTest, CsrMatrix(), o);
  const EvalResult b = evaluate(*t.model, d, kTest, CsrMatrix(), o);
  EXPECT_EQ(a.metrics, b.metrics);
  // With k = 20 and at most 3 candidates, every test item is in the list.
  EXPECT_DOUBLE_EQ(a.metrics.at("hitrate@20"), 1.0);
  o.popularity_negatives = true;
  EXPECT_EQ(candidates_label(o), "sampled-2-popularity");
}

TEST(Evaluator, ThreadCountDoesNotChangeResults) {
  auto data = test::shared_data();
  if (!data) GTEST_SKIP();
  const PredefinedSplit s = import_predefined_split(*data / "movielens-100k" / "u1.base",
                                                    *data / "movielens-100k" / "u1.test", {});
  const TrainedModel t = fit("popular", s.train);
  EvalOptions o;
  o.ks = {5, 10};
  o.metrics = {"recall", "ndcg", "map", "coverage", "novelty", "diversity", "coldcoverage", "auc"};
  o.progress = false;
  o.threads = 1;
  const EvalResult one = evaluate(*t.model, s.train, s.test, CsrMatrix(), o);
  o.threads = 2;
  const EvalResult two = evaluate(*t.model, s.train, s.test, CsrMatrix(), o);
  for (const auto& [k, v] : one.metrics) EXPECT_NEAR(v, two.metrics.at(k), 1e-12) << k;
  EXPECT_GT(one.metrics.at("diversity@10"), 0.0);
  EXPECT_GT(one.metrics.at("auc"), 0.5);
  // coldcoverage is given exactly when there are cold users.
  EXPECT_EQ(one.metrics.count("coldcoverage@10"), one.cold_users > 0 ? 1u : 0u);
}

// An independent reference for popular on Gowalla: parse the files directly, rank by training
// count (ties: the item seen first in the training file), exclude training items, compute
// recall@20 and ndcg@20 with the LightGCN conventions.
TEST(Evaluator, PopularOnGowallaMatchesAnIndependentReference) {
  auto data = test::shared_data();
  if (!data || !std::filesystem::exists(*data / "gowalla" / "train.txt")) GTEST_SKIP();
  auto read_lists = [](const std::filesystem::path& p) {
    std::map<long, std::vector<long>> lists;
    std::vector<long> order;
    std::ifstream in(p);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream ss(line);
      long u, i;
      ss >> u;
      auto& l = lists[u];
      while (ss >> i) l.push_back(i);
    }
    return lists;
  };
  const auto train = read_lists(*data / "gowalla" / "train.txt");
  const auto test = read_lists(*data / "gowalla" / "test.txt");
  std::map<long, long> count, first_seen;
  {
    std::ifstream in(*data / "gowalla" / "train.txt");
    std::string line;
    long seen = 0;
    while (std::getline(in, line)) {
      std::istringstream ss(line);
      long u, i;
      ss >> u;
      while (ss >> i) {
        ++count[i];
        if (!first_seen.count(i)) first_seen[i] = seen++;
      }
    }
    // Items only in the test file come after every training item, in test-file order.
    std::ifstream tin(*data / "gowalla" / "test.txt");
    while (std::getline(tin, line)) {
      std::istringstream ss(line);
      long u, i;
      ss >> u;
      while (ss >> i)
        if (!first_seen.count(i)) first_seen[i] = seen++;
    }
  }
  std::vector<long> ranking;
  for (const auto& [item, pos] : first_seen) ranking.push_back(item);
  std::sort(ranking.begin(), ranking.end(), [&](long a, long b) {
    const long ca = count.count(a) ? count.at(a) : 0, cb = count.count(b) ? count.at(b) : 0;
    return ca != cb ? ca > cb : first_seen.at(a) < first_seen.at(b);
  });
  double recall = 0, ndcg = 0;
  long users = 0;
  for (const auto& [u, items] : test) {
    if (items.empty()) continue;
    const std::set<long> seen(train.at(u).begin(), train.at(u).end());
    const std::set<long> rel(items.begin(), items.end());
    double hits = 0, dcg = 0, idcg = 0;
    int pos = 0;
    for (long i : ranking) {
      if (pos == 20) break;
      if (seen.count(i)) continue;
      if (rel.count(i)) hits += 1, dcg += 1 / std::log2(pos + 2.0);
      ++pos;
    }
    for (int j = 0; j < std::min<int>(20, static_cast<int>(rel.size())); ++j)
      idcg += 1 / std::log2(j + 2.0);
    recall += hits / static_cast<double>(rel.size());
    ndcg += dcg / idcg;
    ++users;
  }
  recall /= static_cast<double>(users);
  ndcg /= static_cast<double>(users);

  const PredefinedSplit s =
      import_predefined_split(*data / "gowalla" / "train.txt", *data / "gowalla" / "test.txt", {});
  const TrainedModel t = fit("popular", s.train);
  EvalOptions o;
  o.metrics = {"recall", "ndcg"};
  o.progress = false;
  const EvalResult r = evaluate(*t.model, s.train, s.test, CsrMatrix(), o);
  EXPECT_EQ(r.users, users);
  EXPECT_NEAR(r.metrics.at("recall@20"), recall, 1e-9);
  EXPECT_NEAR(r.metrics.at("ndcg@20"), ndcg, 1e-9);
  // The published MostPop figures on this split (e.g. in the LightGCN literature).
  EXPECT_NEAR(recall, 0.0416, 0.0005);
  EXPECT_NEAR(ndcg, 0.0317, 0.0005);
}

}  // namespace
}  // namespace reckon
