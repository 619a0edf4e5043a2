// fmt's compiled part, for a binary that links fmt statically.
//
// Debian packages fmt as a shared library only. Used header-only instead,
// every translation unit would compile fmt's implementation again (+3 s per
// file here); this one file compiles it once, as fmt's own src/format.cc does
// for libfmt.a, and the others declare it (the default, neither FMT_SHARED nor
// FMT_HEADER_ONLY). The explicit instantiations below are those of fmt 9's
// src/format.cc (MIT licence, Copyright (c) 2012 - present, Victor Zverovich);
// the top-level CMakeLists.txt uses this file only with fmt 9.
#include <fmt/format-inl.h>

#if FMT_VERSION < 90000 || FMT_VERSION >= 100000
#error "third_party/fmt/format.cpp is fmt 9's; configure with -DREGLAMENT_STATIC_DEPS=OFF"
#endif

FMT_BEGIN_NAMESPACE
namespace detail {

template FMT_API auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template FMT_API auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;

#ifndef FMT_STATIC_THOUSANDS_SEPARATOR
template FMT_API locale_ref::locale_ref(const std::locale& loc);
template FMT_API auto locale_ref::get<std::locale>() const -> std::locale;
#endif

template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template FMT_API auto decimal_point_impl(locale_ref) -> char;
template FMT_API void buffer<char>::append(const char*, const char*);
template FMT_API void vformat_to(buffer<char>&, string_view, basic_format_args<FMT_BUFFER_CONTEXT(char)>,
                                 locale_ref);

template FMT_API auto thousands_sep_impl(locale_ref) -> thousands_sep_result<wchar_t>;
template FMT_API auto decimal_point_impl(locale_ref) -> wchar_t;
template FMT_API void buffer<wchar_t>::append(const wchar_t*, const wchar_t*);

}  // namespace detail
FMT_END_NAMESPACE
