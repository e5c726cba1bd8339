#include "reckon/core/id_map.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace reckon {
namespace {

TEST(IdMap, InternsInOrderOfFirstAppearance) {
  IdMap m;
  EXPECT_EQ(m.intern("b"), 0);
  EXPECT_EQ(m.intern("a"), 1);
  EXPECT_EQ(m.intern("b"), 0);
  EXPECT_EQ(m.size(), 2);
  EXPECT_EQ(m.id(1), "a");
  EXPECT_EQ(m.find("a"), 1);
  EXPECT_FALSE(m.find("zzz").has_value());
}

TEST(IdMap, SurvivesManyInsertions) {
  // Stored strings must stay valid as the table grows (no dangling keys).
  IdMap m;
  for (int i = 0; i < 100000; ++i) m.intern("user-" + std::to_string(i));
  for (int i = 0; i < 100000; i += 997) EXPECT_EQ(m.find("user-" + std::to_string(i)), i);
}

TEST(IdMap, FromIdsRefusesDuplicates) {
  EXPECT_NE(test::error_of([] {
              IdMap::from_ids({"x", "y", "x"});
            }).find("duplicate id \"x\""),
            std::string::npos);
}

TEST(IdMap, SelectKeepsTheGivenOrder) {
  IdMap m = IdMap::from_ids({"a", "b", "c", "d"});
  const std::vector<index_t> keep = {3, 1};
  IdMap s = m.select(keep);
  ASSERT_EQ(s.size(), 2);
  EXPECT_EQ(s.id(0), "d");
  EXPECT_EQ(s.find("b"), 1);
}

}  // namespace
}  // namespace reckon
