#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "reckon/core/error.hpp"
#include "reckon/models/user_context.hpp"
#include "reckon/retrieval/recommender.hpp"
#include "summary.hpp"

namespace reckon::cli {
namespace {

nlohmann::json item_json(const Dataset& d, const ScoredItem& s) {
  nlohmann::json j = {{"item_id", d.items.id(s.item)}, {"score", s.score}};
  j.update(feature_row_json(d.item_features, s.item));
  return j;
}

nlohmann::json explanation_json(const std::vector<FeatureContribution>& why) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : why)
    out.push_back({{"feature", c.feature},
                   {"value", std::isfinite(c.value) ? nlohmann::json(c.value) : nlohmann::json()},
                   {"contribution", c.contribution}});
  return out;
}

// The model's reasons for the items of a known user's list (or a stranger's favourites): its
// feature contributions (the ranker) or, for models that score by the history, the history
// items that added most (itemknn, ease, ials). NotSupported when it has neither.
struct Reasons {
  std::vector<std::vector<FeatureContribution>> features;
  std::vector<std::vector<HistoryContribution>> history;
};
Reasons explain_items(const TrainedModel& t, const std::string& user,
                      const std::vector<std::string>& likes, const Recommendation& r) {
  Reasons out;
  if (r.source != "model") {
    out.features.resize(r.items.size());
    return out;
  }
  const Dataset& d = *t.train;
  UserContext ctx;
  std::vector<col_t> liked;
  if (!user.empty()) {
    // The list came from the model: a known user.
    ctx = training_context(d, *d.users.find(user), t.model->reads_event_history());
  } else {
    for (const auto& id : likes) liked.push_back(static_cast<col_t>(*d.items.find(id)));
    ctx.history = liked;
  }
  ctx.item_features = &d.item_features;
  std::vector<index_t> items;
  for (const auto& s : r.items) items.push_back(s.item);
  try {
    out.features = t.model->explain(ctx, items, 5);
  } catch (const NotSupported&) {
    try {
      out.history = t.model->explain_history(ctx, items, 5);
    } catch (const NotSupported&) {
      throw NotSupported(fmt::format(
          "model {} does not explain its scores (the ranker, hybrid, itemknn, ease, ials, mf "
          "and svdpp do)",
          t.model->name()));
    }
  }
  out.features.resize(r.items.size());
  out.history.resize(r.items.size());
  return out;
}

nlohmann::json because_json(const Dataset& d, const std::vector<HistoryContribution>& because) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : because)
    out.push_back({{"item_id", d.items.id(c.item)}, {"contribution", c.contribution}});
  return out;
}

}  // namespace

