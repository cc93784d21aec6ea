#include "hearth/tensor_type.h"

namespace hearth {

std::optional<TensorTypeTraits> tensor_type_traits(uint32_t type_id) {
  switch (static_cast<TensorType>(type_id)) {
    case TensorType::f32:
      return TensorTypeTraits{"f32", 1, 4};
    case TensorType::f16:
      return TensorTypeTraits{"f16", 1, 2};
    case TensorType::bf16:
      return TensorTypeTraits{"bf16", 1, 2};
    case TensorType::q8_0:
      return TensorTypeTraits{"q8_0", kQuantBlock, 34};
    case TensorType::q4_0:
      return TensorTypeTraits{"q4_0", kQuantBlock, 18};
    case TensorType::q4_1:
      return TensorTypeTraits{"q4_1", kQuantBlock, 20};
    case TensorType::q5_0:
      return TensorTypeTraits{"q5_0", kQuantBlock, 22};
    case TensorType::q5_1:
      return TensorTypeTraits{"q5_1", kQuantBlock, 24};
    case TensorType::q2_K:
      return TensorTypeTraits{"q2_K", kSuperBlock, 84};
    case TensorType::q3_K:
      return TensorTypeTraits{"q3_K", kSuperBlock, 110};
    case TensorType::q4_K:
      return TensorTypeTraits{"q4_K", kSuperBlock, 144};
    case TensorType::q5_K:
      return TensorTypeTraits{"q5_K", kSuperBlock, 176};
    case TensorType::q6_K:
      return TensorTypeTraits{"q6_K", kSuperBlock, 210};
    case TensorType::iq4_nl:
      return TensorTypeTraits{"iq4_nl", kQuantBlock, 18};
    case TensorType::iq4_xs:
      return TensorTypeTraits{"iq4_xs", kSuperBlock, 136};
  }
  return std::nullopt;
}

std::string tensor_type_name(uint32_t type_id) {
  // Names of the GGML types hearth does not run, so errors can say what the file holds.
  static constexpr std::string_view kOtherNames[] = {
      "f32",     "f16",    "q4_0",    "q4_1",  "q4_2",   "q4_3",  "q5_0",  "q5_1",
      "q8_0",    "q8_1",   "q2_K",    "q3_K",  "q4_K",   "q5_K",  "q6_K",  "q8_K",
      "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s", "iq4_nl", "iq3_s", "iq2_s", "iq4_xs",
      "i8",      "i16",    "i32",     "i64",   "f64",    "iq1_m", "bf16"};
  if (type_id < std::size(kOtherNames)) return std::string(kOtherNames[type_id]);
  return "type " + std::to_string(type_id);
}

}  // namespace hearth
