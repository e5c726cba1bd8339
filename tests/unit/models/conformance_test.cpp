// Every registered model: fit on a small generated dataset, then the checks every model must
// pass (scores finite, top-k excludes seen items, save/load gives identical scores, empty users,
// same seed gives the same model, unknown parameters refused).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/files.hpp"
#include "reckon/core/random.hpp"
#include "reckon/eval/evaluator.hpp"
#include "reckon/io/dataset_file.hpp"
#include "reckon/models/model.hpp"
#include "reckon/models/user_context.hpp"
#include "reckon/retrieval/recommender.hpp"
#include "reckon/retrieval/topk.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

std::shared_ptr<const Dataset> generated() {
  Rng rng(3);
  std::vector<index_t> u, i;
  std::vector<float> v;
  std::vector<std::int64_t> t;
  const index_t users = 60, items = 40;
  for (index_t a = 0; a < users; ++a) {
    for (int k = 0; k < 8; ++k) {
      u.push_back(a);
      // Two taste groups so that collaborative models have something to find.
      i.push_back(static_cast<index_t>((a % 2) * 20 + rng.below(20)));
      v.push_back(static_cast<float>(1 + rng.below(5)));
      t.push_back(static_cast<std::int64_t>(1000 + a * 10 + k));
    }
  }
  auto d = std::make_shared<Dataset>(test::make_dataset(
      CsrMatrix::from_coordinates(users, items, u, i, v, t, DedupPolicy::kLast)));
  d->explicit_ratings = true;
  test::add_item_features(*d, 2);  // the two taste groups share labels (content)
  return d;
}

class Conformance : public ::testing::TestWithParam<std::string> {};

UserContext known_user(const Dataset& d, index_t u) {
  UserContext c;
  c.user = u;
  c.history = d.interactions.row_indices(u);
  c.weights = d.interactions.row_values(u);
  c.times = d.interactions.row_times(u);
  return c;
}

TEST_P(Conformance, FitScoreRecommendSaveLoad) {
  const auto data = generated();
  FitContext ctx;
  TrainedModel t = train_model(GetParam(), data, test::quick_params(GetParam()), ctx);
  const auto n = static_cast<std::size_t>(data->num_items());
  std::vector<float> scores(n);
  for (index_t u = 0; u < data->num_users(); u += 7) {
    t.model->score(known_user(*data, u), scores);
    for (float s : scores) ASSERT_TRUE(std::isfinite(s)) << GetParam();
    const auto rec = recommend(*t.model, known_user(*data, u), 10, Filter{}, scores);
    EXPECT_EQ(rec.size(), 10u);
    for (const auto& r : rec) {
      const auto h = data->interactions.row_indices(u);
      EXPECT_FALSE(std::binary_search(h.begin(), h.end(), r.item)) << "recommended a seen item";
    }
  }
  // A stranger with no history, and one with two favourites.
  UserContext empty;
  t.model->score(empty, scores);
  for (float s : scores) ASSERT_TRUE(std::isfinite(s));
  const std::vector<col_t> likes = {3, 5};
  UserContext stranger;
  stranger.history = likes;
  const auto rec = recommend(*t.model, stranger, 5, Filter{}, scores);
  for (const auto& r : rec) EXPECT_TRUE(r.item != 3 && r.item != 5);

  // Save/load round trip gives identical scores.
  test::TempDir dir;
  save_model_file(t, dir / "m.rkm");
  TrainedModel back = load_model_file(dir / "m.rkm");
  EXPECT_EQ(back.model->name(), GetParam());
  EXPECT_EQ(back.params.to_json(), t.params.to_json());
  EXPECT_EQ(back.train->interactions, data->interactions);
  std::vector<float> again(n);
  for (index_t u = 0; u < data->num_users(); u += 11) {
    t.model->score(known_user(*data, u), scores);
    back.model->score(known_user(*data, u), again);
    EXPECT_EQ(scores, again);
  }

  // The same seed gives the same model (one thread: Hogwild SGD is not ordered otherwise).
  FitContext one = ctx;
  one.threads = 1;
  TrainedModel t1 = train_model(GetParam(), data, test::quick_params(GetParam()), one);
  TrainedModel t2 = train_model(GetParam(), data, test::quick_params(GetParam()), one);
  t1.model->score(known_user(*data, 4), scores);
  t2.model->score(known_user(*data, 4), again);
  EXPECT_EQ(scores, again);

  // Folding in a training user's own history (as a stranger) ranks close to the learned user.
  if (GetParam() != "random") {
    double overlap = 0;
    int users = 0;
    std::vector<float> s2(n);
    for (index_t u = 0; u < data->num_users(); u += 5, ++users) {
      const auto a = recommend(*t.model, known_user(*data, u), 10, Filter{}, scores);
      UserContext stranger_u = known_user(*data, u);
      stranger_u.user.reset();
      const auto b = recommend(*t.model, stranger_u, 10, Filter{}, s2);
      for (const auto& x : a)
        for (const auto& y : b) overlap += x.item == y.item;
    }
    EXPECT_GE(overlap / users, 5.0) << "fold-in ranks far from the learned factors";
  }

  // Unknown parameters are refused with the known ones listed.
  EXPECT_NE(test::error_of([&] {
              train_model(GetParam(), data, {{"no_such_param", "1"}}, ctx);
            }).find("unknown parameter"),
            std::string::npos);
}

