#include "chat/parser.h"

#include <initializer_list>

#include "chat/filters.h"
#include "chat/render_limits.h"
#include "hearth/error.h"

namespace hearth::chat {
namespace {

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::string& name)
      : tokens_(std::move(tokens)), name_(name) {}

  Body parse() {
    std::string end_tag;
    Body body = parse_body({}, end_tag);
    return body;
  }

 private:
  // Counts nesting on the way down, so a template of a million '(' is an error, not a stack
  // overflow.
  class Nest {
   public:
    explicit Nest(Parser& parser) : parser_(parser) {
      if (++parser_.depth_ > kMaxParseDepth) {
        parser_.fail("the template nests blocks or expressions more than " +
                     std::to_string(kMaxParseDepth) + " deep");
      }
    }
    ~Nest() { --parser_.depth_; }

   private:
    Parser& parser_;
  };

  // A left-leaning chain (a + b + c, x.a.b, x | f | g) deepens the tree by one per link
  // without recursing here, but evaluating and freeing it recurse: each link counts too.
  class Chain {
   public:
    explicit Chain(Parser& parser) : parser_(parser) {}
    ~Chain() { parser_.depth_ -= links_; }
    void link() {
      ++links_;
      if (++parser_.depth_ > kMaxParseDepth) {
        parser_.fail("the template nests blocks or expressions more than " +
                     std::to_string(kMaxParseDepth) + " deep");
      }
    }

   private:
    Parser& parser_;
    int links_ = 0;
  };

