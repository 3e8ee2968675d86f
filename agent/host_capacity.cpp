#include "agent/host_capacity.h"

#include <sys/statvfs.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace cube::agent {

Result<int64_t> parse_meminfo_total(std::string_view meminfo) {
  constexpr std::string_view kKey = "MemTotal:";
  size_t pos = 0;
  while (pos < meminfo.size()) {
    size_t end = meminfo.find('\n', pos);
    if (end == std::string_view::npos)
      end = meminfo.size();
    std::string_view line = meminfo.substr(pos, end - pos);
    pos = end + 1;
    if (!line.starts_with(kKey))
      continue;
    line.remove_prefix(kKey.size());
    while (!line.empty() && line.front() == ' ')
      line.remove_prefix(1);
    int64_t kib = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), kib);
    std::string_view unit(ptr, static_cast<size_t>(line.data() + line.size() - ptr));
    if (ec != std::errc() || kib < 0 || unit != " kB")
      return Status::invalid("MemTotal line is not \"MemTotal: N kB\"");
    return kib * 1024;
  }
  return Status::invalid("no MemTotal line in /proc/meminfo");
}

protocol::Capacity probe_host_capacity(const std::filesystem::path& data_dir, uint32_t slots) {
  protocol::Capacity c;
  unsigned cores = std::thread::hardware_concurrency();
  c.cpu = cores == 0 ? 1.0 : static_cast<double>(cores);
  std::ifstream in("/proc/meminfo");
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    auto total = parse_meminfo_total(ss.str());
    if (total.is_ok())
      c.memory_bytes = *total;
  }
  struct statvfs fs {};
  if (::statvfs(data_dir.c_str(), &fs) == 0)
    c.disk_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  c.slots = slots;
  return c;
}

}  // namespace cube::agent
