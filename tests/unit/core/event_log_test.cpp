// The event log (--keep-repeats): every event in time order with its repeats, beside the
// merged matrix, through import, .rkd files, filters, the splits and evaluation.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "reckon/core/binary_io.hpp"
#include "reckon/core/event_log.hpp"
#include "reckon/eval/evaluator.hpp"
#include "reckon/io/dataset_file.hpp"
#include "reckon/io/import.hpp"
#include "reckon/models/model.hpp"
#include "reckon/prep/split.hpp"
#include "test_support.hpp"

namespace reckon {
namespace {

// Two users: u0 clicks 2, 0, 2, 1 (times 10, 20, 20, 30: the tie keeps the given order);
// u1 clicks 1 twice.
EventLog small_log() {
  return EventLog::from_events(2, 3, {0, 1, 0, 0, 1, 0}, {2, 1, 0, 2, 1, 1},
                               {1, 1, 1, 1, 1, 1}, {10, 5, 20, 20, 6, 30}, DedupPolicy::kLast);
}

TEST(EventLog, KeepsEveryEventInTimeOrderAndMergesLikeTheMatrix) {
  const EventLog e = small_log();
  EXPECT_EQ(e.rows(), 2);
  EXPECT_EQ(e.size(), 6);
  EXPECT_EQ(std::vector<index_t>(e.row(0).begin(), e.row(0).end()),
            (std::vector<index_t>{2, 0, 2, 1}));
  EXPECT_EQ(std::vector<index_t>(e.row(1).begin(), e.row(1).end()), (std::vector<index_t>{1, 1}));
  EXPECT_EQ(std::vector<std::int64_t>(e.row_times(0).begin(), e.row_times(0).end()),
            (std::vector<std::int64_t>{10, 20, 20, 30}));
  const CsrMatrix m = e.merged();
  EXPECT_EQ(m, CsrMatrix::from_coordinates(2, 3, std::vector<index_t>{0, 1, 0, 0, 1, 0},
                                           std::vector<index_t>{2, 1, 0, 2, 1, 1},
                                           std::vector<float>(6, 1), {10, 5, 20, 20, 6, 30},
                                           DedupPolicy::kLast));
  EXPECT_EQ(m.row_size(0), 3);
  EXPECT_EQ(m.row_times(0)[2], 20);  // item 2's last event
  e.check_matches(m);
  // A row without one of its items, or with another, does not match.
  const CsrMatrix other = CsrMatrix::from_coordinates(
      2, 3, std::vector<index_t>{0, 0, 1}, std::vector<index_t>{0, 2, 1}, std::vector<float>(3, 1),
      {}, DedupPolicy::kLast);
  EXPECT_NE(test::error_of([&] { e.check_matches(other); }).find("row 0"), std::string::npos);
}

TEST(EventLog, FiltersSelectsAndRestricts) {
  const EventLog e = small_log();
  const EventLog no_last = e.filtered({true, true, true, false, true, true});
  EXPECT_EQ(no_last.row_size(0), 3);
  EXPECT_EQ(no_last.merged().row_size(0), 2);
  // Users [1, 0], items [1, 2]: item 0 drops out, indexes renumbered.
  const EventLog sel = e.select(std::vector<index_t>{1, 0}, std::vector<index_t>{1, 2});
  EXPECT_EQ(std::vector<index_t>(sel.row(0).begin(), sel.row(0).end()),
            (std::vector<index_t>{0, 0}));
  EXPECT_EQ(std::vector<index_t>(sel.row(1).begin(), sel.row(1).end()),
            (std::vector<index_t>{1, 1, 0}));
  const CsrMatrix only2 = CsrMatrix::from_coordinates(
      2, 3, std::vector<index_t>{0}, std::vector<index_t>{2}, std::vector<float>(1, 1), {},
      DedupPolicy::kLast);
  const EventLog r = e.restricted_to(only2);
  EXPECT_EQ(r.size(), 2);
  EXPECT_EQ(r.row_size(1), 0);
}

TEST(EventLog, RefusesWhatDoesNotAddUp) {
  auto make = [](std::vector<index_t> indptr, std::vector<col_t> items,
                 std::vector<std::int64_t> times) {
    return test::error_of([&] {
      const std::size_t n = items.size();
      EventLog(2, 3, indptr, items, std::vector<float>(n, 1), times, DedupPolicy::kLast);
    });
  };
  EXPECT_EQ(make({0, 1, 2}, {0, 2}, {}), "");
  EXPECT_NE(make({0, 1, 2}, {0, 3}, {}).find("out of range"), std::string::npos);
  EXPECT_NE(make({0, 3, 2}, {0, 1}, {}).find("decreases"), std::string::npos);
  EXPECT_NE(make({0, 1}, {0}, {}).find("row pointer"), std::string::npos);
  EXPECT_NE(make({0, 2, 2}, {0, 1}, {5, 4}).find("time order"), std::string::npos);
  EXPECT_NE(make({0, 1, 2}, {0, 1}, {5}).find("timestamps"), std::string::npos);
}

// A click log: u0 clicks a, b, a, c, a; u1 clicks b, b, c. Three events repeat an item.
constexpr const char* kClicks =
    "session,item,time\n"
    "u0,a,1\nu0,b,2\nu0,a,3\nu1,b,4\nu0,c,5\nu1,b,6\nu0,a,7\nu1,c,8\n";

// A click log (session, item, time) imported with its repeats.
Dataset import_clicks(std::string_view csv) {
  test::TempDir dir;
  ImportOptions o;
  o.session_col = "session";
  o.keep_repeats = true;
  return import_dataset(dir.file("clicks.csv", csv), o);
}

TEST(EventLog, ImportKeepsTheRepeatsAndRkdFilesCarryThem) {
  test::TempDir dir;
  const auto csv = dir.file("clicks.csv", kClicks);
  ImportOptions o;
  o.session_col = "session";
  const Dataset merged = import_dataset(csv, o);
  EXPECT_TRUE(merged.events.empty());
  o.keep_repeats = true;
  const Dataset d = import_dataset(csv, o);
  ASSERT_FALSE(d.events.empty());
  EXPECT_EQ(d.events.size(), 8);
  EXPECT_EQ(d.num_interactions(), merged.num_interactions());
  EXPECT_EQ(d.interactions, merged.interactions);
  const index_t u0 = *d.users.find("u0");
  EXPECT_EQ(d.events.row_size(u0), 5);
  EXPECT_EQ(d.events.row(u0).back(), *d.items.find("a"));

  const auto rkd = dir / "clicks.rkd";
  save_dataset(d, rkd);
  const Dataset back = load_dataset(rkd);
  EXPECT_EQ(back.events, d.events);
  EXPECT_EQ(back.interactions, d.interactions);
  // A .rkd saved without the repeats cannot give them.
  save_dataset(merged, dir / "merged.rkd");
  ImportOptions again;
  again.keep_repeats = true;
  const std::string refused = test::error_of([&] { import_dataset(dir / "merged.rkd", again); });
  EXPECT_NE(refused.find("--keep-repeats"), std::string::npos) << refused;
  // A log that disagrees with the matrix is refused, naming the file.
  const auto bytes = encode_dataset(d, kDatasetFormatVersion);
  EXPECT_NE(test::error_of([&] {
              // Swap the log's items for item 0 everywhere in the encoded bytes' last section.
              std::string tampered = bytes;
              const std::string tail = [&] {
                BinaryWriter w;
                w.put_vector(d.events.items());
                return std::move(w).take();
              }();
              const std::string zeros = [&] {
                BinaryWriter w;
                w.put_vector(std::vector<col_t>(d.events.items().size(), 0));
                return std::move(w).take();
              }();
              const auto at = tampered.rfind(tail);
              ASSERT_NE(at, std::string::npos);
              tampered.replace(at, tail.size(), zeros);
              decode_dataset(tampered, "tampered.rkd", kDatasetFormatVersion);
            }).find("tampered.rkd: corrupt dataset"),
            std::string::npos);
}

// The fuzz seed of a .rkd with an event log decodes (so the fuzzer starts inside the section).
TEST(EventLog, TheFuzzSeedDecodes) {
  std::ifstream in(std::filesystem::path(RECKON_SOURCE_DIR) / "tests/fuzz/corpus/rkd/events",
                   std::ios::binary);
  ASSERT_TRUE(in);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Dataset d = decode_dataset(bytes, "events");
  EXPECT_EQ(d.events.size(), 8);
}

TEST(EventLog, TheLastSplitHoldsOutTheLastEventEvenWhenItRepeats) {
  const Dataset d = import_clicks(kClicks);
  SplitOptions so;
  so.kind = SplitKind::kLeaveLastN;
  const Split s = split_dataset(d, so);
  const index_t u0 = *d.users.find("u0"), u1 = *d.users.find("u1");
  const index_t a = *d.items.find("a"), b = *d.items.find("b"), c = *d.items.find("c");
  // u0: a, b, a, c | a (a repeat: "a" stays in training too); u1: b, b | c.
  EXPECT_EQ(std::vector<index_t>(s.test.row_indices(u0).begin(), s.test.row_indices(u0).end()),
            std::vector<index_t>{a});
  EXPECT_EQ(std::vector<index_t>(s.test.row_indices(u1).begin(), s.test.row_indices(u1).end()),
            std::vector<index_t>{c});
  EXPECT_EQ(s.train.events.row_size(u0), 4);
  EXPECT_EQ(s.train.events.row_size(u1), 2);
  EXPECT_EQ(s.train.interactions.row_size(u0), 3);  // a, b, c
  EXPECT_EQ(std::vector<index_t>(s.train.interactions.row_indices(u1).begin(),
                                 s.train.interactions.row_indices(u1).end()),
            std::vector<index_t>{b});
  s.train.validate();

  // Evaluation: u0's test item is in their history. By default it is not ranked (a miss, and
  // counted); --include-seen ranks it.
  FitContext ctx;
  ctx.verbose = false;
  const TrainedModel pop = train_model("popular", std::make_shared<const Dataset>(s.train), {}, ctx);
  EvalOptions eo;
  eo.ks = {3};
  eo.metrics = {"hitrate"};
  eo.progress = false;
  const EvalResult unseen = evaluate(*pop.model, s.train, s.test, CsrMatrix(), eo);
  EXPECT_EQ(unseen.test_in_history, 1);
  EXPECT_DOUBLE_EQ(unseen.metrics.at("hitrate@3"), 0.5);  // u1 finds c; u0 cannot find a
  eo.include_seen = true;
  EXPECT_EQ(candidates_label(eo), "all");
  const EvalResult all = evaluate(*pop.model, s.train, s.test, CsrMatrix(), eo);
  EXPECT_DOUBLE_EQ(all.metrics.at("hitrate@3"), 1.0);  // three items: everything is in the top 3
  eo.sampled = true;
  EXPECT_NE(test::error_of([&] { evaluate(*pop.model, s.train, s.test, CsrMatrix(), eo); })
                .find("--include-seen"),
            std::string::npos);
}

// The GRU4Rec protocol: the latest sessions held out whole, their last event to predict from
// the rest (given as a stranger's history); the model never trains on them.
TEST(EventLog, TheLastSessionsAreHeldOutWhole) {
  test::TempDir dir;
  ImportOptions o;
  o.session_col = "session";
  const std::string clicks =
      "session,item,time\n"
      "s0,a,1\ns0,b,2\ns1,b,3\ns1,c,4\ns1,b,5\ns2,a,6\ns2,c,9\ns3,c,7\n";
  SplitOptions so;
  so.kind = SplitKind::kLastSessions;
  so.test_fraction = 0.34;  // of the 3 sessions with 2 or more clicks (s3 has one): 1
  for (const bool repeats : {false, true}) {
    o.keep_repeats = repeats;
    const Dataset d = import_dataset(dir.file("c.csv", clicks), o);
    const Split s = split_dataset(d, so);
    const index_t s1 = *d.users.find("s1"), s2 = *d.users.find("s2");
    // s2 ends last (time 9): a is its fold-in, c its test; nothing of it is trained on.
    EXPECT_EQ(s.train.interactions.row_size(s2), 0) << repeats;
    EXPECT_EQ(s.foldin.row_size(s2), 1);
    EXPECT_EQ(s.test.row_size(s2), 1);
    EXPECT_EQ(s.test.row_indices(s2)[0], *d.items.find("c"));
    EXPECT_EQ(s.test.nnz(), 1);
    EXPECT_EQ(s.train.interactions.row_size(s1), 2);
    if (repeats) {
      EXPECT_EQ(s.train.events.row_size(s1), 3);
    }
  }
  EXPECT_EQ(parse_split_kind("last-sessions"), SplitKind::kLastSessions);
  EXPECT_EQ(to_string(SplitKind::kLastSessions), "last-sessions");
}

// Scores an item by how often it occurs in the history: repeats decide its ranking.
class CountsHistory final : public Model {
 public:
  explicit CountsHistory(bool events) : events_(events) {}
  std::string_view name() const noexcept override { return "counts"; }
  bool reads_event_history() const noexcept override { return events_; }
  void fit(const Dataset&, const Params&, FitContext&) override {}
  void score(const UserContext& u, std::span<float> out) const override {
    std::fill(out.begin(), out.end(), 0.0f);
    for (const index_t i : u.history) out[static_cast<std::size_t>(i)] += 1;
  }
  bool scores_without_history(const UserContext&) const override { return true; }
  void save(BinaryWriter&) const override {}
  void load(BinaryReader&) override {}
  void validate(const Dataset&) const override {}

