// The precompile progress report: bar and time left on a terminal, a line per kernel otherwise.
#include "cli/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>

#include "cli/cli_support.hpp"

namespace moejit::cli {
namespace {

int terminal_columns() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

std::string first_line(std::string_view text) {
  const std::size_t end = text.find('\n');
  return std::string(text.substr(0, end));
}

}  // namespace

std::string_view job_status_name(JobStatus s) {
  switch (s) {
    case JobStatus::Compiled:
      return "compiled";
    case JobStatus::Cached:
      return "cached";
    case JobStatus::Failed:
      return "failed";
  }
  return "?";
}

ProgressReport::ProgressReport(std::ostream& out, std::size_t total, bool terminal)
    : out_(out), total_(total), terminal_(terminal), start_(std::chrono::steady_clock::now()) {
  if (terminal_) {
    std::lock_guard lock(mutex_);
    draw_bar();
  }
}

double ProgressReport::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressReport::draw_bar() {
  const std::size_t done = compiled_ + cached_ + failed_;
  std::string tail = "  " + std::to_string(done) + "/" + std::to_string(total_) + "  " +
                     std::to_string(compiled_) + " compiled, " + std::to_string(cached_) +
                     " cached, " + std::to_string(failed_) + " failed  " +
                     human_seconds(elapsed()) + " elapsed";
  if (done > 0 && done < total_) {
    const double left = elapsed() / static_cast<double>(done) * static_cast<double>(total_ - done);
    tail += ", ~" + human_seconds(left) + " left";
  }
  constexpr int kWidth = 20;
  const int filled =
      total_ == 0 ? kWidth : static_cast<int>(static_cast<double>(kWidth) * done / total_);
  std::string line = "[";
  line.append(filled, '#').append(kWidth - filled, '-').append("]").append(tail);
  // Never wider than the terminal: a wrapped line could not be redrawn in place.
  const auto columns = static_cast<std::size_t>(std::max(terminal_columns() - 1, 10));
  if (line.size() > columns) line.resize(columns);
  line.insert(0, "\r\033[K");
  out_ << line << std::flush;
}

void ProgressReport::finished(JobStatus status, std::string_view key_text, double seconds,
                              std::string_view error) {
  std::lock_guard lock(mutex_);
  switch (status) {
    case JobStatus::Compiled:
      ++compiled_;
      break;
    case JobStatus::Cached:
      ++cached_;
      break;
    case JobStatus::Failed:
      ++failed_;
      break;
  }
  const std::size_t done = compiled_ + cached_ + failed_;
  if (terminal_) {
    if (status == JobStatus::Failed)
      out_ << "\r\033[Kfailed    " << key_text << ": " << first_line(error) << "\n";
    draw_bar();
    return;
  }
  const std::string count = std::to_string(total_);
  std::string index = std::to_string(done);
  index.insert(0, count.size() - std::min(count.size(), index.size()), ' ');
  std::string name(job_status_name(status));
  name.resize(9, ' ');
  out_ << "[" << index << "/" << count << "] " << name << key_text;
  if (status == JobStatus::Failed)
    out_ << ": " << first_line(error);
  else
    out_ << " (" << human_seconds(seconds) << ")";
  out_ << "\n" << std::flush;
}

void ProgressReport::close() {
  std::lock_guard lock(mutex_);
  if (terminal_) out_ << "\r\033[K" << std::flush;
}

}  // namespace moejit::cli
