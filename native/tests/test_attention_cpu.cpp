// The CPU attention kernels against a naive float64 reference written here: scores, softmax
// over the real keys, the dropout mask from vidtag_dropout_uniform, and the analytic backward.
// Tolerances (relative: max |ours - ref| / max |ref|): 1e-5 for the fp32 forward and lse, 1e-4
// for fp32 gradients, 1e-2 for bf16 (the reference computed from the bf16-rounded inputs).
// Every case runs on every instruction set this CPU has (forced through `isa`), and on 1 and 2
// threads, which must agree bit for bit. Outputs start as NaN, so an element the kernel skips
// fails the comparison.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "vidtag/kernels.h"

namespace {

int failures = 0;

void check(bool condition, const std::string& what) {
  if (!condition) {
    ++failures;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

void check_status(int status, int expected, const std::string& what) {
  check(status == expected, what + ": status " + std::to_string(status) + " (" +
                                vidtag_status_string(status) + "), expected " +
                                std::to_string(expected) + "; last error: " + vidtag_last_error());
}

// Infinite when ours has a NaN or infinity anywhere (std::max would quietly drop a NaN).
double relative_error(const std::vector<double>& ours, const std::vector<double>& ref) {
  double max_diff = 0.0;
  double max_ref = 0.0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(ours[i])) return std::numeric_limits<double>::infinity();
    max_diff = std::max(max_diff, std::fabs(ours[i] - ref[i]));
    max_ref = std::max(max_ref, std::fabs(ref[i]));
  }
  return max_ref == 0.0 ? max_diff : max_diff / max_ref;
}

// The worst error seen per tolerance, printed at the end to show the margin.
double worst_at_1e5 = 0.0, worst_at_1e4 = 0.0, worst_at_1e2 = 0.0;

void check_close(const std::vector<double>& ours, const std::vector<double>& ref, double tolerance,
                 const std::string& what) {
  const double error = relative_error(ours, ref);
  double& worst = tolerance <= 1e-5 ? worst_at_1e5 : tolerance <= 1e-4 ? worst_at_1e4 : worst_at_1e2;
  worst = std::max(worst, error);
  check(error <= tolerance, what + ": relative error " + std::to_string(error) + " > " +
                                std::to_string(tolerance));
}

uint16_t to_bf16(float value) {  // round to nearest even, as the kernels do
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

double from_bf16(uint16_t bits) {
  const uint32_t widened = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &widened, sizeof value);
  return value;
}

const char* isa_name(int isa) {
  switch (isa) {
    case VIDTAG_ISA_BASELINE: return "baseline";
    case VIDTAG_ISA_AVX2: return "avx2";
    case VIDTAG_ISA_AVX512: return "avx512";
    default: return "auto";
  }
}

bool isa_available(int isa) {
  const uint32_t features = vidtag_cpu_features();
  if (isa == VIDTAG_ISA_AVX2) return (features & VIDTAG_CPU_AVX2_FMA) != 0;
  if (isa == VIDTAG_ISA_AVX512) return (features & VIDTAG_CPU_AVX512) != 0;
  return true;
}

// A tensor of either dtype, kept with the float64 values the reference reads.
struct Tensor {
  int dtype = VIDTAG_FLOAT32;
  std::vector<float> f32;
  std::vector<uint16_t> bf16;

