#include "eval_data.hpp"

#include <spdlog/spdlog.h>

#include "reckon/core/error.hpp"
#include "reckon/io/data_registry.hpp"
#include "reckon/io/dataset_file.hpp"
#include "reckon/io/import.hpp"
#include "reckon/io/text.hpp"

namespace reckon::cli {

void add_eval_data_flags(CLI::App* cmd, EvalDataFlags& f) {
  cmd->add_option("--data", f.data, "a .rkd file, raw source or known dataset name, split here");
  cmd->add_option("--train", f.train,
                  "predefined split: the training file (raw, or PREFIX.train.rkd of reckon split)");
  cmd->add_option("--test", f.test, "predefined split: the test file (raw or .rkd)");
  cmd->add_option("--foldin", f.foldin,
                  "predefined users split: PREFIX.foldin.rkd, the held-out users' given history");
  cmd->add_option("--split", f.split, "random, time, last, global-time, users, last-sessions, masks, cold-items")
      ->capture_default_str();
  cmd->add_option("--test-fraction", f.split_options.test_fraction,
                  "share of interactions (random, time, global-time), of users (users, last-sessions) or of items "
                  "(cold-items)")
      ->capture_default_str();
  cmd->add_option("--last-n", f.split_options.last_n, "last: interactions per user held out")
      ->capture_default_str();
  cmd->add_option("--cutoff", f.cutoff, "global-time: ISO 8601 date or unix seconds");
  cmd->add_option("--foldin-fraction", f.split_options.foldin_fraction,
                  "users: share of each held-out user's history given to the model")
      ->capture_default_str();
  cmd->add_option("--foldin-count", f.foldin_count,
                  "users: give exactly this many of each held-out user's earliest interactions "
                  "(0: none, only their features) instead of --foldin-fraction");
  cmd->add_option("--seed", f.split_options.seed, "seed of the split, the models and the sampler")
      ->capture_default_str();
  cmd->add_option("--validation", f.validation,
                  "carve a validation part from the training data: last, random, time, masks or users "
                  "(same seed); evaluation then never reads the test part");
  cmd->add_option("--validation-fraction", f.validation_fraction,
                  "share of training interactions (random, time) or users (users) to validate on")
      ->capture_default_str();
  add_import_flags(cmd, f.import_flags);
  add_prep_flags(cmd, f.prep_flags);
}

CsrMatrix aligned_to(const Dataset& part, const Dataset& train, const std::string& what) {
  AlignedInteractions a = align_interactions(part, train);
  if (a.dropped > 0)
    spdlog::warn("{}: {} interactions dropped: {} users and {} items are not in the training data",
                 what, a.dropped, a.unknown_users, a.unknown_items);
  RECKON_CHECK(a.matrix.nnz() > 0, "{}: none of its interactions has a user and an item of the "
               "training data (were both parts written by the same reckon split?)", what);
  return std::move(a.matrix);
}

namespace {

bool is_rkd(const std::string& source) {
  return !source.empty() && is_dataset_file(resolve_data_source(source));
}

SplitOptions split_options_of(const EvalDataFlags& f, SplitKind kind) {
  SplitOptions so = f.split_options;
  so.kind = kind;
  if (f.foldin_count >= 0) so.foldin_count = f.foldin_count;
  if (!f.cutoff.empty()) {
    auto t = parse_timestamp(f.cutoff);
    RECKON_CHECK(t.has_value(), "--cutoff: expected an ISO 8601 date or unix seconds, got \"{}\"",
                 f.cutoff);
    so.cutoff_time = *t;
  }
  return so;
}

nlohmann::json split_protocol(SplitKind kind, const SplitOptions& so, bool fractions) {
  nlohmann::json p = {{"split", std::string(to_string(kind))}, {"seed", so.seed}};
  if (fractions && kind != SplitKind::kLeaveLastN) p["test_fraction"] = so.test_fraction;
  if (kind == SplitKind::kUsers) {
    if (so.foldin_count)
      p["foldin_count"] = *so.foldin_count;
    else
      p["foldin_fraction"] = so.foldin_fraction;
  }
  if (kind == SplitKind::kLeaveLastN) p["last_n"] = so.last_n;
  return p;
}

}  // namespace

TrainPart load_train_part(const EvalDataFlags& f) {
  TrainPart out;
  const bool predefined = !f.train.empty() || !f.test.empty();
  if (predefined) {
    RECKON_CHECK(!f.train.empty() && !f.test.empty(),
                 "a predefined split needs both --train and --test");
    RECKON_CHECK(f.data.empty(), "give either --data or --train/--test, not both");
    out.kind = SplitKind::kPredefined;
    RECKON_CHECK(!f.prep_flags.filters.active() && !f.prep_flags.min_rating,
                 "filters (--min-user, --kcore, ...) apply before a split; a predefined split is "
                 "already made: filter before writing it");
    out.protocol = {{"split", "predefined"}, {"seed", f.split_options.seed}};
    out.sources = {f.train, f.test};
    if (!f.foldin.empty()) out.sources.push_back(f.foldin);
    if (is_rkd(f.train)) {
      // Files written by reckon split (or any two sources): each read alone, the test part
      // matched to the training data by id, and read only when asked for.
      out.train = read_data(f.train, f.import_flags);
      out.test = [flags = f](const Dataset& train) {
        HeldOut h;
        h.test = aligned_to(read_data(flags.test, flags.import_flags), train, flags.test);
        if (!flags.foldin.empty())
          h.foldin = aligned_to(read_data(flags.foldin, flags.import_flags), train, flags.foldin);
        return h;
      };
    } else {
      // Raw pairs are read into one id space (items only in test are part of the catalogue),
      // so both are read now; the test matrix waits in memory until asked for.
      RECKON_CHECK(f.foldin.empty(), "--foldin: give the .rkd files reckon split writes");
      RECKON_CHECK(!is_rkd(f.test),
                   "{}: a .rkd test part goes with a .rkd training part (reckon split writes "
                   "both); import {} first",
                   f.test, f.train);
      PredefinedSplit p = import_predefined_split(resolve_data_source(f.train),
                                                  resolve_data_source(f.test),
                                                  f.import_flags.resolve());
      out.train = std::move(p.train);
      auto test = std::make_shared<CsrMatrix>(std::move(p.test));
      out.test = [test](const Dataset&) { return HeldOut{std::move(*test), {}}; };
    }
    return out;
  }
  RECKON_CHECK(!f.data.empty(), "give --data SOURCE, or --train FILE --test FILE");
  RECKON_CHECK(f.foldin.empty(), "--foldin goes with --train and --test");
  out.kind = parse_split_kind(f.split);
  out.sources = {f.data};
  Dataset d = read_data(f.data, f.import_flags);
  FilterOptions filters = f.prep_flags.filters;
  filters.min_rating = f.prep_flags.min_rating;
  if (filters.active()) d = apply_filters(d, filters);
  const SplitOptions so = split_options_of(f, out.kind);
  Split s = split_dataset(d, so);
  out.train = std::move(s.train);
  out.protocol = split_protocol(out.kind, so, true);
  auto held = std::make_shared<HeldOut>(HeldOut{std::move(s.test), std::move(s.foldin), std::move(s.foldin_events)});
  out.test = [held](const Dataset&) { return std::move(*held); };
  return out;
}

Carved carve_validation(const Dataset& train, const EvalDataFlags& f) {
  RECKON_CHECK(!f.validation.empty(), "no --validation kind given");
  const SplitKind kind = parse_split_kind(f.validation);
  RECKON_CHECK(kind == SplitKind::kLeaveLastN || kind == SplitKind::kRandom ||
                   kind == SplitKind::kUserTime || kind == SplitKind::kUsers ||
                   kind == SplitKind::kMasks || kind == SplitKind::kLastSessions,
               "--validation: expected last, random, time, masks, users or last-sessions, got "
               "\"{}\"",
               f.validation);
  RECKON_CHECK(f.validation_fraction > 0 && f.validation_fraction < 1,
               "--validation-fraction: expected a share in (0, 1), got {}", f.validation_fraction);
  SplitOptions so = f.split_options;
  so.kind = kind;
  so.test_fraction = f.validation_fraction;
  so.last_n = 1;
  Split s = split_dataset(train, so);
  RECKON_CHECK(s.test.nnz() > 0, "--validation {}: the training data left nothing to validate on",
               f.validation);
  Carved c;
  c.train = std::move(s.train);
  c.validation = HeldOut{std::move(s.test), std::move(s.foldin), std::move(s.foldin_events)};
  c.protocol = split_protocol(kind, so, true);
  c.protocol["carved_from"] = "train";
  return c;
}

std::shared_ptr<const Dataset> weighted(Dataset train, const PrepFlags& flags) {
  PrepFlags weights_only = flags;
  weights_only.filters = {};
  weights_only.min_rating.reset();
  return std::make_shared<const Dataset>(apply_prep(std::move(train), weights_only));
}

}  // namespace reckon::cli
