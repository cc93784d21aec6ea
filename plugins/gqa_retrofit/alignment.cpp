#include "alignment.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>

namespace gqa_retrofit {
namespace {

// a (tokens x rows) = x (tokens x dim) times the rows [first, first + count) of w (dim each).
std::vector<double> project(const std::vector<float>& x, int64_t tokens, int32_t dim,
                            const std::vector<float>& w, const std::vector<float>& bias,
                            int64_t first, int32_t count) {
  std::vector<double> out(static_cast<size_t>(tokens) * count);
  for (int64_t t = 0; t < tokens; ++t) {
    const float* xt = x.data() + t * dim;
    for (int32_t r = 0; r < count; ++r) {
      const float* wr = w.data() + (first + r) * dim;
      double sum = bias.empty() ? 0.0 : bias[static_cast<size_t>(first + r)];
      for (int32_t c = 0; c < dim; ++c) sum += double(wr[c]) * xt[c];
      out[static_cast<size_t>(t * count + r)] = sum;
    }
  }
  return out;
}

// Replaces rows [first, first + n) of w (cols each) by R^T times them: new row i is
// sum_j R[j][i] row j.
void turn_rows(std::vector<float>& w, int32_t cols, int64_t first, const std::vector<double>& r,
               int32_t n) {
  std::vector<double> rows(static_cast<size_t>(n) * cols);
  for (int32_t j = 0; j < n; ++j) {
    for (int32_t c = 0; c < cols; ++c) rows[size_t(j) * cols + c] = w[(first + j) * cols + c];
  }
  for (int32_t i = 0; i < n; ++i) {
    for (int32_t c = 0; c < cols; ++c) {
      double sum = 0;
      for (int32_t j = 0; j < n; ++j) sum += r[size_t(j) * n + i] * rows[size_t(j) * cols + c];
      w[(first + i) * cols + c] = static_cast<float>(sum);
    }
  }
}

// Columns [first, first + n) of w (rows x cols) times R: new column i is sum_j col j R[j][i].
void turn_columns(std::vector<float>& w, int32_t rows, int32_t cols, int64_t first,
                  const std::vector<double>& r, int32_t n) {
  std::vector<double> old(static_cast<size_t>(n));
  for (int32_t row = 0; row < rows; ++row) {
    float* wr = w.data() + static_cast<size_t>(row) * cols + first;
    for (int32_t j = 0; j < n; ++j) old[size_t(j)] = wr[j];
    for (int32_t i = 0; i < n; ++i) {
      double sum = 0;
      for (int32_t j = 0; j < n; ++j) sum += old[size_t(j)] * r[size_t(j) * n + i];
      wr[i] = static_cast<float>(sum);
    }
  }
}

// a^T b for two heads' activations (tokens rows of hd): the hd x hd cross-covariance whose
// SVD gives the Procrustes turn of a towards b.
std::vector<double> cross(const std::vector<double>& a, const std::vector<double>& b,
                          int64_t tokens, int32_t hd) {
  std::vector<double> m(static_cast<size_t>(hd) * hd, 0.0);
  for (int64_t t = 0; t < tokens; ++t) {
    for (int32_t i = 0; i < hd; ++i) {
      for (int32_t j = 0; j < hd; ++j) {
        m[size_t(i) * hd + j] += a[size_t(t * hd + i)] * b[size_t(t * hd + j)];
      }
    }
  }
  return m;
}

// The 2 x 2 cross-covariance of dims (p, q) of a against the same dims of b.
struct PairCross {
  double m00 = 0, m01 = 0, m10 = 0, m11 = 0;
};
PairCross pair_cross(const std::vector<double>& a, const std::vector<double>& b, int64_t tokens,
                     int32_t hd, int32_t p, int32_t q) {
  PairCross c;
  for (int64_t t = 0; t < tokens; ++t) {
    const double ap = a[size_t(t * hd + p)], aq = a[size_t(t * hd + q)];
    const double bp = b[size_t(t * hd + p)], bq = b[size_t(t * hd + q)];
    c.m00 += ap * bp, c.m01 += ap * bq, c.m10 += aq * bp, c.m11 += aq * bq;
  }
  return c;
}

// The dims a head's RoPE rotates together, then the rest in consecutive pairs (any turn of
// those commutes with RoPE, which leaves them alone).
std::vector<std::pair<int32_t, int32_t>> pairs(const LayerShape& s) {
  std::vector<std::pair<int32_t, int32_t>> out;
  const int32_t half = s.rope_dims / 2;
  for (int32_t i = 0; i < half; ++i) {
    out.emplace_back(s.rope_neox ? i : 2 * i, s.rope_neox ? i + half : 2 * i + 1);
  }
  for (int32_t d = 2 * half; d + 1 < s.head_dim; d += 2) out.emplace_back(d, d + 1);
  return out;
}

// One-sided Jacobi: rotates column pairs of A = m until they are orthogonal; then A = U S
// (its column lengths are the singular values) and the accumulated rotations are V.
void jacobi(const std::vector<double>& m, int32_t n, std::vector<double>& a,
            std::vector<double>& v) {
  a = m;
  v.assign(static_cast<size_t>(n) * n, 0.0);
  for (int32_t i = 0; i < n; ++i) v[size_t(i) * n + i] = 1.0;
  auto at = [n](std::vector<double>& x, int32_t r, int32_t c) -> double& {
    return x[size_t(r) * n + c];
  };
  for (int sweep = 0; sweep < 60; ++sweep) {
    double off = 0;
    for (int32_t p = 0; p < n; ++p) {
      for (int32_t q = p + 1; q < n; ++q) {
        double alpha = 0, beta = 0, gamma = 0;
        for (int32_t r = 0; r < n; ++r) {
          alpha += at(a, r, p) * at(a, r, p);
          beta += at(a, r, q) * at(a, r, q);
          gamma += at(a, r, p) * at(a, r, q);
        }
        if (gamma == 0 || std::fabs(gamma) <= 1e-15 * std::sqrt(alpha * beta)) continue;
        off = std::max(off, std::fabs(gamma) / std::sqrt(alpha * beta));
        const double zeta = (beta - alpha) / (2 * gamma);
        const double t = (zeta >= 0 ? 1.0 : -1.0) / (std::fabs(zeta) + std::sqrt(1 + zeta * zeta));
        const double c = 1 / std::sqrt(1 + t * t), s = c * t;
        for (int32_t r = 0; r < n; ++r) {
          const double ap = at(a, r, p), aq = at(a, r, q);
          at(a, r, p) = c * ap - s * aq;
          at(a, r, q) = s * ap + c * aq;
          const double vp = at(v, r, p), vq = at(v, r, q);
          at(v, r, p) = c * vp - s * vq;
          at(v, r, q) = s * vp + c * vq;
        }
      }
    }
    if (off < 1e-13) break;
  }
}

}  // namespace

std::vector<double> nearest_orthogonal(const std::vector<double>& m, int32_t n) {
  std::vector<double> a, v;
  jacobi(m, n, a, v);
  auto at = [n](std::vector<double>& x, int32_t r, int32_t c) -> double& {
    return x[size_t(r) * n + c];
  };
  // U: A's columns normalised; a column with no length (a rank-deficient m) is completed to
  // an orthonormal basis, so R stays orthogonal.
  std::vector<double> u = a;
  double largest = 0;
  std::vector<double> norms(static_cast<size_t>(n));
  for (int32_t c = 0; c < n; ++c) {
    double sq = 0;
    for (int32_t r = 0; r < n; ++r) sq += at(u, r, c) * at(u, r, c);
    norms[size_t(c)] = std::sqrt(sq);
    largest = std::max(largest, norms[size_t(c)]);
  }
  for (int32_t c = 0; c < n; ++c) {
    if (norms[size_t(c)] > 1e-12 * largest && largest > 0) {
      for (int32_t r = 0; r < n; ++r) at(u, r, c) /= norms[size_t(c)];
      continue;
    }
    for (int32_t e = 0; e < n; ++e) {  // the first basis vector not yet covered
      std::vector<double> candidate(static_cast<size_t>(n), 0.0);
      candidate[size_t(e)] = 1.0;
      for (int32_t k = 0; k < n; ++k) {
        if (k == c || (k > c && !(norms[size_t(k)] > 1e-12 * largest))) continue;
        double dot = 0;
        for (int32_t r = 0; r < n; ++r) dot += candidate[size_t(r)] * at(u, r, k);
        for (int32_t r = 0; r < n; ++r) candidate[size_t(r)] -= dot * at(u, r, k);
      }
      double sq = 0;
      for (double x : candidate) sq += x * x;
      if (sq < 1e-6) continue;
      for (int32_t r = 0; r < n; ++r) at(u, r, c) = candidate[size_t(r)] / std::sqrt(sq);
      norms[size_t(c)] = largest > 0 ? largest : 1.0;  // covered now
      break;
    }
  }
  std::vector<double> result(static_cast<size_t>(n) * n, 0.0);
  for (int32_t i = 0; i < n; ++i) {
    for (int32_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int32_t k = 0; k < n; ++k) sum += at(u, i, k) * at(v, j, k);
      result[size_t(i) * n + j] = sum;
    }
  }
  return result;
}

