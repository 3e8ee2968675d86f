#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>
#include <string>

namespace cube {

Status init_logging(std::string_view program, std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return Status::invalid("unknown log level \"" + std::string(level) +
                           "\" (use trace, debug, info, warn, error or off)");
  }
  auto logger = spdlog::stderr_logger_mt(std::string(program) + "-" + std::to_string(::getpid()));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ " + std::string(program) + ": %v");
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return Status::ok();
}

}  // namespace cube
