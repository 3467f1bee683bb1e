#pragma once
// Shared harness of the libFuzzer targets: the only outcomes allowed for any input are success or an
// epsim::InputError / UsageError. Any other exception aborts (libFuzzer records the input as a crash);
// crashes, sanitizer reports and timeouts are reported by libFuzzer itself.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/json_input.hpp"

namespace epsim::fuzz {

/// Run `body`; expected input errors are swallowed (printed when EPSIM_FUZZ_VERBOSE is set, to see
/// what a corpus input exercises), anything else is a bug and aborts.
template <class Body>
int guarded(Body&& body) {
  static const bool verbose = std::getenv("EPSIM_FUZZ_VERBOSE") != nullptr;
  try {
    body();
    if (verbose) std::fprintf(stderr, "  accepted\n");
  } catch (const InputError& e) {
    if (verbose) std::fprintf(stderr, "  input error: %s\n", e.what());
  } catch (const UsageError& e) {
    if (verbose) std::fprintf(stderr, "  usage error: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "epsim fuzz: unexpected exception (a bug): %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "epsim fuzz: unexpected non-std exception (a bug)\n");
    std::abort();
  }
  return 0;
}

/// Parse bytes with read_json_file()'s checks (syntax, depth, parsed size, duplicate keys: all
/// InputError); nullopt when the bytes are not JSON epsim accepts.
inline std::optional<Json> parse_json(const std::uint8_t* data, std::size_t size) {
  try {
    return parse_json_text(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz-input.json");
  } catch (const InputError&) {
    return std::nullopt;
  }
}

/// File name used in error messages.
inline const std::string kFuzzFile = "fuzz-input.json";

}  // namespace epsim::fuzz
