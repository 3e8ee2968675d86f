// TempDir: a fresh directory under $TMPDIR (or /tmp), removed with everything in it when the
// object goes away. Short paths, so unix socket paths inside stay under 108 bytes.
#pragma once

#include <filesystem>
#include <string>

namespace cube::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "cube-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace cube::test
