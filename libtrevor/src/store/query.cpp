#include "store/query.hpp"

#include <fmt/format.h>

namespace trevor::detail {

sql_builder& sql_builder::placeholder(bool is_int, std::size_t k) {
  names_.push_back(fmt::format("p{}", names_.size()));
  order_.emplace_back(is_int, k);
  sql_ += ':';
  sql_ += names_.back();
  return *this;
}

void sql_builder::bind(soci::details::prepare_temp_type& prep) const {
  for (std::size_t i = 0; i < order_.size(); ++i) {
    const auto [is_int, k] = order_[i];
    if (is_int)
      prep, soci::use(ints_[k], names_[i]);
    else
      prep, soci::use(texts_[k], names_[i]);
  }
}

}  // namespace trevor::detail
