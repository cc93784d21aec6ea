// The parsed template: expressions and statements, each with the position it came from so
// a rendering error can name the line and column.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/lexer.h"
#include "chat/value.h"

namespace hearth::chat {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    literal,    // value
    name,       // name
    list,       // items
    tuple,      // items
    dict,       // items: key, value, key, value...
    attribute,  // items[0].name
    subscript,  // items[0][items[1]]
    slice,      // items[0][items[1]:items[2]:items[3]] (null items are omitted bounds)
    call,       // items[0](items[1..], keywords)
    filter,     // items[0] | name(items[1..], keywords)
    test,       // items[0] is [not] name(items[1..]); `negated`
    negate,     // -items[0]
    plus,       // +items[0]
    logical_not,
    binary,   // items[0] name items[1]: + - * / // % ** ~ and or
    compare,  // items[0] ops[0] items[1] ops[1] items[2]...: == != < <= > >= in notin
    ternary,  // items[0] if items[1] else items[2] (items[2] null: undefined)
  };
  Kind kind;
  Position at;
  Value value;
  std::string name;
  std::vector<ExprPtr> items;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  std::vector<std::string> ops;
  bool negated = false;
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Node {
  enum class Kind {
    text,      // text
    output,    // {{ expr }}
    if_chain,  // conditions[i] selects bodies[i]; a trailing extra body is the else
    for_loop,  // for targets in expr [if filter]: bodies[0], else bodies[1]
    set,       // targets (or target.attribute) = expr; with a body and no expr: a block set
    macro,     // name(targets = defaults): bodies[0]
    break_loop,
    continue_loop,
    scope,  // bodies[0], rendered as it is (Hugging Face's {% generation %})
  };
  Kind kind;
  Position at;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;
  std::vector<ExprPtr> conditions;
  std::vector<Body> bodies;
  std::vector<std::string> targets;
  std::string attribute;          // set ns.attribute = ...
  std::vector<ExprPtr> defaults;  // macro parameters' defaults (null: required)
};

}  // namespace hearth::chat