  Tensor(int type, std::size_t n) : dtype(type) {
    if (dtype == VIDTAG_FLOAT32) f32.assign(n, std::numeric_limits<float>::quiet_NaN());
    else bf16.assign(n, 0x7FC0);  // NaN
  }
  std::size_t size() const { return dtype == VIDTAG_FLOAT32 ? f32.size() : bf16.size(); }
  void* data() { return dtype == VIDTAG_FLOAT32 ? static_cast<void*>(f32.data()) : bf16.data(); }
  const void* data() const { return dtype == VIDTAG_FLOAT32 ? static_cast<const void*>(f32.data()) : bf16.data(); }
  double get(std::size_t i) const { return dtype == VIDTAG_FLOAT32 ? f32[i] : from_bf16(bf16[i]); }
  void set(std::size_t i, float value) {
    if (dtype == VIDTAG_FLOAT32) f32[i] = value;
    else bf16[i] = to_bf16(value);
  }
  std::vector<double> values() const {
    std::vector<double> v(size());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = get(i);
    return v;
  }
  bool operator==(const Tensor& other) const {
    return dtype == other.dtype && std::memcmp(data(), other.data(), size() * (dtype ? 2 : 4)) == 0;
  }
};

Tensor random_tensor(int dtype, std::size_t n, std::mt19937_64& rng, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  Tensor t(dtype, n);
  for (std::size_t i = 0; i < n; ++i) t.set(i, normal(rng));
  return t;
}

enum class Padding { kNone, kLengths, kMask };

struct Case {
  std::string name;
  int64_t batch, heads, query_length, key_length, head_dim;
  Padding padding = Padding::kNone;
  bool fused_qkv = false;  // self-attention read from one [B, L, 3H] buffer
  int dtype = VIDTAG_FLOAT32;
  float dropout_p = 0.0f;
};

// Everything one case needs: inputs in the ABI's layout, the padding, and the shape.
struct Inputs {
  vidtag_attention_shape shape{};
  Tensor qkv, q, k, v, grad_out;
  std::vector<int32_t> lengths;
  std::vector<uint8_t> mask;
  const void* q_ptr = nullptr;
  const void* k_ptr = nullptr;
  const void* v_ptr = nullptr;

  Inputs(const Case& c, std::mt19937_64& rng)
      : qkv(c.dtype, 0), q(c.dtype, 0), k(c.dtype, 0), v(c.dtype, 0),
        grad_out(random_tensor(c.dtype, static_cast<std::size_t>(c.batch * c.query_length * c.heads * c.head_dim), rng)) {
    const int64_t model_dim = c.heads * c.head_dim;
    shape.batch = c.batch;
    shape.heads = c.heads;
    shape.query_length = c.query_length;
    shape.key_length = c.key_length;
    shape.head_dim = c.head_dim;
    shape.dtype = c.dtype;
    shape.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    shape.dropout_p = c.dropout_p;
    shape.dropout_seed = 0x5EEDull + static_cast<uint64_t>(c.key_length);
    if (c.fused_qkv) {
      qkv = random_tensor(c.dtype, static_cast<std::size_t>(c.batch * c.key_length * 3 * model_dim), rng);
      const std::size_t element = c.dtype == VIDTAG_FLOAT32 ? 4 : 2;
      const char* base = static_cast<const char*>(qkv.data());
      q_ptr = base;
      k_ptr = base + static_cast<std::size_t>(model_dim) * element;
      v_ptr = base + static_cast<std::size_t>(2 * model_dim) * element;
      shape.q_row_stride = shape.k_row_stride = shape.v_row_stride = 3 * model_dim;
      shape.q_batch_stride = shape.k_batch_stride = shape.v_batch_stride = c.key_length * 3 * model_dim;
    } else {
      q = random_tensor(c.dtype, static_cast<std::size_t>(c.batch * c.query_length * model_dim), rng);
      k = random_tensor(c.dtype, static_cast<std::size_t>(c.batch * c.key_length * model_dim), rng);
      v = random_tensor(c.dtype, static_cast<std::size_t>(c.batch * c.key_length * model_dim), rng);
      q_ptr = q.data();
      k_ptr = k.data();
      v_ptr = v.data();
      shape.q_row_stride = shape.k_row_stride = shape.v_row_stride = model_dim;
      shape.q_batch_stride = c.query_length * model_dim;
      shape.k_batch_stride = shape.v_batch_stride = c.key_length * model_dim;
    }
    std::uniform_int_distribution<int64_t> length(1, c.key_length);
    if (c.padding == Padding::kLengths) {
      for (int64_t b = 0; b < c.batch; ++b) {
        // item 0 has no real key (attends all), item 1 is full, the others random
        const int64_t n = b == 0 ? 0 : b == 1 ? c.key_length : length(rng);
        lengths.push_back(static_cast<int32_t>(n));
      }
    } else if (c.padding == Padding::kMask) {
      std::bernoulli_distribution real(0.7);
      mask.assign(static_cast<std::size_t>(c.batch * c.key_length), 0);
      for (int64_t b = 0; b < c.batch; ++b) {
        // item 0 all padding; item 1 holes in the middle, real up to the end; others random holes
        // and a random end
        if (b == 0) continue;
        const int64_t end = b == 1 ? c.key_length : length(rng);
        for (int64_t j = 0; j < end; ++j) mask[static_cast<std::size_t>(b * c.key_length + j)] = real(rng) ? 1 : 0;
        if (b == 1) {
          for (int64_t j = c.key_length / 3; j < c.key_length / 3 + 70 && j < c.key_length - 1; ++j) {
            mask[static_cast<std::size_t>(b * c.key_length + j)] = 0;  // a hole wider than a tile
          }
        }
        mask[static_cast<std::size_t>(b * c.key_length + end - 1)] = 1;
      }
    }
  }