// With an event log (--keep-repeats: every event, repeats included) every model fits and scores;
// the sequence models read a known user's events, the others the merged matrix, and the log
// travels inside the model file.
TEST_P(Conformance, FitsAndScoresWithAnEventLog) {
  const auto base = generated();
  const CsrMatrix& m = base->interactions;
  std::vector<std::uint32_t> u, i;
  std::vector<float> v;
  std::vector<std::int64_t> t;
  for (index_t a = 0; a < m.rows(); ++a) {
    const auto idx = m.row_indices(a);
    for (std::size_t k = 0; k < idx.size(); ++k) {
      // Each entry once, and every third one clicked again later (its repeat).
      for (int again = 0; again < (k % 3 == 0 ? 2 : 1); ++again) {
        u.push_back(static_cast<std::uint32_t>(a));
        i.push_back(static_cast<std::uint32_t>(idx[k]));
        v.push_back(m.row_values(a)[k]);
        t.push_back(m.row_times(a)[k] + again * 100);
      }
    }
  }
  auto data = std::make_shared<Dataset>(*base);
  data->events = EventLog::from_events(m.rows(), m.cols(), u, i, v, t, DedupPolicy::kLast);
  data->interactions = data->events.merged();
  data->validate();
  FitContext ctx;
  TrainedModel tm = train_model(GetParam(), data, test::quick_params(GetParam()), ctx);
  const auto n = static_cast<std::size_t>(data->num_items());
  std::vector<float> scores(n), again(n);
  const bool events = tm.model->reads_event_history();
  for (index_t a = 0; a < data->num_users(); a += 7) {
    tm.model->score(training_context(*data, a, events), scores);
    for (float s : scores) ASSERT_TRUE(std::isfinite(s)) << GetParam();
  }
  test::TempDir dir;
  save_model_file(tm, dir / "m.rkm");
  const TrainedModel back = load_model_file(dir / "m.rkm");
  EXPECT_EQ(back.train->events, data->events);
  back.model->score(training_context(*back.train, 3, events), again);
  tm.model->score(training_context(*data, 3, events), scores);
  EXPECT_EQ(scores, again);
}

// A model read back from its file holds the training data it was saved with and scores as
// the model that was saved.
void expect_as_saved(const TrainedModel& saved, const TrainedModel& back, const Dataset& data) {
  EXPECT_EQ(back.train->interactions, data.interactions);
  std::vector<float> a(static_cast<std::size_t>(data.num_items())), b(a.size());
  const bool events = saved.model->reads_event_history();
  saved.model->score(training_context(data, 2, events), a);
  back.model->score(training_context(*back.train, 2, events), b);
  EXPECT_EQ(a, b) << saved.model->name();
}

// Format 2 on embeds the training data aligned: a loaded model's interactions are the file's
// pages (read in place), and score as the model that was saved.
TEST_P(Conformance, ModelFileIsReadInPlace) {
  const auto data = generated();
  FitContext ctx;
  ctx.verbose = false;
  const TrainedModel t = train_model(GetParam(), data, test::quick_params(GetParam()), ctx);
  test::TempDir dir;
  save_model_file(t, dir / "m.rkm");
  const CheckedFile file =
      read_checked_file(dir / "m.rkm", "RECKONMD", kModelFormatVersion, "reckon model");
  ASSERT_EQ(file.version, 3u);
  const TrainedModel back = decode_model(file.body, "m.rkm", file.version, file.storage);
  const auto* p = reinterpret_cast<const char*>(back.train->interactions.indices().data());
  EXPECT_TRUE(p >= file.body.data() && p < file.body.data() + file.body.size()) << GetParam();
  expect_as_saved(t, back, *data);
}

