// Progress of `moejit precompile` on stderr: a redrawn bar with counts and the time left on a
// terminal, one line per kernel otherwise (logs, CI). Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>

namespace moejit::cli {

enum class JobStatus { Compiled, Cached, Failed };

std::string_view job_status_name(JobStatus s);

class ProgressReport {
 public:
  // `terminal`: draw a bar (isatty(stderr)); otherwise print a line per kernel.
  ProgressReport(std::ostream& out, std::size_t total, bool terminal);

  // Records one finished kernel: its status, key text, seconds spent, and why it failed.
  void finished(JobStatus status, std::string_view key_text, double seconds,
                std::string_view error = {});
  // Clears the bar (terminal mode) so that a summary can follow.
  void close();

 private:
  void draw_bar();
  double elapsed() const;

  std::ostream& out_;
  std::size_t total_;
  bool terminal_;
  std::mutex mutex_;
  std::size_t compiled_ = 0, cached_ = 0, failed_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace moejit::cli
