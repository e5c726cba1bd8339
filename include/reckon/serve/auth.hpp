#pragma once
// Who may call what. State-changing routes (POST /events, item writes, /admin/*) need the admin
// key when one is configured; with none, they are open to this machine only (a loopback peer
// naming a loopback Host, which also stops DNS rebinding). A read key, when set, guards the read
// routes too (the admin key opens them as well); /health stays open for load balancers.
// Browsers: a write that a page on another origin sends (Origin or Sec-Fetch-Site say so) is
// refused whatever the keys, so a page open on this machine cannot post events or edit items.
#include <string>
#include <string_view>
#include <vector>

namespace reckon {

struct AccessKeys {
  std::vector<std::string> admin;  // any of them opens every route
  std::vector<std::string> read;   // empty: read routes are open
  bool writes_open() const { return admin.empty(); }
};

// Keys from a flag value, a file (one key a line; '#' comments) and an environment variable, in
// that order. Throws InvalidInput for an unreadable file or a key shorter than 16 characters.
std::vector<std::string> collect_keys(const std::vector<std::string>& values,
                                      const std::string& file, const char* env_name);

// The parts of a request that access depends on.
struct AccessRequest {
  bool write = false;  // a state-changing route
  bool health = false;
  std::string_view authorization, origin, host, sec_fetch_site;
  bool peer_loopback = true;
};

struct AccessDecision {
  int status = 0;  // 0: allowed; 401 or 403
  std::string code, message;
};
AccessDecision check_access(const AccessKeys& keys, const AccessRequest& request);

// Equal strings, in time that depends only on `secret`'s length.
bool constant_time_equal(std::string_view secret, std::string_view given);

}  // namespace reckon
