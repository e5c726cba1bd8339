// Counts of the public datasets in ../shared/data, as published. Skipped when the folder is absent.
#include <gtest/gtest.h>

#include "reckon/io/dataset_file.hpp"
#include "reckon/io/import.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

class RealData : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = test::shared_data();
    if (!d) GTEST_SKIP() << "shared data folder not found (set RECKON_DATA_DIR)";
    root_ = *d;
  }
  std::filesystem::path root_;
};

TEST_F(RealData, MovieLens100k) {
  const Dataset d = import_dataset(root_ / "movielens-100k", {});
  EXPECT_EQ(d.num_users(), 943);
  EXPECT_EQ(d.num_items(), 1682);
  EXPECT_EQ(d.num_interactions(), 100000);
  EXPECT_TRUE(d.explicit_ratings);
  EXPECT_TRUE(d.interactions.has_times());
  EXPECT_EQ(d.item_features.find("title")->text(*d.items.find("1")), "Toy Story (1995)");
  EXPECT_EQ(d.item_features.find("genres")->vocabulary().size(), 19u);
  EXPECT_EQ(d.user_features.find("gender")->format(*d.users.find("1")), "M");
  // Round trip through .rkd.
  test::TempDir dir;
  save_dataset(d, dir / "ml.rkd");
  const Dataset r = load_dataset(dir / "ml.rkd");
  EXPECT_EQ(r.interactions, d.interactions);
  EXPECT_EQ(r.item_features.find("title")->text(5), d.item_features.find("title")->text(5));
}

TEST_F(RealData, MovieLens100kPredefinedSplit) {
  const auto dir = root_ / "movielens-100k";
  const PredefinedSplit s = import_predefined_split(dir / "u1.base", dir / "u1.test", {});
  EXPECT_EQ(s.train.num_interactions(), 80000);
  EXPECT_EQ(s.test.nnz(), 20000);
  EXPECT_LE(s.train.num_items(), 1682);
  EXPECT_TRUE(s.train.item_features.find("title") != nullptr);
}

TEST_F(RealData, GowallaLightGcnSplit) {
  const auto dir = root_ / "gowalla";
  const PredefinedSplit s = import_predefined_split(dir / "train.txt", dir / "test.txt", {});
  EXPECT_EQ(s.train.num_users(), 29858);
  EXPECT_EQ(s.train.num_items(), 40981);
  EXPECT_EQ(s.train.num_interactions(), 810128);
  EXPECT_EQ(s.test.nnz(), 217242);
  const Dataset train_only = import_dataset(dir / "train.txt", {});
  EXPECT_EQ(train_only.num_users(), 29858);
  EXPECT_EQ(train_only.num_interactions(), 810128);
}

TEST_F(RealData, MovieLens1m) {
  const auto dir = root_ / "movielens-1m";
  std::filesystem::path ratings = dir / "ratings.dat";
  if (!std::filesystem::exists(ratings)) ratings = dir / "ratings.dat.gz";
  if (!std::filesystem::exists(ratings)) ratings = dir / "ratings-notime.dat.gz";
  if (!std::filesystem::exists(ratings)) GTEST_SKIP() << "no ML-1M ratings file";
  const Dataset d = import_dataset(ratings, {});
  EXPECT_EQ(d.num_users(), 6040);
  EXPECT_EQ(d.num_items(), 3706);
  EXPECT_EQ(d.num_interactions(), 1000209);
  EXPECT_EQ(d.user_features.find("occupation")->vocabulary().size(), 21u);
  EXPECT_EQ(d.item_features.find("title")->text(*d.items.find("1")), "Toy Story (1995)");
}

TEST_F(RealData, GoodbooksKaggleV1) {
  const auto dir = root_ / "goodbooks-10k" / "kaggle-v1";
  if (!std::filesystem::exists(dir)) GTEST_SKIP();
  const Dataset d = import_dataset(dir, {});
  EXPECT_EQ(d.num_users(), 53424);
  EXPECT_EQ(d.num_items(), 10000);
  // 981,756 rows minus repeated (book, user) pairs, merged.
  EXPECT_LT(d.num_interactions(), 981756);
  EXPECT_GT(d.num_interactions(), 975000);
  const auto* tags = d.item_features.find("tags");
  ASSERT_NE(tags, nullptr);
  EXPECT_GT(tags->vocabulary().size(), 1000u);
  EXPECT_EQ(d.item_features.find("title")->text(*d.items.find("1")),
            "The Hunger Games (The Hunger Games, #1)");
  // The dataset's own directory finds the Kaggle ratings beside the v2 files.
  EXPECT_EQ(import_dataset(root_ / "goodbooks-10k", {}).num_interactions(), d.num_interactions());
}

TEST_F(RealData, SessionClicksWithSemicolons) {
  const auto file = root_ / "diginetica-sample" / "sample_train-item-views.csv";
  if (!std::filesystem::exists(file)) GTEST_SKIP();
  ImportOptions o;
  o.session_col = "session_id";
  o.item_col = "item_id";
  o.time_col = "eventdate";
  const Dataset d = import_dataset(file, o);
  EXPECT_EQ(d.num_users(), 2986);
  EXPECT_EQ(d.num_items(), 7139);
}

}  // namespace
}  // namespace reckon
