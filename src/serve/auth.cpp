#include "reckon/serve/auth.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>

#include "reckon/core/error.hpp"
#include "reckon/io/text.hpp"

namespace reckon {

namespace {

constexpr std::size_t kMinKeyLength = 16;

void add_key(std::vector<std::string>& out, std::string_view key, const std::string& where) {
  key = trim(key);
  if (key.empty()) return;
  RECKON_CHECK(key.size() >= kMinKeyLength,
               "{}: an API key needs at least {} characters (try: openssl rand -hex 24)", where,
               kMinKeyLength);
  out.emplace_back(key);
}

// "host", "host:port", "[v6]:port" -> the host part, lowercased.
std::string host_part(std::string_view host_port) {
  std::string h = to_lower(host_port);
  if (h.starts_with('[')) {
    const auto end = h.find(']');
    return end == std::string::npos ? h : h.substr(0, end + 1);
  }
  if (const auto colon = h.rfind(':'); colon != std::string::npos) h.resize(colon);
  return h;
}

bool loopback_host(std::string_view host_port) {
  const std::string h = host_part(host_port);
  return h == "localhost" || h.ends_with(".localhost") || h == "[::1]" || h.starts_with("127.");
}

// "http://host:port" -> "host:port" (what Host carries), lowercased.
std::string origin_authority(std::string_view origin) {
  const auto scheme = origin.find("://");
  std::string a = to_lower(scheme == std::string_view::npos ? origin : origin.substr(scheme + 3));
  if (const auto slash = a.find('/'); slash != std::string::npos) a.resize(slash);
  return a;
}

std::string_view bearer(std::string_view authorization) {
  authorization = trim(authorization);
  if (authorization.size() > 7 && to_lower(authorization.substr(0, 6)) == "bearer" &&
      authorization[6] == ' ')
    return trim(authorization.substr(7));
  return {};
}

bool any_key(const std::vector<std::string>& keys, std::string_view given) {
  bool ok = false;
  for (const auto& k : keys) ok |= constant_time_equal(k, given);  // no early exit
  return ok;
}

}  // namespace

bool constant_time_equal(std::string_view secret, std::string_view given) {
  unsigned char diff = secret.size() == given.size() ? 0 : 1;
  for (std::size_t i = 0; i < secret.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= static_cast<unsigned char>(static_cast<unsigned char>(secret[i]) ^ g);
  }
  return diff == 0;
}

std::vector<std::string> collect_keys(const std::vector<std::string>& values,
                                      const std::string& file, const char* env_name) {
  std::vector<std::string> out;
  for (const auto& v : values) add_key(out, v, "--api-key");
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw IoError(fmt::format("{}: cannot read the key file", file));
    std::string line;
    while (std::getline(in, line))
      if (!trim(line).starts_with('#')) add_key(out, line, file);
  }
  if (env_name)
    if (const char* env = std::getenv(env_name)) add_key(out, env, env_name);
  return out;
}

AccessDecision check_access(const AccessKeys& keys, const AccessRequest& r) {
  if (r.health) return {};
  const std::string_view given = bearer(r.authorization);
  if (r.write) {
    const std::string_view site = r.sec_fetch_site;
    if (site == "cross-site" || site == "same-site")
      return {403, "cross_origin", "writes from pages of another site are refused"};
    if (!r.origin.empty() && r.origin != "null" && !r.host.empty() &&
        origin_authority(r.origin) != to_lower(r.host))
      return {
          403, "cross_origin",
          fmt::format("writes from pages of another origin ({}) are refused", excerpt(r.origin))};
    if (r.origin == "null") return {403, "cross_origin", "writes from opaque origins are refused"};
    if (keys.writes_open()) {
      if (!r.peer_loopback || (!r.host.empty() && !loopback_host(r.host)))
        return {401, "unauthorized",
                "writes are open only to this machine while the server has no API key; start "
                "it with --api-key (or RECKON_API_KEY) and send Authorization: Bearer KEY"};
      return {};
    }
    if (given.empty())
      return {401, "unauthorized", "this route needs the admin key: Authorization: Bearer KEY"};
    if (!any_key(keys.admin, given)) return {401, "unauthorized", "the key is not valid here"};
    return {};
  }
  if (keys.read.empty()) return {};
  if (given.empty())
    return {401, "unauthorized", "this server needs a read key: Authorization: Bearer KEY"};
  if (!any_key(keys.read, given) && !any_key(keys.admin, given))
    return {401, "unauthorized", "the key is not valid"};
  return {};
}

}  // namespace reckon