void align_heads(LayerWeights& w, const LayerShape& s, int32_t groups, const std::vector<float>& x,
                 int64_t tokens) {
  const int32_t run = s.kv_heads / groups, hd = s.head_dim;
  const int32_t queries_per_head = s.query_heads / s.kv_heads;
  const std::vector<std::pair<int32_t, int32_t>> turn_pairs = pairs(s);
  for (int32_t g = 0; g < groups; ++g) {
    const int32_t ref = g * run;
    const std::vector<double> v_ref = project(x, tokens, s.dim, w.wv, w.bv, int64_t(ref) * hd, hd);
    const std::vector<double> k_ref = project(x, tokens, s.dim, w.wk, w.bk, int64_t(ref) * hd, hd);
    for (int32_t h = ref + 1; h < ref + run; ++h) {
      const int64_t first = int64_t(h) * hd;
      // Values: R minimising |V_h R - V_ref|, then W_V,h <- R^T W_V,h and W_O,q <- W_O,q R.
      const std::vector<double> v_h = project(x, tokens, s.dim, w.wv, w.bv, first, hd);
      const std::vector<double> r = nearest_orthogonal(cross(v_h, v_ref, tokens, hd), hd);
      turn_rows(w.wv, s.dim, first, r, hd);
      if (!w.bv.empty()) turn_rows(w.bv, 1, first, r, hd);
      for (int32_t q = h * queries_per_head; q < (h + 1) * queries_per_head; ++q) {
        turn_columns(w.wo, s.dim, s.query_heads * hd, int64_t(q) * hd, r, hd);
      }
      // Keys: one rotation per pair, the same on the head's queries.
      const std::vector<double> k_h = project(x, tokens, s.dim, w.wk, w.bk, first, hd);
      std::vector<double> turn(static_cast<size_t>(hd) * hd, 0.0);
      for (const auto& [a, b] : turn_pairs) {
        const PairCross m = pair_cross(k_h, k_ref, tokens, hd, a, b);
        const double angle = std::atan2(m.m10 - m.m01, m.m00 + m.m11);
        const double c = std::cos(angle), sn = std::sin(angle);
        // [k_a k_b] G with G = [[c, -s], [s, c]]: as R in turn_rows' convention.
        turn[size_t(a) * hd + a] = c, turn[size_t(a) * hd + b] = -sn;
        turn[size_t(b) * hd + a] = sn, turn[size_t(b) * hd + b] = c;
      }
      turn_rows(w.wk, s.dim, first, turn, hd);
      if (!w.bk.empty()) turn_rows(w.bk, 1, first, turn, hd);
      for (int32_t q = h * queries_per_head; q < (h + 1) * queries_per_head; ++q) {
        turn_rows(w.wq, s.dim, int64_t(q) * hd, turn, hd);
        if (!w.bq.empty()) turn_rows(w.bq, 1, int64_t(q) * hd, turn, hd);
      }
    }
  }
}