  const int32_t* key_lengths() const { return lengths.empty() ? nullptr : lengths.data(); }
  const uint8_t* key_mask() const { return mask.empty() ? nullptr : mask.data(); }

  double element(const void* base, int64_t offset) const {
    if (shape.dtype == VIDTAG_FLOAT32) return static_cast<const float*>(base)[offset];
    return from_bf16(static_cast<const uint16_t*>(base)[offset]);
  }
  double q_at(int64_t b, int64_t i, int64_t h, int64_t t) const {
    return element(q_ptr, b * shape.q_batch_stride + i * shape.q_row_stride + h * shape.head_dim + t);
  }
  double k_at(int64_t b, int64_t j, int64_t h, int64_t t) const {
    return element(k_ptr, b * shape.k_batch_stride + j * shape.k_row_stride + h * shape.head_dim + t);
  }
  double v_at(int64_t b, int64_t j, int64_t h, int64_t t) const {
    return element(v_ptr, b * shape.v_batch_stride + j * shape.v_row_stride + h * shape.head_dim + t);
  }
  bool real_key(int64_t b, int64_t j) const {
    if (!lengths.empty()) return j < lengths[static_cast<std::size_t>(b)];
    if (!mask.empty()) return mask[static_cast<std::size_t>(b * shape.key_length + j)] != 0;
    return true;
  }
};

struct Reference {
  std::vector<double> out, lse, grad_q, grad_k, grad_v;
};

// The float64 reference, forward and backward.
Reference reference(const Inputs& in) {
  const vidtag_attention_shape& s = in.shape;
  const int64_t d = s.head_dim;
  const int64_t model_dim = s.heads * d;
  Reference ref;
  ref.out.assign(static_cast<std::size_t>(s.batch * s.query_length * model_dim), 0.0);
  ref.lse.assign(static_cast<std::size_t>(s.batch * s.heads * s.query_length), 0.0);
  ref.grad_q.assign(ref.out.size(), 0.0);
  ref.grad_k.assign(static_cast<std::size_t>(s.batch * s.key_length * model_dim), 0.0);
  ref.grad_v.assign(ref.grad_k.size(), 0.0);
  const double keep_scale = 1.0 / (1.0 - static_cast<double>(s.dropout_p));
  for (int64_t b = 0; b < s.batch; ++b) {
    std::vector<bool> attends(static_cast<std::size_t>(s.key_length));
    bool any = false;
    for (int64_t j = 0; j < s.key_length; ++j) any = any || in.real_key(b, j);
    for (int64_t j = 0; j < s.key_length; ++j) attends[static_cast<std::size_t>(j)] = !any || in.real_key(b, j);
    for (int64_t h = 0; h < s.heads; ++h) {
      for (int64_t i = 0; i < s.query_length; ++i) {
        std::vector<double> p(static_cast<std::size_t>(s.key_length), 0.0);
        std::vector<double> factor(p.size(), 0.0);
        double max_score = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < s.key_length; ++j) {
          if (!attends[static_cast<std::size_t>(j)]) continue;
          double dot = 0.0;
          for (int64_t t = 0; t < d; ++t) dot += in.q_at(b, i, h, t) * in.k_at(b, j, h, t);
          p[static_cast<std::size_t>(j)] = static_cast<double>(s.scale) * dot;
          max_score = std::max(max_score, p[static_cast<std::size_t>(j)]);
        }
        double sum = 0.0;
        for (int64_t j = 0; j < s.key_length; ++j) {
          const std::size_t jj = static_cast<std::size_t>(j);
          p[jj] = attends[jj] ? std::exp(p[jj] - max_score) : 0.0;
          sum += p[jj];
        }
        const uint64_t counter = static_cast<uint64_t>(((b * s.heads + h) * s.query_length + i) * s.key_length);
        for (int64_t j = 0; j < s.key_length; ++j) {
          const std::size_t jj = static_cast<std::size_t>(j);
          p[jj] /= sum;
          const bool kept = s.dropout_p == 0.0f ||
                            vidtag_dropout_uniform(s.dropout_seed, counter + jj) >= s.dropout_p;
          factor[jj] = kept ? keep_scale : 0.0;
        }
        ref.lse[static_cast<std::size_t>((b * s.heads + h) * s.query_length + i)] = max_score + std::log(sum);
        const int64_t row = (b * s.query_length + i) * model_dim + h * d;
        std::vector<double> o(static_cast<std::size_t>(d), 0.0);
        for (int64_t j = 0; j < s.key_length; ++j) {
          const double pd = p[static_cast<std::size_t>(j)] * factor[static_cast<std::size_t>(j)];
          for (int64_t t = 0; t < d; ++t) o[static_cast<std::size_t>(t)] += pd * in.v_at(b, j, h, t);
        }
        double delta = 0.0;
        for (int64_t t = 0; t < d; ++t) {
          ref.out[static_cast<std::size_t>(row + t)] = o[static_cast<std::size_t>(t)];
          delta += in.grad_out.get(static_cast<std::size_t>(row + t)) * o[static_cast<std::size_t>(t)];
        }
        for (int64_t j = 0; j < s.key_length; ++j) {
          const std::size_t jj = static_cast<std::size_t>(j);
          if (p[jj] == 0.0) continue;
          const int64_t key_row = (b * s.key_length + j) * model_dim + h * d;
          double dp = 0.0;
          for (int64_t t = 0; t < d; ++t) {
            const double g = in.grad_out.get(static_cast<std::size_t>(row + t));
            dp += g * in.v_at(b, j, h, t);
            ref.grad_v[static_cast<std::size_t>(key_row + t)] += p[jj] * factor[jj] * g;
          }
          const double ds = p[jj] * (dp * factor[jj] - delta) * static_cast<double>(s.scale);
          for (int64_t t = 0; t < d; ++t) {
            ref.grad_q[static_cast<std::size_t>(row + t)] += ds * in.k_at(b, j, h, t);
            ref.grad_k[static_cast<std::size_t>(key_row + t)] += ds * in.q_at(b, i, h, t);
          }
        }
      }
    }
  }
  return ref;
}

