// wal_init_zero and pg_switch_wal around the promotion; see the header for why.
#include "platform/segment_boundary_promotion.h"

namespace pgshift {

Result<bool> LiftWalInitZero(PgConnection& target) {
  ASSIGN_OR_RETURN(PgResult r, target.Query("SELECT setting, coalesce(sourcefile, '') AS file "
                                            "FROM pg_settings WHERE name = 'wal_init_zero'"));
  if (r.rows() != 1 || r.Get(0, "setting") != "on") return false;
  const std::string file = r.Get(0, "file");
  if (file.ends_with("postgresql.auto.conf")) return false;  // the operator's ALTER SYSTEM
  Status st = target.Exec("ALTER SYSTEM SET wal_init_zero = off");
  if (!st.ok()) return st.Context(target.info().Label() + ": lift wal_init_zero");
  auto reloaded = target.QueryValue("SELECT pg_reload_conf()");
  if (!reloaded.ok()) return reloaded.status().Context(target.info().Label() + ": reload");
  return true;
}

Status RestoreWalInitZero(PgConnection& target) {
  Status st = target.Exec("ALTER SYSTEM RESET wal_init_zero");
  if (!st.ok()) return st.Context(target.info().Label() + ": restore wal_init_zero");
  auto reloaded = target.QueryValue("SELECT pg_reload_conf()");
  if (!reloaded.ok()) return reloaded.status().Context(target.info().Label() + ": reload");
  return Status::Ok();
}

Status EndWalSegment(PgConnection& source) {
  auto switched = source.QueryValue("SELECT pg_switch_wal()");
  if (!switched.ok()) return switched.status().Context(source.info().Label() + ": pg_switch_wal");
  return Status::Ok();
}

}  // namespace pgshift
