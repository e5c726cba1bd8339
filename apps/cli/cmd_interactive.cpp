// `reckon interactive MODEL`: a stranger's session in a terminal or through a pipe. Search
// items by title, add favourites and user features, and see the recommendations after each
// step; the same path as `recommend --like ... --feature ...`.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <string>

#include "commands.hpp"
#include "reckon/core/error.hpp"
#include "reckon/io/text.hpp"
#include "reckon/models/params.hpp"
#include "reckon/retrieval/fallback.hpp"
#include "reckon/retrieval/recommender.hpp"
#include "summary.hpp"

namespace reckon::cli {
namespace {

constexpr std::string_view kHelp =
    "commands:\n"
    "  search WORDS     items whose title has all the words\n"
    "  like ID          add a favourite item\n"
    "  forget ID        remove a favourite\n"
    "  set NAME=VALUE   a user feature (age, gender, occupation, any user column)\n"
    "  unset NAME       remove it\n"
    "  show             favourites, features and recommendations\n"
    "  help, quit\n";

// Items whose text columns (the title first) contain every word, most interacted-with first.
std::vector<ScoredItem> search(const Dataset& d, const std::string& query, std::size_t limit) {
  std::vector<std::string> words;
  std::vector<std::string_view> parts;
  split_plain(query, " ", parts);
  for (auto p : parts)
    if (!trim(p).empty()) words.push_back(to_lower(trim(p)));
  std::vector<const FeatureColumn*> texts;
  if (const FeatureColumn* t = d.item_features.find("title")) texts.push_back(t);
  for (const auto& c : d.item_features.columns())
    if (c.kind() == FeatureKind::kText && c.name() != "title") texts.push_back(&c);
  const std::vector<index_t> counts = d.interactions.column_counts();
  std::vector<ScoredItem> out;
  for (index_t i = 0; i < d.num_items(); ++i) {
    std::string text = to_lower(d.items.id(i));
    for (const FeatureColumn* c : texts)
      if (c->has_value(i)) text += " " + to_lower(c->format(i));
    const bool all = std::all_of(words.begin(), words.end(), [&](const std::string& w) {
      return text.find(w) != std::string::npos;
    });
    if (all && !words.empty()) out.push_back({i, static_cast<float>(counts[i])});
  }
  std::sort(out.begin(), out.end(), [](const ScoredItem& a, const ScoredItem& b) {
    return a.score > b.score || (a.score == b.score && a.item < b.item);
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace

void add_interactive_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "interactive", "search items, add favourites and user features, watch the list change");
  static std::string model_path;
  static std::size_t k = 10;
  cmd->add_option("MODEL", model_path, "a .rkm file")->required();
  cmd->add_option("-k", k, "how many items")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->callback([] {
    const TrainedModel t = load_model_file(model_path);
    const Recommender rec(t);
    const Dataset& d = *t.train;
    const bool tty = isatty(STDIN_FILENO) != 0;
    std::vector<std::string> likes;
    std::map<std::string, std::string> features;
    auto show_recommendations = [&] {
      const FeatureTable stranger = stranger_features(d.user_features, features);
      const Recommendation r = rec.for_stranger(likes, stranger, k);
      fmt::print("recommendations ({}, {}):\n", r.source, t.model->name());
      print_items(d, r.items);
    };
    fmt::print("{}: {} items, {} users.\n{}", t.model->name(), d.num_items(), d.num_users(),
               tty ? kHelp : "");
    std::string line;
    while (true) {
      if (tty) fmt::print("> ");
      std::fflush(stdout);
      if (!std::getline(std::cin, line)) break;
      const std::string_view l = trim(line);
      if (l.empty()) continue;
      const auto space = l.find(' ');
      const std::string verb(l.substr(0, space));
      const std::string arg(space == std::string_view::npos ? "" : trim(l.substr(space + 1)));
      try {
        if (verb == "quit" || verb == "exit") break;
        if (verb == "help") {
          fmt::print("{}", kHelp);
        } else if (verb == "search") {
          RECKON_CHECK(!arg.empty(), "search: give some words of a title");
          const auto found = search(d, arg, 20);
          if (found.empty()) fmt::print("no item matches \"{}\"\n", arg);
          else print_items(d, found);
        } else if (verb == "like") {
          RECKON_CHECK(d.items.find(arg).has_value(), "unknown item \"{}\" (search for it first)",
                       excerpt(arg));
          if (std::find(likes.begin(), likes.end(), arg) == likes.end()) likes.push_back(arg);
          show_recommendations();
        } else if (verb == "forget") {
          const auto it = std::find(likes.begin(), likes.end(), arg);
          RECKON_CHECK(it != likes.end(), "\"{}\" is not a favourite", excerpt(arg));
          likes.erase(it);
          show_recommendations();
        } else if (verb == "set") {
          const auto [name, value] = parse_param_assignment(arg);
          auto next = features;
          next[name] = value;
          (void)stranger_features(d.user_features, next);  // checks the column and label
          features = std::move(next);
          show_recommendations();
        } else if (verb == "unset") {
          RECKON_CHECK(features.erase(arg) == 1, "no feature \"{}\" is set", excerpt(arg));
          show_recommendations();
        } else if (verb == "show") {
          fmt::print("favourites: {}\n", likes.empty() ? "none" : fmt::format("{}", fmt::join(likes, ", ")));
          for (const auto& [name, value] : features) fmt::print("{} = {}\n", name, value);
          show_recommendations();
        } else {
          throw InvalidInput(fmt::format("unknown command \"{}\" (help lists them)", excerpt(verb)));
        }
      } catch (const InvalidInput& e) {
        fmt::print("error: {}\n", e.what());
      }
    }
  });
}

}  // namespace reckon::cli
