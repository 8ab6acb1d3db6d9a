// MarkCdcFencePoint: the logical message whose LSN CDC consumers must confirm before the
// target may be promoted. See slot_handover.h for why this LSN and no other.
#include "cdc/slot_handover.h"

namespace pgshift {

Result<Lsn> MarkCdcFencePoint(PgConnection& source, const std::string& label) {
  auto text =
      source.QueryValue("SELECT pg_logical_emit_message(false, 'pgshift.fence', $1)", {label});
  if (!text.ok()) return text.status().Context("marking the CDC fence point");
  return Lsn::Parse(*text);
}

}  // namespace pgshift
