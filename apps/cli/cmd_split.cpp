#include <fmt/format.h>

#include "commands.hpp"
#include "prep_flags.hpp"
#include "reckon/core/error.hpp"
#include "reckon/io/dataset_file.hpp"
#include "reckon/io/text.hpp"
#include "reckon/prep/split.hpp"

namespace reckon::cli {

void add_split_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "split", "split a dataset into PREFIX.train.rkd and PREFIX.test.rkd (+ PREFIX.foldin.rkd)");
  static std::string source, kind = "random", cutoff;
  static std::string prefix;
  static SplitOptions options;
  static ImportFlags import_flags;
  static PrepFlags prep_flags;
  cmd->add_option("DATA", source, "a .rkd file, a raw source or a known dataset name")->required();
  cmd->add_option("--split", kind, "random, time, last, global-time, users, last-sessions, masks, cold-items")->capture_default_str();
  cmd->add_option("--test-fraction", options.test_fraction,
                  "share of interactions (random, time, global-time), of users (users, last-sessions) or of items "
                  "(cold-items)")
      ->capture_default_str();
  cmd->add_option("--last-n", options.last_n, "last: interactions per user to hold out")
      ->capture_default_str();
  cmd->add_option("--cutoff", cutoff, "global-time: ISO 8601 date or unix seconds");
  cmd->add_option("--foldin-fraction", options.foldin_fraction,
                  "users: share of each held-out user's history given as fold-in")
      ->capture_default_str();
  static index_t foldin_count = -1;
  cmd->add_option("--foldin-count", foldin_count,
                  "users: give exactly this many of each held-out user's earliest interactions "
                  "(0: none, only their features) instead of --foldin-fraction");
  cmd->add_option("--seed", options.seed, "random seed")->capture_default_str();
  cmd->add_option("-o,--output", prefix, "output prefix")->required();
  add_import_flags(cmd, import_flags);
  add_prep_flags(cmd, prep_flags);
  cmd->callback([] {
    options.kind = parse_split_kind(kind);
    if (foldin_count >= 0) options.foldin_count = foldin_count;
    if (!cutoff.empty()) {
      auto t = parse_timestamp(cutoff);
      RECKON_CHECK(t.has_value(), "--cutoff: expected an ISO 8601 date or unix seconds, got \"{}\"",
                   cutoff);
      options.cutoff_time = *t;
    }
    Dataset d = apply_prep(read_data(source, import_flags), prep_flags);
    Split s = split_dataset(d, options);
    // The test and fold-in parts are matrices over the training ids (an event split's parts
    // merged); the training events are not theirs.
    auto part = [&](const CsrMatrix& m) {
      Dataset out = s.train.with_interactions(m);
      out.events = EventLog();
      return out;
    };
    save_dataset(s.train, prefix + ".train.rkd");
    save_dataset(part(s.test), prefix + ".test.rkd");
    fmt::print("wrote {0}.train.rkd ({1} interactions) and {0}.test.rkd ({2} interactions)\n",
               prefix, s.train.num_interactions(), s.test.nnz());
    if (s.foldin.nnz() > 0) {
      save_dataset(part(s.foldin), prefix + ".foldin.rkd");
      fmt::print("wrote {}.foldin.rkd ({} interactions of held-out users)\n", prefix,
                 s.foldin.nnz());
    }
  });
}

}  // namespace reckon::cli
