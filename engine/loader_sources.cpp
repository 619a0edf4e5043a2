// read_sources: the only place the loader touches the file system.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "engine/loader.h"

namespace reglament {

namespace fs = std::filesystem;

namespace {

// Definition and instruction files are small (the bundled ones hold a few
// KiB); a bigger one is refused unread rather than parsed for seconds.
constexpr uintmax_t kMaxFileBytes = uintmax_t{1} << 20;

bool has_suffix(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool definition_file(const std::string& name) {
  return has_suffix(name, ".yaml") || has_suffix(name, ".yml") || has_suffix(name, ".md") ||
         has_suffix(name, ".txt");
}

// The path as the user gave it, tidied: "processes/" and "./processes" ->
// "processes"; "." and "" -> "".
std::string tidy(const fs::path& p) {
  std::string s = p.lexically_normal().generic_string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  if (s == ".") s.clear();
  return s;
}

Status read_file(const fs::path& p, std::string& out) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(p, ec);
  if (!ec && size > kMaxFileBytes) {
    char mib[32];
    std::snprintf(mib, sizeof mib, "%.1f MiB", static_cast<double>(size) / (1 << 20));
    return make_error(ErrorCode::invalid,
                      p.generic_string() + " is " + mib + "; a definition file may hold at most 1 MiB");
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) return make_error(ErrorCode::internal, "cannot read " + p.generic_string());
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error(ErrorCode::internal, "cannot read " + p.generic_string());
  out = ss.str();
  return {};
}

// A link inside a bundle would let a definition take in any file the
// deploying user can read (an instructions file linked to /etc/shadow is
// stored in the definition and shown to every clerk), so a bundle holds no
// links at all: neither its files nor the folders on their way are links.
Status refuse_link(const fs::path& p) {
  return make_error(ErrorCode::invalid, p.generic_string() +
                                            " is a symbolic link; a bundle may not hold links, copy the file "
                                            "into the bundle instead");
}

bool is_link(const fs::path& p) {
  std::error_code ec;
  return fs::is_symlink(fs::symlink_status(p, ec));
}

// The files of one directory, recursively, keyed relative to it. Hidden
// files and folders are skipped. Every regular file under a `scripts` folder
// is taken (instructions may have any extension); elsewhere only the kinds
// definitions are written in. A link (to a file or a folder) is refused.
Status read_directory(const fs::path& dir, std::map<std::string, std::string>& files) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) return make_error(ErrorCode::internal, "cannot list " + dir.generic_string() + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return make_error(ErrorCode::internal, "cannot list " + dir.generic_string() + ": " + ec.message());
    const fs::path& p = it->path();
    std::string name = p.filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink(ec)) return refuse_link(p);
    if (!it->is_regular_file(ec)) continue;
    std::string rel = p.lexically_relative(dir).generic_string();
    bool in_scripts = rel.rfind("scripts/", 0) == 0 || rel.find("/scripts/") != std::string::npos;
    if (!in_scripts && !definition_file(name)) continue;
    std::string text;
    if (Status s = read_file(p, text); !s.ok()) return s;
    files[rel] = std::move(text);
  }
  return {};
}

// One path given by the user: its root and its files keyed relative to it.
struct Part {
  std::string root;
  std::map<std::string, std::string> files;
};

Result<Part> read_path(const std::string& given) {
  Part part;
  fs::path p(given);
  std::error_code ec;
  fs::file_status st = fs::status(p, ec);
  if (ec || !fs::exists(st)) {
    return make_error(ErrorCode::not_found, "no such file or directory: " + given);
  }
  if (fs::is_directory(st)) {
    part.root = tidy(p);
    if (Status s = read_directory(p, part.files); !s.ok()) return s.error();
    bool any_yaml = false;
    for (const auto& [rel, text] : part.files) {
      any_yaml = any_yaml || has_suffix(rel, ".yaml") || has_suffix(rel, ".yml");
    }
    if (!any_yaml) {
      return make_error(ErrorCode::invalid, given + " holds no definition file (*.yaml or *.yml)");
    }
    return part;
  }
  if (!fs::is_regular_file(st)) {
    return make_error(ErrorCode::invalid, given + " is neither a regular file nor a directory");
  }
  if (!has_suffix(given, ".yaml") && !has_suffix(given, ".yml")) {
    return make_error(ErrorCode::invalid,
                      given + " is not a definition file; give *.yaml or *.yml files, or a directory");
  }
  if (is_link(p)) return refuse_link(p).error();
  // A single file: read its folder's org, calendar, forms and scripts as
  // context, so the file can be validated on its own.
  fs::path dir = p.parent_path();
  part.root = tidy(dir);
  fs::path base = dir.empty() ? fs::path(".") : dir;
  std::string text;
  if (Status s = read_file(p, text); !s.ok()) return s.error();
  part.files[p.filename().generic_string()] = std::move(text);
  for (const char* context : {"org.yaml", "calendar.yaml"}) {
    fs::path file = base / context;
    if (is_link(file)) return refuse_link(file).error();
    if (fs::is_regular_file(file, ec) && !part.files.count(context)) {
      if (Status s = read_file(file, text); !s.ok()) return s.error();
      part.files[context] = std::move(text);
    }
  }
  for (const char* sub : {"forms", "scripts"}) {
    fs::path d = base / sub;
    if (is_link(d)) return refuse_link(d).error();
    if (!fs::is_directory(d, ec)) continue;
    std::map<std::string, std::string> found;
    if (Status s = read_directory(d, found); !s.ok()) return s.error();
    for (auto& [rel, content] : found) {
      if (std::string(sub) == "forms" && !(has_suffix(rel, ".yaml") || has_suffix(rel, ".yml"))) continue;
      part.files.emplace(std::string(sub) + "/" + rel, std::move(content));
    }
  }
  return part;
}

}  // namespace

Result<SourceSet> read_sources(const std::vector<std::string>& paths) {
  if (paths.empty()) return make_error(ErrorCode::invalid, "no file or directory given");
  std::vector<Part> parts;
  for (const auto& given : paths) {
    auto part = read_path(given);
    if (!part.ok()) return part.error();
    parts.push_back(std::move(part).value());
  }
  SourceSet out;
  bool one_root = true;
  for (const auto& part : parts) one_root = one_root && part.root == parts.front().root;
  // With one root, keys stay relative to it. Paths under different roots are
  // keyed by the path as given (root "" then), so error locations still name
  // real files; instructions are then looked up next to the process file too
  // (see validate.cpp).
  out.root = one_root ? parts.front().root : "";
  for (auto& part : parts) {
    for (auto& [rel, text] : part.files) {
      std::string key = one_root || part.root.empty() ? rel : part.root + "/" + rel;
      out.files.emplace(std::move(key), std::move(text));
    }
  }
  return out;
}

}  // namespace reglament