 private:
  bool events_;
};

// A held-out session's fold-in reaches a sequence model with its repeats: c, b, c then c.
TEST(EventLog, HeldOutSessionsGiveTheirRepeatsToSequenceModels) {
  const Dataset d = import_clicks(
      "session,item,time\ns0,a,1\ns0,b,2\ns1,b,3\ns1,c,4\ns2,c,6\ns2,b,7\ns2,c,8\ns2,c,9\n");
  SplitOptions so;
  so.kind = SplitKind::kLastSessions;
  so.test_fraction = 0.34;
  const Split s = split_dataset(d, so);
  ASSERT_EQ(s.foldin_events.row_size(*d.users.find("s2")), 3);
  EvalOptions eo;
  eo.ks = {1};
  eo.metrics = {"hitrate"};
  eo.include_seen = true;
  eo.progress = false;
  const auto hit = [&](bool events) {
    return evaluate(CountsHistory(events), s.train, s.test, s.foldin, eo, &s.foldin_events)
        .metrics.at("hitrate@1");
  };
  EXPECT_DOUBLE_EQ(hit(true), 1.0);   // c twice before
  EXPECT_DOUBLE_EQ(hit(false), 0.0);  // merged: b and c once each, b first
}

// Every split runs over the matrix or the events alike: each one leaves consistent parts.
TEST(EventLog, EverySplitKindWorksOverEvents) {
  test::TempDir dir;
  const auto csv = dir.file("clicks.csv", kClicks);
  for (const bool repeats : {false, true}) {
    ImportOptions o;
    o.session_col = "session";
    o.keep_repeats = repeats;
    const Dataset d = import_dataset(csv, o);
    for (const char* kind : {"random", "time", "last", "global-time", "users", "last-sessions",
                             "masks", "cold-items"}) {
      SplitOptions so;
      so.kind = parse_split_kind(kind);
      so.test_fraction = 0.5;
      Split s;
      const std::string error = test::error_of([&] { s = split_dataset(d, so); });
      if (!error.empty()) {  // too little data for some kinds: said, not a crash
        EXPECT_NE(error.find("left no"), std::string::npos) << kind << ": " << error;
        continue;
      }
      s.train.validate();
      EXPECT_EQ(s.train.events.empty(), !repeats) << kind;
      if (so.kind == SplitKind::kColdItems)  // a cold item has nothing in training
        for (const index_t i : s.test.indices())
          for (index_t u = 0; u < s.train.num_users(); ++u) {
            const auto h = s.train.interactions.row_indices(u);
            EXPECT_FALSE(std::binary_search(h.begin(), h.end(), i)) << repeats;
          }
    }
  }
}

TEST(EventLog, FiltersAndWeightsKeepTheEventsOfWhatTheyKeep) {
  const Dataset d = import_clicks(kClicks);
  const index_t u1 = *d.users.find("u1");
  const Dataset only_u1 = d.select(std::vector<index_t>{u1}, std::vector<index_t>{0, 1, 2});
  EXPECT_EQ(only_u1.events.size(), 3);
  only_u1.validate();
  const Dataset reweighted =
      d.with_interactions(d.interactions.with_values(std::vector<float>(d.num_interactions(), 2)));
  EXPECT_EQ(reweighted.events, d.events);
  reweighted.validate();
}

}  // namespace
}  // namespace reckon