namespace {

// The squared distance left between heads a and b once a is turned towards b, keys and values,
// each relative to the two heads' squared size (0: the same head, up to the turn).
double turned_distance(const std::vector<double>& k_a, const std::vector<double>& v_a,
                       const std::vector<double>& k_b, const std::vector<double>& v_b,
                       int64_t tokens, int32_t hd,
                       const std::vector<std::pair<int32_t, int32_t>>& turn_pairs) {
  auto squared = [](const std::vector<double>& x) {
    double s = 0;
    for (double e : x) s += e * e;
    return s;
  };
  // Values: |A|^2 + |B|^2 - 2 (sum of singular values of A^T B).
  std::vector<double> us, v;
  jacobi(cross(v_a, v_b, tokens, hd), hd, us, v);
  double nuclear = 0;
  for (int32_t c = 0; c < hd; ++c) {
    double sq = 0;
    for (int32_t r = 0; r < hd; ++r) sq += us[size_t(r) * hd + c] * us[size_t(r) * hd + c];
    nuclear += std::sqrt(sq);
  }
  const double value_size = squared(v_a) + squared(v_b);
  const double values = value_size > 0 ? (value_size - 2 * nuclear) / value_size : 0;
  // Keys: per pair, |A|^2 + |B|^2 - 2 |(m00 + m11, m10 - m01)|.
  double key_left = 0;
  const double key_size = squared(k_a) + squared(k_b);
  for (const auto& [p, q] : turn_pairs) {
    const PairCross m = pair_cross(k_a, k_b, tokens, hd, p, q);
    key_left -= 2 * std::hypot(m.m00 + m.m11, m.m10 - m.m01);
  }
  const double keys = key_size > 0 ? (key_size + key_left) / key_size : 0;
  return std::max(0.0, values) + std::max(0.0, keys);
}

// Moves `n`-row blocks of `w` (cols each): new block i is old block order[i].
void permute_row_blocks(std::vector<float>& w, int64_t cols, int32_t n,
                        const std::vector<int32_t>& order, int32_t block_rows) {
  if (w.empty()) return;
  const std::vector<float> old = w;
  const size_t block = static_cast<size_t>(block_rows) * static_cast<size_t>(cols);
  for (int32_t i = 0; i < n; ++i) {
    std::copy_n(old.begin() + static_cast<ptrdiff_t>(size_t(order[size_t(i)]) * block), block,
                w.begin() + static_cast<ptrdiff_t>(size_t(i) * block));
  }
}

}  // namespace

