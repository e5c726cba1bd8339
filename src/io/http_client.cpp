#include "reckon/io/http_client.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <cctype>
#include <cstdio>
#include <memory>

#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/io/data_registry.hpp"

namespace reckon {
namespace fs = std::filesystem;
namespace {

struct Easy {
  Easy() : h(curl_easy_init()) {
    if (!h) throw IoError("libcurl could not start");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "reckon");
    // No file://, scp:// or gopher:// from a URL someone else wrote, on redirects either.
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  }
  ~Easy() { curl_easy_cleanup(h); }
  Easy(const Easy&) = delete;
  Easy& operator=(const Easy&) = delete;
  CURL* h;
  char error[CURL_ERROR_SIZE] = {};
};

struct Sink {
  std::FILE* file = nullptr;
  Progress* progress = nullptr;
  std::string* text = nullptr;
  std::size_t done = 0, max = 0;
  bool too_large = false, write_failed = false;
};

std::size_t write_chunk(char* data, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  const std::size_t bytes = size * n;
  if (s->max > 0 && s->done + bytes > s->max) {
    s->too_large = true;
    return 0;  // aborts the transfer
  }
  if (s->file) {
    if (std::fwrite(data, 1, bytes, s->file) != bytes) {
      s->write_failed = true;
      return 0;
    }
  } else if (s->text) {
    s->text->append(data, bytes);
  }
  s->done += bytes;
  if (s->progress) s->progress->update(static_cast<double>(s->done));
  return bytes;
}

std::string failure(CURLcode rc, const Easy& e) {
  const bool offline = rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
                       rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_RESOLVE_PROXY;
  return fmt::format("{}{}", e.error[0] ? e.error : curl_easy_strerror(rc),
                     offline ? " (offline, or nothing listens there)" : "");
}

}  // namespace

bool is_http_url(const std::string& s) {
  return s.starts_with("http://") || s.starts_with("https://");
}

void download(const std::string& url, const fs::path& dest, std::size_t max_bytes) {
  RECKON_CHECK(is_http_url(url), "{}: expected an http:// or https:// URL", url);
  std::FILE* f = std::fopen(dest.c_str(), "wb");
  if (!f) throw IoError(fmt::format("{}: cannot create", dest.string()));
  Progress progress("download " + url.substr(url.rfind('/') + 1), 0, "MB", 1e6);
  Sink sink{f, &progress, nullptr, 0, max_bytes};
  Easy e;
  curl_easy_setopt(e.h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e.h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, write_chunk);
  curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &sink);
  const CURLcode rc = curl_easy_perform(e.h);
  const bool closed = std::fclose(f) == 0;
  progress.finish();
  if (rc != CURLE_OK || !closed) {
    std::error_code ec;
    fs::remove(dest, ec);
    if (sink.too_large)
      throw IoError(fmt::format("cannot download {}: larger than {} MB, the limit", url,
                                max_bytes >> 20));
    if (sink.write_failed || !closed)
      throw IoError(fmt::format("cannot download {}: writing {} failed (disk full?)", url,
                                dest.string()));
    throw IoError(fmt::format("cannot download {}: {}", url, failure(rc, e)));
  }
}

fs::path fetch_url(const std::string& url, const fs::path& dest, const std::string& sha256) {
  RECKON_CHECK(is_http_url(url), "{}: expected an http:// or https:// URL", url);
  std::string want;
  for (char c : sha256) want += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  RECKON_CHECK(want.empty() || (want.size() == 64 && want.find_first_not_of("0123456789abcdef") ==
                                                         std::string::npos),
               "--sha256: expected 64 hex digits, got \"{}\"", sha256);
  std::error_code ec;
  fs::path target = dest;
  if (dest.filename().empty()) fs::create_directories(dest, ec);  // "downloads/": a folder
  if (fs::is_directory(dest, ec)) {
    std::string name = url.substr(url.find("://") + 3);
    name = name.substr(0, name.find_first_of("?#"));
    name = name.substr(name.rfind('/') + 1);
    if (name.empty() || name == "." || name == "..") name = "download";
    target = dest / name;
  }
  const fs::path part = target.string() + ".part";
  download(url, part);
  if (!want.empty()) {
    const std::string got = file_digest(part, "sha256");
    if (got != want) {
      fs::remove(part, ec);
      throw IoError(fmt::format("{}: sha256 is {}, expected {}: not kept", url, got, want));
    }
  }
  fs::rename(part, target, ec);
  if (ec) {
    fs::remove(part, ec);
    throw IoError(fmt::format("{}: cannot write: {}", target.string(), ec.message()));
  }
  return target;
}

HttpReply http_request(const std::string& method, const std::string& url, const std::string& body,
                       const std::vector<std::string>& headers, long timeout_seconds) {
  RECKON_CHECK(is_http_url(url), "{}: expected an http:// or https:// URL", url);
  HttpReply reply;
  Sink sink{nullptr, nullptr, &reply.body, 0, 1 << 20};
  Easy e;
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> guard(list, curl_slist_free_all);
  curl_easy_setopt(e.h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e.h, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method != "GET") {
    curl_easy_setopt(e.h, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(e.h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(e.h, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(e.h, CURLOPT_TIMEOUT, timeout_seconds);
  curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, write_chunk);
  curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &sink);
  const CURLcode rc = curl_easy_perform(e.h);
  if (rc != CURLE_OK && !sink.too_large)
    throw IoError(fmt::format("{} {}: {}", method, url, failure(rc, e)));
  curl_easy_getinfo(e.h, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

}  // namespace reckon