struct Results {
  Tensor out, grad_q, grad_k, grad_v;
  std::vector<float> lse;
  int forward_status = -1;
  int backward_status = -1;
};

Results run(const Inputs& in, int isa) {
  const vidtag_attention_shape& s = in.shape;
  const std::size_t query_elements = static_cast<std::size_t>(s.batch * s.query_length * s.heads * s.head_dim);
  const std::size_t key_elements = static_cast<std::size_t>(s.batch * s.key_length * s.heads * s.head_dim);
  Results r{Tensor(s.dtype, query_elements), Tensor(s.dtype, query_elements),
            Tensor(s.dtype, key_elements), Tensor(s.dtype, key_elements),
            std::vector<float>(static_cast<std::size_t>(s.batch * s.heads * s.query_length),
                               std::numeric_limits<float>::quiet_NaN())};
  r.forward_status = vidtag_attention_forward_cpu(&s, in.q_ptr, in.k_ptr, in.v_ptr, in.key_lengths(),
                                                  in.key_mask(), r.out.data(), r.lse.data(), isa);
  r.backward_status = vidtag_attention_backward_cpu(
      &s, in.q_ptr, in.k_ptr, in.v_ptr, in.key_lengths(), in.key_mask(), r.out.data(), r.lse.data(),
      in.grad_out.data(), r.grad_q.data(), r.grad_k.data(), r.grad_v.data(), isa);
  return r;
}

