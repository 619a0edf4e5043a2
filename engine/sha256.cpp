#include "engine/sha256.h"

#include <array>
#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define REGLAMENT_SHA_NI 1
#else
#define REGLAMENT_SHA_NI 0
#endif

namespace reglament {

namespace {

constexpr std::array<uint32_t, 64> kRound = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

constexpr uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

using State = std::array<uint32_t, 8>;
// Compresses `blocks` consecutive 64-byte blocks into `h`.
using Compress = void (*)(State& h, const unsigned char* data, size_t blocks);

void compress_portable(State& h_, const unsigned char* data, size_t blocks) {
  for (; blocks > 0; --blocks, data += 64) {
    uint32_t w[64];
    for (int t = 0; t < 16; ++t) {
      w[t] = (uint32_t{data[4 * t]} << 24) | (uint32_t{data[4 * t + 1]} << 16) |
             (uint32_t{data[4 * t + 2]} << 8) | uint32_t{data[4 * t + 3]};
    }
    for (int t = 16; t < 64; ++t) {
      uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
      uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3];
    uint32_t e = h_[4], f = h_[5], g = h_[6], h = h_[7];
    for (int t = 0; t < 64; ++t) {
      uint32_t big_s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      uint32_t ch = (e & f) ^ (~e & g);
      uint32_t t1 = h + big_s1 + ch + kRound[t] + w[t];
      uint32_t big_s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
      uint32_t t2 = big_s0 + maj;
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h_[0] += a; h_[1] += b; h_[2] += c; h_[3] += d;
    h_[4] += e; h_[5] += f; h_[6] += g; h_[7] += h;
  }
}

#if REGLAMENT_SHA_NI
// The x86 SHA extensions (Intel since Goldmont and Ice Lake, AMD since Zen):
// two rounds per sha256rnds2 instruction, the message schedule in
// sha256msg1/msg2; about eight times the portable code's speed. The state is
// kept as ABEF and CDGH, the order the instructions want.
__attribute__((target("sha,sse4.1,ssse3"))) void compress_sha_ni(State& h, const unsigned char* data,
                                                                 size_t blocks) {
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&h[0])), 0xB1);  // CDAB
  __m128i state1 = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&h[4])), 0x1B);  // EFGH
  __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);     // ABEF
  state1 = _mm_blend_epi16(state1, tmp, 0xF0);          // CDGH
  for (; blocks > 0; --blocks, data += 64) {
    const __m128i abef = state0;
    const __m128i cdgh = state1;
    __m128i m[4];  // the last four groups of four schedule words
#pragma GCC unroll 16
    for (int q = 0; q < 16; ++q) {
      __m128i w;
      if (q < 4) {
        w = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * q)), byte_swap);
      } else {
        // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], four at a time.
        __m128i x = _mm_sha256msg1_epu32(m[q % 4], m[(q + 1) % 4]);
        x = _mm_add_epi32(x, _mm_alignr_epi8(m[(q + 3) % 4], m[(q + 2) % 4], 4));
        w = _mm_sha256msg2_epu32(x, m[(q + 3) % 4]);
      }
      m[q % 4] = w;
      const __m128i k = _mm_add_epi32(w, _mm_loadu_si128(reinterpret_cast<const __m128i*>(&kRound[4 * q])));
      state1 = _mm_sha256rnds2_epu32(state1, state0, k);
      state0 = _mm_sha256rnds2_epu32(state0, state1, _mm_shuffle_epi32(k, 0x0E));
    }
    state0 = _mm_add_epi32(state0, abef);
    state1 = _mm_add_epi32(state1, cdgh);
  }
  tmp = _mm_shuffle_epi32(state0, 0x1B);                // FEBA
  state1 = _mm_shuffle_epi32(state1, 0xB1);             // DCHG
  state0 = _mm_blend_epi16(tmp, state1, 0xF0);          // DCBA
  state1 = _mm_alignr_epi8(state1, tmp, 8);             // ABEF
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&h[0]), state0);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&h[4]), state1);
}

bool cpu_has_sha_ni() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool ssse3 = (c & (1u << 9)) != 0, sse41 = (c & (1u << 19)) != 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return ssse3 && sse41 && (b & (1u << 29)) != 0;
}
#endif

// The CPU's instructions when it has them, else the portable code; decided once.
Compress best_compress() {
#if REGLAMENT_SHA_NI
  static const Compress chosen = cpu_has_sha_ni() ? compress_sha_ni : compress_portable;
  return chosen;
#else
  return compress_portable;
#endif
}

std::string digest(std::string_view text, Compress compress) {
  State h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const auto* data = reinterpret_cast<const unsigned char*>(text.data());
  const size_t full = text.size() / 64;
  compress(h, data, full);
  // Padding: the rest, a single 1 bit, zeros up to 56 mod 64, then the
  // length in bits; one block or two.
  unsigned char tail[128] = {};
  const size_t rest = text.size() % 64;
  for (size_t i = 0; i < rest; ++i) tail[i] = data[full * 64 + i];
  tail[rest] = 0x80;
  const size_t tail_blocks = rest < 56 ? 1 : 2;
  const uint64_t bits = static_cast<uint64_t>(text.size()) * 8;
  for (int i = 0; i < 8; ++i) tail[tail_blocks * 64 - 8 + i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
  compress(h, tail, tail_blocks);

  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(64, '0');
  size_t pos = 0;
  for (uint32_t word : h) {
    for (int shift = 28; shift >= 0; shift -= 4) out[pos++] = kHex[(word >> shift) & 0xF];
  }
  return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) { return digest(data, best_compress()); }

std::string sha256_hex_portable(std::string_view data) { return digest(data, compress_portable); }

bool sha256_uses_cpu_instructions() { return best_compress() != compress_portable; }

}  // namespace reglament
