// Parsing test_decoding output lines such as
//   table public.pgshift_demo_ledger: INSERT: client[integer]:1 seq[bigint]:5 amount[...
//   message: transactional: 0 prefix: pgshift.fence, sz: 7 content:cutover
#include "demo/ledger_stream.h"

#include <charconv>
#include <map>
#include <optional>
#include <set>

namespace pgshift::demo {
namespace {

std::optional<int64_t> IntAfter(std::string_view line, std::string_view key) {
  auto pos = line.find(key);
  if (pos == std::string_view::npos) return std::nullopt;
  const char* begin = line.data() + pos + key.size();
  int64_t v = 0;
  auto r = std::from_chars(begin, line.data() + line.size(), v);
  if (r.ec != std::errc() || r.ptr == begin) return std::nullopt;
  return v;
}

void ParseLine(std::string_view line, LedgerStream& out) {
  static const std::string kInsert = std::string("table public.") + kLedgerTable + ": INSERT: ";
  static constexpr std::string_view kFence =
      "message: transactional: 0 prefix: pgshift.fence, sz: ";
  if (line.substr(0, kInsert.size()) == kInsert) {
    auto client = IntAfter(line, " client[integer]:");
    auto seq = IntAfter(line, " seq[bigint]:");
    if (client && seq) out.inserts.push_back({static_cast<int>(*client), *seq});
  } else if (line.substr(0, kFence.size()) == kFence) {
    auto content = line.find(" content:");
    if (content != std::string_view::npos) {
      out.fence_labels.emplace_back(line.substr(content + 9));
    }
  }
}

std::string Name(const LedgerCommit& c) {
  return "client " + std::to_string(c.client) + " seq " + std::to_string(c.seq);
}

}  // namespace

LedgerStream ParseLedgerStream(std::string_view text) {
  LedgerStream out;
  size_t start = 0;
  while (true) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) break;  // partial last line
    ParseLine(text.substr(start, nl - start), out);
    start = nl + 1;
  }
  return out;
}

DeliveryReport CheckDelivery(const LedgerStream& stream,
                             const std::vector<LedgerCommit>& acknowledged) {
  DeliveryReport r;
  std::set<LedgerCommit> ack(acknowledged.begin(), acknowledged.end());
  std::set<LedgerCommit> seen;
  std::map<int, int64_t> last_seq;
  auto note = [&r](const std::string& what) {
    if (r.first_problem.empty()) r.first_problem = what;
  };
  for (const LedgerCommit& c : stream.inserts) {
    ++r.delivered;
    if (!seen.insert(c).second) {
      ++r.duplicated;
      note(Name(c) + " delivered twice");
      continue;
    }
    auto it = last_seq.find(c.client);
    if (it != last_seq.end() && c.seq < it->second) {
      ++r.out_of_order;
      note(Name(c) + " delivered after seq " + std::to_string(it->second));
    }
    if (it == last_seq.end() || c.seq > it->second) last_seq[c.client] = c.seq;
    if (!ack.count(c)) ++r.unacknowledged;
  }
  for (const LedgerCommit& a : ack) {
    if (!seen.count(a)) {
      ++r.missing;
      note(Name(a) + " acknowledged but never delivered");
    }
  }
  return r;
}

}  // namespace pgshift::demo
