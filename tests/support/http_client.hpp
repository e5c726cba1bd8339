#pragma once
// A blocking HTTP/1.1 client for tests (Boost.Beast), and a `reckon serve` child process.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace reckon::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct Reply {
  int status = 0;  // 0: no answer (connection closed or failed)
  std::string body;
};

// One keep-alive connection.
class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  Reply request(http::verb method, const std::string& target, const std::string& body = "",
                const std::string& content_type = "application/json") {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "localhost");
    if (!body.empty()) {
      req.set(http::field::content_type, content_type);
      req.body() = body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    beast::error_code ec;
    http::write(socket_, req, ec);
    if (ec) return {};
    return read();
  }
  Reply get(const std::string& target) { return request(http::verb::get, target); }
  Reply post(const std::string& target, const std::string& body) {
    return request(http::verb::post, target, body);
  }

  // Sends bytes as they are, then reads one answer.
  Reply raw(const std::string& bytes) {
    beast::error_code ec;
    net::write(socket_, net::buffer(bytes), ec);
    if (ec) return {};
    return read();
  }

 private:
  Reply read() {
    beast::error_code ec;
    http::response<http::string_body> res;
    http::read(socket_, buffer_, res, ec);
    if (ec) return {};
    return {static_cast<int>(res.result_int()), std::move(res.body())};
  }

  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// `reckon serve` in a child process on a free port.
class ServerProcess {
 public:
  ServerProcess(const std::string& binary, std::vector<std::string> args) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      std::vector<std::string> all = {binary, "serve", "--port", "0", "--access-log", "off"};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    close(out[1]);
    out_ = fdopen(out[0], "r");
    // The first lines say where it listens.
    char line[4096];
    const std::string marker = "listening on http://127.0.0.1:";
    while (std::fgets(line, sizeof line, out_)) {
      output_ += line;
      const std::string l(line);
      if (auto p = l.find(marker); p != std::string::npos) {
        port_ = static_cast<std::uint16_t>(std::stoi(l.substr(p + marker.size())));
        break;
      }
    }
    if (port_ == 0) throw std::runtime_error("server did not start: " + output_);
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_) fclose(out_);
  }

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  void signal(int sig) const { kill(pid_, sig); }
  // Waits for the exit; returns the exit status (or 128 + signal) and collects the output.
  int wait() {
    char line[4096];
    while (std::fgets(line, sizeof line, out_)) output_ += line;
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  const std::string& output() const { return output_; }
  // Resident memory in KiB (from /proc).
  long rss_kib() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string key;
    long value = 0;
    while (status >> key)
      if (key == "VmRSS:") {
        status >> value;
        return value;
      }
    return 0;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::uint16_t port_ = 0;
  std::string output_;
};

}  // namespace reckon::test
