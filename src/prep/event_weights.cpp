#include "reckon/prep/event_weights.hpp"

#include <fmt/format.h>

#include <cmath>

#include "reckon/core/error.hpp"
#include "reckon/io/text.hpp"

namespace reckon {

EventWeights::EventWeights()
    : types_{{"purchase", 3},    {"buy", 3},      {"like", 2},  {"love", 2},   {"favorite", 2},
             {"add_to_cart", 2}, {"bookmark", 2}, {"share", 2}, {"view", 1},   {"read", 1},
             {"play", 1},        {"listen", 1},   {"click", 1}, {"watch", 1},  {"rating", 1},
             {"skip", -0.5},     {"dislike", -2}, {"hide", -2}, {"remove", -2}} {}

EventWeights EventWeights::parse(std::string_view spec) {
  EventWeights w;
  while (!spec.empty()) {
    const auto comma = spec.find(',');
    const std::string_view part = trim(spec.substr(0, comma));
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    RECKON_CHECK(eq != std::string_view::npos && eq > 0,
                 "--event-weights: expected type=weight, got \"{}\"", excerpt(part));
    const std::string type(trim(part.substr(0, eq)));
    const auto value = parse_double(part.substr(eq + 1));
    RECKON_CHECK(value && std::abs(*value) <= 1000,
                 "--event-weights: the weight of \"{}\" must be a number within +-1000, got \"{}\"",
                 type, excerpt(part.substr(eq + 1)));
    if (type == "*") {
      w.default_ = *value;
      continue;
    }
    bool found = false;
    for (auto& [t, v] : w.types_)
      if (t == type) v = *value, found = true;
    if (!found) w.types_.emplace_back(type, *value);
  }
  return w;
}

double EventWeights::type_weight(std::string_view type) const {
  for (const auto& [t, v] : types_)
    if (t == type) return v;
  return default_;
}

double EventWeights::weight(std::string_view type, double value) const {
  return type_weight(type) * value;
}

std::string EventWeights::describe() const {
  std::string out;
  for (const auto& [t, v] : types_) out += fmt::format("{}={},", t, v);
  return out + fmt::format("*={}", default_);
}

}  // namespace reckon
