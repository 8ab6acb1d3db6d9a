// Sampling pg_stat_database (and pg_stat_statements) twice and dividing by the time between.
#include "workflow/health_baseline.h"

#include <cstdio>

namespace pgshift {
namespace {

struct Totals {
  double commits = 0, rollbacks = 0;
  std::optional<double> exec_ms, calls;
};

Result<Totals> ReadTotals(PgConnection& c) {
  Totals t;
  ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT sum(xact_commit)::float8 AS c, "
                                       "sum(xact_rollback)::float8 AS r FROM pg_stat_database"));
  t.commits = r.GetDouble(0, "c");
  t.rollbacks = r.GetDouble(0, "r");
  ASSIGN_OR_RETURN(std::string has, c.QueryValue("SELECT count(*) FROM pg_extension WHERE "
                                                 "extname = 'pg_stat_statements'"));
  if (has != "0") {
    auto s = c.Query(
        "SELECT sum(total_exec_time)::float8 AS t, sum(calls)::float8 AS n "
        "FROM pg_stat_statements");
    if (s.ok()) {
      t.exec_ms = s->GetDouble(0, "t");
      t.calls = s->GetDouble(0, "n");
    }
  }
  return t;
}

}  // namespace

Result<HealthRates> SampleHealth(PgConnection& c, std::chrono::milliseconds window, Clock& clock) {
  // Statistics are flushed by backends at most once a second: clear our own view's cache.
  (void)c.Exec("SELECT pg_stat_clear_snapshot()");
  auto t0 = clock.Now();
  ASSIGN_OR_RETURN(Totals a, ReadTotals(c));
  clock.SleepFor(window);
  (void)c.Exec("SELECT pg_stat_clear_snapshot()");
  ASSIGN_OR_RETURN(Totals b, ReadTotals(c));
  double secs = std::chrono::duration<double>(clock.Now() - t0).count();
  if (secs <= 0) secs = 1;
  HealthRates h;
  h.commits_per_s = (b.commits - a.commits) / secs;
  h.rollbacks_per_s = (b.rollbacks - a.rollbacks) / secs;
  if (a.exec_ms && b.exec_ms && *b.calls > *a.calls) {
    h.mean_statement_ms = (*b.exec_ms - *a.exec_ms) / (*b.calls - *a.calls);
  }
  return h;
}

std::vector<std::string> CompareHealth(const HealthRates& base, const HealthRates& now) {
  std::vector<std::string> out;
  char buf[256];
  // Rollbacks: more than twice the baseline rate, and more than one a second, is a regression.
  if (now.rollbacks_per_s > 1.0 && now.rollbacks_per_s > 2 * base.rollbacks_per_s) {
    std::snprintf(buf, sizeof buf, "rollback rate %.1f/s vs baseline %.1f/s", now.rollbacks_per_s,
                  base.rollbacks_per_s);
    out.push_back(buf);
  }
  if (base.commits_per_s > 10 && now.commits_per_s < 0.5 * base.commits_per_s) {
    std::snprintf(buf, sizeof buf, "commit rate %.1f/s is under half the baseline %.1f/s",
                  now.commits_per_s, base.commits_per_s);
    out.push_back(buf);
  }
  if (base.mean_statement_ms && now.mean_statement_ms &&
      *now.mean_statement_ms > 3 * *base.mean_statement_ms + 1.0) {
    std::snprintf(buf, sizeof buf, "mean statement latency %.2f ms vs baseline %.2f ms",
                  *now.mean_statement_ms, *base.mean_statement_ms);
    out.push_back(buf);
  }
  return out;
}

}  // namespace pgshift
