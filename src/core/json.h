// A small JSON reader for the metadata that travels inside model files (mlspin.json).
//
// Reads RFC 8259 JSON into a tree of Values; errors are mlspin::Error with the line
// and column. Writing JSON is not needed by the core and not offered.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace mlspin {
namespace json {

class Value {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };

  Value() = default;
  static Value make_bool(bool b);
  static Value make_number(double x);
  static Value make_string(std::string s);
  static Value make_array(std::vector<Value> items);
  static Value make_object(std::vector<std::pair<std::string, Value>> members);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  // accessors throw mlspin::Error when the type does not match
  bool as_bool() const;
  double as_number() const;
  const std::string &as_string() const;
  const std::vector<Value> &as_array() const;
  const std::vector<std::pair<std::string, Value>> &as_object() const;

  // object member by key (the last one if repeated), nullptr when absent or not an object
  const Value *find(const std::string &key) const;

  static const char *type_name(Type t);

 private:
  Type type_ = Type::Null;
  bool bool_ = false;
  double number_ = 0.0;
  std::string string_;
  std::vector<Value> array_;
  std::vector<std::pair<std::string, Value>> object_;
};

// Parses a complete JSON text (one value, surrounding whitespace allowed).
Value parse(const std::string &text);

}    // namespace json
}    // namespace mlspin