void test_case(const Case& c, std::mt19937_64& rng) {
  const Inputs in(c, rng);
  const Reference ref = reference(in);
  const bool bf16 = c.dtype == VIDTAG_BFLOAT16;
  const double forward_tolerance = bf16 ? 1e-2 : 1e-5;
  const double backward_tolerance = bf16 ? 1e-2 : 1e-4;
  for (int isa : {VIDTAG_ISA_BASELINE, VIDTAG_ISA_AVX2, VIDTAG_ISA_AVX512, VIDTAG_ISA_AUTO}) {
    const std::string name = c.name + " [" + isa_name(isa) + "]";
    if (!isa_available(isa)) {
      const Results refused = run(in, isa);
      check_status(refused.forward_status, VIDTAG_ERR_INVALID_ARGUMENT, name + " forward refuses a missing isa");
      check_status(refused.backward_status, VIDTAG_ERR_INVALID_ARGUMENT, name + " backward refuses a missing isa");
      continue;
    }
    omp_set_num_threads(2);
    const Results two = run(in, isa);
    check_status(two.forward_status, VIDTAG_OK, name + " forward");
    check_status(two.backward_status, VIDTAG_OK, name + " backward");
    check_close(two.out.values(), ref.out, forward_tolerance, name + " out");
    check_close(std::vector<double>(two.lse.begin(), two.lse.end()), ref.lse, forward_tolerance, name + " lse");
    check_close(two.grad_q.values(), ref.grad_q, backward_tolerance, name + " grad_q");
    check_close(two.grad_k.values(), ref.grad_k, backward_tolerance, name + " grad_k");
    check_close(two.grad_v.values(), ref.grad_v, backward_tolerance, name + " grad_v");
    omp_set_num_threads(1);
    const Results one = run(in, isa);
    check(one.out == two.out && std::memcmp(one.lse.data(), two.lse.data(), one.lse.size() * 4) == 0,
          name + ": forward bitwise identical on 1 and 2 threads");
    check(one.grad_q == two.grad_q && one.grad_k == two.grad_k && one.grad_v == two.grad_v,
          name + ": backward bitwise identical on 1 and 2 threads");
  }
  omp_set_num_threads(2);
}

// v = identity (one key per output column), so out[i][j] is P[i][j] after dropout: zero
// exactly where the formula drops it, and 1/(1-p) times the softmax elsewhere.
void test_dropout_mask_formula() {
  const int64_t keys = 32;
  vidtag_attention_shape s{};
  s.batch = 1;
  s.heads = 1;
  s.query_length = 5;
  s.key_length = keys;
  s.head_dim = keys;
  s.q_row_stride = s.k_row_stride = s.v_row_stride = keys;
  s.q_batch_stride = 5 * keys;
  s.k_batch_stride = s.v_batch_stride = keys * keys;
  s.dtype = VIDTAG_FLOAT32;
  s.scale = 0.0f;  // uniform softmax: every P is 1 / keys
  s.dropout_p = 0.25f;
  s.dropout_seed = 12345;
  std::vector<float> q(5 * keys, 1.0f);
  std::vector<float> k(keys * keys, 1.0f);
  std::vector<float> v(keys * keys, 0.0f);
  for (int64_t j = 0; j < keys; ++j) v[static_cast<std::size_t>(j * keys + j)] = 1.0f;
  std::vector<float> out(5 * keys, std::numeric_limits<float>::quiet_NaN());
  check_status(vidtag_attention_forward_cpu(&s, q.data(), k.data(), v.data(), nullptr, nullptr,
                                            out.data(), nullptr, VIDTAG_ISA_AUTO),
               VIDTAG_OK, "dropout mask forward");
  int dropped = 0;
  bool all_match = true;
  for (int64_t i = 0; i < 5; ++i) {
    for (int64_t j = 0; j < keys; ++j) {
      const bool kept = vidtag_dropout_uniform(s.dropout_seed, static_cast<uint64_t>(i * keys + j)) >= s.dropout_p;
      const float expected = kept ? (1.0f / keys) / (1.0f - s.dropout_p) : 0.0f;
      const float got = out[static_cast<std::size_t>(i * keys + j)];
      dropped += kept ? 0 : 1;
      all_match = all_match && std::fabs(got - expected) <= 1e-6f;
    }
  }
  check(all_match, "dropout keeps exactly where uniform(seed, ((b*heads + h)*Lq + i)*Lk + j) >= p");
  check(dropped > 10 && dropped < 70, "dropout p = 0.25 drops about a quarter: " + std::to_string(dropped) + " of 160");
}

// sum(grad_out * out) in float64 from an fp32 forward.
double loss(const vidtag_attention_shape& s, const std::vector<float>& q, const std::vector<float>& k,
            const std::vector<float>& v, const std::vector<int32_t>& lengths, const std::vector<float>& grad_out) {
  std::vector<float> out(grad_out.size());
  vidtag_attention_forward_cpu(&s, q.data(), k.data(), v.data(), lengths.data(), nullptr, out.data(),
                               nullptr, VIDTAG_ISA_AUTO);
  double sum = 0.0;
  for (std::size_t i = 0; i < out.size(); ++i) sum += static_cast<double>(grad_out[i]) * out[i];
  return sum;
}