// Model files of format 2 (0.16.0 and 0.17.0: the training data with 64-bit items) still load,
// their items narrowed into a copy, and score as the model that was saved.
TEST_P(Conformance, FormatTwoModelFilesStillLoad) {
  const auto data = generated();
  FitContext ctx;
  ctx.verbose = false;
  const TrainedModel t = train_model(GetParam(), data, test::quick_params(GetParam()), ctx);
  // The layout of save_model_file, with dataset format 2 embedded.
  const std::string dataset = encode_dataset(*data, 2);
  BinaryWriter w;
  w.put_string(t.model->name());
  w.put_string(t.params.to_json().dump());
  w.put<double>(t.fit_seconds);
  w.put<std::uint64_t>(dataset.size());
  w.align();
  w.put_raw(dataset);
  t.model->save(w);
  test::TempDir dir;
  write_checked_file(dir / "v2.rkm", "RECKONMD", 2,
                     {static_cast<std::uint64_t>(data->num_users()),
                      static_cast<std::uint64_t>(data->num_items())},
                     w.bytes());
  expect_as_saved(t, load_model_file(dir / "v2.rkm"), *data);
}

// The service's way: the training data copied, so that the file may be overwritten in place
// (truncated first, as `cp` does) while the model serves; viewed in place, reading it after
// would be a bus error.
TEST_P(Conformance, CopiedModelOutlivesItsFileBeingOverwritten) {
  const auto data = generated();
  FitContext ctx;
  ctx.verbose = false;
  const TrainedModel t = train_model(GetParam(), data, test::quick_params(GetParam()), ctx);
  test::TempDir dir;
  save_model_file(t, dir / "m.rkm");
  const TrainedModel back = load_model_file(dir / "m.rkm", FileAccess::copy);
  std::filesystem::resize_file(dir / "m.rkm", 0);
  { std::ofstream(dir / "m.rkm", std::ios::app) << "overwritten"; }
  expect_as_saved(t, back, *data);
}

TEST_P(Conformance, DamagedModelFileIsRefused) {
  const auto data = generated();
  FitContext ctx;
  TrainedModel t = train_model(GetParam(), data, test::quick_params(GetParam()), ctx);
  test::TempDir dir;
  save_model_file(t, dir / "m.rkm");
  const std::string bytes = read_file(dir / "m.rkm");
  write_file_atomic(dir / "cut.rkm", bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(test::error_of([&] { load_model_file(dir / "cut.rkm"); }).find("cut.rkm"),
            std::string::npos);
  // A dataset file is not a model file.
  write_file_atomic(dir / "d.rkm", "RECKONDS not a model");
  EXPECT_NE(test::error_of([&] { load_model_file(dir / "d.rkm"); }).find("not a reckon model"),
            std::string::npos);
}

// A user the model knows with no training interactions (a global-time or predefined split)
// gets the fallback, with its source named, from recommend() and from evaluation alike: the
// model on an empty history returned the first items of the catalogue with score 0 as "model".
TEST_P(Conformance, UserWithAnEmptyHistoryGetsTheFallback) {
  const auto base = generated();
  auto d = std::make_shared<Dataset>(*base);
  d->users.intern("nobody");
  d->interactions = base->interactions.resized(base->num_users() + 1, base->num_items());
  d->user_features = FeatureTable(d->num_users());
  FitContext ctx;
  ctx.verbose = false;
  const TrainedModel t = train_model(GetParam(), d, test::quick_params(GetParam()), ctx);
  const Recommender rec(t);
  const Recommendation r = rec.for_user("nobody", 5);
  EXPECT_EQ(r.source, "popular") << GetParam();
  const Recommendation pop = rec.popular(5);
  ASSERT_EQ(r.items.size(), 5u);
  for (std::size_t j = 0; j < 5; ++j) EXPECT_EQ(r.items[j].item, pop.items[j].item) << GetParam();
  // Evaluation ranks that user the same way: a test item among the most popular is a hit.
  const index_t nobody = *d->users.find("nobody");
  std::vector<index_t> rows(static_cast<std::size_t>(d->num_users()) + 1, 0);
  for (std::size_t u = static_cast<std::size_t>(nobody) + 1; u < rows.size(); ++u) rows[u] = 1;
  const CsrMatrix test(d->num_users(), d->num_items(), rows,
                       std::vector<col_t>{static_cast<col_t>(pop.items[0].item)},
                       std::vector<float>{1.0f});
  EvalOptions o;
  o.ks = {1};
  o.metrics = {"hitrate"};
  o.progress = false;
  const EvalResult e = evaluate(*t.model, *d, test, CsrMatrix(), o);
  EXPECT_DOUBLE_EQ(e.metrics.at("hitrate@1"), 1.0) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(AllModels, Conformance, ::testing::ValuesIn(test::models_under_test()),
                         [](const auto& info) { return info.param; });

TEST(Registry, UnknownModelListsKnownOnes) {
  const auto e = test::error_of([] { make_model("deep-magic"); });
  EXPECT_NE(e.find("unknown model \"deep-magic\""), std::string::npos);
  EXPECT_NE(e.find("popular"), std::string::npos);
}

}  // namespace
}  // namespace reckon
