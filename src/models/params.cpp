#include "reckon/models/params.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "reckon/core/error.hpp"
#include "reckon/io/text.hpp"

namespace reckon {
namespace {

std::string_view type_name(ParamType t) {
  switch (t) {
    case ParamType::kInt:
      return "int";
    case ParamType::kFloat:
      return "float";
    case ParamType::kString:
      return "string";
    case ParamType::kBool:
      return "bool";
  }
  return "?";
}

nlohmann::json parse_value(std::string_view model, const ParamSpec& s, const std::string& text) {
  auto range_check = [&](double v) {
    RECKON_CHECK(s.min > s.max || (v >= s.min && v <= s.max),
                 "{}: parameter {} must be in [{}, {}], got {}", model, s.name, s.min, s.max, text);
  };
  switch (s.type) {
    case ParamType::kInt: {
      auto v = parse_int(text);
      RECKON_CHECK(v.has_value(), "{}: parameter {} expects an integer, got \"{}\"", model, s.name,
                   text);
      range_check(static_cast<double>(*v));
      return *v;
    }
    case ParamType::kFloat: {
      auto v = parse_double(text);
      RECKON_CHECK(v.has_value(), "{}: parameter {} expects a number, got \"{}\"", model, s.name,
                   text);
      range_check(*v);
      return *v;
    }
    case ParamType::kBool: {
      if (text == "true" || text == "1" || text == "yes") return true;
      if (text == "false" || text == "0" || text == "no") return false;
      RECKON_CHECK(false, "{}: parameter {} expects true or false, got \"{}\"", model, s.name,
                   text);
    }
    case ParamType::kString:
      RECKON_CHECK(s.choices.empty() ||
                       std::find(s.choices.begin(), s.choices.end(), text) != s.choices.end(),
                   "{}: parameter {} must be one of {}, got \"{}\"", model, s.name,
                   fmt::join(s.choices, ", "), text);
      return text;
  }
  return nullptr;
}

}  // namespace

Params Params::resolve(std::string_view model, const std::vector<ParamSpec>& specs,
                       const std::map<std::string, std::string>& values) {
  for (const auto& entry : values) {
    const std::string& key = entry.first;  // (clang 14 cannot capture structured bindings)
    const bool dotted = key.find('.') != std::string::npos && key.front() != '.' &&
                        key.back() != '.' &&
                        std::any_of(specs.begin(), specs.end(),
                                    [](const ParamSpec& s) { return s.name == "*.*"; });
    const bool known = dotted || std::any_of(specs.begin(), specs.end(),
                                             [&](const ParamSpec& s) { return s.name == key; });
    if (!known) {
      std::vector<std::string> names;
      for (const auto& s : specs) names.push_back(s.name == "*.*" ? "MODEL.KEY" : s.name);
      throw InvalidInput(
          fmt::format("{}: unknown parameter \"{}\" (known: {})", model, key,
                      names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
    }
  }
  Params p;
  for (const auto& [key, value] : values)
    if (key.find('.') != std::string::npos) p.values_[key] = value;
  for (const auto& s : specs) {
    if (s.name == "*.*") continue;
    auto it = values.find(s.name);
    p.values_[s.name] = parse_value(model, s, it != values.end() ? it->second : s.default_value);
  }
  return p;
}

std::int64_t Params::get_int(const std::string& name) const {
  RECKON_ASSERT(values_.contains(name));
  return values_.at(name).get<std::int64_t>();
}
double Params::get_float(const std::string& name) const {
  RECKON_ASSERT(values_.contains(name));
  return values_.at(name).get<double>();
}
bool Params::get_bool(const std::string& name) const {
  RECKON_ASSERT(values_.contains(name));
  return values_.at(name).get<bool>();
}
const std::string& Params::get_string(const std::string& name) const {
  RECKON_ASSERT(values_.contains(name));
  return values_.at(name).get_ref<const std::string&>();
}
std::map<std::string, std::string> Params::dotted() const {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : values_.items())
    if (key.find('.') != std::string::npos && value.is_string()) out[key] = value.get<std::string>();
  return out;
}
nlohmann::json Params::to_json() const { return values_; }
Params Params::from_json(const nlohmann::json& j) {
  Params p;
  p.values_ = j;
  return p;
}

std::pair<std::string, std::string> parse_param_assignment(std::string_view text) {
  const auto eq = text.find('=');
  RECKON_CHECK(eq != std::string_view::npos && eq > 0,
               "expected a parameter as key=value, got \"{}\"", text);
  return {std::string(trim(text.substr(0, eq))), std::string(trim(text.substr(eq + 1)))};
}

std::string describe_params(const std::vector<ParamSpec>& specs) {
  if (specs.empty()) return "  (no parameters)\n";
  std::string out;
  for (const auto& s : specs) {
    std::string range;
    if (s.min <= s.max && (s.type == ParamType::kInt || s.type == ParamType::kFloat))
      range = fmt::format(" in [{}, {}]", s.min, s.max);
    if (!s.choices.empty()) range = fmt::format(" one of {}", fmt::join(s.choices, "|"));
    if (s.name == "*.*") {
      out += fmt::format("  {:<18} {:<6}\n  {:<18} {}\n", "MODEL.KEY", type_name(s.type), "", s.doc);
      continue;
    }
    out += fmt::format("  {:<18} {:<6} default {}{}\n  {:<18} {}\n", s.name, type_name(s.type),
                       s.default_value, range, "", s.doc);
  }
  return out;
}

}  // namespace reckon
