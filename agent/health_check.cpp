#include "agent/health_check.h"

#include <algorithm>

#include "common/units.h"

namespace cube::agent {
namespace {

// "8080/tcp" -> "8080"; nullopt for UDP (nothing to GET).
std::optional<std::string> tcp_port_of(std::string_view spec) {
  auto slash = spec.find('/');
  if (slash != std::string_view::npos) {
    if (spec.substr(slash + 1) != "tcp")
      return std::nullopt;
    spec = spec.substr(0, slash);
  }
  if (spec.empty())
    return std::nullopt;
  return std::string(spec);
}

bool is_wildcard(std::string_view address) {
  return address.empty() || address == "0.0.0.0" || address == "::" || address == "[::]";
}

std::string url_of(std::string_view host, std::string_view port, std::string_view path) {
  std::string h(host);
  if (h.find(':') != std::string::npos && h.front() != '[')
    h = "[" + h + "]";
  return "http://" + h + ":" + std::string(port) + std::string(path);
}

std::string host_for(const PortBinding& binding, std::string_view publish_address) {
  if (!is_wildcard(binding.host_ip))
    return binding.host_ip;
  if (!is_wildcard(publish_address))
    return std::string(publish_address);
  return "127.0.0.1";
}

std::string times(int32_t n) {
  return std::to_string(n) + (n == 1 ? " time" : " times");
}

}  // namespace

Result<HealthDefaults> parse_health_defaults(std::string_view interval, std::string_view timeout,
                                             int64_t retries) {
  HealthDefaults d;
  auto i = parse_duration(interval);
  if (!i.is_ok() || i->count() <= 0) {
    return Status::invalid("--health-interval: \"" + std::string(interval) +
                           "\" is not a positive duration (for example 10s)");
  }
  auto t = parse_duration(timeout);
  if (!t.is_ok() || t->count() <= 0) {
    return Status::invalid("--health-timeout: \"" + std::string(timeout) +
                           "\" is not a positive duration (for example 2s)");
  }
  if (retries < 1 || retries > 1000) {
    return Status::invalid("--health-retries: " + std::to_string(retries) +
                           " is not between 1 and 1000");
  }
  d.interval = *i;
  d.timeout = *t;
  d.retries = static_cast<int32_t>(retries);
  return d;
}

std::optional<std::string> health_check_url(
    std::string_view path, const std::vector<std::string>& exposed_ports,
    const std::map<std::string, std::vector<PortBinding>>& port_bindings,
    std::string_view publish_address) {
  if (path.empty())
    return std::nullopt;
  auto usable = [](const std::vector<PortBinding>& list) -> const PortBinding* {
    for (const auto& b : list) {
      if (!b.host_port.empty())
        return &b;
    }
    return nullptr;
  };
  // The first exposed TCP port that is published, in the order the user listed them.
  for (const auto& spec : exposed_ports) {
    if (!tcp_port_of(spec))
      continue;
    // Bindings are keyed "8080/tcp" (Docker's form); a spec written "8080" means the same.
    auto it = port_bindings.find(spec.find('/') == std::string::npos ? spec + "/tcp" : spec);
    if (it == port_bindings.end())
      continue;
    if (const PortBinding* b = usable(it->second))
      return url_of(host_for(*b, publish_address), b->host_port, path);
  }
  // Bindings the spec does not name (an adopted task): the first TCP one.
  for (const auto& [spec, list] : port_bindings) {
    if (!tcp_port_of(spec))
      continue;
    if (const PortBinding* b = usable(list))
      return url_of(host_for(*b, publish_address), b->host_port, path);
  }
  if (!port_bindings.empty())
    return std::nullopt;
  // Nothing published (exec driver): the task listens on the host itself.
  for (const auto& spec : exposed_ports) {
    if (auto port = tcp_port_of(spec))
      return url_of("127.0.0.1", *port, path);
  }
  return std::nullopt;
}

HealthSettings health_settings(const Task& task, const HealthDefaults& defaults, std::string url) {
  HealthSettings s;
  s.url = std::move(url);
  s.interval = task.health_interval_ms > 0 ? Millis(task.health_interval_ms) : defaults.interval;
  s.timeout = task.health_timeout_ms > 0 ? Millis(task.health_timeout_ms) : defaults.timeout;
  s.retries = task.health_retries > 0 ? task.health_retries : defaults.retries;
  return s;
}

void HealthProber::watch(const std::string& task_id, uint32_t attempt, HealthSettings settings,
                         SteadyTime now) {
  settings.interval = std::max(settings.interval, Millis(1));
  settings.timeout = std::max(settings.timeout, Millis(1));
  settings.retries = std::max(settings.retries, 1);
  Watch w;
  w.next_probe = now + settings.interval;
  w.settings = std::move(settings);
  watches_[{task_id, attempt}] = std::move(w);
}

void HealthProber::forget(const std::string& task_id, uint32_t attempt) {
  watches_.erase({task_id, attempt});
}

void HealthProber::rearm(const std::string& task_id, uint32_t attempt, SteadyTime now) {
  auto it = watches_.find({task_id, attempt});
  if (it == watches_.end() || !it->second.unhealthy)
    return;
  Watch& w = it->second;
  w.unhealthy = false;
  w.failures = 0;
  w.in_flight = false;
  w.next_probe = now + w.settings.interval;
}

std::optional<HealthProber::Verdict> HealthProber::count_failure(const Key& key, Watch& w,
                                                                 const std::string& error) {
  ++w.failures;
  if (w.failures < w.settings.retries)
    return std::nullopt;
  w.unhealthy = true;
  return Verdict{key.first, key.second, "health check failed " + times(w.failures) + ": " + error};
}

HealthProber::Due HealthProber::advance(SteadyTime now) {
  Due due;
  for (auto& [key, w] : watches_) {
    if (w.unhealthy)
      continue;
    if (w.in_flight && now >= w.probe_started + w.settings.timeout + kLateAnswerSlack) {
      // The answer, if it ever comes, carries this seq and is ignored: in_flight is false.
      w.in_flight = false;
      w.next_probe = w.probe_started + w.settings.interval;
      auto verdict = count_failure(key, w,
                                   "GET " + w.settings.url + ": no answer within " +
                                       std::to_string(w.settings.timeout.count()) + " ms");
      if (verdict) {
        due.verdicts.push_back(std::move(*verdict));
        continue;
      }
    }
    if (!w.in_flight && now >= w.next_probe) {
      w.in_flight = true;
      w.probe_started = now;
      w.seq = next_seq_++;
      due.probes.push_back({key.first, key.second, w.seq, w.settings.url, w.settings.timeout});
    }
  }
  return due;
}

HealthProber::Outcome HealthProber::on_result(const std::string& task_id, uint32_t attempt,
                                              uint64_t seq, const Status& result, SteadyTime now) {
  Outcome out;
  auto it = watches_.find({task_id, attempt});
  if (it == watches_.end())
    return out;
  Watch& w = it->second;
  if (!w.in_flight || w.seq != seq || w.unhealthy)
    return out;
  w.in_flight = false;
  // Keep the cadence of probe starts; a probe that took longer than an interval is followed
  // at once.
  w.next_probe = std::max(w.probe_started + w.settings.interval, now);
  out.retries = w.settings.retries;
  if (result.is_ok()) {
    out.kind = Outcome::Kind::Healthy;
    out.recovered = w.failures > 0;
    w.failures = 0;
    return out;
  }
  out.error = result.message();
  out.verdict = count_failure(it->first, w, out.error);
  out.failures = w.failures;
  out.kind = out.verdict ? Outcome::Kind::Unhealthy : Outcome::Kind::Failing;
  return out;
}

std::optional<SteadyTime> HealthProber::next_deadline() const {
  std::optional<SteadyTime> earliest;
  for (const auto& [key, w] : watches_) {
    if (w.unhealthy)
      continue;
    SteadyTime t =
        w.in_flight ? w.probe_started + w.settings.timeout + kLateAnswerSlack : w.next_probe;
    if (!earliest || t < *earliest)
      earliest = t;
  }
  return earliest;
}

}  // namespace cube::agent