void add_recommend_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "recommend", "top-k for a known user, or cold start from favourites/demographics");
  static std::string model_path, user;
  static std::vector<std::string> likes;
  static std::size_t k = 10;
  static bool json = false, explain = false;
  static std::string age, gender, occupation;
  static std::vector<std::string> features;
  cmd->add_option("MODEL", model_path, "a .rkm file")->required();
  cmd->add_option("--user", user, "a user id of the training data");
  cmd->add_option("--like", likes, "a favourite item id (repeatable): cold start");
  cmd->add_option("--age", age, "cold start by demographics: age (the data's own values)");
  cmd->add_option("--gender", gender, "cold start by demographics: gender (the data's labels)");
  cmd->add_option("--occupation", occupation,
                  "cold start by demographics: occupation (the data's labels)");
  cmd->add_option("--feature", features,
                  "cold start: any user feature, NAME=VALUE (repeatable; labels joined by |)");
  cmd->add_option("-k", k, "how many items")->capture_default_str()->check(CLI::Range(1, 10000));
  cmd->add_flag("--json", json, "print JSON");
  cmd->add_flag("--explain", explain,
                "why each item: its top feature contributions (the ranker), or the history "
                "items that added most to its score (itemknn, ease, ials)");
  cmd->callback([] {
    std::map<std::string, std::string> values;
    if (!age.empty()) values["age"] = age;
    if (!gender.empty()) values["gender"] = gender;
    if (!occupation.empty()) values["occupation"] = occupation;
    for (const auto& f : features) {
      const auto [key, value] = parse_param_assignment(f);
      values[key] = value;
    }
    const bool demographics = !values.empty();
    RECKON_CHECK(!user.empty() || !likes.empty() || demographics,
                 "recommend: give --user ID, or --like ITEM and/or --age/--gender/--occupation/"
                 "--feature");
    // Nothing given is silently dropped: a known user's answer comes from their history alone,
    // so favourites or demographics beside --user are refused rather than ignored.
    RECKON_CHECK(user.empty() || (likes.empty() && !demographics),
                 "recommend: --user recommends from that user's history; --like, --age, "
                 "--gender, --occupation and --feature describe a stranger: give one or the "
                 "other");
    const TrainedModel t = load_model_file(model_path);
    const Recommender rec(t);
    Recommendation r;
    std::string note;
    if (!user.empty()) {
      r = rec.for_user(user, k);
      if (r.source == "popular")
        note = fmt::format("user \"{}\" is unknown: showing popular items", user);
    } else {
      const FeatureTable stranger = stranger_features(t.train->user_features, values);
      r = rec.for_stranger(likes, stranger, k);
      // Most models score a history; demographics choose the fallback when there is none. A
      // model that uses user features (hybrid) takes both.
      UserContext probe;
      if (stranger.rows() == 1) {
        probe.features = &stranger;
        probe.feature_row = 0;
      }
      if (!likes.empty() && demographics && !t.model->scores_without_history(probe))
        note = fmt::format(
            "{} recommends from the favourites; the demographics are used only without them",
            t.model->name());
      if (r.source == "demographic-popular") note = "popular among users with these demographics";
      if (r.source == "popular") note = "no user matches these demographics: showing popular items";
    }
    Reasons why;
    if (explain) why = explain_items(t, user, likes, r);
    const bool by_history = explain && !why.history.empty() &&
                            std::any_of(why.history.begin(), why.history.end(),
                                        [](const auto& h) { return !h.empty(); });
    if (json) {
      nlohmann::json j = {{"source", r.source},
                          {"model", std::string(t.model->name())},
                          {"items", nlohmann::json::array()}};
      if (!user.empty()) j["user_id"] = user;
      for (std::size_t n = 0; n < r.items.size(); ++n) {
        j["items"].push_back(item_json(*t.train, r.items[n]));
        if (explain)
          j["items"].back()["explanation"] = by_history
                                                 ? because_json(*t.train, why.history[n])
                                                 : explanation_json(why.features[n]);
      }
      fmt::print("{}\n", j.dump(2));
      return;
    }
    if (!note.empty()) fmt::print(stderr, "note: {}\n", note);
    fmt::print("source: {} ({})\n", r.source, t.model->name());
    print_items(*t.train, r.items);
    if (by_history) {
      fmt::print("because (history item: contribution to the score):\n");
      for (std::size_t n = 0; n < r.items.size(); ++n) {
        std::string line;
        for (const auto& c : why.history[n])
          line += fmt::format("{}{}: {:+.3f}", line.empty() ? "" : ", ",
                              t.train->items.id(c.item), c.contribution);
        fmt::print("  {:<12} {}\n", t.train->items.id(r.items[n].item), line);
      }
    } else if (explain) {
      fmt::print("why (feature = value: contribution to the score):\n");
      for (std::size_t n = 0; n < r.items.size(); ++n) {
        std::string line;
        for (const auto& c : why.features[n])
          line += fmt::format("{}{} = {:.4g}: {:+.3f}", line.empty() ? "" : ", ", c.feature,
                              c.value, c.contribution);
        fmt::print("  {:<12} {}\n", t.train->items.id(r.items[n].item),
                   line.empty() ? "(not a candidate: placed by popularity)" : line);
      }
    }
  });

  auto* sim = app.add_subcommand("similar", "items similar to an item");
  static std::string sim_model, item;
  static std::size_t sim_k = 10;
  static bool sim_json = false;
  sim->add_option("MODEL", sim_model, "a .rkm file")->required();
  sim->add_option("--item", item, "an item id")->required();
  sim->add_option("-k", sim_k, "how many items")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  sim->add_flag("--json", sim_json, "print JSON");
  sim->callback([] {
    const TrainedModel t = load_model_file(sim_model);
    const Recommender rec(t);
    const auto items = rec.similar(item, sim_k);
    if (sim_json) {
      nlohmann::json j = {{"item_id", item}, {"items", nlohmann::json::array()}};
      for (const auto& s : items) j["items"].push_back(item_json(*t.train, s));
      fmt::print("{}\n", j.dump(2));
      return;
    }
    print_items(*t.train, items);
  });
}

}  // namespace reckon::cli