// The backward against central differences of the forward, independent of the reference's
// algebra: every element of q, k and v moved by +-1e-3.
void test_finite_differences(std::mt19937_64& rng) {
  vidtag_attention_shape s{};
  s.batch = 2;
  s.heads = 2;
  s.query_length = 3;
  s.key_length = 5;
  s.head_dim = 3;
  const int64_t model_dim = s.heads * s.head_dim;
  s.q_row_stride = s.k_row_stride = s.v_row_stride = model_dim;
  s.q_batch_stride = s.query_length * model_dim;
  s.k_batch_stride = s.v_batch_stride = s.key_length * model_dim;
  s.dtype = VIDTAG_FLOAT32;
  s.scale = 0.7f;
  const std::vector<int32_t> lengths = {4, 5};
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const auto random = [&](int64_t n) {
    std::vector<float> x(static_cast<std::size_t>(n));
    for (float& value : x) value = normal(rng);
    return x;
  };
  std::vector<float> q = random(s.batch * s.query_length * model_dim);
  std::vector<float> k = random(s.batch * s.key_length * model_dim);
  std::vector<float> v = random(s.batch * s.key_length * model_dim);
  const std::vector<float> grad_out = random(s.batch * s.query_length * model_dim);
  std::vector<float> out(q.size());
  std::vector<float> lse(static_cast<std::size_t>(s.batch * s.heads * s.query_length));
  std::vector<float> gq(q.size()), gk(k.size()), gv(v.size());
  check_status(vidtag_attention_forward_cpu(&s, q.data(), k.data(), v.data(), lengths.data(), nullptr,
                                            out.data(), lse.data(), VIDTAG_ISA_AUTO),
               VIDTAG_OK, "finite differences forward");
  check_status(vidtag_attention_backward_cpu(&s, q.data(), k.data(), v.data(), lengths.data(), nullptr,
                                             out.data(), lse.data(), grad_out.data(), gq.data(),
                                             gk.data(), gv.data(), VIDTAG_ISA_AUTO),
               VIDTAG_OK, "finite differences backward");
  const float step = 1e-3f;
  const struct {
    const char* name;
    std::vector<float>* x;
    const std::vector<float>* grad;
  } inputs[] = {{"q", &q, &gq}, {"k", &k, &gk}, {"v", &v, &gv}};
  for (const auto& input : inputs) {
    std::vector<double> numeric(input.x->size());
    for (std::size_t e = 0; e < input.x->size(); ++e) {
      const float saved = (*input.x)[e];
      (*input.x)[e] = saved + step;
      const double up = loss(s, q, k, v, lengths, grad_out);
      (*input.x)[e] = saved - step;
      const double down = loss(s, q, k, v, lengths, grad_out);
      (*input.x)[e] = saved;
      numeric[e] = (up - down) / (2.0 * static_cast<double>(step));
    }
    const std::vector<double> analytic(input.grad->begin(), input.grad->end());
    check_close(analytic, numeric, 1e-2, std::string("finite differences d") + input.name);
  }
  // item 0 has 4 real keys of 5: its padded key gets no gradient
  for (int64_t t = 0; t < model_dim; ++t) {
    check(gk[static_cast<std::size_t>(4 * model_dim + t)] == 0.0f && gv[static_cast<std::size_t>(4 * model_dim + t)] == 0.0f,
          "a padded key's gradient is exactly zero");
  }
}

