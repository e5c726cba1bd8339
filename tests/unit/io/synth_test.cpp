// The synthetic data generator: deterministic, within its bounds, skewed as asked, clustered.
#include "reckon/io/synth.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "reckon/core/error.hpp"

namespace reckon {
namespace {

std::string generate(const SynthOptions& o) {
  std::string out;
  generate_interactions(o, [&](std::string_view b) { out += b; });
  return out;
}

struct SynthRow {
  std::int64_t user, item, rating = 0, time = 0;
};

std::vector<SynthRow> rows_of(const std::string& text, const SynthOptions& o) {
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  std::vector<SynthRow> out;
  while (std::getline(in, line)) {
    SynthRow r;
    std::istringstream f(line);
    std::string u, i, x;
    std::getline(f, u, o.separator);
    std::getline(f, i, o.separator);
    r.user = std::stoll(u.substr(1));
    r.item = std::stoll(i.substr(1));
    if (o.ratings && std::getline(f, x, o.separator)) r.rating = std::stoll(x);
    if (o.times && std::getline(f, x, o.separator)) r.time = std::stoll(x);
    out.push_back(r);
  }
  return out;
}

TEST(Synth, SameSeedSameBytesWithinBounds) {
  SynthOptions o;
  o.users = 300;
  o.items = 120;
  o.interactions = 5000;
  o.times = o.ratings = true;
  const auto a = generate(o);
  EXPECT_EQ(a, generate(o));
  EXPECT_EQ(a.substr(0, a.find('\n')), "user_id,item_id,rating,timestamp");
  const auto rows = rows_of(a, o);
  ASSERT_EQ(rows.size(), 5000u);
  std::int64_t last = 0;
  for (const auto& r : rows) {
    EXPECT_GE(r.user, 0);
    EXPECT_LT(r.user, 300);
    EXPECT_GE(r.item, 0);
    EXPECT_LT(r.item, 120);
    EXPECT_GE(r.rating, 1);
    EXPECT_LE(r.rating, 5);
    EXPECT_GE(r.time, last);  // rising through the rows
    last = r.time;
  }
  EXPECT_GE(rows.front().time, 1'577'836'800);
  EXPECT_LT(rows.back().time, 1'577'836'800 + 365 * 86'400);
  o.seed = 7;
  EXPECT_NE(a, generate(o));
}

// With Zipf's exponent the top 1% of items take a large share; uniform, about 1%.
TEST(Synth, PopularityFollowsTheExponent) {
  SynthOptions o;
  o.users = 2000;
  o.items = 1000;
  o.interactions = 50'000;
  o.affinity = 0;
  const auto share_of_top = [&](double exponent) {
    o.item_exponent = exponent;
    std::map<std::int64_t, std::int64_t> count;
    for (const auto& r : rows_of(generate(o), o)) ++count[r.item];
    std::vector<std::int64_t> c;
    for (const auto& [item, n] : count) c.push_back(n);
    std::sort(c.rbegin(), c.rend());
    std::int64_t top = 0;
    for (std::size_t k = 0; k < 10 && k < c.size(); ++k) top += c[k];
    return static_cast<double>(top) / static_cast<double>(o.interactions);
  };
  EXPECT_GT(share_of_top(1.0), 0.25);
  EXPECT_LT(share_of_top(0.0), 0.03);
}

TEST(Synth, RowsKeepToTheUsersGroupAsOftenAsAsked) {
  SynthOptions o;
  o.users = 500;
  o.items = 400;
  o.interactions = 20'000;
  o.clusters = 8;
  for (const double affinity : {1.0, 0.5}) {
    o.affinity = affinity;
    std::int64_t own = 0;
    for (const auto& r : rows_of(generate(o), o)) own += r.user % 8 == r.item % 8;
    const double share = static_cast<double>(own) / 20'000.0;
    if (affinity == 1.0)
      EXPECT_EQ(share, 1.0);
    else
      EXPECT_NEAR(share, 0.5 + 0.5 / 8, 0.03);  // the rest lands in the group by chance
  }
}

TEST(Synth, FeaturesCoverEveryUserAndItem) {
  SynthOptions o;
  o.users = 50;
  o.items = 30;
  std::string items, users;
  generate_item_features(o, [&](std::string_view b) { items += b; });
  generate_user_features(o, [&](std::string_view b) { users += b; });
  EXPECT_EQ(std::count(items.begin(), items.end(), '\n'), 31);
  EXPECT_EQ(std::count(users.begin(), users.end(), '\n'), 51);
  EXPECT_EQ(items.substr(0, items.find('\n')), "item_id,title,genres");
  EXPECT_NE(items.find("i29,Item 29,g9|all"), std::string::npos);
}

TEST(Synth, BadOptionsAreRefusedByName) {
  const auto refused = [](auto change, const char* name) {
    SynthOptions o;
    change(o);
    try {
      check_synth_options(o);
      ADD_FAILURE() << name << " was accepted";
    } catch (const InvalidInput& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  };
  refused([](SynthOptions& o) { o.users = 0; }, "--users");
  refused([](SynthOptions& o) { o.items = std::int64_t{1} << 40; }, "--items");
  refused([](SynthOptions& o) { o.interactions = -5; }, "--interactions");
  refused([](SynthOptions& o) { o.item_exponent = 9; }, "exponents");
  refused([](SynthOptions& o) { o.clusters = 0; }, "--clusters");
  refused([](SynthOptions& o) { o.affinity = 1.5; }, "--affinity");
  refused([](SynthOptions& o) { o.days = 0; }, "--days");
}

}  // namespace
}  // namespace reckon
