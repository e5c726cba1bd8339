#include "reckon/io/json.hpp"

#include <fmt/format.h>

namespace reckon {

int json_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // the escaped character cannot end the string
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

std::optional<nlohmann::json> parse_json(std::string_view text, std::string* error, int max_depth) {
  if (json_depth(text, max_depth) > max_depth) {
    if (error) *error = fmt::format("JSON nested deeper than {} levels", max_depth);
    return std::nullopt;
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // parse_error for bad syntax or UTF-8, out_of_range for numbers such as 1e999.
    if (error) *error = e.what();
    return std::nullopt;
  }
}

}  // namespace reckon