void test_invalid_arguments() {
  vidtag_attention_shape good{};
  good.batch = 2;
  good.heads = 2;
  good.query_length = 3;
  good.key_length = 4;
  good.head_dim = 8;
  good.q_row_stride = good.k_row_stride = good.v_row_stride = 16;
  good.q_batch_stride = 48;
  good.k_batch_stride = good.v_batch_stride = 64;
  good.dtype = VIDTAG_FLOAT32;
  good.scale = 0.35f;
  std::vector<float> q(96, 0.5f), k(128, 0.25f), v(128, 1.0f), out(96), grad(96), gq(96), gk(128), gv(128);
  std::vector<float> lse(12);
  const int32_t lengths[] = {2, 4};
  const int32_t too_long[] = {2, 5};
  const int32_t negative[] = {-1, 4};
  const uint8_t mask[] = {1, 0, 1, 0, 1, 1, 1, 1};
  const auto forward = [&](const vidtag_attention_shape* s, const void* qp, const int32_t* kl,
                           const uint8_t* km, void* o, int isa) {
    return vidtag_attention_forward_cpu(s, qp, k.data(), v.data(), kl, km, o, lse.data(), isa);
  };
  check_status(forward(&good, q.data(), lengths, nullptr, out.data(), VIDTAG_ISA_AUTO), VIDTAG_OK, "valid call");
  check_status(forward(&good, q.data(), nullptr, mask, out.data(), VIDTAG_ISA_AUTO), VIDTAG_OK, "valid mask");

  struct Bad {
    const char* name;
    void (*change)(vidtag_attention_shape&);
  };
  const Bad bad_shapes[] = {
      {"batch 0", [](vidtag_attention_shape& s) { s.batch = 0; }},
      {"heads -1", [](vidtag_attention_shape& s) { s.heads = -1; }},
      {"query_length 0", [](vidtag_attention_shape& s) { s.query_length = 0; }},
      {"key_length 0", [](vidtag_attention_shape& s) { s.key_length = 0; }},
      {"head_dim 0", [](vidtag_attention_shape& s) { s.head_dim = 0; }},
      {"q_row_stride < heads * head_dim", [](vidtag_attention_shape& s) { s.q_row_stride = 15; }},
      {"k_row_stride < heads * head_dim", [](vidtag_attention_shape& s) { s.k_row_stride = 8; }},
      {"v_row_stride < heads * head_dim", [](vidtag_attention_shape& s) { s.v_row_stride = 0; }},
      {"unknown dtype", [](vidtag_attention_shape& s) { s.dtype = 2; }},
      {"dropout_p 1", [](vidtag_attention_shape& s) { s.dropout_p = 1.0f; }},
      {"dropout_p negative", [](vidtag_attention_shape& s) { s.dropout_p = -0.1f; }},
      {"dropout_p NaN", [](vidtag_attention_shape& s) { s.dropout_p = std::numeric_limits<float>::quiet_NaN(); }},
  };
  for (const Bad& bad : bad_shapes) {
    vidtag_attention_shape s = good;
    bad.change(s);
    check_status(forward(&s, q.data(), nullptr, nullptr, out.data(), VIDTAG_ISA_AUTO),
                 VIDTAG_ERR_INVALID_ARGUMENT, std::string("forward: ") + bad.name);
    check(std::strlen(vidtag_last_error()) > 0, std::string(bad.name) + " leaves a message");
    check_status(vidtag_attention_backward_cpu(&s, q.data(), k.data(), v.data(), nullptr, nullptr, out.data(),
                                               lse.data(), grad.data(), gq.data(), gk.data(), gv.data(),
                                               VIDTAG_ISA_AUTO),
                 VIDTAG_ERR_INVALID_ARGUMENT, std::string("backward: ") + bad.name);
  }
  check_status(forward(nullptr, q.data(), nullptr, nullptr, out.data(), VIDTAG_ISA_AUTO), VIDTAG_ERR_INVALID_ARGUMENT, "null shape");
  check_status(forward(&good, nullptr, nullptr, nullptr, out.data(), VIDTAG_ISA_AUTO), VIDTAG_ERR_INVALID_ARGUMENT, "null q");
  check_status(forward(&good, q.data(), nullptr, nullptr, nullptr, VIDTAG_ISA_AUTO), VIDTAG_ERR_INVALID_ARGUMENT, "null out");
  check_status(forward(&good, q.data(), lengths, mask, out.data(), VIDTAG_ISA_AUTO), VIDTAG_ERR_INVALID_ARGUMENT,
               "key_lengths and key_mask together");
  check(std::strstr(vidtag_last_error(), "key_mask") != nullptr, "the message names the arguments");
  check_status(forward(&good, q.data(), too_long, nullptr, out.data(), VIDTAG_ISA_AUTO), VIDTAG_ERR_INVALID_ARGUMENT,
               "key_lengths above key_length");
  check(std::strstr(vidtag_last_error(), "key_lengths[1]") != nullptr, "the message names key_lengths[1]");
  check_status(forward(&good, q.data(), negative, nullptr, out.data(), VIDTAG_ISA_AUTO), VIDTAG_ERR_INVALID_ARGUMENT,
               "negative key_lengths");
  check_status(forward(&good, q.data(), nullptr, nullptr, out.data(), 9), VIDTAG_ERR_INVALID_ARGUMENT, "unknown isa");
  check_status(forward(&good, q.data(), nullptr, nullptr, out.data(), -1), VIDTAG_ERR_INVALID_ARGUMENT, "negative isa");
  const auto backward = [&](const void* o, const float* l, const void* g, void* dq, void* dk, void* dv) {
    return vidtag_attention_backward_cpu(&good, q.data(), k.data(), v.data(), nullptr, nullptr, o, l, g, dq, dk,
                                         dv, VIDTAG_ISA_AUTO);
  };
  check_status(backward(out.data(), lse.data(), grad.data(), gq.data(), gk.data(), gv.data()), VIDTAG_OK, "valid backward");
  check_status(backward(nullptr, lse.data(), grad.data(), gq.data(), gk.data(), gv.data()), VIDTAG_ERR_INVALID_ARGUMENT, "null out");
  check_status(backward(out.data(), nullptr, grad.data(), gq.data(), gk.data(), gv.data()), VIDTAG_ERR_INVALID_ARGUMENT, "null lse");
  check_status(backward(out.data(), lse.data(), nullptr, gq.data(), gk.data(), gv.data()), VIDTAG_ERR_INVALID_ARGUMENT, "null grad_out");
  check_status(backward(out.data(), lse.data(), grad.data(), nullptr, gk.data(), gv.data()), VIDTAG_ERR_INVALID_ARGUMENT, "null grad_q");
  check_status(backward(out.data(), lse.data(), grad.data(), gq.data(), nullptr, gv.data()), VIDTAG_ERR_INVALID_ARGUMENT, "null grad_k");
  check_status(backward(out.data(), lse.data(), grad.data(), gq.data(), gk.data(), nullptr), VIDTAG_ERR_INVALID_ARGUMENT, "null grad_v");
}

}  // namespace

