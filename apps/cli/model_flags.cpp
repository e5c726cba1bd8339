#include "model_flags.hpp"

#include <algorithm>

#include "reckon/core/error.hpp"
#include "reckon/io/text.hpp"
#include "reckon/models/model.hpp"
#include "reckon/models/params.hpp"

namespace reckon::cli {
namespace {

// Splits at `sep` outside parentheses; throws on unbalanced ones.
std::vector<std::string> split_outside_parens(const std::string& text, char sep,
                                              const std::string& what) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') {
      RECKON_CHECK(depth > 0, "{}: a ')' without its '(' in \"{}\"", what, text);
      --depth;
    }
    if (c == sep && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  RECKON_CHECK(depth == 0, "{}: a '(' without its ')' in \"{}\"", what, text);
  out.push_back(cur);
  return out;
}

ModelSpec parse_entry(std::string_view entry) {
  ModelSpec s;
  const auto paren = entry.find('(');
  const auto eq = entry.find('=');
  std::string_view head = entry.substr(0, paren);
  if (eq != std::string_view::npos && eq < paren) {
    s.label = std::string(trim(entry.substr(0, eq)));
    head = entry.substr(eq + 1, paren == std::string_view::npos ? std::string_view::npos
                                                                : paren - eq - 1);
    RECKON_CHECK(!s.label.empty(), "--models: an empty label in \"{}\"", entry);
  }
  s.model = std::string(trim(head));
  RECKON_CHECK(!s.model.empty(), "--models: no model name in \"{}\"", entry);
  find_model(s.model);
  if (s.label.empty()) s.label = s.model;
  if (paren != std::string_view::npos) {
    const std::string_view rest = trim(entry.substr(paren));
    RECKON_CHECK(rest.size() >= 2 && rest.back() == ')',
                 "--models: expected MODEL(key=value,...) in \"{}\"", entry);
    const std::string inner(rest.substr(1, rest.size() - 2));
    for (const auto& a : split_outside_parens(inner, ',', "--models")) {
      if (trim(a).empty()) continue;
      auto [key, value] = parse_param_assignment(trim(a));
      s.params[key] = value;
    }
  }
  return s;
}

}  // namespace

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string_view> parts;
  split_plain(text, ",", parts);
  std::vector<std::string> out;
  for (auto p : parts)
    if (!trim(p).empty()) out.emplace_back(trim(p));
  return out;
}

std::vector<ModelSpec> parse_model_specs(const std::string& models,
                                         const std::vector<std::string>& assignments) {
  std::vector<ModelSpec> specs;
  for (const auto& e : split_outside_parens(models, ',', "--models")) {
    if (trim(e).empty()) continue;
    specs.push_back(parse_entry(trim(e)));
    for (std::size_t i = 0; i + 1 < specs.size(); ++i)
      RECKON_CHECK(specs[i].label != specs.back().label,
                   "--models: \"{}\" appears twice; label the rows (LABEL=MODEL(...))",
                   specs.back().label);
  }
  RECKON_CHECK(!specs.empty(), "--models: name at least one model (see reckon train --list)");
  for (const auto& a : assignments) {
    auto [key, value] = parse_param_assignment(a);
    const auto dot = key.find('.');
    std::vector<ModelSpec*> targets;
    std::string local = key;
    if (dot != std::string::npos) {
      const std::string prefix = key.substr(0, dot);
      for (auto& s : specs)
        if (s.label == prefix) targets.push_back(&s);
      if (targets.empty())
        for (auto& s : specs)
          if (s.model == prefix) targets.push_back(&s);
      if (!targets.empty()) local = key.substr(dot + 1);
    }
    if (targets.empty()) {
      // One row: a plain key, or a dotted key of its own (the ranker's generators:
      // ials.factors=64).
      RECKON_CHECK(specs.size() == 1 || dot != std::string::npos,
                   "-p {}: name the row as LABEL.{}=VALUE when evaluating several models", a, key);
      RECKON_CHECK(specs.size() == 1, "-p {}: \"{}\" is neither a label nor a model among those given",
                   a, key.substr(0, dot));
      targets.push_back(&specs[0]);
    }
    for (auto* t : targets) t->params[local] = value;
  }
  return specs;
}

ModelParams parse_model_params(const std::vector<std::string>& assignments,
                               const std::vector<std::string>& models) {
  std::string list;
  for (const auto& m : models) list += (list.empty() ? "" : ",") + m;
  ModelParams out;
  for (auto& s : parse_model_specs(list, assignments)) out[s.model] = std::move(s.params);
  return out;
}

}  // namespace reckon::cli