std::vector<int32_t> similar_order(const LayerWeights& w, const LayerShape& s, int32_t groups,
                                   const std::vector<float>& x, int64_t tokens) {
  const int32_t hd = s.head_dim, run = s.kv_heads / groups;
  const auto turn_pairs = pairs(s);
  std::vector<std::vector<double>> keys, values;
  for (int32_t h = 0; h < s.kv_heads; ++h) {
    keys.push_back(project(x, tokens, s.dim, w.wk, w.bk, int64_t(h) * hd, hd));
    values.push_back(project(x, tokens, s.dim, w.wv, w.bv, int64_t(h) * hd, hd));
  }
  std::vector<int32_t> order;
  std::vector<bool> placed(static_cast<size_t>(s.kv_heads), false);
  for (int32_t seed = 0; seed < s.kv_heads; ++seed) {
    if (placed[size_t(seed)]) continue;
    placed[size_t(seed)] = true;
    order.push_back(seed);
    std::vector<std::pair<double, int32_t>> candidates;
    for (int32_t h = 0; h < s.kv_heads; ++h) {
      if (placed[size_t(h)]) continue;
      candidates.emplace_back(
          turned_distance(keys[size_t(h)], values[size_t(h)], keys[size_t(seed)],
                          values[size_t(seed)], tokens, hd, turn_pairs),
          h);
    }
    std::sort(candidates.begin(), candidates.end());  // ties: the lower head first
    for (int32_t k = 0; k + 1 < run; ++k) {
      const int32_t h = candidates[size_t(k)].second;
      placed[size_t(h)] = true;
      order.push_back(h);
    }
  }
  return order;
}

void permute_heads(LayerWeights& w, const LayerShape& s, const std::vector<int32_t>& order) {
  const int32_t hd = s.head_dim, per = s.query_heads / s.kv_heads;
  permute_row_blocks(w.wk, s.dim, s.kv_heads, order, hd);
  permute_row_blocks(w.wv, s.dim, s.kv_heads, order, hd);
  permute_row_blocks(w.bk, 1, s.kv_heads, order, hd);
  permute_row_blocks(w.bv, 1, s.kv_heads, order, hd);
  // A KV head's query heads move with it, as one block of `per` heads.
  permute_row_blocks(w.wq, s.dim, s.kv_heads, order, per * hd);
  permute_row_blocks(w.bq, 1, s.kv_heads, order, per * hd);
  // W_O's columns for those query heads: transpose the idea, row by row.
  const int64_t cols = int64_t(s.query_heads) * hd, block = int64_t(per) * hd;
  std::vector<float> row(static_cast<size_t>(cols));
  for (int32_t r = 0; r < s.dim; ++r) {
    float* wr = w.wo.data() + int64_t(r) * cols;
    std::copy_n(wr, cols, row.begin());
    for (int32_t i = 0; i < s.kv_heads; ++i) {
      std::copy_n(row.begin() + order[size_t(i)] * block, block, wr + i * block);
    }
  }
}

}  // namespace gqa_retrofit