int main() {
  for (int isa : {VIDTAG_ISA_AVX2, VIDTAG_ISA_AVX512}) {
    if (!isa_available(isa)) std::printf("note: this CPU lacks %s; its path is only checked to refuse\n", isa_name(isa));
  }
  std::mt19937_64 rng(20240611);
  const int bf16 = VIDTAG_BFLOAT16;
  const std::vector<Case> cases = {
      {"self d64 lengths (0-length and full items)", 3, 2, 70, 70, 64, Padding::kLengths},
      {"self d40 mask with holes", 3, 2, 100, 100, 40, Padding::kMask},
      {"self d32 no padding", 2, 3, 37, 37, 32, Padding::kNone},
      {"cross Lq1 Lk300 d32", 2, 2, 1, 300, 32, Padding::kNone},
      {"cross Lq14 Lk258 d64 lengths", 3, 2, 14, 258, 64, Padding::kLengths},
      {"cross Lq32 Lk131 d40 mask", 3, 2, 32, 131, 40, Padding::kMask},
      {"self d20 lengths (head_dim padded to the vector)", 3, 2, 50, 50, 20, Padding::kLengths},
      {"cross Lq14 Lk90 d36 mask", 3, 2, 14, 90, 36, Padding::kMask},
      {"self fused qkv d32 lengths", 3, 3, 45, 45, 32, Padding::kLengths, true},
      {"self fused qkv d40 mask", 3, 2, 66, 66, 40, Padding::kMask, true},
      {"self d64 dropout 0.1", 3, 2, 67, 67, 64, Padding::kLengths, false, VIDTAG_FLOAT32, 0.1f},
      {"cross Lq14 Lk100 d40 mask dropout 0.1", 3, 2, 14, 100, 40, Padding::kMask, false, VIDTAG_FLOAT32, 0.1f},
      {"bf16 self d64 lengths", 3, 2, 70, 70, 64, Padding::kLengths, false, bf16},
      {"bf16 cross Lq14 Lk150 d40 mask dropout 0.1", 3, 2, 14, 150, 40, Padding::kMask, false, bf16, 0.1f},
      {"bf16 fused qkv d32", 2, 2, 33, 33, 32, Padding::kNone, true, bf16},
  };
  for (const Case& c : cases) test_case(c, rng);
  test_dropout_mask_formula();
  test_finite_differences(rng);
  test_invalid_arguments();
  std::printf("worst relative errors: %.2e (tolerance 1e-5), %.2e (1e-4), %.2e (1e-2)\n", worst_at_1e5,
              worst_at_1e4, worst_at_1e2);
  std::printf("%s: %d failure(s)\n", failures == 0 ? "PASS" : "FAIL", failures);
  return failures == 0 ? 0 : 1;
}
