#include "core/json.h"

#include "core/error.h"

#include <charconv>
#include <system_error>

namespace mlspin {
namespace json {

Value Value::make_bool(bool b)
{
  Value v;
  v.type_ = Type::Bool;
  v.bool_ = b;
  return v;
}

Value Value::make_number(double x)
{
  Value v;
  v.type_ = Type::Number;
  v.number_ = x;
  return v;
}

Value Value::make_string(std::string s)
{
  Value v;
  v.type_ = Type::String;
  v.string_ = std::move(s);
  return v;
}

Value Value::make_array(std::vector<Value> items)
{
  Value v;
  v.type_ = Type::Array;
  v.array_ = std::move(items);
  return v;
}

Value Value::make_object(std::vector<std::pair<std::string, Value>> members)
{
  Value v;
  v.type_ = Type::Object;
  v.object_ = std::move(members);
  return v;
}

const char *Value::type_name(Type t)
{
  switch (t) {
    case Type::Null: return "null";
    case Type::Bool: return "a boolean";
    case Type::Number: return "a number";
    case Type::String: return "a string";
    case Type::Array: return "an array";
    case Type::Object: return "an object";
  }
  return "?";
}

namespace {

[[noreturn]] void wrong_type(Value::Type have, const char *want)
{
  throw Error(std::string("JSON value is ") + Value::type_name(have) + ", expected " + want);
}

}    // namespace

bool Value::as_bool() const
{
  if (type_ != Type::Bool) wrong_type(type_, "a boolean");
  return bool_;
}

double Value::as_number() const
{
  if (type_ != Type::Number) wrong_type(type_, "a number");
  return number_;
}

const std::string &Value::as_string() const
{
  if (type_ != Type::String) wrong_type(type_, "a string");
  return string_;
}

const std::vector<Value> &Value::as_array() const
{
  if (type_ != Type::Array) wrong_type(type_, "an array");
  return array_;
}

const std::vector<std::pair<std::string, Value>> &Value::as_object() const
{
  if (type_ != Type::Object) wrong_type(type_, "an object");
  return object_;
}

const Value *Value::find(const std::string &key) const
{
  if (type_ != Type::Object) return nullptr;
  const Value *found = nullptr;
  for (const auto &member : object_)
    if (member.first == key) found = &member.second;
  return found;
}

/* ---------------------------------------------------------------------- */

namespace {

class Parser {
 public:
  explicit Parser(const std::string &text) : s_(text) {}

  Value document()
  {
    skip_space();
    Value v = value(0);
    skip_space();
    if (pos_ != s_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 200;
  const std::string &s_;
  size_t pos_ = 0;

  [[noreturn]] void fail(const std::string &what) const
  {
    size_t line = 1, column = 1;
    for (size_t k = 0; k < pos_ && k < s_.size(); k++) {
      if (s_[k] == '\n') {
        line++;
        column = 1;
      } else {
        column++;
      }
    }
    throw Error("invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(column) +
                ": " + what);
  }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }

  void skip_space()
  {
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      pos_++;
  }

  void expect(char c)
  {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    pos_++;
  }

  void literal(const char *word)
  {
    for (const char *p = word; *p; p++, pos_++)
      if (peek() != *p) fail(std::string("expected '") + word + "'");
  }

  Value value(int depth)
  {
    if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth));
    switch (peek()) {
      case '{': return object(depth);
      case '[': return array(depth);
      case '"': return Value::make_string(string());
      case 't': literal("true"); return Value::make_bool(true);
      case 'f': literal("false"); return Value::make_bool(false);
      case 'n': literal("null"); return Value();
      default: return number();
    }
  }

  Value object(int depth)
  {
    expect('{');
    std::vector<std::pair<std::string, Value>> members;
    skip_space();
    if (peek() == '}') {
      pos_++;
      return Value::make_object(std::move(members));
    }
    while (true) {
      skip_space();
      if (peek() != '"') fail("expected a string as object key");
      std::string key = string();
      skip_space();
      expect(':');
      skip_space();
      members.emplace_back(std::move(key), value(depth + 1));
      skip_space();
      if (peek() == ',') {
        pos_++;
        continue;
      }
      expect('}');
      return Value::make_object(std::move(members));
    }
  }

  Value array(int depth)
  {
    expect('[');
    std::vector<Value> items;
    skip_space();
    if (peek() == ']') {
      pos_++;
      return Value::make_array(std::move(items));
    }
    while (true) {
      skip_space();
      items.push_back(value(depth + 1));
      skip_space();
      if (peek() == ',') {
        pos_++;
        continue;
      }
      expect(']');
      return Value::make_array(std::move(items));
    }
  }

  unsigned hex4()
  {
    unsigned code = 0;
    for (int k = 0; k < 4; k++, pos_++) {
      const char c = peek();
      code <<= 4;
      if (c >= '0' && c <= '9')
        code |= c - '0';
      else if (c >= 'a' && c <= 'f')
        code |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        code |= c - 'A' + 10;
      else
        fail("expected 4 hexadecimal digits after \\u");
    }
    return code;
  }

  static void append_utf8(std::string &out, unsigned code)
  {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  std::string string()
  {
    expect('"');
    std::string out;
    while (true) {
      if (at_end()) fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character inside a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      const char e = peek();
      pos_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned code = hex4();
          if (code >= 0xD800 && code < 0xDC00 && peek() == '\\' && pos_ + 1 < s_.size() &&
              s_[pos_ + 1] == 'u') {
            pos_ += 2;
            const unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("invalid UTF-16 surrogate pair");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, code);
          break;
        }
        default: pos_--; fail("invalid escape sequence in a string");
      }
    }
  }

  Value number()
  {
    const size_t start = pos_;
    if (peek() == '-') pos_++;
    if (peek() == '0') {
      pos_++;
    } else if (peek() >= '1' && peek() <= '9') {
      while (peek() >= '0' && peek() <= '9') pos_++;
    } else {
      fail("expected a JSON value");
    }
    if (peek() == '.') {
      pos_++;
      if (!(peek() >= '0' && peek() <= '9')) fail("expected a digit after the decimal point");
      while (peek() >= '0' && peek() <= '9') pos_++;
    }
    if (peek() == 'e' || peek() == 'E') {
      pos_++;
      if (peek() == '+' || peek() == '-') pos_++;
      if (!(peek() >= '0' && peek() <= '9')) fail("expected a digit in the exponent");
      while (peek() >= '0' && peek() <= '9') pos_++;
    }
    // from_chars: independent of the C locale, unlike strtod
    double x = 0.0;
    const auto result = std::from_chars(s_.data() + start, s_.data() + pos_, x);
    if (result.ec == std::errc::result_out_of_range) fail("number out of the range of a double");
    return Value::make_number(x);
  }
};

}    // namespace

Value parse(const std::string &text)
{
  return Parser(text).document();
}

}    // namespace json
}    // namespace mlspin
