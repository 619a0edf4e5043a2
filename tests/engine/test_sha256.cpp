#include "engine/sha256.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using reglament::sha256_hex;
using reglament::sha256_hex_portable;

TEST_CASE("sha256 of the empty string matches the FIPS 180-4 vector") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("sha256 of \"abc\" matches the FIPS 180-4 one-block vector") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("sha256 of the 448-bit message matches the FIPS 180-4 two-block vector") {
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("sha256 of the 896-bit message matches the FIPS 180-4 vector") {
  CHECK(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                   "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu") ==
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST_CASE("sha256 of a million 'a' characters matches the FIPS 180-4 long vector") {
  CHECK(sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 handles messages around the padding boundary") {
  // Given lengths where the 64-bit length field just fits in the last block or
  // spills into a new one; expected values from coreutils sha256sum.
  CHECK(sha256_hex(std::string(55, 'x')) ==
        "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
  CHECK(sha256_hex(std::string(56, 'x')) ==
        "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
  CHECK(sha256_hex(std::string(57, 'x')) ==
        "ae14a2563ccf969d99aca69ce6bb74981f734bbf9f655f73b8f06db68cab5217");
  CHECK(sha256_hex(std::string(63, 'x')) ==
        "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2");
  CHECK(sha256_hex(std::string(64, 'a')) ==
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
  CHECK(sha256_hex(std::string(65, 'x')) ==
        "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9");
}

TEST_CASE("sha256 hashes UTF-8 text byte by byte") {
  // Given a Russian word; expected value from coreutils sha256sum.
  CHECK(sha256_hex("жалоба") ==
        "91edfeba7f6ed870f2012c7866faa9ed3dd2c0918b0357b0b8eff2a3532f49ab");
}

TEST_CASE("the portable code gives the FIPS 180-4 vectors too, whichever sha256_hex uses") {
  CHECK(sha256_hex_portable("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex_portable("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex_portable(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  MESSAGE("sha256_hex uses the CPU's SHA instructions: " << reglament::sha256_uses_cpu_instructions());
}

TEST_CASE("sha256_hex and the portable code agree on every length up to 1,100 bytes of varied input") {
  // A fixed pseudo-random byte stream (all 256 byte values occur), cut at
  // every length across many block and padding boundaries.
  std::string bytes;
  uint32_t x = 2463534242u;
  for (int i = 0; i < 1100; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    bytes += static_cast<char>(x & 0xFF);
  }
  for (size_t n = 0; n <= bytes.size(); ++n) {
    const std::string_view part(bytes.data(), n);
    REQUIRE_MESSAGE(sha256_hex(part) == sha256_hex_portable(part), "length " << n);
  }
}