  const Token& current() const { return tokens_[pos_]; }
  const Token& peek(size_t ahead = 1) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  Token take() {
    Token t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  [[noreturn]] void fail(const std::string& message) const { fail_at(current().at, message); }
  [[noreturn]] void fail_at(Position at, const std::string& message) const {
    throw Error(located(name_, at, message));
  }

  bool is_op(std::string_view op) const {
    return current().kind == TokenKind::op && current().text == op;
  }
  bool is_name(std::string_view name) const {
    return current().kind == TokenKind::name && current().text == name;
  }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    take();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!is_name(name)) return false;
    take();
    return true;
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::text:
        return "text";
      case TokenKind::output_begin:
        return "'{{'";
      case TokenKind::output_end:
        return "'}}'";
      case TokenKind::block_begin:
        return "'{%'";
      case TokenKind::block_end:
        return "'%}'";
      case TokenKind::name:
        return "'" + t.text + "'";
      case TokenKind::string:
        return "a string";
      case TokenKind::integer:
      case TokenKind::real:
        return "a number";
      case TokenKind::op:
        return "'" + t.text + "'";
      case TokenKind::end:
        return "the end of the template";
    }
    return "a token";
  }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) fail("expected '" + std::string(op) + "', found " + describe(current()));
  }
  std::string expect_name(const char* what) {
    if (current().kind != TokenKind::name)
      fail("expected " + std::string(what) + ", found " + describe(current()));
    return take().text;
  }
  void expect_block_end() {
    if (current().kind != TokenKind::block_end) fail("expected '%}', found " + describe(current()));
    take();
  }

  ExprPtr make(Expr::Kind kind, Position at) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->at = at;
    return e;
  }

  // Statements until one of `end_tags` ({% endif %}, {% else %}...), whose name is left in
  // `end_tag` with the tokens after it unread. At the top level (no end tags) until the end.
  Body parse_body(std::initializer_list<std::string_view> end_tags, std::string& end_tag) {
    Nest nest(*this);
    Body body;
    while (true) {
      const Token& t = current();
      if (t.kind == TokenKind::end) {
        if (end_tags.size() == 0) return body;
        std::string expected;
        for (std::string_view tag : end_tags)
          expected +=
              (expected.empty() ? "" : " or ") + std::string("{% ") + std::string(tag) + " %}";
        fail("the template ends before " + expected);
      }
      if (t.kind == TokenKind::text) {
        auto node = std::make_unique<Node>();
        node->kind = Node::Kind::text;
        node->at = t.at;
        node->text = take().text;
        body.push_back(std::move(node));
      } else if (t.kind == TokenKind::output_begin) {
        auto node = std::make_unique<Node>();
        node->kind = Node::Kind::output;
        node->at = take().at;
        node->expr = parse_tuple(true);
        if (current().kind != TokenKind::output_end)
          fail("expected '}}', found " + describe(current()));
        take();
        body.push_back(std::move(node));
      } else if (t.kind == TokenKind::block_begin) {
        const Position at = take().at;
        if (current().kind != TokenKind::name) fail("expected a tag name after '{%'");
        const std::string tag = current().text;
        for (std::string_view end : end_tags) {
          if (tag == end) {
            take();
            end_tag = tag;
            return body;
          }
        }
        body.push_back(parse_statement(at));
      } else {
        fail("unexpected " + describe(t));
      }
    }
  }

  // Reads {% tag %} after its name: no arguments.
  void end_of(const std::string& tag) {
    if (current().kind != TokenKind::block_end)
      fail("unexpected " + describe(current()) + " in {% " + tag + " %}");
    take();
  }

  NodePtr parse_statement(Position at) {
    const Token tag = take();
    auto node = std::make_unique<Node>();
    node->at = at;
    const std::string& name = tag.text;
    if (name == "if") {
      node->kind = Node::Kind::if_chain;
      std::string end;
      node->conditions.push_back(parse_expression());
      expect_block_end();
      while (true) {
        node->bodies.push_back(parse_body({"elif", "else", "endif"}, end));
        if (end == "elif") {
          node->conditions.push_back(parse_expression());
          expect_block_end();
        } else if (end == "else") {
          end_of("else");
          node->bodies.push_back(parse_body({"endif"}, end));
          end_of("endif");
          break;
        } else {
          end_of("endif");
          break;
        }
      }
    } else if (name == "for") {
      node->kind = Node::Kind::for_loop;
      parse_targets(node->targets);
      if (!skip_name("in")) fail("expected 'in' in {% for %}, found " + describe(current()));
      node->expr = parse_tuple(false);
      if (skip_name("if")) node->filter = parse_expression();
      if (is_name("recursive")) fail("recursive loops are not supported");
      expect_block_end();
      ++loop_depth_;
      std::string end;
      node->bodies.push_back(parse_body({"else", "endfor"}, end));
      --loop_depth_;
      if (end == "else") {
        end_of("else");
        node->bodies.push_back(parse_body({"endfor"}, end));
      }
      end_of("endfor");
    } else if (name == "set") {
      node->kind = Node::Kind::set;
      const std::string first = expect_name("a variable name");
      if (skip_op(".")) {
        node->targets.push_back(first);
        node->attribute = expect_name("an attribute name");
      } else {
        node->targets.push_back(first);
        while (skip_op(",")) node->targets.push_back(expect_name("a variable name"));
      }
      if (skip_op("=")) {
        node->expr = parse_tuple(true);
        expect_block_end();
      } else {
        if (!node->attribute.empty() || node->targets.size() != 1)
          fail("expected '=' in {% set %}");
        if (current().kind != TokenKind::block_end)
          fail("filtered {% set %} blocks are not supported");
        take();
        std::string end;
        node->bodies.push_back(parse_body({"endset"}, end));
        end_of("endset");
      }
    } else if (name == "macro") {
      node->kind = Node::Kind::macro;
      node->text = expect_name("a macro name");
      expect_op("(");
      while (!skip_op(")")) {
        if (!node->targets.empty()) expect_op(",");
        if (skip_op(")")) break;
        node->targets.push_back(expect_name("a parameter name"));
        node->defaults.push_back(skip_op("=") ? parse_expression() : nullptr);
      }
      expect_block_end();
      const int saved_loops = loop_depth_;
      loop_depth_ = 0;
      std::string end;
      node->bodies.push_back(parse_body({"endmacro"}, end));
      loop_depth_ = saved_loops;
      end_of("endmacro");
    } else if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) fail_at(tag.at, "'" + name + "' outside a loop");
      node->kind = name == "break" ? Node::Kind::break_loop : Node::Kind::continue_loop;
      end_of(name);
    } else if (name == "generation") {
      node->kind = Node::Kind::scope;
      end_of(name);
      std::string end;
      node->bodies.push_back(parse_body({"endgeneration"}, end));
      end_of("endgeneration");
    } else if (name == "elif" || name == "else" || name.starts_with("end")) {
      fail_at(tag.at, "unexpected {% " + name + " %} here");
    } else {
      fail_at(tag.at, "the '" + name + "' tag is not supported by this renderer");
    }
    return node;
  }

  void parse_targets(std::vector<std::string>& targets) {
    const bool parenthesised = skip_op("(");
    targets.push_back(expect_name("a loop variable"));
    while (skip_op(",")) targets.push_back(expect_name("a loop variable"));
    if (parenthesised) expect_op(")");
  }

  bool at_expression_end() const {
    const Token& t = current();
    return t.kind == TokenKind::block_end || t.kind == TokenKind::output_end ||
           t.kind == TokenKind::end ||
           (t.kind == TokenKind::op && (t.text == ")" || t.text == "]" || t.text == "}")) ||
           (t.kind == TokenKind::name &&
            (t.text == "if" || t.text == "in" || t.text == "recursive"));
  }

  // a, b, c (a tuple) or a single expression.
  ExprPtr parse_tuple(bool with_condition) {
    const Position at = current().at;
    ExprPtr first = with_condition ? parse_expression() : parse_or();
    if (!is_op(",")) return first;
    auto tuple = make(Expr::Kind::tuple, at);
    tuple->items.push_back(std::move(first));
    while (skip_op(",")) {
      if (at_expression_end()) break;
      tuple->items.push_back(with_condition ? parse_expression() : parse_or());
    }
    return tuple;
  }

  ExprPtr parse_expression() {
    Chain chain(*this);
    Nest nest(*this);
    ExprPtr value = parse_or();
    while (is_name("if")) {
      chain.link();
      const Position at = take().at;
      auto ternary = make(Expr::Kind::ternary, at);
      ternary->items.push_back(std::move(value));
      ternary->items.push_back(parse_or());
      ternary->items.push_back(skip_name("else") ? parse_expression() : nullptr);
      value = std::move(ternary);
    }
    return value;
  }

  ExprPtr binary(const std::string& op, ExprPtr left, ExprPtr right, Position at) {
    auto e = make(Expr::Kind::binary, at);
    e->name = op;
    e->items.push_back(std::move(left));
    e->items.push_back(std::move(right));
    return e;
  }

  ExprPtr parse_or() {
    Chain chain(*this);
    ExprPtr left = parse_and();
    while (is_name("or")) {
      chain.link();
      const Position at = take().at;
      left = binary("or", std::move(left), parse_and(), at);
    }
    return left;
  }

  ExprPtr parse_and() {
    Chain chain(*this);
    ExprPtr left = parse_not();
    while (is_name("and")) {
      chain.link();
      const Position at = take().at;
      left = binary("and", std::move(left), parse_not(), at);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      Nest nest(*this);
      auto e = make(Expr::Kind::logical_not, take().at);
      e->items.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Position at = current().at;
    ExprPtr first = parse_math1();
    ExprPtr chain;
    while (true) {
      std::string op;
      if (current().kind == TokenKind::op &&
          (current().text == "==" || current().text == "!=" || current().text == "<" ||
           current().text == "<=" || current().text == ">" || current().text == ">=")) {
        op = take().text;
      } else if (is_name("in")) {
        take();
        op = "in";
      } else if (is_name("not") && peek().kind == TokenKind::name && peek().text == "in") {
        take();
        take();
        op = "notin";
      } else {
        break;
      }
      if (!chain) {
        chain = make(Expr::Kind::compare, at);
        chain->items.push_back(std::move(first));
      }
      chain->ops.push_back(op);
      chain->items.push_back(parse_math1());
    }
    return chain ? std::move(chain) : std::move(first);
  }

  ExprPtr parse_math1() {
    Chain chain(*this);
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      chain.link();
      const Token op = take();
      left = binary(op.text, std::move(left), parse_concat(), op.at);
    }
    return left;
  }

  ExprPtr parse_concat() {
    Chain chain(*this);
    ExprPtr left = parse_math2();
    while (is_op("~")) {
      chain.link();
      const Position at = take().at;
      left = binary("~", std::move(left), parse_math2(), at);
    }
    return left;
  }

  ExprPtr parse_math2() {
    Chain chain(*this);
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      chain.link();
      const Token op = take();
      left = binary(op.text, std::move(left), parse_pow(), op.at);
    }
    return left;
  }

  ExprPtr parse_pow() {
    Chain chain(*this);
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      chain.link();
      const Position at = take().at;
      left = binary("**", std::move(left), parse_unary(true), at);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    Nest nest(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      const Token op = take();
      node = make(op.text == "-" ? Expr::Kind::negate : Expr::Kind::plus, op.at);
      node->items.push_back(parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filters(std::move(node));
    return node;
  }

  ExprPtr literal(Value value, Position at) {
    auto e = make(Expr::Kind::literal, at);
    e->value = std::move(value);
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = current();
    const Position at = t.at;
    if (t.kind == TokenKind::name) {
      const std::string name = take().text;
      if (name == "true" || name == "True") return literal(Value(true), at);
      if (name == "false" || name == "False") return literal(Value(false), at);
      if (name == "none" || name == "None") return literal(Value::none(), at);
      auto e = make(Expr::Kind::name, at);
      e->name = name;
      return e;
    }
    if (t.kind == TokenKind::string) {
      std::string text = take().text;
      while (current().kind == TokenKind::string) text += take().text;
      return literal(Value(std::move(text)), at);
    }
    if (t.kind == TokenKind::integer) return literal(Value(take().integer), at);
    if (t.kind == TokenKind::real) return literal(Value(take().real), at);
    if (skip_op("(")) {
      if (skip_op(")")) return make(Expr::Kind::tuple, at);
      ExprPtr inner = parse_expression();
      if (!is_op(",")) {
        expect_op(")");
        return inner;
      }
      auto tuple = make(Expr::Kind::tuple, at);
      tuple->items.push_back(std::move(inner));
      while (skip_op(",")) {
        if (is_op(")")) break;
        tuple->items.push_back(parse_expression());
      }
      expect_op(")");
      return tuple;
    }
    if (skip_op("[")) {
      auto list = make(Expr::Kind::list, at);
      while (!skip_op("]")) {
        if (!list->items.empty()) expect_op(",");
        if (skip_op("]")) break;
        list->items.push_back(parse_expression());
      }
      return list;
    }
    if (skip_op("{")) {
      auto dict = make(Expr::Kind::dict, at);
      while (!skip_op("}")) {
        if (!dict->items.empty()) expect_op(",");
        if (skip_op("}")) break;
        dict->items.push_back(parse_expression());
        expect_op(":");
        dict->items.push_back(parse_expression());
      }
      return dict;
    }
    fail("expected an expression, found " + describe(t));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    Chain chain(*this);
    while (true) {
      chain.link();
      if (is_op(".")) {
        const Position at = take().at;
        if (current().kind == TokenKind::integer) {
          auto e = make(Expr::Kind::subscript, at);
          e->items.push_back(std::move(node));
          e->items.push_back(literal(Value(take().integer), at));
          node = std::move(e);
          continue;
        }
        auto e = make(Expr::Kind::attribute, at);
        e->name = expect_name("an attribute name after '.'");
        e->items.push_back(std::move(node));
        node = std::move(e);
      } else if (is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        auto call = make(Expr::Kind::call, current().at);
        call->items.push_back(std::move(node));
        parse_arguments(*call);
        node = std::move(call);
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    Nest nest(*this);
    const Position at = take().at;  // '['
    ExprPtr start;
    if (!is_op(":")) {
      start = parse_expression();
      if (skip_op("]")) {
        auto e = make(Expr::Kind::subscript, at);
        e->items.push_back(std::move(node));
        e->items.push_back(std::move(start));
        return e;
      }
    }
    expect_op(":");
    auto e = make(Expr::Kind::slice, at);
    e->items.push_back(std::move(node));
    e->items.push_back(std::move(start));
    e->items.push_back(is_op(":") || is_op("]") ? nullptr : parse_expression());
    if (skip_op(":")) {
      e->items.push_back(is_op("]") ? nullptr : parse_expression());
    } else {
      e->items.push_back(nullptr);
    }
    expect_op("]");
    return e;
  }

  // (a, b, key=value) into items[1..] and keywords.
  void parse_arguments(Expr& call) {
    Nest nest(*this);
    expect_op("(");
    bool first = true;
    while (!skip_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (skip_op(")")) break;
      if (is_op("*") || is_op("**")) fail("*args and **kwargs are not supported");
      if (current().kind == TokenKind::name && peek().kind == TokenKind::op && peek().text == "=") {
        std::string key = take().text;
        take();
        call.keywords.emplace_back(std::move(key), parse_expression());
      } else {
        if (!call.keywords.empty()) fail("a positional argument after keyword arguments");
        call.items.push_back(parse_expression());
      }
    }
  }

  ExprPtr parse_filters(ExprPtr node) {
    Chain chain(*this);
    while (true) {
      chain.link();
      if (is_op("|")) {
        take();
        const Position at = current().at;
        auto e = make(Expr::Kind::filter, at);
        e->name = expect_name("a filter name after '|'");
        if (!is_known_filter(e->name)) fail_at(at, "no filter named '" + e->name + "'");
        e->items.push_back(std::move(node));
        if (is_op("(")) parse_arguments(*e);
        node = std::move(e);
      } else if (is_name("is")) {
        take();
        const Position at = current().at;
        auto e = make(Expr::Kind::test, at);
        e->negated = skip_name("not");
        e->name = expect_name("a test name after 'is'");
        if (!is_known_test(e->name)) fail_at(at, "no test named '" + e->name + "'");
        e->items.push_back(std::move(node));
        if (is_op("(")) {
          parse_arguments(*e);
        } else if ((current().kind == TokenKind::name || current().kind == TokenKind::string ||
                    current().kind == TokenKind::integer || current().kind == TokenKind::real ||
                    is_op("(") || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and") && !is_name("if") &&
                   !is_name("in") && !is_name("not")) {
          if (is_name("is")) fail("tests cannot be chained with 'is'");
          Nest nest(*this);
          e->items.push_back(parse_postfix(parse_primary()));
        }
        node = std::move(e);
      } else {
        return node;
      }
    }
  }

  std::vector<Token> tokens_;
  const std::string& name_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body parse_template(std::vector<Token> tokens, const std::string& name) {
  return Parser(std::move(tokens), name).parse();
}

}  // namespace hearth::chat
