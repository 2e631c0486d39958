#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <pqxx/pqxx>

namespace backstop::store {

// One page of a newest-first list, and the cursor for the next one.
template <typename Row>
struct Page {
  std::vector<Row> items;
  std::optional<std::int64_t> next;  // the last item's seq, while more remain
};

// Builds a page from rows fetched with LIMIT limit + 1: the extra row only
// says that more remain. `from_row` maps a row, `seq_of` gives its cursor.
template <typename Row, typename FromRow, typename SeqOf>
Page<Row> TakePage(const pqxx::result& rows, int limit, FromRow from_row, SeqOf seq_of) {
  Page<Row> page;
  for (const auto& row : rows) {
    if (static_cast<int>(page.items.size()) == limit) {
      page.next = seq_of(page.items.back());
      break;
    }
    page.items.push_back(from_row(row));
  }
  return page;
}

}  // namespace backstop::store
