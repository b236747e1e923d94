// defines: the implementation of run_lock.hpp
#include "io/run_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <regex>
#include <utility>

namespace fs = std::filesystem;

namespace ferret {
namespace {

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

std::string holder_line() {
  char when[64] = {};
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return "host " + host_name() + ", pid " + std::to_string(::getpid()) + ", since " + when;
}

// The holder's line as written by holder_line(), or a note that it could not be read.
std::string read_holder(int fd) {
  char buf[512] = {};
  const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  std::string text = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.empty() ? "a process that has not yet written its name" : text;
}

// flock on the file now at `path`; a file unlinked by a releasing holder between our open and our
// flock is not the lock any more, so the inode is compared and the open retried.
int lock_file(const std::string& dir, const std::string& path) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      throw RunLockError("--out '" + dir + "': cannot create the lock file '" + path + "': " + std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      const std::string holder = err == EWOULDBLOCK ? read_holder(fd) : "";
      ::close(fd);
      if (err == EWOULDBLOCK)
        throw RunLockError("--out '" + dir + "' is in use by another ferret run (" + holder +
                           "); wait for it to end or choose another --out");
      throw RunLockError("--out '" + dir + "': cannot lock '" + path + "': " + std::strerror(err) +
                         " (the file system must support flock; on Lustre mount with -o flock)");
    }
    struct stat held {}, now {};
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &now) == 0 && held.st_ino == now.st_ino &&
        held.st_dev == now.st_dev)
      return fd;
    ::close(fd);  // we locked a file its holder had just removed: take the new one
  }
  throw RunLockError("--out '" + dir + "': the lock file '" + path + "' keeps being replaced");
}

}  // namespace

RunLock RunLock::acquire(const std::string& dir) {
  std::error_code ec;
  const bool existed = fs::exists(dir, ec);
  if (existed && !fs::is_directory(dir, ec)) throw RunLockError("--out '" + dir + "' exists and is not a directory");
  if (!existed && !fs::create_directories(dir, ec) && ec)
    throw RunLockError("--out: cannot create '" + dir + "': " + ec.message());
  const std::string path = (fs::path(dir) / kFileName).string();
  int fd = -1;
  try {
    fd = lock_file(dir, path);
  } catch (...) {
    if (!existed) fs::remove(dir, ec);  // only if still empty: remove() does not recurse
    throw;
  }
  RunLock lock(fd, dir, !existed);
  const std::string line = holder_line() + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size()))
    throw RunLockError("--out '" + dir + "': cannot write in '" + path + "': " + std::strerror(errno));
  return lock;
}

RunLock::RunLock(int fd, std::string dir, bool created_dir) : fd_(fd), dir_(std::move(dir)), created_dir_(created_dir) {}

RunLock::RunLock(RunLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), dir_(std::move(other.dir_)), created_dir_(other.created_dir_) {}

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
    dir_ = std::move(other.dir_);
    created_dir_ = other.created_dir_;
  }
  return *this;
}

RunLock::~RunLock() { release(); }

void RunLock::release() noexcept {
  if (fd_ < 0) return;
  std::error_code ec;
  fs::remove(fs::path(dir_) / kFileName, ec);  // unlinked while still held: see lock_file's inode check
  ::close(fd_);
  fd_ = -1;
  if (created_dir_ && fs::is_empty(dir_, ec)) fs::remove(dir_, ec);
}

bool holds_only_lock(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename() != RunLock::kFileName) return false;
  return true;
}

std::vector<std::string> remove_stale_temporaries(const std::string& checkpoint_dir) {
  static const std::regex kTemporary(R"(round_\d+\.h5\.tmp\.(\d+))");
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(checkpoint_dir, ec)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (!std::regex_match(name, m, kTemporary)) continue;
    if (m[1].length() > 9) continue;  // not a PID this system can have
    const auto pid = static_cast<pid_t>(std::stol(m[1].str()));
    const bool alive = pid == ::getpid() || ::kill(pid, 0) == 0 || errno == EPERM;  // EPERM: alive, not ours
    if (alive) continue;
    std::error_code rm;
    if (fs::remove(entry.path(), rm))
      removed.push_back("removed the stale temporary '" + entry.path().string() + "' (its writer, pid " +
                        m[1].str() + ", is gone)");
  }
  return removed;
}

}  // namespace ferret
